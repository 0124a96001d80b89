"""Latin-script person names written given name first (Wei ZHANG, Xiaoming Li) read with the
surname first, as Chinese agencies write them, where the writing says which word is the
surname; an order the writing leaves open is kept as written."""

from __future__ import annotations

import pytest

from linkage.standardise.names import person_name
from linkage.standardise.surnames import COMPOUND, SINGLE, surname_first


@pytest.mark.parametrize(("written", "registry"), [
    ("Wei ZHANG", "张伟"),  # the word in capitals is the surname
    ("Xiaoming LI", "李晓明"),
    ("Xiaoming Li", "李晓明"),  # the last word a surname, the first none
    ("XIAOMING LI", "李晓明"),
    ("Xiao-Ming Li", "李晓明"),
    ("Xiu OUYANG", "欧阳修"),  # a two-character surname
    ("XIU OUYANG", "欧阳修"),
    ("ZHANG, Wei", "张伟"),  # a comma after the surname
    ("Zhang, Wei", "张伟"),
    ("ZHANG WEI", "张伟"),  # surname first, as customs writes it: unchanged
    ("Zhang Wei", "张伟"),
    ("ZHANG Wei", "张伟"),
    ("Li Xiaoming", "李晓明"),
    ("Xiaoming\u200b LI", "李晓明"),  # pasted
    ("Xiaoming LI（申报人）", "李晓明"),  # a note
])
def test_a_latin_name_reads_as_the_registrys_name(written: str, registry: str) -> None:
    assert person_name(written).name_pinyin == person_name(registry).name_pinyin
    assert person_name(written).name_std == person_name(registry).name_pinyin


@pytest.mark.parametrize("written", ["WEI ZHANG", "Wei Zhang", "LIU YANG", "Fang Wang"])
def test_an_order_the_writing_leaves_open_is_kept(written: str) -> None:
    # both words are surnames (魏 Wei, 杨 Yang, 方 Fang): Chinese agencies write the
    # surname first, so the written order is the likelier one
    assert person_name(written).name_pinyin == written.replace(" ", "").lower()


def test_the_rule_reads_words_not_letters() -> None:
    assert surname_first(["Wei"]) == ["Wei"]
    assert surname_first([]) == []
    assert surname_first(["WEI", "ZHANG"]) == ["WEI", "ZHANG"]  # all capitals: no signal
    assert surname_first(["Wei", "ZHANG"]) == ["ZHANG", "Wei"]
    assert surname_first(["Xiao", "Ming", "LI"]) == ["LI", "Xiao", "Ming"]
    assert surname_first(["Xiaoming", "Li"], comma=True) == ["Xiaoming", "Li"]
    assert surname_first(["timothy", "modystach"]) == ["timothy", "modystach"]
    assert person_name("JOHN SMITH").name_std == "johnsmith"  # no Chinese surname: as written
    assert "wei" in SINGLE and "ouyang" in COMPOUND and "xiaoming" not in SINGLE


def test_a_generated_western_name_reads_as_the_registrys() -> None:
    import random

    from linkage.synth.styles import person_variant

    rng = random.Random(3)
    forms = {person_variant("李晓明", "western", rng) for _ in range(40)}
    assert forms == {"Xiaoming Li", "Xiaoming LI", "XIAOMING LI"}
    assert {person_name(f).name_pinyin for f in forms} == {"lixiaoming"}


@pytest.mark.parametrize(("written", "registry"), [
    ("WEI ZHANG", "张伟"), ("Wei Zhang", "张伟"), ("ZHANG WEI", "张伟"), ("ZHANGWEI", "张伟"),
    ("Xiao Ming LI", "李晓明"), ("XIU OUYANG", "欧阳修"), ("ZENG WEI", "曾伟"),
    ("Wei ZENG", "曾伟"), ("SHAN LI", "单立"), ("YUCHI GONG", "尉迟恭"),
])
def test_the_name_as_read_in_either_order(written: str, registry: str) -> None:
    assert person_name(written).name_read == person_name(registry).name_read
    assert person_name("张伟").name_read != person_name("张峰").name_read


def test_a_surname_is_read_as_a_surname() -> None:
    # pinyin tools give a character's first reading: 曾 céng, 单 dān, 解 jiě
    assert person_name("曾伟").name_pinyin == "zengwei"
    assert person_name("单立").name_pinyin == "shanli"
    assert person_name("解放").name_pinyin == "xiefang"
    assert person_name("尉迟恭").name_pinyin == "yuchigong"
    assert person_name("重阳").name_pinyin == "chongyang"
    assert person_name("张曾").name_pinyin == "zhangceng"  # in the given name: as read
