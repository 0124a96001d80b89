"""Admin jobs are kept in the state database: listed newest first and found by ID after the
API restarted; a job a stopped API left unfinished ends failed (cancelled, where asked)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from alerts.state.db import open_state, state_url
from alerts.state.jobs import INTERRUPTED, JobStore
from api.jobs import Job, JobRunner, JobStatus
from tests.api.test_api_support import make_settings, serve, tiny_run


def _job(job_id: str, status: JobStatus, created: str, *, cancel: bool = False) -> Job:
    return Job(job_id=job_id, status=status, sources="/d/sources.yaml",
               run_dir=f"/r/{job_id}", created_at=created, started_at=created,
               log=f"/r/{job_id}.log", cancel_requested=cancel)


def test_jobs_outlive_the_api_and_unfinished_ones_end(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    settings = make_settings(tmp_path, run)
    store = JobStore(open_state(settings.state_db or state_url(settings.state_dir)))
    kept = [_job("20260101T000000-aaaaaa", "succeeded", "2026-01-01T00:00:00+00:00"),
            _job("20260102T000000-bbbbbb", "linking", "2026-01-02T00:00:00+00:00"),
            _job("20260103T000000-cccccc", "scoring", "2026-01-03T00:00:00+00:00",
                 cancel=True)]
    for job in kept:
        store.save(job.model_dump(mode="json"))

    for _restart in range(2):  # the second start finds nothing left to mark
        with serve(tmp_path, run) as s:
            page = s.get("/admin/jobs", role="admin").json()
            assert page["total"] == 3
            assert [j["job_id"] for j in page["items"]] == [j.job_id for j in kept[::-1]]
            statuses = {j["job_id"]: (j["status"], j["error"]) for j in page["items"]}
            assert statuses == {kept[0].job_id: ("succeeded", None),
                                kept[1].job_id: ("failed", INTERRUPTED),
                                kept[2].job_id: ("cancelled", None)}
            one = s.get(f"/admin/jobs/{kept[1].job_id}", role="admin").json()
            assert one["status"] == "failed" and one["finished_at"]
            assert one["log"] == kept[1].log
            second = s.get("/admin/jobs", role="admin", params={"limit": 1, "offset": 1})
            assert [j["job_id"] for j in second.json()["items"]] == [kept[1].job_id]
            assert s.get("/admin/jobs", role="investigator").status_code == 403
            assert s.get("/admin/jobs", role="admin",
                         params={"limit": 0}).status_code == 422
            assert s.get("/admin/jobs/20990101T000000-ffffff", role="admin").status_code == 404
            # an earlier API's job has ended: nothing to cancel
            ended = s.post(f"/admin/jobs/{kept[1].job_id}/cancel", role="admin")
            assert ended.status_code == 409 and "already ended (failed)" in ended.json()["detail"]
            assert s.post("/admin/jobs/20990101T000000-ffffff/cancel",
                          role="admin").status_code == 404


def test_a_job_syncing_neo4j_is_not_cancelled(tmp_path: Path) -> None:
    """Ended mid-sync, the graph would hold part of the new run until the next load: the
    cancel is refused while the job publishes into Neo4j (a stand-in pipeline holds it
    there)."""
    run = tiny_run(tmp_path)
    with serve(tmp_path, run, sources_yaml=tmp_path / "sources.yaml") as s:
        (tmp_path / "sources.yaml").write_text("version: 1\n", encoding="utf-8")
        services = s.client.app.state.services  # type: ignore[attr-defined]
        reached: dict[str, threading.Event] = {n: threading.Event() for n in ("link", "sync")}
        go_on = {n: threading.Event() for n in ("link", "sync")}

        def pipeline(job: Job, _sources: Path, _run: Path, _previous: Path | None) -> None:
            runner.enter_stage(job, "linking", neo4j=True)
            reached["link"].set()
            go_on["link"].wait(10)
            runner.enter_stage(job, "publishing", neo4j=True)
            reached["sync"].set()
            go_on["sync"].wait(10)

        runner = JobRunner(services.settings, services.stores, services.lookup,
                           services.jobs.store, pipeline=pipeline)
        services.jobs = runner
        job = s.post("/admin/jobs", role="admin", json={}).json()
        assert reached["link"].wait(10)
        go_on["link"].set()
        assert reached["sync"].wait(10)
        refused = s.post(f"/admin/jobs/{job['job_id']}/cancel", role="admin")
        assert refused.status_code == 409 and "syncing Neo4j" in refused.json()["detail"]
        go_on["sync"].set()
        runner.wait(10)
        assert s.get(f"/admin/jobs/{job['job_id']}", role="admin").json()["status"] == "succeeded"


def test_old_run_folders_are_removed_but_the_newest_and_the_served_one(tmp_path: Path) -> None:
    """`keep_runs` = 2: after each job, the folders and logs of jobs older than the newest two
    are removed (failed ones too) and those jobs say when; the run being served, the
    configured run and a folder this runner did not make stay."""
    run = tiny_run(tmp_path)
    runs = tmp_path / "runs"
    foreign = tmp_path / "elsewhere" / "20250101T000000-eeeeee"
    foreign.mkdir(parents=True)
    with serve(tmp_path, run, sources_yaml=tmp_path / "sources.yaml", runs_dir=runs,
               keep_runs=2) as s:
        (tmp_path / "sources.yaml").write_text("version: 1\n", encoding="utf-8")
        services = s.client.app.state.services  # type: ignore[attr-defined]
        services.jobs.store.save(Job(  # an earlier job whose folder lay in another runs_dir
            job_id=foreign.name, status="succeeded", sources="/d/sources.yaml",
            run_dir=str(foreign), created_at="2025-01-01T00:00:00+00:00").model_dump(mode="json"))
        ids: list[str] = []
        ran: list[str] = []

        def pipeline(job: Job, _sources: Path, run_dir: Path, _previous: Path | None) -> str:
            ran.append(job.job_id)
            run_dir.mkdir(parents=True)
            (run_dir / "mentions.parquet").write_bytes(b"rows")
            Path(job.log or "").write_text("stage lines\n", encoding="utf-8")
            if len(ran) == 2:  # the second job's run is published and served from then on
                services.stores.run_dir = run_dir
            if len(ran) == 3:
                raise RuntimeError("the third job fails")
            return "run-x"

        runner = JobRunner(services.settings, services.stores, services.lookup,
                           services.jobs.store, pipeline=pipeline)
        services.jobs = runner

        def one_job() -> str:
            time.sleep(1.05)  # jobs are ordered by their start, to the second
            job = s.post("/admin/jobs", role="admin", json={}).json()
            ids.append(job["job_id"])
            runner.wait(10)
            return str(job["job_id"])

        def present() -> set[str]:
            return {i for i in ids if (runs / i).is_dir() and (runs / f"{i}.log").is_file()}

        def removed() -> set[str]:
            got = {i: s.get(f"/admin/jobs/{i}", role="admin").json() for i in ids}
            return {i for i, j in got.items() if j["removed_at"] is not None}

        for _ in range(5):
            one_job()
        assert [s.get(f"/admin/jobs/{i}", role="admin").json()["status"] for i in ids] == [
            "succeeded", "succeeded", "failed", "succeeded", "succeeded"]
        assert present() == {ids[1], ids[3], ids[4]}  # the served one, the newest two
        assert removed() == {ids[0], ids[2]}
        assert not (runs / ids[0]).exists() and not (runs / f"{ids[2]}.log").exists()
        one_job()
        assert present() == {ids[1], ids[4], ids[5]} and removed() == {ids[0], ids[2], ids[3]}
        assert foreign.is_dir() and (run / "mentions.parquet").is_file()
        assert services.jobs.store.get(foreign.name)["removed_at"] is None  # type: ignore[index]
        assert runner.remove_old_runs() == []  # nothing left to remove


def test_the_newest_published_run_still_present_is_served(tmp_path: Path) -> None:
    """Old runs removed (`keep_runs`): a restart serves the newest run of the published chain
    whose folder is complete, not the configured one."""
    from api.jobs import served_run

    base = tiny_run(tmp_path)
    settings = make_settings(tmp_path, base)
    store = JobStore(open_state(settings.state_db or state_url(settings.state_dir)))
    folders = [base]
    for n in range(1, 4):
        folder = tmp_path / "runs" / f"2026010{n}T000000-00000{n}"
        shutil.copytree(base, folder)
        folders.append(folder)
        store.save(Job(job_id=folder.name, status="succeeded", sources="/d/sources.yaml",
                       run_dir=str(folder), previous_run_dir=str(folders[n - 1]),
                       created_at=f"2026-01-0{n}T00:00:00+00:00").model_dump(mode="json"))
    assert served_run(settings, store) == folders[3]
    shutil.rmtree(folders[1])  # removed as older than the newest kept
    assert served_run(settings, store) == folders[3]
    shutil.rmtree(folders[3])  # the newest gone by hand: the newest still there
    assert served_run(settings, store) == folders[2]
    shutil.rmtree(folders[2])
    assert served_run(settings, store) == base
    assert served_run(settings.model_copy(update={"serve_published": False}), store) == base
