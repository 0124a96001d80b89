"""A rerun job's batch in a process of its own (`pipeline.child`): the same run as in-process,
its stages heard, its errors named, cancelled at once, and never an orphan."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from neo4j import Driver

from graph.neo4j.store import Neo4jStore
from pipeline.child import (
    EXIT_ORPHANED,
    JobCancelled,
    JobFailed,
    decode_request,
    encode_request,
    run_apart,
)
from pipeline.run import EmbeddedTarget, Neo4jTarget, PipelineRequest, Stage
from risk.config import RiskConfig
from runfolder.folder import validate_run

pytestmark = pytest.mark.slow


def test_the_request_crosses_the_pipe_whole() -> None:
    config = RiskConfig(half_life_days=400.0)
    for target in (EmbeddedTarget(),
                   Neo4jTarget(uri="bolt://127.0.0.1:7687", user="neo4j", password="p\u00e4ss",
                               database="neo4j", batch_size=500, full_diff=True)):
        request = PipelineRequest(sources=Path("/d/sources.yaml"), run_dir=Path("/r/run"),
                                  previous=Path("/r/run0"), engine="spark", target=target,
                                  risk_config=config, prepare_graph=True)
        assert decode_request(encode_request(request)) == request


def _job_children_niceness() -> dict[int, int]:
    """This process's job children (pid -> niceness), from /proc; other children of the test
    session (a server, a browser) are not counted."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # ppid; the niceness is stat's 19th field
        if int(fields[1]) == os.getpid() and b"pipeline.child" in command:
            found[int(entry.name)] = int(fields[16])
    return found


def test_an_embedded_job_runs_apart_and_builds_the_store_here(
    sources: Path, tmp_path: Path,
) -> None:
    stages: list[Stage] = []
    niceness: list[dict[int, int]] = []

    def heard(stage: Stage) -> None:
        stages.append(stage)
        if stage == "linking":  # the child is running
            niceness.append(_job_children_niceness())

    log = tmp_path / "job.log"
    before = sys.getswitchinterval()
    result = run_apart(PipelineRequest(sources=sources, run_dir=tmp_path / "run"), log,
                       on_stage=heard, nice=7)
    assert sys.getswitchinterval() == before  # lowered only while the store was built
    assert stages == ["linking", "scoring", "publishing"]
    own = os.nice(0)
    assert niceness and list(niceness[0].values()) == [min(own + 7, 19)], niceness
    assert validate_run(result.run_dir)["run_id"] == result.run_id
    assert result.store is not None and result.store.run_info().run_id == result.run_id
    assert result.score["entities"] > 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "Fatal Python error" not in log.read_text(encoding="utf-8")


def test_a_neo4j_job_syncs_from_its_own_process(
    neo4j_clean: Driver, neo4j_target: Neo4jTarget, sources: Path, tmp_path: Path,
) -> None:
    target = neo4j_target
    stages: list[Stage] = []
    result = run_apart(PipelineRequest(sources=sources, run_dir=tmp_path / "run",
                                       target=target), tmp_path / "job.log",
                       on_stage=stages.append)
    assert stages == ["linking", "scoring", "preparing", "publishing"]
    assert result.store is None and result.load_summary
    assert Neo4jStore(neo4j_clean).run_info().run_id == result.run_id


def test_a_failing_job_names_its_error_and_logs_the_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nsources: {}\n", encoding="utf-8")
    log = tmp_path / "job.log"
    with pytest.raises(JobFailed) as failed:
        run_apart(PipelineRequest(sources=broken, run_dir=tmp_path / "run"), log)
    assert str(failed.value) == f"MappingError: {broken}: no sources declared"
    output = log.read_text(encoding="utf-8")
    assert "Traceback" in output and "Fatal Python error" not in output
    assert not (tmp_path / "run").exists()


def test_a_cancelled_job_ends_at_once_and_publishes_nothing(
    sources: Path, tmp_path: Path,
) -> None:
    cancel = threading.Event()
    stages: list[Stage] = []

    def heard(stage: Stage) -> None:
        stages.append(stage)
        cancel.set()  # as soon as the link starts

    started = time.monotonic()
    with pytest.raises(JobCancelled):
        run_apart(PipelineRequest(sources=sources, run_dir=tmp_path / "run"),
                  tmp_path / "job.log", on_stage=heard, cancel=cancel)
    assert stages == ["linking"]
    assert time.monotonic() - started < 20
    assert not (tmp_path / "run").exists()


def test_the_child_exits_when_its_parent_goes(sources: Path, tmp_path: Path) -> None:
    """The API died (or closed the pipe): the child stops linking at once, no orphan."""
    status_read, status_write = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "pipeline.child", "--status-fd", str(status_write)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        pass_fds=(status_write,), text=True)
    os.close(status_write)
    assert child.stdin is not None
    child.stdin.write(encode_request(PipelineRequest(sources=sources,
                                                     run_dir=tmp_path / "run")) + "\n")
    child.stdin.flush()
    with os.fdopen(status_read, encoding="utf-8") as status:
        assert json.loads(status.readline()) == {"stage": "linking"}
        child.stdin.close()
        assert child.wait(15) == EXIT_ORPHANED
    assert not (tmp_path / "run").exists()
