"""One benchmark command: generate → link → evaluate → load → score → serve → load test.

    ./scripts/bench --size small|medium|large [--seed 7] [--skip spark,soak,...] [--soak-s 300]

Prints a table and writes `bench/results/<size>.json`. Every figure is measured in this run;
a stage that is skipped or fails leaves its figures null and says why under `skipped`.
Medium holds the load test for 5 minutes by default (`--soak-s 0` skips that); large skips
the plain-Splink baseline, the Spark engine and the fault-recovery stage unless asked.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import (
    backtest,
    browser,
    cage,
    draws,
    engines,
    frozen,
    fuzz,
    profiles,
    serving,
    stages,
    warning,
)
from bench.machine import machine_info

RESULTS = stages.ROOT / "bench" / "results"
DATA = stages.ROOT / "bench" / "data"
STAGES = ("linkage", "baseline", "linkage_profiles", "spark", "risk", "backtest", "draws",
          "load", "warning", "queries", "api", "frozen", "embedded_api", "browser", "fuzz",
          "resilience", "soak")
KEYS = {
    "linkage": ["wall_s", "peak_rss_mb", "pairs_compared", "blocking_recall", "f1_enterprise",
                "f1_person", "bcubed_f1_enterprise", "bcubed_f1_person",
                "namesake_false_merge_rate", "baseline_f1_enterprise", "baseline_f1_person",
                "baseline_wall_s", "wall_ratio", "internal_s", "baseline_internal_s",
                "internal_ratio", "spark_wall_s", "spark_f1_enterprise", "spark_f1_person"],
    "backtest": backtest.KEYS,
    "load": ["wall_s", "nodes_per_s", "relationships_per_s", "reload_unchanged_s",
             "sync_1pct_s", "online_elements_per_s", "bulk_elements_per_s",
             "bulk_elements_per_s_unverified", "bulk_checksum_equal"],
    "risk": ["auc", "baseline_auc", "precision_at_1pct", "shared_controllers_s",
             "scoring_wall_s", "exposure_p99_ms", "path_p99_ms"],
    "api": ["lookup_id_p50_ms", "lookup_id_p99_ms", "lookup_id_service_p50_ms", "raw_p50_ms",
            "api_over_raw_p50", "api_over_inproc_lookup_p50", "raw_paced_p50_ms",
            "api_over_raw_paced_p50", "lookup_id_b2b_p50_ms", "api_b2b_over_raw_p50",
            "idle_penalty_p50", "lookup_name_p50_ms",
            "lookup_name_p99_ms", "cold_lookup_id_p99_ms", "cold_lookup_name_p99_ms",
            "lookup_declaration_p50_ms", "lookup_declaration_p99_ms", "screen_p50_ms", "errors",
            "max_rps_p99_under_100ms", "embedded_lookup_id_p50_ms", "embedded_lookup_id_p99_ms",
            "embedded_lookup_name_p99_ms", "embedded_errors",
            "embedded_max_rps_p99_under_100ms"],
    # issue 15's figures: alerts of the 1%-changed rerun, worklist latency, webhook delivery
    "warning": warning.KEYS,
    "browser": [f"browser_{s}_{q}_ms" for s in browser.STEPS for q in ("p50", "p95")]
    + ["browser_all_p95_within_500ms"],
    "fuzz": ["requests_inspector", "requests_investigator", "requests_admin",
             "server_errors_500", "answered_without_audit", "tamper_cases_detected", "wall_s"],
    # issue 14's "done when" figures, gathered from the fuzz, frozen and api stages
    "cage": list(cage.CAGE_KEYS),
    "draws": ["population", "targets", "base_rate", "weighted_violation_rate",
              "uniform_violation_rate", "weighted_over_uniform", "mean_weighted_over_uniform",
              "same_seed_same_draw",
              "conflicts_excluded", "conflicted_assignments"],
}


class Bench:
    def __init__(self, size: str, seed: int, skip: set[str], console: Console) -> None:
        self.size, self.seed, self.skip, self.console = size, seed, skip, console
        self.large_resilience = False
        self.large_baseline = False
        self.fuzz_examples = 50
        self.clean_checksum: str | None = None
        self.started = time.perf_counter()
        self.data = DATA / f"{size}-s{seed}"
        self.work = DATA / f"{size}-s{seed}-runs"
        self.result: dict[str, Any] = {
            "size": size, "seed": seed, "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "linkage": {k: None for k in KEYS["linkage"]}, "load": {k: None for k in KEYS["load"]},
            "risk": {k: None for k in KEYS["risk"]}, "api": {k: None for k in KEYS["api"]},
            "fuzz": {k: None for k in KEYS["fuzz"]}, "cage": {k: None for k in KEYS["cage"]},
            "browser": {k: None for k in KEYS["browser"]},
            "backtest": {k: None for k in KEYS["backtest"]},
            "draws": {k: None for k in KEYS["draws"]},
            "warning": {k: None for k in KEYS["warning"]},
            "resilience": {"fault_recovery_ok": None}, "soak": None, "skipped": {},
        }
        self.previous: dict[str, Any] = {}
        self.rerun_figures: dict[str, Any] | None = None

    def stage(self, name: str, section: str, fn: Callable[[], dict[str, Any] | None]) -> bool:
        if name in self.skip:
            self.result["skipped"][name] = "skipped on request (--skip)"
            return False
        self.console.rule(f"[bold]{name}")
        started = time.perf_counter()
        try:
            out = fn()
        except Exception as exc:  # a failed stage is reported, the others still run
            self.result["skipped"][name] = f"failed: {exc}"
            self.console.print(f"[red]{name} failed[/red]: {exc}")
            traceback.print_exc()
            return False
        if out:
            target = self.result.setdefault(section, {})
            if isinstance(target, dict):
                target.update(out)
            else:
                self.result[section] = out
        took = time.perf_counter() - started
        self.result.setdefault("stage_wall_s", {})[name] = round(took, 1)
        self.console.print(f"{name}: {took:.1f}s {out or ''}")
        return True

    @property
    def run_dir(self) -> Path:
        return self.work / "run"

    def run(self, soak_s: float, api_duration_s: float, reuse: bool = False) -> dict[str, Any]:
        self.work.mkdir(parents=True, exist_ok=True)
        gen = stages.generate(self.size, self.seed, self.data)
        if gen.get("generated"):
            self.result.setdefault("stage_wall_s", {})["generate"] = gen["wall_s"]
        self.result["records"] = stages.count_records(self.data)
        self.result["generate"] = gen
        if reuse and (self.run_dir / "report.json").exists():
            previous = RESULTS / f"{self.size}.json"
            if previous.exists():  # figures of stages not rerun now stay those measured then
                self.previous = json.loads(previous.read_text(encoding="utf-8"))
            self.result["skipped"]["linkage"] = "reused the existing run (--reuse-run)"
            linked = True
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            linked = self.stage("linkage", "linkage", lambda: {
                **stages.link(self.data, self.run_dir),
                **stages.evaluate_linkage(self.run_dir, self.data / "truth")})
        if not linked:
            return self.finish()
        if self.size == "large" and not self.large_baseline:
            # tutorial-style blocking on raw columns: >9 GB spilled and >25 min on large (issue #3
            # compares it on medium)
            self.result["skipped"]["baseline"] = ("compared on small/medium; on large only with "
                                                  "--large-baseline")
        else:
            self.stage("baseline", "linkage", lambda: stages.baseline(self.data, self.work))
        self._ratio()
        if self.size == "large":
            self.result["skipped"]["linkage_profiles"] = ("noise profiles are linked on tiny, "
                                                          "small and medium")
        else:
            self.stage("linkage_profiles", "linkage_profiles",
                       lambda: profiles.run_stage(self.size, self.seed, console=self.console))
        if self.size == "large":
            self.result["skipped"]["spark"] = "the Spark engine is exercised on small and medium"
        else:
            self.stage("spark", "linkage", self._spark)
        self.stage("risk", "risk", self._risk)
        self.stage("backtest", "backtest", lambda: backtest.run_stage(self.run_dir))
        self.stage("draws", "draws", lambda: draws.bench_draws(self.run_dir, self.data / "truth",
                                                               self.seed))
        changed = self.work / "changed"
        loaded = self.stage("load", "load", lambda: self._load(changed))
        self.stage("warning", "warning", lambda: warning.bench_warning(
            self.run_dir, self._rerun(changed), self.seed))
        if loaded:
            self.stage("queries", "risk", lambda: serving.neo4j_queries(self.run_dir, self.seed))
            self.stage("api", "api", lambda: self._api(["--neo4j", serving_uri(),
                                                        "--run-dir", str(self.run_dir)],
                                                       "", api_duration_s))
            self.stage("frozen", "resilience", self._frozen)
        self.stage("embedded_api", "api", lambda: self._api(["--run", str(self.run_dir)],
                                                            "embedded_", api_duration_s))
        no_browser = browser.unavailable()
        if no_browser and "browser" not in self.skip:
            self.result["skipped"]["browser"] = no_browser
        else:  # the workspace page in Chromium against the embedded API on this run
            self.stage("browser", "browser", lambda: browser.run_stage(self.run_dir, self.seed))
        self.stage("fuzz", "fuzz", lambda: fuzz.fuzz_api(self.run_dir, self.fuzz_examples))
        if self.size == "large" and not self.large_resilience:
            # a second large link and two more large loads: measured on medium (issue #8)
            self.result["skipped"]["resilience"] = ("run on small/medium; on large only with "
                                                    "--large-resilience")
        else:
            self.stage("resilience", "resilience", self._resilience)
        if soak_s > 0:
            self.stage("soak", "soak", lambda: self._soak(soak_s))
        else:
            self.result["skipped"]["soak"] = "not requested (--soak-s 0)"
        return self.finish()

    def _ratio(self) -> None:
        """Link wall time over the plain-Splink baseline's, both measured in this run: whole
        processes (`wall_ratio`) and from reading the sources to the result
        (`internal_ratio`)."""
        fig = self.result["linkage"]
        if fig.get("wall_s") and fig.get("baseline_wall_s"):
            fig["wall_ratio"] = round(fig["wall_s"] / fig["baseline_wall_s"], 2)
        if fig.get("internal_s") and fig.get("baseline_internal_s"):
            fig["internal_ratio"] = round(fig["internal_s"] / fig["baseline_internal_s"], 2)

    def _spark(self) -> dict[str, Any]:
        if self.size == "large":
            raise RuntimeError("the Spark engine is exercised on small and medium only")
        out = self.work / "run-spark"
        shutil.rmtree(out, ignore_errors=True)
        linked = stages.link(self.data, out, engine="spark")
        ev = stages.evaluate_linkage(out, self.data / "truth")
        return {"spark_wall_s": linked["wall_s"], "spark_f1_enterprise": ev["f1_enterprise"],
                "spark_f1_person": ev["f1_person"]}

    def _risk(self) -> dict[str, Any]:
        from risk.evaluate import evaluate_risk

        child = stages.checked(stages.run_child([stages.GUANLIAN, "score", "--run",
                                                 str(self.run_dir)]), "score")
        ev = evaluate_risk(self.run_dir, self.data / "truth")
        pred = ev["prediction"]
        queries = {k: {m: v.get(m) for m in ("recall", "precision") if m in v}
                   for k, v in ev["queries"].items() if isinstance(v, dict)}
        return {"scoring_wall_s": round(child.wall_s, 2), "scoring_peak_rss_mb":
                round(child.peak_rss_mb, 1), "auc": pred["auc"],
                "baseline_auc": pred["baseline_auc"], "precision_at_1pct": pred["precision_top1"],
                "precision_at_5pct": pred["precision_top5"], "queries": queries}

    def _rerun(self, changed: Path) -> Path:
        """A real rerun (`--previous`) of the data set with 1% of the registry's enterprise
        rows changed, scored (made once per bench: the load's sync and the warning stage
        both read it)."""
        if self.rerun_figures is None:
            delta = stages.perturbed_sources(self.data, self.work / "data-1pct", 0.01,
                                             self.seed)
            shutil.rmtree(changed, ignore_errors=True)
            self.rerun_figures = stages.link(delta, changed, previous=self.run_dir)
            stages.checked(stages.run_child([stages.GUANLIAN, "score", "--run", str(changed),
                                             "--previous", str(self.run_dir)]),
                           "score (rerun)")
        return changed

    def _load(self, changed: Path) -> dict[str, Any]:
        """Full load, unchanged reload, then the sync of the 1%-changed rerun."""
        self._rerun(changed)
        assert self.rerun_figures is not None
        out = serving.neo4j_load(self.run_dir, changed)
        self.clean_checksum = out.pop("clean_checksum", None)
        out["rerun_link_wall_s"] = self.rerun_figures["wall_s"]
        try:  # the first load of a run at scale: `guanlian load --bulk` (issue 17)
            from bench.bench_load import bench_bulk
            from graph.neo4j.conn import open_driver

            driver = open_driver()
            try:
                bulk = bench_bulk(driver, self.run_dir)
            finally:
                driver.close()
            bulk["bulk_checksum_equal"] = bulk.pop("bulk_checksum") == self.clean_checksum
            bulk["online_elements_per_s"] = round(
                (out["nodes"] + out["relationships"]) / max(out["wall_s"], 1e-9))
            out.update(bulk)
        except Exception as exc:  # noqa: BLE001 - a second figure, not the stage's result
            self.result["skipped"]["bulk_load"] = f"failed: {exc}"
        return out

    def _api(self, args: list[str], prefix: str, duration_s: float) -> dict[str, Any]:
        subjects = serving.sample_subjects(self.run_dir, 500, self.seed)
        subjects["declaration"] = serving.sample_declarations(
            self.run_dir, serving.SCREEN_SIZE * (serving.SCREENS + 1), self.seed)
        with serving.serving(args) as (url, key, pid):
            figures = serving.api_load(url, key, subjects, duration_s)
            figures["rss_mb"] = serving.rss_mb(pid)
        if not prefix:  # Neo4j: the raw store time of the same lookups, beside the API's
            serving.raw_beside(self.run_dir, subjects["id"][:200], figures)
        return {f"{prefix}{k}": v for k, v in figures.items()}

    def _frozen(self) -> dict[str, Any]:
        """Neo4j frozen under the served API: time to 503, recovery after thawing."""
        subject = serving.sample_subjects(self.run_dir, 1, self.seed)["id"][0]
        with serving.serving(["--neo4j", serving_uri(), "--run-dir", str(self.run_dir)]) as (
                url, key, _):
            return frozen.frozen_neo4j(url, key, serving_uri(), subject)

    def _resilience(self) -> dict[str, Any]:
        link_fault = stages.linkage_fault(self.data, self.run_dir, self.seed)
        out: dict[str, Any] = {"linkage_kill": link_fault}
        if "load" not in self.skip and self.result["load"].get("wall_s"):
            out["neo4j_kill"] = serving.neo4j_load_fault(self.run_dir, self.seed,
                                                         float(self.result["load"]["wall_s"]),
                                                         self.clean_checksum)
        out["fault_recovery_ok"] = all(v.get("ok") for v in out.values() if isinstance(v, dict))
        return out

    def _soak(self, seconds: float) -> dict[str, Any]:
        subjects = serving.sample_subjects(self.run_dir, 500, self.seed)
        with serving.serving(["--neo4j", serving_uri(), "--run-dir", str(self.run_dir)]) as (
                url, key, pid):
            return serving.soak(url, key, pid, subjects, seconds)

    def finish(self) -> dict[str, Any]:
        ran = set(self.result.get("stage_wall_s", {}))
        for section, old in self.previous.items():
            if section in ("stage_wall_s", "total_wall_s"):
                continue  # the timings of this invocation only
            new = self.result.get(section)
            if section == "skipped" and isinstance(old, dict):
                # a stage skipped then and measured now is no longer skipped
                old = {k: v for k, v in old.items() if k not in ran}
            if isinstance(old, dict) and isinstance(new, dict):
                for key, value in old.items():
                    if new.get(key) is None:
                        new[key] = value
            elif new is None and section not in ("skipped",):
                self.result[section] = old
        self.result["cage"] = cage.summary(self.result)
        self.result["machine"] = machine_info(neo4j_version())
        self.result["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.result["total_wall_s"] = round(time.perf_counter() - self.started, 1)
        serving.dump(RESULTS / f"{self.size}.json", self.result)
        return self.result


def serving_uri() -> str:
    from graph.neo4j.conn import get_settings

    return get_settings().uri


def neo4j_version() -> str | None:
    try:
        from graph.neo4j.conn import open_driver

        driver = open_driver()
        try:
            rec = driver.execute_query("CALL dbms.components() YIELD versions "
                                       "RETURN versions[0] AS v").records
            return str(rec[0]["v"]) if rec else None
        finally:
            driver.close()
    except Exception:
        return None


def print_table(result: dict[str, Any], console: Console) -> None:
    table = Table(title=f"Guanlian bench — {result['size']} ({result.get('records')} mentions)")
    for col in ("stage", "figure", "value"):
        table.add_column(col)
    for section, keys in KEYS.items():
        for key in keys:
            value = result.get(section, {}).get(key)
            table.add_row(section, key, "—" if value is None else json.dumps(value))
    for key in ("fault_recovery_ok", "frozen_first_503_s", "frozen_open_503_s",
                "frozen_retry_after_s", "recovered_after_sigcont_s"):
        table.add_row("resilience", key, json.dumps(result["resilience"].get(key)))
    if result.get("soak"):
        for key, value in result["soak"].items():
            table.add_row("soak", key, json.dumps(value))
    console.print(table)
    if result.get("linkage_profiles"):
        profiles.print_profiles(result["linkage_profiles"], console)
    for name, why in result["skipped"].items():
        console.print(f"[yellow]{name}[/yellow]: {why}")


# sizes whose engine bench does not also run the batch as one process (`link --score`):
# on large that is another 16 minutes
NO_BATCH_SIZES = ("large",)


def engine_bench(size: str, seed: int, console: Console,
                 python_max_mb: float = engines.PYTHON_MAX_MB) -> int:
    """`--engine spark`: link and score with both engines (`bench.engines`), print the table;
    1 when the Spark path failed (or passed a driver bound) or its F1 is not the DuckDB
    path's within 0.002."""
    data, work = DATA / f"{size}-s{seed}", DATA / f"{size}-s{seed}-runs" / "engines"
    started = time.perf_counter()
    gen = stages.generate(size, seed, data)
    result: dict[str, Any] = {"size": size, "seed": seed, "records": stages.count_records(data),
                              "generate": gen,
                              **engines.compare(data, work, python_max_mb,
                                                batch=size not in NO_BATCH_SIZES)}
    result["machine"] = machine_info(None)
    result["total_wall_s"] = round(time.perf_counter() - started, 1)
    serving.dump(RESULTS / f"{size}-spark.json", result)
    bound = f"{python_max_mb:.0f} MB" if python_max_mb else "unbounded"
    table = Table(title=f"Spark vs DuckDB — {size} ({result['records']} mentions), Spark driver "
                        f"JVM {result['driver_memory']} / Python {bound}, score --engine spark "
                        f"{result['spark_score']}")
    for col in ("stage", "DuckDB", "Spark", "Spark/DuckDB", "Spark memory (peak)"):
        table.add_column(col)
    for row in engines.table_rows(result):
        table.add_row(*row)
    console.print(table)
    for engine in engines.ENGINES:
        for key in ("link_error", "score_error", "batch_error"):
            if result[engine].get(key):
                console.print(f"[red]{engine} {key}[/red]: {result[engine][key]}")
    console.print(f"F1 within 0.002: {result['f1_within_0_002']} {result['f1_gap']}")
    failed = any(result["spark"].get(k) for k in ("link_error", "score_error", "batch_error"))
    return 1 if failed or not result["f1_within_0_002"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "small", "medium", "large"), default="small")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip", default="", help=f"comma-separated stages of {STAGES}")
    parser.add_argument("--soak-s", type=float, default=None,
                        help="hold the load test this long (s) and report API RSS "
                             "(default: 300 on medium, as issue #8 asks; 0 elsewhere)")
    parser.add_argument("--api-duration-s", type=float, default=20.0,
                        help="seconds of each fixed-rate (50 req/s) lookup run")
    parser.add_argument("--reuse-run", action="store_true",
                        help="keep the run folder of an earlier bench of this size (no relink)")
    parser.add_argument("--fuzz-examples", type=int, default=50,
                        help="schema-generated requests per operation and role (fuzz stage)")
    parser.add_argument("--large-resilience", action="store_true",
                        help="also run the fault-recovery stage on the large size")
    parser.add_argument("--large-baseline", action="store_true",
                        help="also run the plain-Splink baseline on the large size (slow)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="spark: link and score with --engine spark beside the DuckDB "
                             "path (bounded driver, per-stage time / memory / ratio, F1); "
                             "the other stages are not run")
    parser.add_argument("--python-max-mb", type=float, default=engines.PYTHON_MAX_MB,
                        help="--engine spark: kill a Spark child whose Python driver RSS passes "
                             "this many MB (0: only print it)")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    if args.engine == "spark":
        return engine_bench(args.size, args.seed, Console(), args.python_max_mb)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}; known: {STAGES}")
    bench = Bench(args.size, args.seed, skip, console)
    bench.large_resilience = args.large_resilience
    bench.large_baseline = args.large_baseline
    bench.fuzz_examples = args.fuzz_examples
    soak_s = args.soak_s if args.soak_s is not None else (300.0 if args.size == "medium" else 0.0)
    result = bench.run(soak_s, args.api_duration_s, args.reuse_run)
    print_table(result, Console())
    return 0 if not str(result["skipped"].get("linkage", "")).startswith("failed") else 1


if __name__ == "__main__":
    sys.exit(main())
