"""Inspection lookup and screening on the real embedded store (tiny run, planted risk)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.embedded.store import EmbeddedStore
from graph.models import EntityProfile
from tests.api.test_api_support import Served, serve
from tests.support.graph_fixture import A1, A4, CTRL, H3, D


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("inspection")) as s:
        yield s


@pytest.fixture(scope="module")
def profiles(served: Served) -> dict[str, EntityProfile]:
    assert served.settings.run_dir is not None
    store = EmbeddedStore.from_run(served.settings.run_dir)
    out = {e: store.get_entity(e) for e in (A1, A4, CTRL, D[2], H3)}
    return {k: v for k, v in out.items() if v is not None}


def lookup(served: Served, **subject: Any) -> dict[str, Any]:
    response = served.post("/inspection/lookup", role="inspector", json=subject)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_lookup_by_uscc_finds_the_enterprise_and_its_risk(
    served: Served, profiles: dict[str, EntityProfile]
) -> None:
    a1 = profiles[A1]
    answer = lookup(served, uscc=a1.uscc)
    assert answer["match"]["entity"]["entity_id"] == A1
    assert answer["match"]["method"] == "uscc" and answer["confidence"] == 1.0
    assert answer["risk_level"] == "high" and answer["risk_score"] == 82.5
    assert [r["rule"] for r in answer["reasons"]] == ["own_events", "shared_controller"]
    assert answer["recommendation"] == "inspect"
    assert answer["candidates"] == []
    # lower-case and spaced input is normalised
    spaced = lookup(served, uscc=" " + (a1.uscc or "").lower() + " ")
    assert spaced["match"]["entity"]["entity_id"] == A1
    # pasted with invisible characters (a zero-width space, a BOM): the same code
    code = a1.uscc or ""
    pasted = lookup(served, uscc="\ufeff" + code[:6] + "\u200b" + code[6:])
    assert pasted["match"]["entity"]["entity_id"] == A1
    assert pasted["match"]["method"] == "uscc"


def test_lookup_by_customs_code(served: Served, profiles: dict[str, EntityProfile]) -> None:
    answer = lookup(served, customs_code=profiles[A4].customs_code)
    assert answer["match"]["entity"]["entity_id"] == A4
    assert answer["match"]["method"] == "customs_code"
    assert answer["risk_level"] == "low" and answer["recommendation"] == "release"


def test_conflicting_identifiers_are_noted_and_checked(
    served: Served, profiles: dict[str, EntityProfile]
) -> None:
    answer = lookup(served, uscc=profiles[A4].uscc, customs_code=profiles[A1].customs_code)
    assert answer["match"]["entity"]["entity_id"] == A4  # the USCC wins
    assert any("different enterprises" in n for n in answer["notes"])
    assert answer["recommendation"] == "document_check"


def test_lookup_by_name_only(served: Served, profiles: dict[str, EntityProfile]) -> None:
    answer = lookup(served, name=profiles[A1].name)
    assert answer["match"]["entity"]["entity_id"] == A1
    assert answer["match"]["method"] == "similarity"  # the tiny run has no trained model
    assert answer["recommendation"] == "inspect"


def test_lookup_by_declarant_id(served: Served, profiles: dict[str, EntityProfile]) -> None:
    answer = lookup(served, declarant_name="张伟", declarant_id=profiles[CTRL].id_number)
    assert answer["match"] is None
    assert answer["declarant"]["entity"]["entity_id"] == CTRL
    assert answer["declarant"]["method"] == "id_number"
    assert answer["risk_level"] == "medium" and answer["recommendation"] == "document_check"


def test_declarant_risk_raises_the_recommendation(
    served: Served, profiles: dict[str, EntityProfile]
) -> None:
    clean = lookup(served, uscc=profiles[A4].uscc)
    with_declarant = lookup(served, uscc=profiles[A4].uscc,
                            declarant_id=profiles[CTRL].id_number)
    assert clean["recommendation"] == "release"
    assert with_declarant["recommendation"] == "document_check"
    assert with_declarant["reasons"][0]["rule"] == "controls_violators"


def test_person_name_alone_never_identifies_a_declarant(served: Served) -> None:
    answer = lookup(served, declarant_name="张伟")
    assert answer["declarant"] is None and answer["match"] is None


def test_unknown_subject_gets_candidates(served: Served) -> None:
    answer = lookup(served, name="上海华信进出口贸易", uscc="91110000MA00000000")
    assert answer["match"] is None
    assert answer["recommendation"] == "document_check"
    assert any("check character" in n for n in answer["notes"])
    assert any("no enterprise holds" in n for n in answer["notes"])
    assert answer["candidates"], answer
    assert all(c["entity"]["kind"] == "Enterprise" for c in answer["candidates"])
    nothing = lookup(served, name="完全不存在的公司名称XYZ")
    assert nothing["match"] is None and nothing["recommendation"] == "document_check"


def test_a_field_a_border_system_sends_as_null_is_absent(
    served: Served, profiles: dict[str, EntityProfile]
) -> None:
    """NULL, 无, N/A, - in a field say there is no value: the lookup reads the other fields
    and notes no failing identifier it was never given."""
    a1 = profiles[A1]
    answer = lookup(served, uscc="NULL", customs_code="#N/A", name=a1.name,
                    declarant_id="无", declarant_name="-")
    assert answer["match"]["entity"]["entity_id"] == A1
    assert answer["match"]["method"] == "similarity" and answer["declarant"] is None
    assert not any("check" in n or "no enterprise holds" in n for n in answer["notes"])
    assert answer == lookup(served, name=a1.name)
    nothing = lookup(served, uscc="NULL", name="不详")
    assert nothing["match"] is None and nothing["candidates"] == []


def test_screening_many_subjects_keeps_their_order(
    served: Served, profiles: dict[str, EntityProfile]
) -> None:
    known = [{"uscc": profiles[e].uscc} for e in (A1, A4, D[2], H3)]
    subjects = (known + [{"name": "不存在的公司"}]) * 60  # 300 subjects
    response = served.post("/inspection/screen", role="inspector",
                           json={"subjects": subjects})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 300
    ids = [r["match"]["entity"]["entity_id"] if r["match"] else None for r in results[:5]]
    assert ids == [A1, A4, D[2], H3, None]
    assert results[0]["recommendation"] == "inspect"
    assert results[1]["recommendation"] == "release"
    assert results[299]["match"] is None
    assert results[295] == results[0]


def _thresholds_file(tmp_path: Path, inspect: float, document_check: float) -> Path:
    path = tmp_path / "recommend.yaml"
    path.write_text(f"version: 1\ninspect_min_score: {inspect}\n"
                    f"document_check_min_score: {document_check}\n"
                    "inspect_min_level: high\ndocument_check_min_level: medium\n",
                    encoding="utf-8")
    return path


def test_thresholds_are_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUANLIAN_INSPECTION_THRESHOLDS", str(_thresholds_file(tmp_path, 90, 50)))
    with serve(tmp_path, unknown_subject="inspect") as s:
        store = EmbeddedStore.from_run(s.settings.run_dir)  # type: ignore[arg-type]
        ctrl = store.get_entity(CTRL)
        assert ctrl is not None
        # CTRL scores 45 (medium level): the level still asks for a document check
        assert lookup(s, declarant_id=ctrl.id_number)["recommendation"] == "document_check"
        assert lookup(s, name="完全不存在的公司名称XYZ")["recommendation"] == "inspect"


def test_lookup_and_report_share_the_recommendation_file(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One source of truth: the file the report applies decides the lookup's recommendation."""
    ctrl = EmbeddedStore.from_run(served.settings.run_dir).get_entity(CTRL)  # type: ignore[arg-type]
    assert ctrl is not None and ctrl.risk is not None and ctrl.risk.score == 45.0
    # the packaged file: 45 is at least 30 (document check), under 60 (inspect)
    assert lookup(served, declarant_id=ctrl.id_number)["recommendation"] == "document_check"
    assert served.get("/inspection/report").json()["thresholds"]["inspect_min_score"] == 60.0
    monkeypatch.setenv("GUANLIAN_INSPECTION_THRESHOLDS", str(_thresholds_file(tmp_path, 40, 20)))
    with serve(tmp_path) as s:
        assert s.get("/inspection/report").json()["thresholds"]["inspect_min_score"] == 40.0
        assert lookup(s, declarant_id=ctrl.id_number)["recommendation"] == "inspect"


