"""Identifier lookups on Neo4j read on the event loop (`graph.neo4j.aio`, the default) and
answer exactly as the worker-thread path (`neo4j_async_lookups=false`) does, for identifier
subjects, name subjects and subjects whose identifiers miss (then a name search follows in a
worker thread with the reads already made)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from api.app import create_app
from graph.neo4j.aio import AsyncIdentifierReads
from graph.neo4j.loader import publish_run
from graph.neo4j.store import Neo4jStore
from tests.api.test_api_support import create_keys, make_settings, tiny_run
from tests.conftest import Neo4jSettings

pytestmark = [pytest.mark.neo4j]


def _subjects(run: Path) -> tuple[list[dict[str, str]], int]:
    """(subjects, how many of the first are answered by identifiers alone)."""
    rows = pq.read_table(run / "entities.parquet").to_pylist()
    firms = [r for r in rows if r["kind"] == "enterprise" and r.get("uscc")]
    people = [r for r in rows if r["kind"] == "person" and r.get("id_number")]
    by_ids = [{"uscc": f["uscc"]} for f in firms]
    by_ids += [{"customs_code": f["customs_code"].lower()} for f in firms if f["customs_code"]]
    by_ids += [{"uscc": firms[0]["uscc"], "customs_code": firms[1]["customs_code"]}]
    by_ids += [{"declarant_id": p["id_number"], "declarant_name": p["name"]} for p in people]
    by_ids += [{"uscc": firms[2]["uscc"], "name": firms[2]["name"],
                "declarant_id": people[0]["id_number"]}]
    coded = next(f for f in firms if f["customs_code"])
    by_ids += [{"uscc": coded["uscc"], "customs_code": coded["customs_code"],  # a declaration
                "declarant_id": people[0]["id_number"], "declarant_name": people[0]["name"]}]
    by_ids += [{"uscc": "91310000MA1000099X"}]  # no name to search: answered unknown
    with_names = [{"name": f["name"]} for f in firms[:3]]
    with_names += [{"uscc": "91310000MA1000099X", "name": firms[3]["name"]},
                   {"uscc": "91310000MA1000099X", "name": firms[4]["name"],
                    "declarant_id": people[1]["id_number"]}]
    return by_ids + with_names, len(by_ids)


def _counting(monkeypatch: pytest.MonkeyPatch, cls: type, calls: Counter[str],
              name: str) -> None:
    """Count identifier reads asked for as `name` (and on the loop, its Cypher round trips
    as `trips`; in the worker thread, its batched reads as `batches`)."""
    real: Callable[..., Any] = cls.briefs_by_identifier  # type: ignore[attr-defined]
    if name == "loop":
        batched: Callable[..., Any] = cls.briefs_by_identifiers  # type: ignore[attr-defined]
        run: Callable[..., Any] = cls._run  # type: ignore[attr-defined]
        inside: list[bool] = []

        async def counted_async(self: Any, *args: Any) -> Any:
            calls[name] += not inside  # a batch's own reads were counted with it
            return await real(self, *args)

        async def counted_batch(self: Any, keys: list[Any]) -> Any:
            calls[name] += len(keys)
            inside.append(True)
            try:
                return await batched(self, keys)
            finally:
                inside.pop()

        async def counted_run(self: Any, *args: Any) -> Any:
            calls["trips"] += 1
            return await run(self, *args)
        monkeypatch.setattr(cls, "briefs_by_identifier", counted_async)
        monkeypatch.setattr(cls, "briefs_by_identifiers", counted_batch)
        monkeypatch.setattr(cls, "_run", counted_run)
    else:
        many: Callable[..., Any] = cls.briefs_by_identifiers  # type: ignore[attr-defined]
        within: list[bool] = []

        def counted(self: Any, *args: Any) -> Any:
            calls[name] += not within  # a batch's own reads were counted with it
            return real(self, *args)

        def counted_many(self: Any, keys: list[Any]) -> Any:
            keys = list(keys)
            calls[name] += len(keys)
            calls["batches"] += 1
            within.append(True)
            try:
                return many(self, keys)
            finally:
                within.pop()
        monkeypatch.setattr(cls, "briefs_by_identifier", counted)
        monkeypatch.setattr(cls, "briefs_by_identifiers", counted_many)


def _count_store_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the worker-thread store's identifier reads: one by one (`one`) and batched
    (`many`)."""
    calls: Counter[str] = Counter()
    one, many = Neo4jStore.briefs_by_identifier, Neo4jStore.briefs_by_identifiers

    def counted_one(self: Any, *args: Any) -> Any:
        calls["one"] += 1
        return one(self, *args)

    def counted_many(self: Any, keys: Any) -> Any:
        calls["many"] += 1
        return many(self, keys)

    monkeypatch.setattr(Neo4jStore, "briefs_by_identifier", counted_one)
    monkeypatch.setattr(Neo4jStore, "briefs_by_identifiers", counted_many)
    return calls


