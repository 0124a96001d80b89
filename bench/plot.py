"""Scaling curve: wall time and peak memory of each stage against the number of records.

    .venv/bin/python -m bench.plot      # reads bench/results/{small,medium,large}.json

Writes `docs/performance.png` and rewrites the generated table between the markers in
`docs/performance.md`. Only figures present in the result files are plotted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
PNG = ROOT / "docs" / "performance.png"
BEGIN, END = "<!-- table:begin -->", "<!-- table:end -->"

# (label, section, key) of each plotted stage time
TIMES = [
    ("link", "linkage", "wall_s"),
    ("baseline link", "linkage", "baseline_wall_s"),
    ("risk scoring", "risk", "scoring_wall_s"),
    ("Neo4j full load", "load", "wall_s"),
    ("Neo4j 1% sync", "load", "sync_1pct_s"),
]
MEMORY = [("link", "linkage", "peak_rss_mb"), ("risk scoring", "risk", "scoring_peak_rss_mb")]


def load_results() -> list[dict[str, Any]]:
    out = []
    for size in ("tiny", "small", "medium", "large"):
        path = RESULTS / f"{size}.json"
        if path.exists():
            out.append(json.loads(path.read_text(encoding="utf-8")))
    return sorted(out, key=lambda r: r.get("records") or 0)


def _get(result: dict[str, Any], section: str, key: str) -> float | None:
    value = (result.get(section) or {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def growth_exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) against log(x): 1.0 is linear growth."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def plot(results: list[dict[str, Any]]) -> None:
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, series, unit in ((ax_t, TIMES, "wall time (s)"), (ax_m, MEMORY, "peak RSS (MiB)")):
        for label, section, key in series:
            pts = [(r["records"], v) for r in results if (v := _get(r, section, key)) is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("mentions (records × mentions per record)")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Guanlian: cost of each stage against data size (2 cores, 24 GiB)")
    fig.tight_layout()
    fig.savefig(PNG, dpi=110)


def table(results: list[dict[str, Any]]) -> str:
    rows = ["| stage | figure | " + " | ".join(f"{r['size']} ({r['records']:,})" for r in results)
            + " | growth exponent |", "|---|---|" + "---|" * len(results) + "---|"]
    for label, section, key in TIMES + MEMORY:
        values = [_get(r, section, key) for r in results]
        pairs = [(float(r["records"]), v) for r, v in zip(results, values, strict=True)
                 if v is not None]
        exp = growth_exponent([p[0] for p in pairs], [p[1] for p in pairs])
        cells = " | ".join("—" if v is None else f"{v:,.1f}" for v in values)
        rows.append(f"| {label} | {key} | {cells} | {'—' if exp is None else f'{exp:.2f}'} |")
    return "\n".join(rows)


def main() -> int:
    results = load_results()
    if not results:
        print("no results in bench/results/: run ./scripts/bench --size small first")
        return 1
    plot(results)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{table(results)}\n{END}{tail}", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
