"""Noise profiles: each is valid data, keeps its truth exact, and makes the noise it promises."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from stdnum.cn import ric
from typer.testing import CliRunner

from api.cli import app
from linkage.synth import generate, load_profile, profile_names
from linkage.synth import identifiers as ids
from linkage.synth.profiles import Profile
from tests.support.synth_reading import expected_mentions, read_rows

NON_DEFAULT = [p for p in profile_names() if p != "default"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("profiles")
    return {p: generate("tiny", 3, root / p, profile=p) for p in ["default", *NON_DEFAULT]}


def _rows(base: Path, source: str) -> pd.DataFrame:
    import yaml

    spec = yaml.safe_load((base / "sources.yaml").read_text(encoding="utf-8"))["sources"][source]
    return pd.DataFrame([r for r in read_rows(base, spec) if r is not None])


def _ric_ok(value: str) -> bool:
    try:
        return bool(ric.is_valid(value))
    except KeyError:  # stdnum itself fails on some mistyped region codes
        return False


def test_at_least_three_profiles_differ_from_the_default() -> None:
    assert "default" in profile_names()
    assert load_profile("default").is_default
    differing = [p for p in NON_DEFAULT if not load_profile(p).is_default]
    assert len(differing) >= 3


@pytest.mark.parametrize("profile", NON_DEFAULT)
def test_truth_has_exactly_the_mentions_the_mapping_yields(
    profile: str, generated: dict[str, Path]
) -> None:
    base = generated[profile]
    truth = pd.read_csv(base / "truth" / "mentions.csv", dtype=str)
    got = set(zip(truth["source"], truth["record_id"], truth["role"], strict=True))
    assert got == expected_mentions(base / "sources.yaml")
    # the files differ from the default's
    default = generated["default"]
    assert any((base / "data" / f.name).read_bytes() != f.read_bytes()
               for f in (default / "data").iterdir())


def test_same_profile_same_bytes(generated: dict[str, Path], tmp_path: Path) -> None:
    again = generate("tiny", 3, tmp_path / "hard", profile="hard")
    for f in sorted((generated["hard"] / "data").iterdir()):
        if f.suffix != ".parquet":
            assert (again / "data" / f.name).read_bytes() == f.read_bytes(), f.name


def test_malformed_ids_fail_their_checks(generated: dict[str, Path]) -> None:
    share = {}
    for p in ("default", "malformed_ids"):
        people = pd.read_csv(generated[p] / "truth" / "persons.csv", dtype=str)
        share[p] = 1 - people["id_number"].map(_ric_ok).mean()
        assert people["id_number"].is_unique
    assert share["default"] == 0.0
    assert share["malformed_ids"] > 0.7  # invalid 0.6 + late districts 0.2
    written = _rows(generated["malformed_ids"], "registry_enterprises")["法定代表人证件号码"]
    written = written[written != ""]
    assert (~written.map(_ric_ok)).mean() > 0.75
    assert written.str.contains("[０-９]").any() and written.str.contains(" ").any()
    assert written.str.fullmatch(r"\d{15}").any()


def test_late_district_ids_have_a_valid_check_digit() -> None:
    value = "110101198503120017"
    value = value[:17] + ric.calc_check_digit(value[:17] + "0")
    late = ids.late_district_ric(value)
    assert late[:6] in ids.LATE_DISTRICTS and late[6:17] == value[6:17]
    assert late[-1] == ric.calc_check_digit(late[:17] + "0")
    assert not _ric_ok(late)  # the historical division table rejects it


def test_customs_english_writes_english_names_and_idless_declarants(
    generated: dict[str, Path]
) -> None:
    rows = _rows(generated["customs_english"], "customs_declarations")
    english = rows["收发货人名称"].str.fullmatch(r"[A-Za-z0-9 ().,&'\-]+")
    assert english.mean() > 0.35
    assert rows["申报人证件号码"].eq("").mean() > 0.55
    assert rows["申报人电话"].ne("").mean() > 0.3
    default = _rows(generated["default"], "customs_declarations")
    assert "申报人电话" not in default.columns


def test_messy_registry_cuts_brackets_and_blanks(generated: dict[str, Path]) -> None:
    names = pd.concat([_rows(generated["messy_registry"], s)["企业名称"]
                       for s in ("registry_shareholders", "registry_personnel")])
    assert names.str.contains(r"[（(][^）)]+[）)]\S*[公司]").any()
    assert names.str.endswith(("有限", "股份有限", "有限责任")).any()
    registry = _rows(generated["messy_registry"], "registry_enterprises")
    assert registry["联系电话"].eq("").mean() > 0.1


def test_pasted_values_carry_invisible_characters_and_notes(generated: dict[str, Path]) -> None:
    """Names, identifiers, dates … hold invisible characters (not in the GBK customs file,
    which cannot hold them, nor in keys and kinds); people's names carry notes or labels."""
    import re

    from linkage.synth.styles import INVISIBLES, PASTED_COLUMNS

    invisible = re.compile("[" + "".join(INVISIBLES) + "]")
    rows = _rows(generated["pasted"], "registry_enterprises")
    pasted = [c for c in rows.columns if c in PASTED_COLUMNS]
    share = rows[pasted].apply(lambda col: col.astype(str).str.contains(invisible)).to_numpy()
    assert 0.1 < share.mean() < 0.3
    assert not rows["记录编号"].str.contains(invisible).any()
    assert not rows["登记状态"].str.contains(invisible).any()
    customs = _rows(generated["pasted"], "customs_declarations")
    assert not customs.apply(lambda col: col.astype(str).str.contains(invisible)).any().any()
    reps = _rows(generated["pasted"], "administrative_penalties")["法定代表人"]
    assert reps.str.contains(r"[（(【：:/]|法人|董事长|先生").any()  # a note or a label
    default = _rows(generated["default"], "registry_enterprises")
    assert not default.apply(lambda col: col.astype(str).str.contains(invisible)).any().any()


