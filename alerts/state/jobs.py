"""Admin rerun jobs in the state database: each job as the API last reported it, so that an
admin finds a job (and its log, its error) after the API restarted; a job the stopped API
left unfinished is marked failed when the next one starts (`interrupted`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.state.tables import JOB_ENDED, JobRow

INTERRUPTED = "interrupted: the API stopped while the job ran"


def _resolved(run_dir: str | None) -> str | None:
    """A run folder as one spelling (a served `--run` may be relative)."""
    return None if run_dir is None else str(Path(run_dir).resolve())


class JobStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def save(self, job: dict[str, Any]) -> None:
        """Insert or replace the job (`api.jobs.Job` as JSON: `job_id`, `status`,
        `created_at` as an ISO time)."""
        with self.sessions.begin() as s:
            row = s.get(JobRow, job["job_id"])
            if row is None:
                s.add(JobRow(job_id=job["job_id"], status=job["status"],
                             created_at=datetime.fromisoformat(job["created_at"]), job=job))
            else:
                row.status, row.job = job["status"], job

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.sessions() as s:
            row = s.get(JobRow, job_id)
            return None if row is None else dict(row.job)

    def page(self, limit: int = 20, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Jobs newest first (ties: the larger ID), with the total."""
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(JobRow)) or 0
            rows = s.scalars(select(JobRow).order_by(JobRow.created_at.desc(),
                                                     JobRow.job_id.desc())
                             .limit(limit).offset(offset))
            return [dict(r.job) for r in rows], int(total)

    def published_from(self, run_dir: str | None) -> list[str]:
        """The runs rerun jobs published from `run_dir` (None: from nothing served), one
        after another: the newest job that succeeded from `run_dir`, then the newest that
        succeeded from that one's run, and so on; oldest first."""
        with self.sessions() as s:
            rows = s.scalars(select(JobRow).where(JobRow.status == "succeeded")
                             .order_by(JobRow.created_at, JobRow.job_id)).all()
        after: dict[str | None, str] = {}
        for row in rows:  # oldest first: the newest job from a run is kept
            after[_resolved(row.job.get("previous_run_dir"))] = str(_resolved(row.job["run_dir"]))
        chain: list[str] = []
        current = _resolved(run_dir)
        while current in after and after[current] not in chain:
            current = after[current]
            chain.append(current)
        return chain

    def interrupted(self, finished_at: str) -> list[str]:
        """Mark every job not ended (a stopped API's) as failed, `INTERRUPTED`; their IDs."""
        with self.sessions.begin() as s:
            rows = s.scalars(select(JobRow).where(JobRow.status.not_in(JOB_ENDED))).all()
            for row in rows:
                ended = "cancelled" if row.job.get("cancel_requested") else "failed"
                row.status = ended
                row.job = {**row.job, "status": ended, "finished_at": finished_at,
                           "error": None if ended == "cancelled" else INTERRUPTED}
            return [r.job_id for r in rows]
