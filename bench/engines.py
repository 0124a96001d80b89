"""`./scripts/bench --size SIZE --engine spark`: the Spark path beside the DuckDB path.

`guanlian link` and `guanlian score` run as child processes, once per engine, on the same data
set. The Spark children get a bounded driver (`GUANLIAN_SPARK_DRIVER_MEMORY`, 1g by default)
so that a stage which gathers rows into the driver fails instead of passing; the Python
process's RSS is sampled with psutil (and the JVM's, its child, apart) and printed. For each
stage of the run's `report.json` timings the figures are: wall seconds per engine, the Spark /
DuckDB ratio, and the peak RSS of the Python driver and of the JVM in the stage's window (the
windows are the report's timings laid back from the process's exit, so they are approximate
by the few seconds the process takes to start and stop). Pairwise F1 of both runs comes from
`linkage.evaluate`, and the entity / relation / event counts of both from their reports.
`score --engine spark` is used when the CLI has it; otherwise the score row says "not
available" and the DuckDB scorer's figures are not repeated.

The link child is `bench.spark_link` when this checkout has it (the Python driver's peak RSS
as the kernel counts it, `VmHWM`, and its CPU seconds come from the JSON it prints), else
`guanlian link`; the score child's `VmHWM` is polled with the samples. The Spark children's
Python driver is bounded too (`--python-max-mb`, 1024 by default): a child whose sampled RSS
passes the bound is killed with its JVM and the stage reported as failed, since only a stage
that gathers rows would need that much.

With `batch` (the benchmark's sizes below large) each engine also runs the whole batch as one
process, `guanlian link --score` (on Spark one session: one JVM start and one JIT warm-up for
link, score and graph rows, as a cluster job would run it): "link --score (one process)"
beside "link + score (two processes)", the sum of the two children's wall times.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.machine import vm_hwm_mb
from bench.stages import GUANLIAN, ROOT, evaluate_linkage

ENGINES = ("duckdb", "spark")
DRIVER_MEMORY = "1g"
PYTHON_MAX_MB = 1024
SAMPLE_S = 0.2


@dataclass
class Sampled:
    """A child's exit code, wall time, output and RSS samples `(seconds since start, Python
    MB, JVM MB)`."""

    returncode: int
    wall_s: float
    output: str  # stderr then stdout
    samples: list[tuple[float, float, float]] = field(default_factory=list)
    stdout: str = ""
    over_bound: str = ""  # why the child was killed (Python RSS past the bound), if it was
    python_hwm_mb: float = 0.0  # the Python process's own high-water mark (VmHWM), last polled

    def peak(self, start: float = 0.0, end: float | None = None) -> tuple[float, float]:
        """(Python, JVM) peak RSS in MB over [start, end] seconds since the child started."""
        end = self.wall_s if end is None else end
        inside = [(p, j) for t, p, j in self.samples if start <= t <= end] or [(0.0, 0.0)]
        return max(p for p, _ in inside), max(j for _, j in inside)


def _rss(proc: psutil.Process) -> tuple[float, float]:
    """(Python process RSS, RSS of its JVM descendants) in MB."""
    try:
        py = proc.memory_info().rss
        jvm = 0
        for child in proc.children(recursive=True):
            try:
                if "java" in child.name():
                    jvm += child.memory_info().rss
            except psutil.Error:
                continue
    except psutil.Error:
        return 0.0, 0.0
    return py / 2**20, jvm / 2**20


def _kill_tree(proc: psutil.Process) -> None:
    """Kill the child and its descendants (its JVM and Spark's Python workers)."""
    try:
        family = [*proc.children(recursive=True), proc]
    except psutil.Error:
        family = [proc]
    for p in family:
        try:
            p.kill()
        except psutil.Error:
            continue


def run_sampled(args: list[str], env: dict[str, str] | None = None,
                timeout_s: float = 6 * 3600, python_max_mb: float = 0) -> Sampled:
    """Run a command as a child process, sampling its RSS every `SAMPLE_S` seconds; with
    `python_max_mb`, the child is killed once its own (Python) RSS passes that many MB."""
    started = time.perf_counter()
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    logs = [tmp / f"guanlian-engines-{os.getpid()}.{s}" for s in ("out", "err")]
    samples: list[tuple[float, float, float]] = []
    over = ""
    with logs[0].open("w+", encoding="utf-8") as out, logs[1].open("w+", encoding="utf-8") as err:
        popen = subprocess.Popen(args, stdout=out, stderr=err, cwd=ROOT,
                                 env={**os.environ, **(env or {})})
        proc = psutil.Process(popen.pid)
        hwm = 0.0
        while popen.poll() is None:
            now = time.perf_counter() - started
            samples.append((now, *_rss(proc)))
            hwm = max(hwm, vm_hwm_mb(popen.pid) or 0.0)
            if python_max_mb and samples[-1][1] > python_max_mb:
                over = (f"Python driver RSS {samples[-1][1]:.0f} MB > {python_max_mb:.0f} MB "
                        f"after {now:.1f} s: killed")
            elif now > timeout_s:
                over = f"timed out after {now:.0f} s: killed"
            if over:
                _kill_tree(proc)
                popen.wait()
                break
            time.sleep(SAMPLE_S)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    for log in logs:
        log.unlink(missing_ok=True)
    return Sampled(popen.returncode, time.perf_counter() - started, stderr + stdout, samples,
                   stdout=stdout, over_bound=over, python_hwm_mb=hwm)


def link_command(sources: Path, run_dir: Path, engine: str) -> tuple[list[str], bool]:
    """The link child's command, and whether it prints `bench.spark_link`'s JSON."""
    if importlib.util.find_spec("bench.spark_link") is not None:
        return [sys.executable, "-m", "bench.spark_link", "--sources", str(sources), "--out",
                str(run_dir), "--engine", engine], True
    return [GUANLIAN, "link", "--sources", str(sources), "--out", str(run_dir), "--engine",
            engine], False


def last_json(text: str) -> dict[str, Any]:
    """The JSON object printed last in `text` (indented or on one line), or {}."""
    starts = [i for i in range(len(text)) if text[i] == "{" and (i == 0 or text[i - 1] == "\n")]
    for i in reversed(starts):
        try:
            found = json.loads(text[i:])
        except ValueError:
            continue
        return found if isinstance(found, dict) else {}
    return {}


def score_has_engine() -> bool:
    """Whether this checkout's `guanlian score` takes `--engine`."""
    done = subprocess.run([GUANLIAN, "score", "--help"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "COLUMNS": "200"})
    return "--engine" in done.stdout


def stage_figures(child: Sampled, timings: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per stage of `timings` (in run order): seconds and the peak RSS in its window, the
    windows laid back from the child's exit."""
    out: dict[str, dict[str, float]] = {}
    end = child.wall_s
    for name, secs in reversed(list(timings.items())):
        py, jvm = child.peak(end - float(secs), end)
        out[name] = {"s": round(float(secs), 2), "python_mb": round(py), "jvm_mb": round(jvm)}
        end -= float(secs)
    return dict(reversed(list(out.items())))


def _engine_run(data_dir: Path, work: Path, engine: str, spark_score: bool,
                python_max_mb: float, batch: bool = False) -> dict[str, Any]:
    run_dir = work / f"run-{engine}"
    env = {"GUANLIAN_SPARK_DRIVER_MEMORY": os.environ.get("GUANLIAN_SPARK_DRIVER_MEMORY",
                                                          DRIVER_MEMORY)}
    bound = python_max_mb if engine == "spark" else 0
    args, prints_json = link_command(data_dir / "sources.yaml", run_dir, engine)
    link = run_sampled(args, env, python_max_mb=bound)
    fig: dict[str, Any] = {"link_wall_s": round(link.wall_s, 2)}
    fig["link_python_peak_mb"], fig["link_jvm_peak_mb"] = map(round, link.peak())
    if prints_json:  # bench.spark_link's own figures (the kernel's peak, not a sample)
        own = last_json(link.stdout)
        for key in ("driver_python_maxrss_mib", "driver_python_cpu_s"):
            if key in own:
                fig[f"link_{key}"] = own[key]
    if link.returncode != 0 or link.over_bound:
        fig["link_error"] = link.over_bound or link.output[-1500:]
        return fig
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    fig["stages"] = stage_figures(link, report.get("timings") or {})
    fig["counts"] = {**{f"entities_{k}": v for k, v in (report.get("entities") or {}).items()},
                     "relations": report.get("relations"), "events": report.get("events")}
    ev = evaluate_linkage(run_dir, data_dir / "truth")
    fig["f1_enterprise"], fig["f1_person"] = ev["f1_enterprise"], ev["f1_person"]
    if engine == "spark" and not spark_score:
        fig["score"] = "not available (guanlian score has no --engine)"
        return fig
    args = [GUANLIAN, "score", "--run", str(run_dir)]
    if engine == "spark":
        args += ["--engine", "spark"]
    score = run_sampled(args, env, python_max_mb=bound)
    fig["score_wall_s"] = round(score.wall_s, 2)
    fig["score_python_peak_mb"], fig["score_jvm_peak_mb"] = map(round, score.peak())
    if score.python_hwm_mb:
        fig["score_driver_python_maxrss_mib"] = round(score.python_hwm_mb)
    if score.returncode != 0 or score.over_bound:
        fig["score_error"] = score.over_bound or score.output[-1500:]
        return fig
    summary = last_json(score.stdout)  # the command's own split: rules, graph rows
    for key, name in (("rule_seconds", "score_rules_s"),
                      ("graph_rows_seconds", "score_graph_rows_s")):
        if isinstance(summary.get(key), int | float):
            fig[name] = summary[key]
    fig["end_to_end_s"] = round(link.wall_s + score.wall_s, 2)
    if batch:
        _batch_run(data_dir, work, engine, env, bound, fig)
    return fig


def _batch_run(data_dir: Path, work: Path, engine: str, env: dict[str, str], bound: float,
               fig: dict[str, Any]) -> None:
    """The same batch as one process, `guanlian link --score` (on Spark: one session, one
    JVM start and JIT warm-up for link, score and graph rows): its wall time and peaks into
    `fig` as `batch_*`."""
    args = [GUANLIAN, "link", "--sources", str(data_dir / "sources.yaml"), "--out",
            str(work / f"batch-{engine}"), "--engine", engine, "--score"]
    batch = run_sampled(args, env, python_max_mb=bound)
    shutil.rmtree(work / f"batch-{engine}", ignore_errors=True)  # the figures are what counts
    if batch.returncode != 0 or batch.over_bound:
        fig["batch_error"] = batch.over_bound or batch.output[-1500:]
        return
    fig["batch_wall_s"] = round(batch.wall_s, 2)
    fig["batch_python_peak_mb"], fig["batch_jvm_peak_mb"] = map(round, batch.peak())
    if batch.python_hwm_mb:
        fig["batch_driver_python_maxrss_mib"] = round(batch.python_hwm_mb)


def compare(data_dir: Path, work: Path, python_max_mb: float = PYTHON_MAX_MB,
            batch: bool = False) -> dict[str, Any]:
    """Both engines on the data set; Spark / DuckDB time ratios per stage and end to end
    (link and score as two processes; with `batch`, also as one, `link --score`)."""
    work.mkdir(parents=True, exist_ok=True)
    spark_score = score_has_engine()
    runs = {engine: _engine_run(data_dir, work, engine, spark_score, python_max_mb, batch)
            for engine in ENGINES}
    duck, spark = runs["duckdb"], runs["spark"]
    ratios: dict[str, float | None] = {}
    for name, fig in (spark.get("stages") or {}).items():
        base = (duck.get("stages") or {}).get(name, {}).get("s")
        ratios[name] = round(fig["s"] / base, 2) if base else None
    for key in ("link_wall_s", "score_wall_s", "score_rules_s", "score_graph_rows_s",
                "end_to_end_s", "batch_wall_s"):
        if duck.get(key) and spark.get(key):
            ratios[key] = round(spark[key] / duck[key], 2)
    f1 = {k: (round(abs(spark[k] - duck[k]), 4) if k in spark and k in duck else None)
          for k in ("f1_enterprise", "f1_person")}
    return {"driver_memory": os.environ.get("GUANLIAN_SPARK_DRIVER_MEMORY", DRIVER_MEMORY),
            "python_max_mb": python_max_mb or None,
            "duckdb": duck, "spark": spark, "ratio": ratios, "f1_gap": f1,
            "f1_within_0_002": all(v is not None and v <= 0.002 for v in f1.values()),
            "spark_score": "available" if spark_score else "not available"}


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(stage, DuckDB, Spark, Spark/DuckDB, Spark memory) rows for the closing table."""
    duck, spark = result["duckdb"], result["spark"]
    rows = []
    names = list(dict.fromkeys([*(duck.get("stages") or {}), *(spark.get("stages") or {})]))
    for name in names:
        d = (duck.get("stages") or {}).get(name, {})
        s = (spark.get("stages") or {}).get(name, {})
        rows.append((name, f"{d.get('s', '—')} s", f"{s.get('s', '—')} s",
                     str(result["ratio"].get(name, "—")),
                     f"py {s.get('python_mb', '—')} MB / jvm {s.get('jvm_mb', '—')} MB"))
    for what in ("link", "score"):
        d_s, s_s = duck.get(f"{what}_wall_s"), spark.get(f"{what}_wall_s")
        mem = (f"py {spark.get(f'{what}_python_peak_mb', '—')} MB / jvm "
               f"{spark.get(f'{what}_jvm_peak_mb', '—')} MB")
        if spark.get(f"{what}_driver_python_maxrss_mib"):
            mem += (f" (py max {spark[f'{what}_driver_python_maxrss_mib']} MiB, "
                    f"cpu {spark.get(f'{what}_driver_python_cpu_s', '—')} s)")
        shown = spark.get("score") if what == "score" and s_s is None else f"{s_s} s"
        rows.append((f"{what} (process)", f"{d_s} s", str(shown or "—"),
                     str(result["ratio"].get(f"{what}_wall_s", "—")), mem))
    for key, name in (("score_rules_s", "score: rules"),
                      ("score_graph_rows_s", "score: graph rows"),
                      ("end_to_end_s", "link + score (two processes)")):
        if duck.get(key) is not None or spark.get(key) is not None:
            rows.append((name, f"{duck.get(key, '—')} s", f"{spark.get(key, '—')} s",
                         str(result["ratio"].get(key, "—")), ""))
    if duck.get("batch_wall_s") is not None or spark.get("batch_wall_s") is not None:
        rows.append(("link --score (one process)", f"{duck.get('batch_wall_s', '—')} s",
                     f"{spark.get('batch_wall_s', '—')} s",
                     str(result["ratio"].get("batch_wall_s", "—")),
                     f"py {spark.get('batch_python_peak_mb', '—')} MB / jvm "
                     f"{spark.get('batch_jvm_peak_mb', '—')} MB"))
    for k in ("f1_enterprise", "f1_person"):
        rows.append((k, str(duck.get(k, "—")), str(spark.get(k, "—")),
                     f"gap {result['f1_gap'].get(k)}", ""))
    counts = {**(duck.get("counts") or {}), **(spark.get("counts") or {})}
    for k in counts:
        d_n, s_n = (duck.get("counts") or {}).get(k), (spark.get("counts") or {}).get(k)
        diff = f"diff {s_n - d_n:+d}" if isinstance(d_n, int) and isinstance(s_n, int) else "—"
        rows.append((k, str(d_n if d_n is not None else "—"),
                     str(s_n if s_n is not None else "—"), diff, ""))
    return rows
