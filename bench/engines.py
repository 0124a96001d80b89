"""`./scripts/bench --size SIZE --engine spark`: the Spark path beside the DuckDB path.

`guanlian link` and `guanlian score` run as child processes, once per engine, on the same data
set. The Spark children get a bounded driver (`GUANLIAN_SPARK_DRIVER_MEMORY`, 1g by default)
so that a stage which gathers rows into the driver fails instead of passing; the Python
process's RSS is sampled with psutil (and the JVM's, its child, apart) and printed. For each
stage of the run's `report.json` timings the figures are: wall seconds per engine, the Spark /
DuckDB ratio, and the peak RSS of the Python driver and of the JVM in the stage's window (the
windows are the report's timings laid back from the process's exit, so they are approximate
by the few seconds the process takes to start and stop). Pairwise F1 of both runs comes from
`linkage.evaluate`. `score --engine spark` is used when the CLI has it; otherwise the score
row says "not available" and the DuckDB scorer's figures are not repeated.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.stages import GUANLIAN, ROOT, evaluate_linkage

ENGINES = ("duckdb", "spark")
DRIVER_MEMORY = "1g"
SAMPLE_S = 0.2


@dataclass
class Sampled:
    """A child's exit code, wall time, output and RSS samples `(seconds since start, Python
    MB, JVM MB)`."""

    returncode: int
    wall_s: float
    output: str
    samples: list[tuple[float, float, float]] = field(default_factory=list)

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


def run_sampled(args: list[str], env: dict[str, str] | None = None,
                timeout_s: float = 6 * 3600) -> Sampled:
    """Run a command as a child process, sampling its RSS every `SAMPLE_S` seconds."""
    started = time.perf_counter()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"guanlian-engines-{os.getpid()}.log"
    samples: list[tuple[float, float, float]] = []
    with log.open("w+", encoding="utf-8") as out:
        popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                 env={**os.environ, **(env or {})})
        proc = psutil.Process(popen.pid)
        while popen.poll() is None:
            now = time.perf_counter() - started
            if now > timeout_s:
                popen.kill()
                popen.wait()
                break
            samples.append((now, *_rss(proc)))
            time.sleep(SAMPLE_S)
        out.seek(0)
        text = out.read()
    return Sampled(popen.returncode, time.perf_counter() - started, text, samples)


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


def _engine_run(data_dir: Path, work: Path, engine: str, spark_score: bool) -> dict[str, Any]:
    run_dir = work / f"run-{engine}"
    env = {"GUANLIAN_SPARK_DRIVER_MEMORY": os.environ.get("GUANLIAN_SPARK_DRIVER_MEMORY",
                                                          DRIVER_MEMORY)}
    link = run_sampled([GUANLIAN, "link", "--sources", str(data_dir / "sources.yaml"), "--out",
                        str(run_dir), "--engine", engine], env)
    fig: dict[str, Any] = {"link_wall_s": round(link.wall_s, 2)}
    fig["link_python_peak_mb"], fig["link_jvm_peak_mb"] = map(round, link.peak())
    if link.returncode != 0:
        fig["link_error"] = link.output[-1500:]
        return fig
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    fig["stages"] = stage_figures(link, report.get("timings") or {})
    ev = evaluate_linkage(run_dir, data_dir / "truth")
    fig["f1_enterprise"], fig["f1_person"] = ev["f1_enterprise"], ev["f1_person"]
    if engine == "spark" and not spark_score:
        fig["score"] = "not available (guanlian score has no --engine)"
        return fig
    args = [GUANLIAN, "score", "--run", str(run_dir)]
    if engine == "spark":
        args += ["--engine", "spark"]
    score = run_sampled(args, env)
    fig["score_wall_s"] = round(score.wall_s, 2)
    fig["score_python_peak_mb"], fig["score_jvm_peak_mb"] = map(round, score.peak())
    if score.returncode != 0:
        fig["score_error"] = score.output[-1500:]
    return fig


def compare(data_dir: Path, work: Path) -> dict[str, Any]:
    """Both engines on the data set; Spark / DuckDB time ratios per stage and end to end."""
    work.mkdir(parents=True, exist_ok=True)
    spark_score = score_has_engine()
    runs = {engine: _engine_run(data_dir, work, engine, spark_score) for engine in ENGINES}
    duck, spark = runs["duckdb"], runs["spark"]
    ratios: dict[str, float | None] = {}
    for name, fig in (spark.get("stages") or {}).items():
        base = (duck.get("stages") or {}).get(name, {}).get("s")
        ratios[name] = round(fig["s"] / base, 2) if base else None
    for key in ("link_wall_s", "score_wall_s"):
        if duck.get(key) and spark.get(key):
            ratios[key] = round(spark[key] / duck[key], 2)
    f1 = {k: (round(abs(spark[k] - duck[k]), 4) if k in spark and k in duck else None)
          for k in ("f1_enterprise", "f1_person")}
    return {"driver_memory": os.environ.get("GUANLIAN_SPARK_DRIVER_MEMORY", DRIVER_MEMORY),
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
        shown = spark.get("score") if what == "score" and s_s is None else f"{s_s} s"
        rows.append((f"{what} (process)", f"{d_s} s", str(shown or "—"),
                     str(result["ratio"].get(f"{what}_wall_s", "—")), mem))
    for k in ("f1_enterprise", "f1_person"):
        rows.append((k, str(duck.get(k, "—")), str(spark.get(k, "—")),
                     f"gap {result['f1_gap'].get(k)}", ""))
    return rows
