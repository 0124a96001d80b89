"""Enterprise and person name standardisation: examples and hypothesis properties."""

from __future__ import annotations

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypinyin import lazy_pinyin

from linkage.standardise.names import (
    enterprise_name,
    person_name,
    standardise_enterprise_names,
    to_simplified,
)

_S2T = opencc.OpenCC("s2t")

REGIONS = ["上海", "上海市", "北京", "深圳", "深圳市", "广州市", "宁波", "青岛市", "杭州"]
BRAND_CHARS = (
    "华信泰丰鑫源盛达恒通宏瑞金福隆兴嘉海天佳润宝利康德豪创博荣远祥顺辉美亿汇众联合永昌乾坤骏铭"
)
# (Chinese industry, its usual English rendering)
INDUSTRIES = [
    ("进出口贸易", "IMPORT AND EXPORT TRADING"), ("国际贸易", "INTERNATIONAL TRADING"),
    ("商贸", "COMMERCE AND TRADE"), ("食品", "FOOD"), ("冷链物流", "COLD CHAIN LOGISTICS"),
    ("供应链管理", "SUPPLY CHAIN MANAGEMENT"), ("医疗器械", "MEDICAL DEVICES"),
    ("电子科技", "ELECTRONIC TECHNOLOGY"), ("纺织品", "TEXTILES"), ("化妆品", "COSMETICS"),
    ("汽车配件", "AUTO PARTS"), ("生物科技", "BIOTECHNOLOGY"), ("五金", "HARDWARE"),
]
FORMS = ["有限公司", "有限责任公司", "股份有限公司"]

brands = st.text(alphabet=BRAND_CHARS, min_size=2, max_size=2)
industries = st.sampled_from(INDUSTRIES)


@st.composite
def chinese_names(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["", *REGIONS]))
    return region + draw(brands) + draw(industries)[0] + draw(st.sampled_from(FORMS))


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# ------------------------------------------------------------------ examples


def test_variants_of_one_firm_standardise_alike() -> None:
    variants = [
        "上海华信进出口贸易有限公司", "华信进出口贸易（上海）有限公司",
        "华信进出口贸易(上海)有限责任公司", "上海市浦东新区华信进出口贸易有限公司",
        "上海華信進出口貿易有限公司", " 上海华信 进出口贸易有限公司",
    ]
    got = standardise_enterprise_names(variants)
    assert {g.name_std for g in got.values()} == {"华信进出口贸易有限公司"}
    assert {g.region for g in got.values()} == {"上海市"}


def test_region_prefix_with_province_and_city() -> None:
    e = enterprise_name("广东省深圳市华信电子科技股份有限公司")
    assert e.name_std == "华信电子科技有限公司"
    assert e.region == "深圳市"


def test_branch_keeps_its_location() -> None:
    # the location after the legal form names the branch, a different registered entity
    branch = enterprise_name("华信贸易有限公司上海分公司")
    parent = enterprise_name("华信贸易有限公司")
    assert branch.name_std != parent.name_std
    assert branch.name_std is not None and branch.name_std.endswith("分公司")


def test_english_customs_name_matches_chinese_pinyin() -> None:
    zh = enterprise_name("上海华信进出口贸易有限公司")
    en = enterprise_name("SHANGHAI HUAXIN IMPORT AND EXPORT TRADING CO., LTD.")
    title = enterprise_name("Shanghai Huaxin Import And Export Trading Co.,Ltd")
    assert zh.name_pinyin == "huaxinjinchukoumaoyiyouxiangongsi"
    assert en.name_pinyin == title.name_pinyin == zh.name_pinyin
    assert en.region == zh.region == "上海市"


def test_bracketed_english_region() -> None:
    e = enterprise_name("HUAXIN TRADING (SHENZHEN) CO., LTD.")
    assert e.region == "深圳市"
    assert e.name_pinyin == enterprise_name("华信贸易(深圳)有限公司").name_pinyin


def test_name_that_is_only_a_region_is_kept() -> None:
    assert enterprise_name("上海市").name_std == "上海市"


def test_qian_is_not_turned_into_gan() -> None:
    # t2s rewrites 乾 to 干; 乾 is also a standard simplified character (乾坤, qián)
    assert enterprise_name("南京乾万食品有限公司").name_pinyin == "qianwanshipinyouxiangongsi"


def test_empty_names() -> None:
    assert enterprise_name("  ") == (None, None, None)
    assert person_name("") == (None, None, None, None)


def test_person_names() -> None:
    assert person_name("張 三") == ("张三", "zhangsan", "san|zhang", "张")
    assert person_name("欧阳　娜娜").name_std == "欧阳娜娜"
    # written with a middle dot of any kind or none: one name
    assert person_name("阿卜杜•热合曼").name_std == "阿卜杜热合曼"
    assert person_name("阿卜杜热合曼") == person_name("阿卜杜·热合曼")
    assert person_name("ZHANG San").name_std == "zhangsan"