def _answers(base: Path, run: Path, s: Neo4jSettings, subjects: list[dict[str, str]], *,
             on_loop: bool) -> tuple[list[dict[str, Any]], list[Counter[str]], Counter[str]]:
    settings = make_settings(base, run, store="neo4j", neo4j_uri=s.uri, neo4j_user=s.user,
                             neo4j_password=s.password or "", neo4j_async_lookups=on_loop)
    keys, _ = create_keys(settings)
    headers = {"X-API-Key": keys["inspector"]}
    answers, per_subject = [], []
    app = create_app(settings)
    with TestClient(app) as client:
        calls = CALLS
        calls.clear()
        for subject in subjects:
            before = Counter(calls)
            response = client.post("/inspection/lookup", json=subject, headers=headers)
            assert response.status_code == 200, (subject, response.text)
            answers.append(response.json())
            per_subject.append(Counter(calls) - before)
        assert (app.state.services.stores.identifier_reads is not None) == on_loop
    return answers, per_subject, Counter(calls)


CALLS: Counter[str] = Counter()


def test_identifier_lookups_on_the_event_loop_answer_as_in_a_worker_thread(
        neo4j_clean: Driver, neo4j_settings: Neo4jSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    run = tiny_run(tmp_path)
    publish_run(neo4j_clean, run, progress=False)
    subjects, n_by_ids = _subjects(run)
    _counting(monkeypatch, AsyncIdentifierReads, CALLS, "loop")
    _counting(monkeypatch, Neo4jStore, CALLS, "thread")

    on_loop, loop_calls, _ = _answers(tmp_path / "loop", run, neo4j_settings, subjects,
                                      on_loop=True)
    in_thread, thread_calls, totals = _answers(tmp_path / "thread", run, neo4j_settings,
                                               subjects, on_loop=False)
    for subject, a, b in zip(subjects, on_loop, in_thread, strict=True):
        assert a == b, subject
    matched = [a["match"] or a["declarant"] for a in on_loop]
    assert all(matched[:n_by_ids - 1]) and not matched[n_by_ids - 1]
    assert any(a["reasons"] for a in on_loop)
    # identifiers alone: every read on the event loop, all of a subject's in one round
    # trip (a declaration's USCC, customs code and declarant ID too), none in a thread
    assert all(c["loop"] >= 1 and c["trips"] == 1 and c["thread"] == 0
               for c in loop_calls[:n_by_ids])
    assert loop_calls[n_by_ids - 2] == Counter(loop=3, trips=1)
    # a missed identifier then a name: read once on the loop, not again in the thread; the
    # declarant's ID too, in the same round trip, before the name search in the thread
    assert loop_calls[n_by_ids + 3] == Counter(loop=1, trips=1)
    assert loop_calls[n_by_ids + 4] == Counter(loop=2, trips=1)
    # the worker-thread path made the same reads through the sync store alone, a
    # subject's identifiers in one batch (a declaration's three too)
    assert totals["loop"] == 0 and all(c["loop"] == 0 for c in thread_calls)
    assert all(c["batches"] == 1 for c in thread_calls)
    assert thread_calls[n_by_ids - 2] == Counter(thread=3, batches=1)
    assert (sum(c["thread"] for c in thread_calls)
            == sum(c["loop"] + c["thread"] for c in loop_calls))


def test_a_screen_reads_its_subjects_identifiers_at_once_and_answers_as_lookups(
        neo4j_clean: Driver, neo4j_settings: Neo4jSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A screen's results are the answers of its subjects looked up one by one, and every
    identifier they declare is read in one round trip (none one by one), names included."""
    run = tiny_run(tmp_path)
    publish_run(neo4j_clean, run, progress=False)
    subjects, _ = _subjects(run)
    s = neo4j_settings
    settings = make_settings(tmp_path / "screen", run, store="neo4j", neo4j_uri=s.uri,
                             neo4j_user=s.user, neo4j_password=s.password or "")
    keys, _ = create_keys(settings)
    headers = {"X-API-Key": keys["inspector"]}
    calls = _count_store_reads(monkeypatch)
    with TestClient(create_app(settings)) as client:
        looked_up = []
        for subject in subjects:
            response = client.post("/inspection/lookup", json=subject, headers=headers)
            assert response.status_code == 200, response.text
            looked_up.append(response.json())
        calls.clear()
        response = client.post("/inspection/screen", json={"subjects": subjects},
                               headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["results"] == looked_up
    assert calls == Counter(many=1)


def test_a_watchlist_upload_reads_its_rows_identifiers_at_once(
        neo4j_clean: Driver, neo4j_settings: Neo4jSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An uploaded set's rows resolve as each row looked up alone would, and the identifiers
    of all of them are read in one round trip (none one by one)."""
    from api.routes.watchlists import ByName, ByResidentId, ByUscc, Upload, item, subject_of

    def as_row(row: dict[str, str]) -> Upload:
        if "id_number" in row:
            return ByResidentId(**row)
        return ByUscc(**row) if "uscc" in row else ByName(**row)

    run = tiny_run(tmp_path)
    publish_run(neo4j_clean, run, progress=False)
    rows = pq.read_table(run / "entities.parquet").to_pylist()
    firms = [r for r in rows if r["kind"] == "enterprise" and r.get("uscc")]
    people = [r for r in rows if r["kind"] == "person" and r.get("id_number")]
    upload = [{"uscc": f["uscc"]} for f in firms[:3]]
    upload += [{"id_number": p["id_number"], "name": p["name"]} for p in people[:2]]
    upload += [{"uscc": "91310000MA1000099X", "name": firms[3]["name"]},  # missed: by name
               {"id_number": "110101199003071234"}, {"name": "完全不存在的名字集团"}]
    s = neo4j_settings
    settings = make_settings(tmp_path / "watch", run, store="neo4j", neo4j_uri=s.uri,
                             neo4j_user=s.user, neo4j_password=s.password or "")
    keys, _ = create_keys(settings)
    calls = _count_store_reads(monkeypatch)
    with TestClient(create_app(settings)) as client:
        calls.clear()
        response = client.post("/watchlists", json={"name": "w", "kind": "set",
                                                    "subjects": upload},
                               headers={"X-API-Key": keys["investigator"]})
        assert response.status_code == 201, response.text
        assert calls == Counter(many=1)
        services = client.app.state.services  # type: ignore[attr-defined]
        store = services.stores.get()
        alone = [item(r, services.lookup.lookup(store, subject_of(r)))
                 for r in map(as_row, upload)]
    items = response.json()["items"]
    assert [{k: i[k] for k in ("entity_id", "status", "query")} for i in items] == alone
    assert [i["status"] for i in items][:5] == ["matched"] * 5
    assert items[-1]["status"] == "unmatched"
