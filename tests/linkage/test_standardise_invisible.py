"""A value pasted with invisible characters, or a person's name with a note or a middle dot,
standardises as the plain value does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.standardise.addresses import standardise_addresses
from linkage.standardise.dates import parse_date, parse_number
from linkage.standardise.identifiers import check_customs_code, check_ric, check_uscc
from linkage.standardise.names import standardise_enterprise_names, standardise_person_names
from linkage.standardise.phones import normalise_phone
from linkage.standardise.text import readable

# zero-width space / non-joiner / joiner, byte-order mark, soft hyphen, word joiner, marks
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060", "\u200e", "\u202c"]

VALUES: list[tuple[str, object]] = [
    ("310101195311203938", lambda v: check_ric(v)),
    ("11010119900307007X", lambda v: check_ric(v)),
    ("91310000MA1000012X", lambda v: check_uscc(v)),
    ("3100000012", lambda v: check_customs_code(v)),
    ("上海华信进出口贸易有限公司", lambda v: standardise_enterprise_names([v])[v]),
    ("SHANGHAI HUAXIN IMPORT AND EXPORT TRADING CO., LTD.",
     lambda v: standardise_enterprise_names([v])[v]),
    ("张伟", lambda v: standardise_person_names([v])[v]),
    ("买买提·艾力", lambda v: standardise_person_names([v])[v]),
    ("021-6238 1234", normalise_phone),
    ("13812345678", normalise_phone),
    ("2023年5月1日", parse_date),
    ("1,234.50元", parse_number),
    ("上海市浦东新区世纪大道100号", lambda v: standardise_addresses([v])[v]),
]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(VALUES), st.lists(st.tuples(st.integers(0, 60),
                                                   st.sampled_from(INVISIBLES)),
                                         min_size=1, max_size=3))
def test_invisible_characters_anywhere_change_nothing(case: tuple[str, object],
                                                      inserts: list[tuple[int, str]]) -> None:
    value, standardise = case
    written = value
    for at, char in inserts:
        at %= len(written) + 1
        written = written[:at] + char + written[at:]
    assert standardise(written) == standardise(value)  # type: ignore[operator]


def test_a_resident_id_with_a_zero_width_space_is_still_that_id() -> None:
    """It was read as a placeholder before: the person lost their only identifier."""
    got = check_ric("310101195311203938\u200b")
    assert got.value == "310101195311203938" and got.valid is True


def test_readable_keeps_visible_text() -> None:
    assert readable("ＡＢＣ\u200b１２３ 张\ufeff伟") == "ABC123 张伟"
    assert readable("e\u0301") == "é"  # a combining mark is not a format character


@pytest.mark.parametrize("written", [
    "张伟（法定代表人）", "张伟(曾用名张卫)", "张伟【已注销】", "张伟 (法人", "（张伟）",
    "張偉（董事）",
])
def test_a_note_in_brackets_is_not_part_of_the_name(written: str) -> None:
    assert standardise_person_names([written])[written] == standardise_person_names(["张伟"])[
        "张伟"]


@pytest.mark.parametrize("written", [
    "张伟 法人", "张伟/经理", "张伟 董事长", "张伟先生", "张伟女士", "张伟同志", "張偉 董事長",
    "法定代表人：张伟", "姓名:张伟", "负责人：张伟 经理", "张伟、法定代表人",
])
def test_a_role_label_or_form_of_address_is_not_part_of_the_name(written: str) -> None:
    assert standardise_person_names([written])[written] == standardise_person_names(["张伟"])[
        "张伟"]


@pytest.mark.parametrize("written, surname", [("李先生", "李"), ("张经理", "张"),
                                              ("欧阳女士", "欧阳"), ("王某某先生", "王")])
def test_a_surname_with_a_form_of_address_is_the_surname_only(written: str, surname: str
                                                              ) -> None:
    assert standardise_person_names([written])[written] == (None, None, None, surname)


@pytest.mark.parametrize("written", ["Mr. Zhang Wei", "MR ZHANG WEI", "Zhang Wei (Mr)",
                                     "ZHANG, Wei, Mr", "Mr Wei ZHANG", "DR. ZHANG WEI"])
def test_a_title_before_a_latin_name_is_not_part_of_it(written: str) -> None:
    assert standardise_person_names([written])[written].name_std == "zhangwei"


def test_words_that_are_only_a_role_or_a_title_stay_as_written() -> None:
    names = standardise_person_names(["董事", "先生", "MR", "Ms"])
    assert [n.name_std for n in names.values()] == ["董事", "先生", "mr", "ms"]


@pytest.mark.parametrize("written", ["买买提·艾力", "买买提艾力", "买买提.艾力", "买买提•艾力",
                                     "买买提・艾力", "買買提·艾力"])
def test_a_name_with_or_without_its_middle_dot_is_one_name(written: str) -> None:
    got = standardise_person_names([written])[written]
    assert got.name_std == "买买提艾力" and got.name_pinyin == "maimaitiaili"


def test_different_names_stay_different() -> None:
    names = standardise_person_names(["张伟", "张卫", "张伟伟", "(张伟)李娜"])
    assert len({n.name_std for n in names.values()}) == 4


def test_extraction_reads_pasted_values_as_the_plain_ones(tmp_path: Path) -> None:
    """One agency file, each value of row P written as pasted (zero-width spaces, a BOM, a
    soft hyphen; the kind column too): the same mention as the plain row, nothing noted as
    malformed and nothing quarantined."""
    from linkage.extract import extract

    zw, bom, shy = "\u200b", "\ufeff", "\u00ad"
    plain = ["R1", "自然人", "张伟", "310101195311203938", "2015-03-01", "13812345678"]
    pasted = ["P1", f"自然{zw}人", f"{bom}张伟（法定代表人）", f"3101{zw}01195311203938{zw}",
              f"2015-03{shy}-01", f"138{zw}1234 5678"]
    header = ["编号", "类型", "姓名", "证件号码", "日期", "电话"]
    (tmp_path / "people.csv").write_text(
        "\n".join(",".join(r) for r in (header, plain, pasted)) + "\n", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": {"people": {
        "path": "people.csv", "format": "csv", "key": "编号",
        "mentions": {"person": {
            "kind": "person", "required": ["name"],
            "filter": {"column": "类型", "equals": "自然人"},
            "properties": {"name": {"column": "姓名"}, "id_number": {"column": "证件号码"},
                           "birth_date": {"column": "日期", "on_error": "quarantine"},
                           "phone": {"column": "电话"}}}}}}}, allow_unicode=True),
        encoding="utf-8")
    x = extract(tmp_path / "sources.yaml")
    assert len(x.quarantine) == 0
    m = x.mentions.set_index("record_id")
    assert list(m.index) == ["R1", "P1"]
    cols = ["name_std", "name_pinyin", "id_number", "id_valid", "birth_date", "phone"]
    assert m.loc["R1", cols].notna().all()
    for col in cols:
        assert str(m.at["P1", col]) == str(m.at["R1", col]), col
    assert bool(m.at["P1", "id_valid"])
