"""Browser timings of the investigator workspace on a bench run (issue 18).

Drives `/ui/` in Debian's headless Chromium (Playwright) against the API serving the run, as
an investigator would, for a sample of the run's enterprises, and reports p50 / p95 (ms) of:
- search → results: submit the enterprise's name until its result list is drawn;
- open: click the hit until the canvas and the entity panel are drawn (depth 1);
- expand depth 2: click the opened node with depth 2 until the expansion is drawn and laid out;
- path: find paths between the opened enterprise and an entity two hops away until drawn.
Each sample starts from an empty canvas. Times are measured in the page: from the click
(a capturing listener) to the moment the page's action finished (`<body data-busy>` back to 0,
the drawing and panel updated), so Playwright's own round trips are not counted; the run
waits for the expected element before reading them.

    python -m bench.browser --run bench/data/medium-s7-runs/run [--samples 20] [--seed 7] [--neo4j]

The bench stage serves the run with the embedded store; `--neo4j` serves it from the Neo4j
server of NEO4J_URI instead (the run must be loaded there: `guanlian load --run RUN`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.serving import serving
from bench.stages import ROOT
from runfolder.folder import read_table

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
STEPS = ("search", "open", "expand_depth2", "path")
TARGET_P95_MS = 500.0


def unavailable() -> str | None:
    """Why the browser stage cannot run here (None when it can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def _p(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))], 1)


def sample_names(run_dir: Path, n: int, seed: int) -> list[tuple[str, str]]:
    """(entity ID, name) of `n` enterprises of the run, chosen at random with `seed`."""
    ent = read_table(run_dir, "entities", ("entity_id", "kind", "name"))
    # (the API answers only IDs of its pattern; hand-made fixture IDs may fall outside it)
    ent = ent[(ent["kind"] == "enterprise") & ent["name"].notna()
              & ent["entity_id"].astype(str).str.fullmatch(r"E[0-9a-f]{12}")]
    rows = ent.sample(n=min(n, len(ent)), random_state=seed)
    return [(str(r.entity_id), str(r.name)) for r in rows.itertuples()]


