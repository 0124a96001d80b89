"""Benchmark stages: each runs one step of the pipeline and returns its figures.

Heavy stages run the real `guanlian` command in a child process, so wall time and peak RSS
are those of the stage alone (`bench.machine.child_peak_mb`: the child's rusage from
`os.wait4`, or its polled `VmHWM` where the rusage only shows the parent's size).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import child_peak_mb, vm_hwm_mb, vm_rss_mb

ROOT = Path(__file__).resolve().parent.parent
GUANLIAN = str(Path(sys.executable).with_name("guanlian"))


@dataclass
class Child:
    returncode: int
    wall_s: float
    peak_rss_mb: float
    output: str


def run_child(args: list[str], timeout_s: float = 3600, kill_after_s: float | None = None,
              env: dict[str, str] | None = None) -> Child:
    """Run a command, wait for it, and return its wall time and its own peak RSS."""
    started = time.perf_counter()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"guanlian-bench-{os.getpid()}.log"
    parent_mb, hwm = vm_rss_mb(), 0.0
    with log.open("w+", encoding="utf-8") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, **(env or {})})
        deadline = started + (kill_after_s if kill_after_s is not None else timeout_s)
        while True:
            hwm = max(hwm, vm_hwm_mb(proc.pid) or 0.0)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.send_signal(signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        out.seek(0)
        text = out.read()
    code = os.waitstatus_to_exitcode(status)
    return Child(code, time.perf_counter() - started,
                 child_peak_mb(usage.ru_maxrss, parent_mb, hwm), text)


def checked(child: Child, what: str) -> Child:
    if child.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {child.returncode}):\n{child.output[-2000:]}")
    return child


def generate(size: str, seed: int, data_dir: Path) -> dict[str, Any]:
    if (data_dir / "sources.yaml").exists():
        return {"generated": False}
    child = checked(run_child([GUANLIAN, "generate", "--size", size, "--seed", str(seed),
                               "--out", str(data_dir)]), "generate")
    return {"generated": True, "wall_s": round(child.wall_s, 2)}


def count_records(data_dir: Path) -> int:
    truth = data_dir / "truth" / "mentions.csv"
    with truth.open(encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def link(data_dir: Path, run_dir: Path, engine: str = "duckdb",
         previous: Path | None = None) -> dict[str, Any]:
    args = [GUANLIAN, "link", "--sources", str(data_dir / "sources.yaml"), "--out", str(run_dir),
            "--engine", engine]
    if previous is not None:
        args += ["--previous", str(previous)]
    child = checked(run_child(args), f"link ({engine})")
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    pairs = report.get("pairs_compared")
    timings = report.get("timings") or {}
    return {"wall_s": round(child.wall_s, 2), "peak_rss_mb": round(child.peak_rss_mb, 1),
            # the phases the run timed (reading the sources to writing the run folder)
            "internal_s": round(sum(float(v) for v in timings.values()), 2),
            "pairs_compared": sum(pairs.values()) if isinstance(pairs, dict) else pairs,
            "pairs_compared_by_kind": pairs}


def evaluate_linkage(run_dir: Path, truth_dir: Path) -> dict[str, Any]:
    from linkage.evaluate import evaluate

    ev = evaluate(run_dir, truth_dir)
    out: dict[str, Any] = {}
    for kind in ("enterprise", "person"):
        k = ev[kind]
        out[f"f1_{kind}"] = k["pairwise"]["f1"]
        out[f"precision_{kind}"] = k["pairwise"]["precision"]
        out[f"recall_{kind}"] = k["pairwise"]["recall"]
        out[f"bcubed_f1_{kind}"] = k["bcubed"]["f1"]
        out[f"blocking_recall_{kind}"] = k["blocking_recall"].get("recall")
    recalls = [out[f"blocking_recall_{k}"] for k in ("enterprise", "person")]
    out["blocking_recall"] = min(r for r in recalls if r is not None) if any(
        r is not None for r in recalls) else None
    merged = [ev[k]["namesake_false_merge"] for k in ("enterprise", "person")]
    person = ev["person"]["namesake_false_merge"]
    out["namesake_false_merge_rate"] = person.get("rate")
    out["namesake_detail"] = merged
    return out


def baseline(data_dir: Path, work: Path) -> dict[str, Any]:
    """The plain-Splink baseline in a child process (its memory is returned when it ends; on
    the large set DuckDB and pandas keep GBs), evaluated with the same code as our run.

    `baseline_wall_s` is the child process's wall time, measured as `link` measures
    `guanlian link` (start-up and imports included); `baseline_internal_s` is the time from
    reading the sources to the clusters, to compare with the run's own phases (`internal_s`).
    Evaluation against the truth is timed in neither."""
    child = checked(run_child([sys.executable, "-m", "bench.stages", "baseline", str(data_dir)]),
                    "baseline")
    out = json.loads(child.output.strip().splitlines()[-1])
    out["baseline_wall_s"] = round(child.wall_s - out.pop("evaluate_s"), 2)
    out["baseline_peak_rss_mb"] = round(child.peak_rss_mb, 1)
    del work
    return dict(out)


def _baseline_here(data_dir: Path) -> dict[str, Any]:
    import pandas as pd

    from bench.baseline import run_baseline
    from linkage.evaluate import bcubed, load_truth, pairwise
    from linkage.extract import extract

    started = time.perf_counter()
    ex = extract(data_dir / "sources.yaml")
    clusters = {kind: run_baseline(ex.mentions, kind).clusters
                for kind in ("enterprise", "person")}
    out: dict[str, Any] = {"baseline_internal_s": round(time.perf_counter() - started, 2)}
    evaluating = time.perf_counter()
    truth = load_truth(data_dir / "truth")
    for kind, found in clusters.items():
        frame = found.rename(columns={"cluster_id": "entity_id"}).merge(
            truth, on="mention_id", how="inner")
        frame = frame.assign(kind=kind)
        out[f"baseline_f1_{kind}"] = pairwise(pd.DataFrame(frame))["f1"]
        out[f"baseline_bcubed_f1_{kind}"] = bcubed(pd.DataFrame(frame))["f1"]
    out["evaluate_s"] = round(time.perf_counter() - evaluating, 2)
    return out


def perturbed_sources(data_dir: Path, out_dir: Path, fraction: float, seed: int) -> Path:
    """A copy of the data set where `fraction` of the registry's enterprise rows changed
    (a new phone and a moved address, as a nightly registry delta would carry)."""
    import pandas as pd

    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(data_dir, out_dir)
    path = out_dir / "data" / "registry_enterprises.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = frame.sample(frac=fraction, random_state=seed).index
    frame.loc[rows, "联系电话"] = [f"139{seed % 10}{i:07d}" for i in range(len(rows))]
    frame.loc[rows, "住所"] = frame.loc[rows, "住所"] + "（迁）"
    frame.to_csv(path, index=False)
    return out_dir


def linkage_fault(data_dir: Path, run_dir: Path, seed: int) -> dict[str, Any]:
    """SIGKILL a rerun at a random moment: the run being served must stay intact and the
    next rerun must succeed."""
    before = (run_dir / "entities.parquet").read_bytes()
    timings = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["timings"]
    full = float(timings.get("total") or sum(float(v) for v in timings.values()))
    kill_at = random.Random(seed).uniform(0.5, max(1.0, full * 0.9))
    target = run_dir.with_name(run_dir.name + "-rerun")
    shutil.rmtree(target, ignore_errors=True)  # a folder left by an earlier bench is no evidence
    args = [GUANLIAN, "link", "--sources", str(data_dir / "sources.yaml"), "--out", str(target),
            "--previous", str(run_dir)]
    killed = run_child(args, kill_after_s=kill_at)
    intact = (run_dir / "entities.parquet").read_bytes() == before
    no_partial = killed.returncode == 0 or not (target / "report.json").exists()
    rerun = run_child(args)
    return {"killed_after_s": round(kill_at, 2), "previous_intact": intact,
            "no_partial_run": no_partial, "rerun_ok": rerun.returncode == 0,
            "ok": intact and no_partial and rerun.returncode == 0}


if __name__ == "__main__":  # python -m bench.stages baseline DATA_DIR (one JSON line out)
    if sys.argv[1:2] == ["baseline"]:
        print(json.dumps(_baseline_here(Path(sys.argv[2]))))