def test_moved_threshold_settings_are_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    with pytest.raises(ValueError, match="inspection/recommend.yaml"):
        Settings(inspect_min_score=90)  # type: ignore[call-arg]
    monkeypatch.setenv("GUANLIAN_DOCUMENT_CHECK_MIN_SCORE", "50")
    with pytest.raises(ValueError, match="GUANLIAN_DOCUMENT_CHECK_MIN_SCORE"):
        Settings()


class CountingStore:
    """Delegates to a real store and records every read the lookup makes."""

    def __init__(self, store: EmbeddedStore) -> None:
        self.store = store
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(*args, **kwargs)

        return record


def test_lookups_read_briefs_in_few_bounded_store_calls(
    served: Served, profiles: dict[str, EntityProfile]
) -> None:
    from api.inspection import NAME_SCAN, LookupService, Subject, load_matcher

    assert served.settings.run_dir is not None
    run = served.settings.run_dir
    service = LookupService(served.settings, load_matcher(run))
    counting = CountingStore(EmbeddedStore.from_run(run))
    store: Any = counting
    answer = service.lookup(store, Subject(uscc=profiles[A1].uscc))
    assert answer.match is not None and answer.match.entity.entity_id == A1
    assert answer.risk_level == "high" and answer.reasons  # risk came with the brief
    assert [c[0] for c in counting.calls] == ["briefs_by_identifier"]

    counting.calls.clear()
    named = service.lookup(store, Subject(name=profiles[A1].name))
    assert named.match is not None and named.match.entity.entity_id == A1
    # the candidates' briefs without their risk (kilobytes of reasons each), the winner's
    # risk on its own
    assert [c[0] for c in counting.calls] == ["rank_names", "get_briefs", "get_risk"]
    pool = served.settings.candidate_pool
    assert counting.calls[0][1] == {"kinds": ("Enterprise",), "limit": pool,
                                    "pool": NAME_SCAN * pool}
    assert counting.calls[1][1] == {"risk": False}
    assert named.risk_level == answer.risk_level and named.reasons == answer.reasons
    assert all(name != "get_entity" for name, _ in counting.calls)