def test_batch_simplification_keeps_order_and_count() -> None:
    values = ["華信", "", "上海\n市", "駿方木業"]
    assert to_simplified(values) == ["华信", "", "上海 市", "骏方木业"]


# ------------------------------------------------------------------ properties


@settings(max_examples=150, deadline=None)
@given(chinese_names())
def test_enterprise_standardisation_is_idempotent(name: str) -> None:
    std = enterprise_name(name).name_std
    assert std is not None
    assert enterprise_name(std).name_std == std


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=BRAND_CHARS + "上海市北京深圳有限责任股份公司()（） ABCabc123·",
               max_size=20))
def test_idempotent_on_arbitrary_text(text: str) -> None:
    first = enterprise_name(text)
    if first.name_std is not None:
        assert enterprise_name(first.name_std).name_std == first.name_std


@settings(max_examples=150, deadline=None)
@given(chinese_names(), st.data())
def test_invariant_to_spaces_width_and_traditional(name: str, data: st.DataObject) -> None:
    expected = enterprise_name(name)
    cut = data.draw(st.integers(0, len(name)))
    spaced = name[:cut] + data.draw(st.sampled_from([" ", "  ", "\u3000"])) + name[cut:]
    assert enterprise_name(spaced) == expected
    assert enterprise_name(_S2T.convert(name)) == expected
    bracketed = name.replace("(", "（").replace(")", "）")
    assert enterprise_name(bracketed) == expected


@settings(max_examples=100, deadline=None)
@given(brands, industries, st.sampled_from(["上海", "深圳", "青岛", ""]), st.booleans())
def test_english_rendering_has_the_chinese_pinyin(
    brand: str, industry: tuple[str, str], region: str, title_case: bool
) -> None:
    zh = enterprise_name(region + brand + industry[0] + "有限公司")
    parts = ["".join(lazy_pinyin(region)).upper()] if region else []
    en_text = " ".join([*parts, "".join(lazy_pinyin(brand)).upper(), industry[1], "CO., LTD."])
    if title_case:
        en_text = en_text.title().replace("Co., Ltd.", "Co.,Ltd")
    en = enterprise_name(en_text)
    assert en.name_pinyin == zh.name_pinyin
    assert en.region == zh.region


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="王李张刘陈杨黄赵吴周欧阳建国秀英志强晓东", min_size=2, max_size=4),
       st.data())
def test_person_names_invariant_to_spaces_and_traditional(name: str, data: st.DataObject) -> None:
    expected = person_name(name)
    cut = data.draw(st.integers(0, len(name)))
    assert person_name(name[:cut] + " " + name[cut:]) == expected
    assert person_name(_S2T.convert(name)) == expected
    assert person_name(_fullwidth(name)) == expected
    std = expected.name_std
    assert std is not None and person_name(std) == expected


def test_trade_name_that_is_also_a_city_is_kept() -> None:
    assert enterprise_name("上海泰安贸易有限公司") == (
        "泰安贸易有限公司", "taianmaoyiyouxiangongsi", "上海市")
    assert enterprise_name("泰安贸易有限公司").name_std == "泰安贸易有限公司"
    assert enterprise_name("FUXIN TRADING CO., LTD.").name_pinyin == "fuxinmaoyiyouxiangongsi"


@pytest.mark.parametrize("written", ["企业名称：华信贸易有限公司", "当事人:华信贸易有限公司",
                                     "企业名称： 华信贸易有限公司"])
def test_a_label_before_an_enterprise_name_is_not_part_of_it(written: str) -> None:
    assert enterprise_name(written) == enterprise_name("华信贸易有限公司")


@pytest.mark.parametrize("written", ["张伟 ZHANG WEI", "ZHANG WEI 张伟", "张伟/ZHANG WEI", "“张伟”",
                                     "'张伟'", "张伟。", "张伟1", "「張偉」"])
def test_a_person_in_characters_is_its_characters(written: str) -> None:
    """Quotes, stops, a namesake's number or a transliteration beside the name are not it."""
    assert person_name(written) == person_name("张伟")


@pytest.mark.parametrize("written", ["上海华信贸易有限公司 SHANGHAI HUAXIN TRADING CO., LTD.",
                                     "上海华信贸易有限公司 Shanghai Huaxin Trading Co Ltd"])
def test_an_english_name_after_the_characters_name_is_not_part_of_it(written: str) -> None:
    assert enterprise_name(written) == enterprise_name("上海华信贸易有限公司")


@pytest.mark.parametrize("written", ["TCL科技集团股份有限公司", "上海ABC贸易有限公司",
                                     "上海华信贸易有限公司 AB"])
