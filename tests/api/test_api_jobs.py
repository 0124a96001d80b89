"""Admin jobs end to end: generated agency files -> link -> score -> served, then a rerun.

Uses `guanlian generate --size tiny` data (linkage.synth), the real linkage, risk scoring
and embedded store; the inspection lookup then scores names with the run's trained model.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from linkage.synth import generate
from tests.api.test_api_support import create_keys, make_settings

pytestmark = pytest.mark.slow


def _wait(client: TestClient, headers: dict[str, str], job_id: str,
          timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/admin/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


def test_job_links_scores_and_swaps_in_the_new_run(tmp_path: Path) -> None:
    data = generate("tiny", 7, tmp_path / "data")
    (data / "broken.yaml").write_text("version: 1\nsources: {}\n", encoding="utf-8")
    settings = make_settings(tmp_path, None, sources_yaml=data / "sources.yaml",
                             runs_dir=tmp_path / "runs", data_root=data, match_threshold=0.6)
    keys, _ = create_keys(settings)
    admin = {"X-API-Key": keys["admin"]}
    inspector = {"X-API-Key": keys["inspector"]}
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 503  # nothing loaded yet
        escape = client.post("/admin/jobs", json={"sources": "../../etc/passwd"}, headers=admin)
        assert escape.status_code == 422 and escape.json()["errors"][0]["field"] == "sources"

        started = client.post("/admin/jobs", json={}, headers=admin)
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["status"] in ("queued", "linking")
        busy = client.post("/admin/jobs", json={}, headers=admin)
        assert busy.status_code == 409 and busy.json()["code"] == "conflict"
        done = _wait(client, admin, job["job_id"])
        assert done["status"] == "succeeded", done
        ready = client.get("/readyz").json()
        assert ready["run_id"] == done["run_id"] and ready["linkage_model"] is True
        run_dir = Path(done["run_dir"])
        assert (run_dir / "risk.parquet").is_file()
        # the batch ran in a process of its own, its output in the job's log beside the run
        log = Path(done["log"])
        assert log == run_dir.with_name(f"{done['job_id']}.log") and log.is_file()
        assert stat.S_IMODE(log.stat().st_mode) == 0o600

        # the trained model resolves a name-only declaration to the right enterprise
        entities = pd.read_parquet(run_dir / "entities.parquet")
        firm = entities[(entities["kind"] == "enterprise") & entities["uscc"].notna()].iloc[0]
        by_name = client.post("/inspection/lookup", json={"name": firm["name"]},
                              headers=inspector).json()
        assert by_name["match"]["entity"]["entity_id"] == firm["entity_id"], by_name
        assert by_name["match"]["method"] == "model"
        assert by_name["match"]["features"]
        by_code = client.post("/inspection/lookup", json={"uscc": firm["uscc"]},
                              headers=inspector).json()
        assert by_code["match"]["entity"]["entity_id"] == firm["entity_id"]
        assert by_code["risk_level"] in ("low", "medium", "high")

        # a failing job leaves the current run serving
        failed = client.post("/admin/jobs", json={"sources": "broken.yaml"}, headers=admin)
        assert failed.status_code == 202
        failed_job = _wait(client, admin, failed.json()["job_id"])
        assert failed_job["status"] == "failed"
        assert failed_job["error"].startswith("MappingError: ") and "no sources" in failed_job[
            "error"]
        assert "Traceback" in Path(failed_job["log"]).read_text(encoding="utf-8")
        assert client.get("/readyz").json()["run_id"] == done["run_id"]

        # a cancelled job ends its process, publishes nothing and leaves the run serving
        running = client.post("/admin/jobs", json={}, headers=admin).json()
        cancelled = client.post(f"/admin/jobs/{running['job_id']}/cancel", headers=admin)
        assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"] is True
        assert client.post(f"/admin/jobs/{running['job_id']}/cancel",
                           headers=inspector).status_code == 403
        ended = _wait(client, admin, running["job_id"], timeout=30)
        assert ended["status"] == "cancelled" and ended["error"] is None, ended
        assert not Path(ended["run_dir"]).exists()
        assert client.get("/readyz").json()["run_id"] == done["run_id"]
        again = client.post(f"/admin/jobs/{running['job_id']}/cancel", headers=admin)
        assert again.status_code == 409 and again.json()["code"] == "conflict"
        assert client.post("/admin/jobs/no-such-job/cancel", headers=admin).status_code == 404

        # a rerun (with --previous) swaps in only once complete; the old run serves meanwhile
        rerun = client.post("/admin/jobs", json={}, headers=admin).json()
        assert rerun["previous_run_dir"] == done["run_dir"]
        during = client.get("/readyz").json()["run_id"]
        second = _wait(client, admin, rerun["job_id"])
        assert during == done["run_id"]
        assert second["status"] == "succeeded", second
        assert second["alerts_raised"] == 0  # an unchanged rerun raises no alert
        assert client.get("/readyz").json()["run_id"] == second["run_id"] != done["run_id"]
        kept = client.post("/inspection/lookup", json={"uscc": firm["uscc"]},
                           headers=inspector).json()
        assert kept["match"]["entity"]["entity_id"] == firm["entity_id"]  # IDs carried forward
        every_job = [done, failed_job, ended, second]
        listed = client.get("/admin/jobs", headers=admin).json()
        assert listed["total"] == 4

    # the jobs outlive the API: a restarted one lists them as they ended
    with TestClient(create_app(settings)) as again:
        after = again.get("/admin/jobs", headers=admin).json()
        assert after["total"] == 4 and after["items"] == listed["items"]
        assert {j["job_id"]: j["status"] for j in after["items"]} == {
            j["job_id"]: j["status"] for j in every_job}
        assert again.get(f"/admin/jobs/{second['job_id']}", headers=admin).json() == second
        # and it serves the last run they published, not the configured (here: none)
        assert again.get("/readyz").json()["run_id"] == second["run_id"]
    rollback = settings.model_copy(update={"serve_published": False})
    with TestClient(create_app(rollback)) as configured:
        assert configured.get("/readyz").status_code == 503  # the configured: nothing