def test_exported_writes_each_sources_placeholder_in_empty_cells(
    generated: dict[str, Path]
) -> None:
    """Profile `exported` writes most empty cells of the standardised columns as their
    source's placeholder (one per source, now and then another), never a key or a kind."""
    from linkage.synth.styles import PASTED_COLUMNS, PLACEHOLDERS

    written = 0
    for source in ("registry_enterprises", "registry_shareholders", "customs_declarations"):
        rows = _rows(generated["exported"], source)
        cols = [c for c in rows.columns if c in PASTED_COLUMNS]
        held = rows[cols].isin(PLACEHOLDERS)
        empty = rows[cols] == ""
        assert held.to_numpy().sum() > 2 * empty.to_numpy().sum(), source  # most of them
        counts = pd.Series(rows[cols].to_numpy()[held.to_numpy()]).value_counts()
        assert counts.iloc[0] >= 0.7 * counts.sum(), source  # the source's own placeholder
        other = [c for c in rows.columns if c not in PASTED_COLUMNS]
        assert not rows[other].isin(PLACEHOLDERS).any().any(), source
        written += int(held.to_numpy().sum())
    assert written > 50
    default = _rows(generated["default"], "registry_enterprises")
    assert not default.isin(PLACEHOLDERS).any().any()


def test_masked_ids_mask_the_blacklists_people_only(generated: dict[str, Path]) -> None:
    """The credit blacklist writes most people's IDs masked (public lists do), each read back
    as a masked ID; enterprises' codes and every other source stay unmasked."""
    from linkage.standardise.identifiers import check_ric

    rows = _rows(generated["masked_ids"], "credit_blacklist")
    people = rows[rows["主体类型"] == "自然人"]["证件号码"]
    masked = people[people.str.contains("[*＊]")]
    assert len(people) >= 4 and len(masked) / len(people) >= 0.5
    assert all(check_ric(v).masked is not None for v in masked)
    assert not rows[rows["主体类型"] != "自然人"]["证件号码"].str.contains("[*＊]").any()
    for source in ("registry_enterprises", "registry_shareholders", "customs_declarations"):
        assert not _rows(generated["masked_ids"], source).apply(
            lambda col: col.astype(str).str.contains("[*＊]")).any().any(), source
    assert not _rows(generated["default"], "credit_blacklist")["证件号码"].str.contains(
        "[*＊]").any()


def test_person_spellings_write_pinyin_homophones_and_slips(generated: dict[str, Path]) -> None:
    """Customs writes some declarants in pinyin; other agencies replace a given-name character
    (a homophone or a slip); the registry's personnel keep the names as the truth has them."""
    from pypinyin import lazy_pinyin

    from linkage.synth.styles import person_variant, split_name

    rows = _rows(generated["person_spellings"], "customs_declarations")
    pinyin = rows["申报人姓名"].str.fullmatch(r"[A-Za-z]+ [A-Za-z]+")
    assert 0.15 < pinyin.mean() < 0.45
    default = _rows(generated["default"], "customs_declarations")
    assert not default["申报人姓名"].str.fullmatch(r"[A-Za-z]+ [A-Za-z]+").any()
    def rewritten(profile: str) -> float:
        """Share of the penalties' legal representatives whose name, spaces dropped and
        simplified, is nobody's name in the truth (homophones and slips)."""
        from linkage.standardise.names import to_simplified

        people = set(pd.read_csv(generated[profile] / "truth" / "persons.csv",
                                 dtype=str)["name"])
        written = _rows(generated[profile], "administrative_penalties")["法定代表人"]
        reps = [str(r).replace(" ", "") for r in written if r]
        return sum(n not in people for n in to_simplified(reps)) / max(len(reps), 1)

    # (the default's few: characters whose traditional form does not map back one to one;
    # about 40 names at this size, so a margin of a few names)
    assert rewritten("person_spellings") > rewritten("default") + 0.03, (
        rewritten("person_spellings"), rewritten("default"))
    import random

    rng = random.Random(5)
    assert split_name("欧阳娜娜") == ("欧阳", "娜娜")
    assert person_variant("张伟", "pinyin", random.Random(1)) in {"ZHANG WEI", "Zhang Wei"}
    assert person_variant("张伟", "western", random.Random(1)) in {
        "Wei Zhang", "Wei ZHANG", "WEI ZHANG"}
    # given name first, the surname in capitals: a shape only the 'western' style writes
    assert rows["申报人姓名"].str.fullmatch(r"[A-Z][a-z]+ [A-Z]{2,}").any()
    homophone = person_variant("张伟", "homophone", rng)
    assert homophone != "张伟" and lazy_pinyin(homophone) == lazy_pinyin("张伟")
    slip = person_variant("张伟", "slip", rng)
    assert slip[0] == "张" and slip != "张伟"