def test_latin_letters_inside_an_enterprise_name_stay(written: str) -> None:
    assert enterprise_name(written).name_std != enterprise_name("上海华信贸易有限公司").name_std
    assert any(c.isascii() and c.isalpha() for c in enterprise_name(written).name_std or "")


@pytest.mark.parametrize("written", [
    "华信贸易有限公司（原名：上海华信商贸有限公司）", "华信贸易有限公司(曾用名:华信商贸有限公司)",
    "华信贸易有限公司（原上海华信商贸有限公司）", "华信贸易有限公司（已注销）",
    "华信贸易有限公司【吊销】", "华信贸易有限公司 (失信)", "华信贸易有限公司（存续）",
])
def test_a_former_name_or_a_status_in_brackets_is_not_part_of_the_name(written: str) -> None:
    assert enterprise_name(written) == enterprise_name("华信贸易有限公司")


def test_a_legal_form_or_a_trade_name_in_brackets_stays() -> None:
    partnership = enterprise_name("上海华信投资管理中心（有限合伙）")
    assert partnership.name_std == "华信投资管理中心有限合伙"
    assert enterprise_name("（原野）贸易有限公司").name_std == "原野贸易有限公司"


@pytest.mark.parametrize("written, std", [
    ("Zhāng Wěi", "zhangwei"), ("ZHĀNG WĚI", "zhangwei"), ("Wěi ZHĀNG", "zhangwei"),
    ("Lǚ Xiǎomíng", "lvxiaoming"), ("LYU XIAOMING", "lvxiaoming"), ("Lyu Xiaoming", "lvxiaoming"),
    ("LV XIAOMING", "lvxiaoming"),
])
def test_pinyin_with_tone_marks_or_the_passports_yu_reads_as_pinyin(written: str, std: str
                                                                     ) -> None:
    """Tone marks are not letters to drop (Zhāng is zhang, not zhng); ü and the passports'
    YU are the v of pinyin tools, so LYU XIAOMING reads as 吕晓明."""
    got = person_name(written)
    assert got.name_std == std
    if std == "lvxiaoming":
        assert got.name_read == person_name("吕晓明").name_read


@pytest.mark.parametrize("spellings", [
    ("Müller Maschinenbau GmbH", "MUELLER MASCHINENBAU GMBH", "Muller Maschinenbau GmbH"),
    ("Schröder Chemie AG", "SCHROEDER CHEMIE AG"),
    ("Pacific Timber Pty Ltd", "Pacific Timber Proprietary Limited", "PACIFIC TIMBER CO LTD"),
    ("Andes Agro S.A.", "ANDES AGRO SA"),
])
def test_a_foreign_firms_spellings_standardise_alike(spellings: tuple[str, ...]) -> None:
    assert len({enterprise_name(s).name_std for s in spellings}) == 1


def test_pinyin_ue_is_kept_in_latin_names() -> None:
    """xue, yue, lue: a pinyin final, not an umlaut spelled out."""
    assert enterprise_name("Guangdong Yuexiu Trading Co Ltd").name_std == \
        "yuexiumaoyiyouxiangongsi"
    assert enterprise_name("Xuesheng Trading").name_std != enterprise_name(
        "Xusheng Trading").name_std


@pytest.mark.parametrize("written, std", [
    ("张三、李四", "张三"), ("郭一鹏，张伟", "郭一鹏"), ("张三/李四/王五", "张三"),  # several
    ("冯宏英/业务员", "冯宏英"), ("冯宏英 业务员", "冯宏英"), ("李娜联系人", "李娜"),  # a role
    ("欧阳娜娜", "欧阳娜娜"), ("张三李四", "张三李四"),  # one name as written
])
def test_the_first_of_several_people_in_a_cell_and_no_role_after_a_name(
        written: str, std: str) -> None:
    assert person_name(written).name_std == std


@pytest.mark.parametrize("written, std, pinyin", [
    ("王(yan)明", "王〓明", "wangyanming"),  # its pinyin in brackets: read with it
    ("陈（sheng）大", "陈〓大", "chenshengda"),
    ("欧阳(xi)明", "欧阳〓明", "ouyangximing"),
    ("周○玲", "周〓玲", None),  # a mark in its place: no pinyin to compare, and not 周玲
    ("王?明", "王〓明", None),
    ("王伟(法人)", "王伟", "wangwei"),  # a note in brackets is still no character
])
def test_a_character_no_keyboard_had_is_kept_as_one(written: str, std: str,
                                                     pinyin: str | None) -> None:
    name = person_name(written)
    assert (name.name_std, name.name_pinyin) == (std, pinyin)
    if "〓" in std:  # 周玲 is another person's name: never read the same
        shorter = person_name(std.replace("〓", ""))
        assert (name.name_std, name.name_pinyin) != (shorter.name_std, shorter.name_pinyin)