def test_identifier_lookups_without_name_search(
    served: Served, profiles: dict[str, EntityProfile]
) -> None:
    """`names=False` (what the route runs on the event loop for an in-memory store) gives the
    full lookup's answer when identifiers settle it, and stops before any name search."""
    from api.inspection import LookupService, NameSearchNeeded, Subject, load_matcher

    assert served.settings.run_dir is not None
    service = LookupService(served.settings, load_matcher(served.settings.run_dir))
    counting = CountingStore(EmbeddedStore.from_run(served.settings.run_dir))
    store: Any = counting
    settled = [Subject(uscc=profiles[A1].uscc, name="ignored once the USCC matches"),
               Subject(customs_code=profiles[A1].customs_code),
               Subject(declarant_id=profiles[CTRL].id_number, declarant_name="whoever")]
    for subject in settled:
        assert service.lookup(store, subject, names=False) == service.lookup(store, subject)
    needs_names = [Subject(name=profiles[A1].name),
                   Subject(uscc="91310000MA1000099X", name=profiles[A1].name)]
    if service.uses_model:  # a person's name is searched only with the linkage model
        needs_names.append(Subject(declarant_id="110101199003071234", declarant_name="张伟"))
    for subject in needs_names:
        counting.calls.clear()
        with pytest.raises(NameSearchNeeded):
            service.lookup(store, subject, names=False)
        assert all(name not in ("search", "rank_names") for name, _ in counting.calls)
    assert EmbeddedStore.in_memory
