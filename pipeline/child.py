"""A rerun job's batch in a process of its own: the API's side (`run_apart`) and the child's
(`python -m pipeline.child`).

The API serves lookups at the border while an admin rerun job links, scores, prepares the
graph rows and syncs Neo4j. In the API's own process that batch competed with the lookups
for the interpreter (pandas and DuckDB's Python parts hold it), a Spark job left its JVM and
cached data in the API (~3 GiB after a medium job), and a batch that ran out of memory took
the API down with it. So the job runs `pipeline.run.run_batch` in a child process:

- the child runs `GUANLIAN_JOB_NICE` steps (default 10) below the API's priority, so lookups
  get the cores first while a job runs (`CHILD_BOOT`);
- the request (paths, engine, target with the Neo4j password, risk configuration) goes to the
  child's stdin as one JSON line, never on its command line; stdin then stays open, and the
  child exits at once when it closes (the API cancelled the job, or died: no orphan keeps
  writing);
- the child reports each stage and then its result or its error as JSON lines on a pipe of
  their own (`--status-fd`), so nothing a library prints can be read as a status;
- the child's stdout and stderr (the link's stage lines, a traceback) go to the job's log
  file (mode 0600), which the job names;
- the embedded store is built in the API's process after the child succeeded, as it is the
  store the API then serves.

A Spark job's JVM is the child's: it ends with the child (pyspark's gateway exits when its
driver does), so the API holds no JVM between jobs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from pipeline.run import (
    EmbeddedTarget,
    Neo4jTarget,
    PipelineRequest,
    PipelineResult,
    Stage,
    publish_embedded,
    run_batch,
)
from risk.config import RiskConfig

# how long a cancelled child may take to exit after its stdin closed, before it is killed
CANCEL_GRACE_S = 10.0
EXIT_ORPHANED = 70  # the child's exit status when its parent closed stdin mid-job
STAGES: frozenset[str] = frozenset({"linking", "scoring", "preparing", "publishing"})
# The embedded store is built in the API's process (medium: about 6 s of Python holding the
# interpreter in turns with the event loop). A lookup arriving then waited for the builder's
# thread to give the interpreter up, every switch interval (5 ms by default), several times per
# lookup; with 0.5 ms during the build (medium, lookups at 20/s, two alternating pairs),
# lookups over 30 ms at the end of a job went from 23 / 19 to 7 / 5, the job's p99 from
# 64 / 57 to 43 / 24 ms. Only during the build: globally it made lookups slower.
BUILD_SWITCH_INTERVAL_S = 0.0005
# The child lowers its own priority first, before its imports: the whole batch, and a Spark
# job's JVM (which inherits it), then leaves the cores to the API's lookups when both want
# them (docs/performance.md "Lookups while a rerun job runs").
CHILD_BOOT = ("import os, sys; os.nice(int(sys.argv.pop(1))); "
              "from pipeline.child import main; sys.exit(main())")


class JobFailed(RuntimeError):
    """The child reported an error, or ended without a result."""


class JobCancelled(RuntimeError):
    """The job was cancelled before its child finished."""


# --- the request, as it crosses the pipe -------------------------------------------------

def encode_request(request: PipelineRequest) -> str:
    target = request.target
    encoded_target: dict[str, Any] = {"kind": "embedded"}
    if isinstance(target, Neo4jTarget):
        encoded_target = {"kind": "neo4j", "uri": target.uri, "user": target.user,
                          "password": target.password, "database": target.database,
                          "batch_size": target.batch_size, "full_diff": target.full_diff}
    return json.dumps({
        "sources": str(request.sources), "run_dir": str(request.run_dir),
        "previous": None if request.previous is None else str(request.previous),
        "engine": request.engine, "target": encoded_target,
        "risk_config": (None if request.risk_config is None
                        else request.risk_config.model_dump(mode="json")),
        "prepare_graph": request.prepare_graph,
    })


def decode_request(line: str) -> PipelineRequest:
    raw = json.loads(line)
    spec = raw["target"]
    target: Neo4jTarget | EmbeddedTarget = EmbeddedTarget()
    if spec["kind"] == "neo4j":
        target = Neo4jTarget(uri=spec["uri"], user=spec["user"], password=spec["password"],
                             database=spec["database"], batch_size=spec["batch_size"],
                             full_diff=spec["full_diff"])
    return PipelineRequest(
        sources=Path(raw["sources"]), run_dir=Path(raw["run_dir"]),
        previous=None if raw["previous"] is None else Path(raw["previous"]),
        engine=raw["engine"], target=target,
        risk_config=(None if raw["risk_config"] is None
                     else RiskConfig.model_validate(raw["risk_config"])),
        prepare_graph=raw["prepare_graph"])


# --- the API's side ----------------------------------------------------------------------

def run_apart(request: PipelineRequest, log_path: Path,
              on_stage: Callable[[Stage], None] | None = None,
              cancel: threading.Event | None = None, nice: int = 0) -> PipelineResult:
    """`run_pipeline` with its batch (`run_batch`) in a child process, `nice` steps below
    this one's priority; the embedded store, for an embedded target, built here. Raises
    `JobFailed` with the child's error (or its exit status, the log naming the rest) and
    `JobCancelled` once `cancel` is set (unless the child had already synced Neo4j: that
    job succeeded)."""
    stage = on_stage or (lambda _stage: None)
    cancel = cancel or threading.Event()
    if cancel.is_set():
        raise JobCancelled("cancelled")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    status_read, status_write = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD_BOOT, str(nice), "--status-fd", str(status_write)],
            stdin=subprocess.PIPE, stdout=log_fd, stderr=log_fd, pass_fds=(status_write,),
            close_fds=True, text=True)
    except BaseException:
        os.close(status_read)
        raise
    finally:
        os.close(status_write)
        os.close(log_fd)
    assert child.stdin is not None
    with contextlib.suppress(BrokenPipeError):  # the child died at once: its status says
        child.stdin.write(encode_request(request) + "\n")
        child.stdin.flush()
    # from here on only the watcher touches the child's stdin (closing it cancels)
    watcher = threading.Thread(target=_end_on_cancel, args=(child, cancel), daemon=True,
                               name="job-cancel")
    watcher.start()
    try:
        with os.fdopen(status_read, encoding="utf-8") as status:
            outcome = _follow(status, stage)
        code = child.wait()
    except BaseException:
        child.kill()
        child.wait()
        raise
    finally:
        watcher.join()
        with contextlib.suppress(OSError):
            child.stdin.close()
    if cancel.is_set() and "done" not in outcome:
        raise JobCancelled("cancelled")
    if "error" in outcome:
        raise JobFailed(str(outcome["error"]))
    if "done" not in outcome:
        raise JobFailed(f"the job's process ended with status {code} and no result "
                        f"(its log: {log_path})")
    done = outcome["done"]
    result = PipelineResult(request.run_dir, done["run_id"], done["score"],
                            load_summary=done.get("load_summary"))
    if isinstance(request.target, EmbeddedTarget):
        stage("publishing")
        with _switch_interval(BUILD_SWITCH_INTERVAL_S):
            result.store = publish_embedded(request.run_dir, request.risk_config)
        if cancel.is_set():  # cancelled while the store was built: not to be served
            raise JobCancelled("cancelled")
    return result


@contextlib.contextmanager
def _switch_interval(seconds: float) -> Iterator[None]:
    """The interpreter's thread switch interval at most `seconds` inside the block."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _follow(status: IO[str], stage: Callable[[Stage], None]) -> dict[str, Any]:
    """Read the child's status lines until it closes the pipe; the last outcome."""
    outcome: dict[str, Any] = {}
    for line in status:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if message.get("stage") in STAGES:
            stage(message["stage"])
        elif "done" in message or "error" in message:
            outcome = message
    return outcome


