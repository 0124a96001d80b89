"""Inspector lookup of a legal-form or region variant of a registered name (issue 18), with
the linkage's own name standardisation, on the real embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from api.name_variants import same_firm_name, variant_of
from runfolder.folder import read_table, write_table
from tests.api.test_api_support import Served, serve, tiny_run
from tests.support.graph_fixture import A1

BAOJIN = "E0000000000b7"
NAMESAKE_CITY = "E0000000000b8"
BRANCH = "E0000000000b9"
PLANTED = {
    BAOJIN: ("深圳市宝锦电子科技有限责任公司", "广东省深圳市福田区华强北路10号"),
    NAMESAKE_CITY: ("广州市宝锦电子科技有限公司", "广东省广州市天河区体育西路8号"),
    BRANCH: ("深圳市宝锦电子科技有限责任公司南山分公司", "广东省深圳市南山区科技园9号"),
}


def _plant(run: Path) -> None:
    """Three firms beside the tiny run's: 宝锦 as registered, a namesake in another city and
    its branch (each a copy of A1's row with its own name, identifiers and address)."""
    entities = read_table(run, "entities")
    template = entities[entities["entity_id"] == A1].iloc[0].to_dict()
    rows = list(pa.Table.from_pandas(entities, preserve_index=False).to_pylist())
    for i, (entity_id, (name, address)) in enumerate(PLANTED.items()):
        rows.append({**{k: (None if isinstance(v, float) else v) for k, v in template.items()},
                     "entity_id": entity_id, "name": name, "names": [name],
                     "name_pinyin": None, "uscc": f"91440300MA5F00000{i}",
                     "customs_code": f"440300000{i}", "address": address,
                     "address_std": address, "mention_ids": [], "n_mentions": 0})
    write_table(run, "entities", rows)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("variants")
    run = tiny_run(base)
    _plant(run)
    # a deployment demanding 0.95 name similarity: 深圳市宝锦电子科技有限公司 scores 0.93
    with serve(base, run, similarity_threshold=0.95) as s:
        yield s


def _lookup(served: Served, **subject: Any) -> dict[str, Any]:
    response = served.post("/inspection/lookup", role="inspector", json=subject)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_legal_form_variant_of_a_registered_name_is_matched(served: Served) -> None:
    answer = _lookup(served, name="深圳市宝锦电子科技有限公司")
    assert answer["match"] is not None, answer
    assert answer["match"]["entity"]["entity_id"] == BAOJIN
    assert answer["match"]["method"] == "name_key"
    assert 0.9 <= answer["confidence"] < 0.95  # its own similarity, not inflated
    assert answer["candidates"] == []
    assert answer["recommendation"] == "release" and answer["recommendation_label"] == "放行"


def test_region_variants_match_and_namesakes_and_branches_do_not(served: Served) -> None:
    moved = _lookup(served, name="宝锦电子科技（深圳）有限公司")
    assert moved["match"] is not None and moved["match"]["entity"]["entity_id"] == BAOJIN
    elsewhere = _lookup(served, name="广州宝锦电子科技有限责任公司")
    assert elsewhere["match"]["entity"]["entity_id"] == NAMESAKE_CITY
    # a fragment without legal form is no variant: candidates, each with its confidence
    fragment = _lookup(served, name="宝锦电子")
    assert fragment["match"] is None and fragment["candidates"]
    assert all(0 <= c["confidence"] <= 1 and c["same_name"] is False
               for c in fragment["candidates"])
    assert fragment["recommendation_label"] == "单证审核"


def test_two_variants_are_candidates_not_a_match(served: Served) -> None:
    # no region: 深圳 and 广州 firms are both variants, so neither is chosen
    both = _lookup(served, name="宝锦电子科技有限公司")
    assert both["match"] is None
    same = {c["entity"]["entity_id"] for c in both["candidates"] if c["same_name"]}
    assert same == {BAOJIN, NAMESAKE_CITY}


def test_variants_follow_the_linkage_name_keys() -> None:
    registered = variant_of("深圳市宝锦电子科技有限责任公司")
    assert same_firm_name(variant_of("深圳市宝锦电子科技有限公司"), registered)
    assert same_firm_name(variant_of("宝锦电子科技（深圳）有限公司"), registered)
    assert not same_firm_name(variant_of("广州市宝锦电子科技有限公司"), registered)
    assert not same_firm_name(variant_of("深圳市宝锦电子科技有限责任公司南山分公司"), registered)
    assert not same_firm_name(variant_of("深圳市宝锦电子科技"), registered)
