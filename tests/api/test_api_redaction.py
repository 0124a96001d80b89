"""Field-level redaction per role (api/redaction.py), on the real embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from api.errors import Forbidden
from api.redaction import INSPECTOR_REASON, mask_id, redact
from graph.embedded.store import EmbeddedStore
from graph.models import RiskReason, RiskScore
from risk.config import RiskConfig
from risk.score import score_run
from tests.api.test_api_support import Served, serve
from tests.support.graph_fixture import A1, A4, CTRL, build_tiny_run, tiny_whitelist


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("redaction")) as s:
        yield s


@pytest.fixture(scope="module")
def ctrl_id_number(served: Served) -> str:
    assert served.settings.run_dir is not None
    profile = EmbeddedStore.from_run(served.settings.run_dir).get_entity(CTRL)
    assert profile is not None and profile.id_number
    return profile.id_number


def _no_paths(reasons: list[dict[str, Any]]) -> None:
    assert reasons, "the planted risk has reasons"
    for reason in reasons:
        assert reason["path_nodes"] == [] and reason["path_edges"] == []
        assert reason["evidence"] == {}


def test_inspector_may_not_read_a_persons_risk(served: Served) -> None:
    refused = served.get(f"/entities/{CTRL}/risk", role="inspector")
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "forbidden"
    # investigators see it whole, paths included
    whole = served.get(f"/entities/{CTRL}/risk", role="investigator")
    assert whole.status_code == 200 and whole.json()["reasons"][0]["path_nodes"] == [CTRL]


def test_inspector_sees_a_firms_level_and_reasons_without_paths(served: Served) -> None:
    inspector = served.get(f"/entities/{A1}/risk", role="inspector").json()
    investigator = served.get(f"/entities/{A1}/risk", role="investigator").json()
    assert inspector["level"] == investigator["level"] == "high"
    assert inspector["score"] == investigator["score"]
    assert [r["rule"] for r in inspector["reasons"]] == [r["rule"] for r in
                                                          investigator["reasons"]]
    assert [r["summary"] for r in inspector["reasons"]] == [r["summary"] for r in
                                                             investigator["reasons"]]
    _no_paths(inspector["reasons"])
    assert any(CTRL in r["path_nodes"] for r in investigator["reasons"])
    assert CTRL not in served.get(f"/entities/{A1}/risk", role="inspector").text


def test_inspector_lookup_hides_paths_and_masks_the_declarants_id(
    served: Served, ctrl_id_number: str
) -> None:
    body = {"uscc": _uscc_of(served, A1), "declarant_id": ctrl_id_number}
    inspector = served.post("/inspection/lookup", role="inspector", json=body).json()
    investigator = served.post("/inspection/lookup", role="investigator", json=body).json()
    assert inspector["risk_level"] == investigator["risk_level"] == "high"
    assert inspector["recommendation"] == investigator["recommendation"] == "inspect"
    _no_paths(inspector["reasons"])
    declarant = inspector["declarant"]["entity"]
    assert declarant["entity_id"] == CTRL
    assert declarant["id_number"] == mask_id(ctrl_id_number) != ctrl_id_number
    assert ctrl_id_number not in served.post("/inspection/lookup", role="inspector",
                                             json=body).text
    assert investigator["declarant"]["entity"]["id_number"] == ctrl_id_number


def test_inspector_screen_is_redacted_subject_by_subject(
    served: Served, ctrl_id_number: str
) -> None:
    subjects = [{"uscc": _uscc_of(served, A1)}, {"declarant_id": ctrl_id_number},
                {"uscc": _uscc_of(served, A4)}]
    answer = served.post("/inspection/screen", role="inspector", json={"subjects": subjects})
    assert answer.status_code == 200
    results = answer.json()["results"]
    _no_paths(results[0]["reasons"])
    assert results[1]["declarant"]["entity"]["id_number"] == mask_id(ctrl_id_number)
    assert ctrl_id_number not in answer.text


def test_redaction_fails_closed() -> None:
    risk = RiskScore(entity_id=A1, score=1.0, level="low", reasons=[
        RiskReason(rule="r", contribution=1.0, summary="s", path_nodes=[A1, CTRL])])
    with pytest.raises(Forbidden):
        redact({"anything": 1}, "inspector")  # a type not on the inspector's list
    with pytest.raises(Forbidden):
        redact(risk, None)  # no role
    with pytest.raises(Forbidden):
        redact(risk, "auditor")  # an unknown role
    assert redact(risk, "admin") is risk
    assert redact(risk, "inspector").reasons[0].path_nodes == []
    assert risk.reasons[0].path_nodes == [A1, CTRL]  # the store's object is never altered


def test_mask_id_keeps_region_and_tail() -> None:
    assert mask_id("110101199003071234") == "110101********1234"
    assert mask_id("12345") == "*****"


def _uscc_of(served: Served, entity_id: str) -> str:
    profile = served.get(f"/entities/{entity_id}", role="investigator").json()
    value: str = profile["uscc"]
    return value


def test_every_reason_field_is_classified_for_inspectors() -> None:
    assert set(INSPECTOR_REASON) == set(RiskReason.model_fields)
    assert set(INSPECTOR_REASON.values()) == {"keep", "hide"}


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The API on the tiny run scored by the real risk score (reasons with names, steps,
    events and attachments)."""
    base = tmp_path_factory.mktemp("scored")
    run = build_tiny_run(base)
    score_run(run, RiskConfig(hubs_whitelist=tiny_whitelist(), as_of=date(2024, 12, 31)))
    with serve(base, run) as s:
        yield s


def test_inspector_sees_events_but_no_names_steps_or_attachments(scored: Served) -> None:
    served = scored
    inspector = served.get(f"/entities/{A1}/risk", role="inspector").json()
    investigator = served.get(f"/entities/{A1}/risk", role="investigator").json()
    assert "张伟" in served.get(f"/entities/{A1}/risk", role="investigator").text
    assert "张伟" not in served.get(f"/entities/{A1}/risk", role="inspector").text
    for seen, whole in zip(inspector["reasons"], investigator["reasons"], strict=True):
        assert seen["rule_label"] == whole["rule_label"] and seen["rule_label"]
        assert seen["detail"] is None and whole["detail"]
        assert seen["steps"] == [] and seen["nodes"] == [] and seen["counterpart"] is None
        assert [e["date"] for e in seen["events"]] == [e["date"] for e in whole["events"]]
        assert all(e["attachment"] is None and e["entity_id"] is None for e in seen["events"])
    assert any(e["attachment"] for r in investigator["reasons"] for e in r["events"])