class Driver:
    """One signed-in workspace tab."""

    def __init__(self, page: Any, url: str, key: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.wall: list[float] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.goto(f"{url}/ui/")
        page.get_by_test_id("login-key").fill(key)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("whoami-role").filter(has_text="investigator").wait_for()
        if page.evaluate("typeof window.cytoscape") != "function":
            raise RuntimeError("the page has no graph library: run scripts/web-assets")
        page.get_by_test_id("node-cap").fill("80")
        page.evaluate("""() => {
            window.__bench = { start: 0, end: 0 };
            document.addEventListener("click", () => {
              window.__bench.start = performance.now(); window.__bench.end = 0; }, true);
            new MutationObserver(() => {
              if (document.body.dataset.busy === "0") window.__bench.end = performance.now();
            }).observe(document.body, { attributes: true, attributeFilter: ["data-busy"] });
        }""")
        self.idle()

    def idle(self) -> None:
        self.page.locator('body[data-busy="0"]').wait_for(state="attached", timeout=60_000)

    def timed(self, action: Any, done: Any) -> float:
        """ms from the click to the end of the page's action (wall clock if not observed); the
        wall clock of the test process (Playwright round trips included) goes to self.wall."""
        started = time.perf_counter()
        action()
        done()
        self.idle()
        wall = (time.perf_counter() - started) * 1000
        self.wall.append(wall)
        t = self.page.evaluate("window.__bench")
        return float(t["end"] - t["start"]) if t["end"] > t["start"] > 0 else wall

    def node_xy(self, node_id: str) -> dict[str, float]:
        return dict(self.page.evaluate(
            """(id) => { const cy = guanlian.graph.cy;
                 const r = cy.getElementById(id).renderedPosition();
                 const b = cy.container().getBoundingClientRect();
                 return {x: b.left + r.x, y: b.top + r.y}; }""", node_id))

    def sample(self, entity_id: str, name: str) -> dict[str, float]:
        page = self.page
        out: dict[str, float] = {}
        page.get_by_test_id("clear-graph").click()
        page.get_by_test_id("depth").select_option("1")
        page.evaluate("document.querySelector('[data-testid=search-results]').replaceChildren()")
        page.get_by_test_id("search-input").fill(name)
        hit = page.locator(f'[data-testid="search-result"][data-entity-id="{entity_id}"]')
        out["search"] = self.timed(
            lambda: page.get_by_test_id("search-submit").click(),
            lambda: page.locator('[data-testid="search-results"] li').first.wait_for())
        if hit.count() == 0:
            return out  # the name search did not rank this entity in its first page
        out["open"] = self.timed(
            lambda: hit.locator("button").click(),
            lambda: page.get_by_test_id("entity-id").filter(has_text=entity_id).wait_for())
        page.get_by_test_id("depth").select_option("2")
        before = page.evaluate("guanlian.graph.counts().nodes")
        xy = self.node_xy(entity_id)
        out["expand_depth2"] = self.timed(
            lambda: page.mouse.click(xy["x"], xy["y"]),
            lambda: page.wait_for_function(
                "(n) => document.body.dataset.busy === '0' && guanlian.graph.counts().nodes >= n",
                arg=before))
        far = page.evaluate(
            """(id) => { const cy = guanlian.graph.cy; const root = cy.getElementById(id);
                 const near = new Set(root.neighborhood('node').map(n => n.id()));
                 const c = cy.nodes().filter(n => !n.data('virtual') && n.id() !== id
                   && !near.has(n.id())
                   && (n.data('kind') === 'Enterprise' || n.data('kind') === 'Person'));
                 return c.nonempty() ? c[0].id() : null; }""", entity_id)
        if far is None:
            return out
        page.evaluate("document.querySelector('[data-testid=path-results]').replaceChildren()")
        page.get_by_test_id("path-source").fill(entity_id)
        page.get_by_test_id("path-target").fill(far)
        out["path"] = self.timed(
            lambda: page.get_by_test_id("path-submit").click(),
            lambda: page.locator('[data-testid="path-results"] li').first.wait_for())
        return out


def browser_timings(url: str, key: str, subjects: list[tuple[str, str]]) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {s: [] for s in STEPS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            driver = Driver(context.new_page(), url, key)
            driver.sample(*subjects[0])  # warm-up (first layout, JIT): not counted
            walls: dict[str, list[float]] = {s: [] for s in STEPS}
            for entity_id, name in subjects[1:]:
                driver.wall.clear()
                for (step, ms), wall in zip(driver.sample(entity_id, name).items(), driver.wall,
                                            strict=True):
                    times[step].append(ms)
                    walls[step].append(wall)
            if driver.errors:
                raise RuntimeError(f"page errors: {driver.errors[:3]}")
        finally:
            browser.close()
    out: dict[str, Any] = {}
    for step in STEPS:
        out[f"browser_{step}_p50_ms"] = _p(times[step], 50)
        out[f"browser_{step}_p95_ms"] = _p(times[step], 95)
        out[f"browser_{step}_n"] = len(times[step])
        out[f"browser_{step}_wall_p95_ms"] = _p(walls[step], 95)
    p95s = [out[f"browser_{s}_p95_ms"] for s in STEPS]
    out["browser_all_p95_within_500ms"] = all(v is not None and v <= TARGET_P95_MS for v in p95s)
    return out


def run_stage(run_dir: Path, seed: int, samples: int = 20,
              serve_args: list[str] | None = None) -> dict[str, Any]:
    """Serve `run_dir` (embedded store unless `serve_args` say otherwise) and time the page."""
    why = unavailable()
    if why:
        raise RuntimeError(why)
    subprocess.run([str(ROOT / "scripts" / "web-assets")], check=True, timeout=600)
    subjects = sample_names(run_dir, samples + 1, seed)
    with serving(serve_args or ["--run", str(run_dir)]) as (url, key, _pid):
        return browser_timings(url, key, subjects)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a linked and scored run folder")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--neo4j", action="store_true",
                        help="serve from the Neo4j server of NEO4J_URI (the run loaded there)")
    args = parser.parse_args(argv)
    why = unavailable()
    if why:
        print(f"browser timings skipped: {why}")
        return 0
    serve_args = None
    if args.neo4j:
        from graph.neo4j.conn import get_settings

        serve_args = ["--neo4j", get_settings().uri, "--run-dir", str(args.run)]
    out = run_stage(args.run, args.seed, args.samples, serve_args)
    for step in STEPS:
        print(f"{step:>14}: p50 {out[f'browser_{step}_p50_ms']} ms · "
              f"p95 {out[f'browser_{step}_p95_ms']} ms (n={out[f'browser_{step}_n']}; "
              f"test-process wall clock p95 {out[f'browser_{step}_wall_p95_ms']} ms)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