def _end_on_cancel(child: subprocess.Popen[str], cancel: threading.Event) -> None:
    """Until the child exits: once `cancel` is set, close its stdin (it exits at once) and
    kill it if it has not after `CANCEL_GRACE_S`."""
    while not cancel.wait(0.2):
        if child.poll() is not None:
            return
    if child.poll() is not None:
        return
    with contextlib.suppress(OSError):  # closing stdin tells the child to exit
        assert child.stdin is not None
        child.stdin.close()
    try:
        child.wait(CANCEL_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


# --- the child's side --------------------------------------------------------------------

def _exit_when_orphaned() -> None:
    """Block on stdin; when it closes (cancelled, or the parent died), exit at once."""
    with contextlib.suppress(OSError):  # unbuffered: no lock held at the interpreter's exit
        while os.read(sys.stdin.fileno(), 65536):
            pass
    os._exit(EXIT_ORPHANED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline.child",
                                     description="a rerun job's batch (started by the API)")
    parser.add_argument("--status-fd", type=int, required=True)
    args = parser.parse_args(argv)
    with os.fdopen(args.status_fd, "w", encoding="utf-8", buffering=1) as status:
        def emit(message: dict[str, Any]) -> None:
            status.write(json.dumps(message, default=str) + "\n")

        try:
            request = decode_request(sys.stdin.readline())
        except (ValueError, KeyError, TypeError) as exc:
            emit({"error": f"unreadable job request: {type(exc).__name__}: {exc}"})
            return 2
        threading.Thread(target=_exit_when_orphaned, daemon=True, name="orphan").start()
        try:
            result = run_batch(request, lambda name: emit({"stage": name}))
        except Exception as exc:  # noqa: BLE001 - reported to the API, traceback to the log
            traceback.print_exc()
            emit({"error": f"{type(exc).__name__}: {exc}"})
            return 1
        emit({"done": {"run_id": result.run_id, "score": result.score,
                       "load_summary": result.load_summary}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
