"""The generator: determinism, the mapping and the truth agree, the CLI works."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from linkage.synth import generate
from tests.support.synth_reading import expected_mentions, read_rows

FIXTURE = Path(__file__).parents[1] / "fixtures" / "small"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("tiny", 11, tmp_path_factory.mktemp("tiny"))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_gives_identical_bytes(tiny: Path, tmp_path: Path) -> None:
    again = _files(generate("tiny", 11, tmp_path / "again"))
    first = _files(tiny)
    assert sorted(first) == sorted(again)
    assert [f for f in first if first[f] != again[f]] == []


def test_other_seed_gives_other_data(tiny: Path, tmp_path: Path) -> None:
    other = generate("tiny", 12, tmp_path / "other")
    a = (tiny / "data" / "registry_enterprises.csv").read_bytes()
    assert a != (other / "data" / "registry_enterprises.csv").read_bytes()


def test_unknown_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown size"):
        generate("huge", 1, tmp_path)


def test_mapping_validates_and_names_existing_columns(tiny: Path) -> None:
    from linkage.mapping import load_mapping
    from linkage.readers import read_columns

    loaded = load_mapping(tiny / "sources.yaml")
    assert len(loaded.sources) >= 7
    for name, spec in loaded.sources.items():
        columns = set(read_columns(loaded.data_path(name), spec.format, spec.encoding))
        missing = set(spec.columns_used()) - columns
        assert not missing, f"{name}: {missing}"


@pytest.mark.parametrize("root", ["tiny", "fixture"])
def test_truth_has_exactly_the_mentions_the_mapping_yields(
    root: str, tiny: Path
) -> None:
    base = tiny if root == "tiny" else FIXTURE
    truth = pd.read_csv(base / "truth" / "mentions.csv", dtype=str)
    assert list(truth.columns) == ["source", "record_id", "role", "entity"]
    assert not truth.duplicated(["source", "record_id", "role"]).any()
    got = set(zip(truth["source"], truth["record_id"], truth["role"], strict=True))
    want = expected_mentions(base / "sources.yaml")
    assert got - want == set(), "truth rows the mapping does not yield"
    assert want - got == set(), "mentions without a truth row"
    assert truth["entity"].str.fullmatch(r"(ent|per)-\d{6}").all()
    # the mention kind in the mapping agrees with the kind of the true entity
    import yaml

    mapping = yaml.safe_load((base / "sources.yaml").read_text(encoding="utf-8"))
    kinds = {(s, r): m["kind"] for s, spec in mapping["sources"].items()
             for r, m in spec["mentions"].items()}
    kind = [kinds[(s, r)] for s, r in zip(truth["source"], truth["role"], strict=True)]
    assert (truth["entity"].str.startswith("ent-") == pd.Series(kind).eq("enterprise")).all()


def test_expected_quarantine_points_at_bad_rows(tiny: Path) -> None:
    import yaml

    risk = json.loads((tiny / "truth" / "risk.json").read_text(encoding="utf-8"))
    mapping = yaml.safe_load((tiny / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    reasons = {q["reason"] for q in risk["expected_quarantine"]}
    assert reasons == {"unparseable_date", "missing_required", "duplicate_key", "undecodable"}
    for q in risk["expected_quarantine"]:
        spec = mapping[q["source"]]
        rows = read_rows(tiny, spec)
        row = rows[q["row_number"] - 1]
        if q["reason"] == "undecodable":
            assert row is None
            raw = (tiny / spec["path"]).read_bytes().split(b"\n")[q["row_number"]]
            assert raw.startswith(q["record_id"].encode("ascii"))
            continue
        assert row is not None and row[spec["key"]] == q["record_id"]
        if q["reason"] == "duplicate_key":
            earlier = [r for r in rows[: q["row_number"] - 1] if r]
            assert any(r[spec["key"]] == q["record_id"] for r in earlier)
        elif q["reason"] == "missing_required":
            names = [m["properties"]["name"]["column"] for m in spec["mentions"].values()]
            assert all(not row[c] for c in names)
        else:
            assert "13-45" in row["检验日期"]


def test_cli_generate(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "--size", "tiny", "--seed", "5",
                                      "--out", str(tmp_path / "g")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g" / "sources.yaml").is_file()
    assert (tmp_path / "g" / "truth" / "risk.json").is_file()
    assert len(list((tmp_path / "g" / "data").iterdir())) == 7


def test_linkage_extract_yields_exactly_the_truth_mentions_and_quarantine() -> None:
    """The real parser (linkage.extract) on the committed fixture: same mentions, same bad rows."""
    from linkage.extract import extract

    x = extract(FIXTURE / "sources.yaml")
    got = set(zip(x.mentions["source"], x.mentions["record_id"], x.mentions["role"], strict=True))
    truth = pd.read_csv(FIXTURE / "truth" / "mentions.csv", dtype=str)
    want = set(zip(truth["source"], truth["record_id"], truth["role"], strict=True))
    assert got == want
    risk = json.loads((FIXTURE / "truth" / "risk.json").read_text(encoding="utf-8"))
    expected = {(q["source"], q["row_number"]) for q in risk["expected_quarantine"]}
    quarantined = set(zip(x.quarantine["source"], x.quarantine["row_number"].astype(int),
                          strict=True))
    assert quarantined == expected
