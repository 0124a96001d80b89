"""Shared helpers of the API tests (no tests here): a served tiny run and keys per role.

The app runs the REAL embedded store on the hand-made tiny run of `graph_fixture`, with a
`risk.parquet` added for a few entities so lookups have risk to report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyStore
from api.settings import Settings
from runfolder.folder import write_table
from tests.support.graph_fixture import A1, A4, CTRL, RUN_ID, build_tiny_run

ROLES = ("inspector", "investigator", "admin")

# planted risk rows: A1 high, CTRL medium, A4 low
RISK_ROWS = [
    {"entity_id": A1, "score": 82.5, "level": "high", "run_id": RUN_ID,
     "reasons": json.dumps([
         {"rule": "own_events", "contribution": 50.0, "summary": "2 penalties in 2023",
          "path_nodes": [A1], "path_edges": [], "event_ids": []},
         {"rule": "shared_controller", "contribution": 32.5,
          "summary": "legal representative controls 3 violating firms",
          "path_nodes": [A1, CTRL], "path_edges": [], "event_ids": []}])},
    {"entity_id": CTRL, "score": 45.0, "level": "medium", "run_id": RUN_ID,
     "reasons": json.dumps([{"rule": "controls_violators", "contribution": 45.0,
                             "summary": "controls 3 violating firms", "path_nodes": [CTRL],
                             "path_edges": [], "event_ids": []}])},
    {"entity_id": A4, "score": 5.0, "level": "low", "run_id": RUN_ID, "reasons": "[]"},
]


def tiny_run(base: Path) -> Path:
    run = build_tiny_run(base)
    write_table(run, "risk", RISK_ROWS)
    return run


@dataclass
class Served:
    client: TestClient
    settings: Settings
    keys: dict[str, str]  # role -> full key
    key_ids: dict[str, str]

    def get(self, path: str, role: str | None = "investigator", **kw: Any) -> Any:
        headers = {**self.auth(role), **kw.pop("headers", {})}
        return self.client.get(path, headers=headers, **kw)

    def post(self, path: str, role: str | None = "investigator", **kw: Any) -> Any:
        headers = {**self.auth(role), **kw.pop("headers", {})}
        return self.client.post(path, headers=headers, **kw)

    def auth(self, role: str | None) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]} if role else {}


def make_settings(base: Path, run: Path | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test", "state_dir": base / "state", "run_dir": run,
        "store": "embedded", "audit_fsync_interval_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


def create_keys(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    store = KeyStore(settings.keys_path)
    keys, ids = {}, {}
    for role in ROLES:
        record, key = store.create(f"test-{role}", role)  # type: ignore[arg-type]
        keys[role], ids[role] = key, record.key_id
    store.close()
    return keys, ids


@contextmanager
def serve(base: Path, run: Path | None = None, *, raise_errors: bool = True,
          **overrides: Any) -> Iterator[Served]:
    """The app on `run` (default: a fresh tiny run under `base`), with one key per role."""
    if run is None:
        run = tiny_run(base)
    settings = make_settings(base, run, **overrides)
    keys, ids = create_keys(settings)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=raise_errors) as client:
        yield Served(client, settings, keys, ids)
