"""Admin jobs: link the sources into a new run folder, then serve it.

One job at a time (a second start while one runs is a `Conflict`). A background thread runs
the pipeline's batch in a child process (`pipeline.child.run_apart`: link into
`runs_dir/<job id>/`, score, prepare the graph rows and sync Neo4j; the child's output in
`runs_dir/<job id>.log`), so the batch neither slows the API's lookups nor leaves its memory
(a Spark JVM) in the API, and can be cancelled (`cancel`: the child is ended). For an embedded
store the store built on the run is then swapped in atomically. Until that last step
completes the previous run keeps serving; a failed or cancelled job leaves it serving. Each
job is saved in the state database at every change (`alerts.state.jobs.JobStore`), so the
jobs' list outlives the process; one a stopped API left unfinished is marked failed.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import threading
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, field_validator

from alerts.state.tables import JOB_ENDED

if TYPE_CHECKING:
    from alerts.state.jobs import JobStore
    from pipeline.run import Stage

from api.errors import Conflict, InvalidParameter, NotFound
from api.inspection import LookupService, load_matcher
from api.logs import mask
from api.settings import Settings
from api.stores import StoreHolder, neo4j_password
from api.validation import PRINTABLE_SCHEMA, check_printable

log = logging.getLogger("guanlian.api.jobs")
JobStatus = Literal["queued", "linking", "scoring", "loading", "succeeded", "failed",
                    "cancelled"]
# how long the API's shutdown waits for a cancelled job's thread
STOP_WAIT_S = 30.0
MAX_KEPT_JOBS = 50
REMOVE_PAGE = 200  # jobs read at a time when removing old run folders
# the job status while each pipeline stage runs (preparing graph rows is part of loading)
_STATUS_OF_STAGE: dict[str, JobStatus] = {
    "linking": "linking", "scoring": "scoring", "preparing": "loading", "publishing": "loading",
}


class JobRequest(BaseModel):
    sources: str | None = Field(
        default=None, max_length=1000, json_schema_extra=PRINTABLE_SCHEMA,
        description="sources.yaml to link (under the configured data root); "
        "default: the configured sources.yaml",
        examples=["data/sources.yaml"],
    )


    @field_validator("sources")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else check_printable(value)


class Job(BaseModel):
    job_id: str
    status: JobStatus
    sources: str
    run_dir: str
    previous_run_dir: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    run_id: str | None = None
    log: str | None = Field(default=None, description="the job process's output (stage lines, "
                            "a traceback), a file beside the run folder")
    cancel_requested: bool = False
    alerts_raised: int | None = Field(
        default=None, description="new alerts raised against the previous run after publishing")
    removed_at: str | None = Field(
        default=None, description="when its run folder and log were removed (`keep_runs`)")


def served_run(settings: Settings, store: JobStore) -> Path | None:
    """The run folder the API serves at start: the configured one, or (`serve_published`)
    the last run that rerun jobs published from it, as far as those folders still exist
    (`JobStore.published_from`), so a restart neither serves an older run than the one it
    stopped with nor reruns the next job against it."""
    from runfolder.folder import RunFolderError, check_run

    configured = settings.run_dir
    if not settings.serve_published:
        return configured
    chain = store.published_from(None if configured is None else str(configured))
    served = configured
    for later in reversed(chain):  # the newest still servable (older ones may be removed)
        try:
            check_run(Path(later))
        except RunFolderError as exc:
            log.warning("published run %s is not servable (%s)", later, exc)
            continue
        served = Path(later)
        break
    if served != configured:
        log.warning("serving %s: the last run rerun jobs published from %s "
                    "(GUANLIAN_SERVE_PUBLISHED=false serves that one)", served,
                    configured or "nothing")
    return served


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# (job, sources.yaml, new run dir, previous run dir) -> run_id of the new run
Pipeline = Callable[[Job, Path, Path, Path | None], str | None]
# after publishing: (new run dir, previous run dir) -> how many new alerts were raised
OnPublished = Callable[[Path, Path | None], int]


class JobRunner:
    def __init__(self, settings: Settings, stores: StoreHolder, lookup: LookupService,
                 store: JobStore, pipeline: Pipeline | None = None,
                 on_published: OnPublished | None = None) -> None:
        """`store`: where jobs are kept past this process (the state database); the jobs a
        stopped API left unfinished are marked failed (cancelled, where asked) here."""
        self.settings, self.stores, self.lookup = settings, stores, lookup
        self.on_published = on_published
        self.store = store
        for job_id in store.interrupted(_now()):
            log.warning("job %s was interrupted by the API's stop", job_id)
        self._pipeline = pipeline or self._link_and_serve
        if pipeline is None:
            # loaded now, not at the first job: importing the batch's modules (Splink, the
            # link) holds the interpreter about 130 ms, and a lookup in flight waited as long
            importlib.import_module("pipeline.child")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._syncing = False  # a job's child is writing its diff into Neo4j
        # one save at a time, each dumping the job as it is then: the last one kept is the
        # newest state (a cancel's save racing the job's final one cannot bring back a stale one)
        self._save_lock = threading.Lock()

    def _sources(self, requested: str | None) -> Path:
        if requested is None:
            if self.settings.sources_yaml is None:
                raise InvalidParameter("sources", "no default sources.yaml is configured")
            return self.settings.sources_yaml.resolve()
        root = (self.settings.data_root or Path.cwd()).resolve()
        try:
            path = (root / requested).resolve()
            found = path.is_file()
        except (OSError, ValueError) as exc:  # NUL, over-long names: refused, never a 500
            raise InvalidParameter("body.sources", f"not a usable path: {exc}") from exc
        if not path.is_relative_to(root):
            raise InvalidParameter("sources", "must lie under the configured data root")
        if not found:
            raise InvalidParameter("sources", "no such file under the data root")
        return path

    def start(self, request: JobRequest) -> Job:
        sources = self._sources(request.sources)
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise Conflict("a job is already running; wait for it to finish")
            job_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
            run_dir = (self.settings.runs_dir / job_id).resolve()
            previous = self.stores.run_dir
            job = Job(job_id=job_id, status="queued", sources=str(sources), run_dir=str(run_dir),
                      previous_run_dir=str(previous) if previous else None, created_at=_now(),
                      log=str(run_dir.with_name(f"{job_id}.log")))
            self._cancel = threading.Event()
            self._save(job, strict=True)  # a job the state cannot keep is not started
            self._jobs[job_id] = job
            for old in list(self._jobs)[:-MAX_KEPT_JOBS]:
                del self._jobs[old]
            self._thread = threading.Thread(target=self._run, args=(job, sources, run_dir,
                                                                     previous),
                                            name=f"job-{job_id}", daemon=True)
            self._thread.start()
        return job.model_copy()

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is not None:
            return job.model_copy()
        kept = self.store.get(job_id)
        if kept is None:
            raise NotFound(f"no job {job_id}")
        return Job.model_validate(kept)

    def page(self, limit: int = 20, offset: int = 0) -> tuple[list[Job], int]:
        """Jobs newest first, with the total: every job the state database keeps (this
        API's and earlier ones'), this process's as they are now."""
        kept, total = self.store.page(limit, offset)
        live = self._jobs
        return [live[k["job_id"]].model_copy() if k["job_id"] in live
                else Job.model_validate(k) for k in kept], total

    def _save(self, job: Job, *, strict: bool = False) -> None:
        try:
            with self._save_lock:
                self.store.save(job.model_dump(mode="json"))
        except Exception:
            if strict:
                raise
            log.exception("job %s: its state could not be kept", job.job_id)

    def cancel(self, job_id: str) -> Job:
        """Ask the running job `job_id` to stop: its process is ended and the job ends
        `cancelled`, the previous run serving on. A finished job is a `Conflict`."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                kept = self.get(job_id)  # NotFound, or an earlier process's job: ended
                raise Conflict(f"job {job_id} has already ended ({kept.status})")
            if job.status in JOB_ENDED:
                raise Conflict(f"job {job_id} has already ended ({job.status})")
            if self._syncing:
                raise Conflict(f"job {job_id} is syncing Neo4j; ended now, the graph would "
                               "hold part of the new run until the next load: wait for it")
            job.cancel_requested = True
            self._cancel.set()
            self._save(job)
        return job.model_copy()

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def stop(self) -> None:
        """At the API's shutdown: cancel a running job (unless it is syncing Neo4j) and wait
        for its process to end (a child still running ends with this process: its stdin
        closes; a sync cut short is repaired by the next load, `graph.neo4j.loader`)."""
        if not self._syncing:
            self._cancel.set()
        self.wait(STOP_WAIT_S)

    def enter_stage(self, job: Job, stage: Stage, *, neo4j: bool) -> None:
        """The job's pipeline entered `stage` (publishing into Neo4j: not cancellable)."""
        with self._lock:
            job.status = _STATUS_OF_STAGE[stage]
            self._syncing = neo4j and stage == "publishing"
        self._save(job)

    def _run(self, job: Job, sources: Path, run_dir: Path, previous: Path | None) -> None:
        from pipeline.child import JobCancelled, JobFailed

        job.started_at = _now()
        self._save(job)
        try:
            job.run_id = self._pipeline(job, sources, run_dir, previous)
            if self.on_published is not None and job.run_id is not None:
                job.alerts_raised = self.on_published(run_dir, previous)
            job.status = "succeeded"
        except JobCancelled:
            job.status = "cancelled"
            log.warning("job %s cancelled", job.job_id)
        except Exception as exc:
            job.status = "failed"
            # the job process's error as it named it; else this thread's
            text = str(exc) if isinstance(exc, JobFailed) else f"{type(exc).__name__}: {exc}"
            job.error = mask((text.splitlines() or [""])[0])[:500]
            log.error("job %s failed: %s", job.job_id, mask(traceback.format_exc()))
        finally:
            job.finished_at = _now()
            self._syncing = False
            self._save(job)
        self.remove_old_runs()

    def remove_old_runs(self) -> list[str]:
        """Remove the run folders and logs of the jobs older than the newest `keep_runs`
        (0: none), except the run being served; mark those jobs `removed_at`. Only a job's
        own folder in `runs_dir` (`runs_dir/<job id>`, `runs_dir/<job id>.log`) is touched.
        Returns the IDs of the jobs whose files were removed; a file that cannot be removed is
        logged and tried again after the next job."""
        keep = self.settings.keep_runs
        if keep == 0:
            return []
        root = self.settings.runs_dir.resolve()
        served = self.stores.run_dir
        served = served.resolve() if served is not None else None
        removed: list[str] = []
        offset = keep
        while True:
            older, _total = self.store.page(REMOVE_PAGE, offset)
            for kept in older:
                job = self._jobs.get(kept["job_id"]) or Job.model_validate(kept)
                if job.status not in JOB_ENDED or job.removed_at is not None:
                    continue
                folder = root / job.job_id
                if Path(job.run_dir).resolve() != folder or folder == served:
                    continue  # not a folder this runner made, or the one being served
                try:
                    if folder.exists():
                        shutil.rmtree(folder)
                    folder.with_name(f"{job.job_id}.log").unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("job %s: its run folder could not be removed: %s",
                                job.job_id, exc)
                    continue
                job.removed_at = _now()
                self._save(job)
                removed.append(job.job_id)
            if len(older) < REMOVE_PAGE:
                break
            offset += REMOVE_PAGE
        if removed:
            log.info("removed the run folders of %d older jobs (GUANLIAN_KEEP_RUNS=%d)",
                     len(removed), keep)
        return removed

    def _link_and_serve(self, job: Job, sources: Path, run_dir: Path,
                        previous: Path | None) -> str | None:
        from pipeline.child import run_apart
        from pipeline.run import EmbeddedTarget, Neo4jTarget, PipelineRequest

        s = self.settings
        target = (Neo4jTarget(uri=s.neo4j_uri, user=s.neo4j_user, password=neo4j_password(s))
                  if s.store_kind == "neo4j" else EmbeddedTarget())
        request = PipelineRequest(sources=sources, run_dir=run_dir, previous=previous,
                                  engine=s.link_engine, target=target)

        def stage(name: Stage) -> None:
            self.enter_stage(job, name, neo4j=isinstance(target, Neo4jTarget))

        result = run_apart(request, Path(job.log or run_dir.with_name(f"{job.job_id}.log")),
                           on_stage=stage, cancel=self._cancel, nice=s.job_nice)
        if result.store is not None:
            self.stores.swap(result.store, run_dir)
        else:
            self.stores.run_dir = run_dir
        self.lookup.set_matcher(load_matcher(run_dir))
        return result.run_id