def test_a_rate_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 0.9"):
        Profile.model_validate({"name": "x", "ids": {"invalid": 0.95}})
    with pytest.raises(ValueError, match="more than 1"):
        Profile.model_validate({"name": "x",
                                "names": {"styles": {"truncated": 0.7, "bracketed": 0.6}}})


def test_cli_generate_with_a_profile(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["generate", "--size", "tiny", "--seed", "2", "--profile",
                             "customs_english", "--out", str(tmp_path / "g")])
    assert ok.exit_code == 0, ok.output
    assert "申报人电话" in (tmp_path / "g" / "sources.yaml").read_text(encoding="utf-8")
    bad = runner.invoke(app, ["generate", "--size", "tiny", "--profile", "nope",
                              "--out", str(tmp_path / "n")])
    assert bad.exit_code == 2 and "unknown profile" in bad.output


def test_customs_english_styles_and_chinese_variants() -> None:
    import random

    from linkage.synth import names as nm
    from linkage.synth.english import customs_english
    from linkage.synth.styles import chinese_variant
    from linkage.synth.world import build_world

    world = build_world(200, 5)
    firm = next(f for f in world.firms if nm.DISTRICTS[f.district].city_short == "上海")
    rng = random.Random(1)
    texts = {customs_english(firm, rng) for _ in range(200)}
    assert any(t.startswith("SHANG HAI ") for t in texts)  # spaced city pinyin
    assert any(t.startswith("SHANGHAI ") for t in texts)
    assert all(t.isascii() for t in texts)
    variants = {chinese_variant(firm, s, rng) for s in
                ("truncated", "bracketed", "city_variant") for _ in range(50)}
    assert any("（上海）" in v or "(上海)" in v or "（上海市）" in v for v in variants)
    assert any(v.startswith("上海市" + firm.brand) for v in variants)
    assert any(v.startswith("上海" + firm.brand) for v in variants)
    cut = ("有限", "有限责任", "股份有限", "有限公", "有限责", "股份")
    assert any(v.endswith(cut) for v in variants)


def test_dates_written_otherwise_read_back(generated: dict[str, Path]) -> None:
    """Profile `dates_written` writes a third of the dates in other forms, each read back by
    the linkage's date reader to the day the default profile writes; the generator's bad
    dates stay bad."""
    import datetime as dt
    import random

    from linkage.standardise.dates import BadValue, parse_date
    from linkage.synth.styles import DATE_COLUMNS, date_variant

    rng = random.Random(11)
    for offset in range(0, 60_000, 37):
        day = dt.date(1905, 1, 1) + dt.timedelta(days=offset)
        assert parse_date(date_variant(day, rng)) == day
    for source in ("registry_enterprises", "administrative_penalties", "inspection_results"):
        plain, written = _rows(generated["default"], source), _rows(generated["dates_written"],
                                                                     source)
        for column in DATE_COLUMNS & set(plain.columns):
            pairs = [(a, b) for a, b in zip(plain[column], written[column], strict=True)
                     if a and b]
            changed = [(a, b) for a, b in pairs if a != b]
            assert pairs and 0.15 < len(changed) / len(pairs) < 0.45, (source, column)
            for a, b in changed:
                try:
                    want = parse_date(a)
                except BadValue:
                    raise AssertionError(f"a bad date was rewritten: {a!r} -> {b!r}") from None
                assert parse_date(b) == want, (a, b)


def test_every_note_the_generator_writes_reads_back_as_the_name() -> None:
    """The 'note' style (张伟（法定代表人）, 张伟 法人, 张伟先生, 法定代表人：张伟 …) is read as the
    name alone by standardisation: labels and unbracketed roles too."""
    import random

    from linkage.standardise.names import person_name
    from linkage.synth.styles import LABELS, NOTES, person_variant

    rng = random.Random(11)
    written = {person_variant(name, "note", rng) for name in ("张伟", "欧阳娜娜", "李建国")
               for _ in range(60)}
    assert any(w.startswith(LABELS) for w in written)
    assert any(w.endswith(tuple(n for n in NOTES if not n.endswith(("）", ")", "】"))))
               for w in written)
    for w in written:
        bare = next(n for n in ("张伟", "欧阳娜娜", "李建国") if n in w)
        assert person_name(w) == person_name(bare), w
