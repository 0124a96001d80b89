"""Enterprise name variants against the enterprise model's name and region comparisons.

Table-driven: each pair of spellings of one firm must compare at a matching name level and not
at a different region; namesakes (same trade name and industry) of different cities must be told
apart by the region, and a branch never compares as its parent.
"""

from __future__ import annotations

from typing import Any

import pytest

from linkage.resolve.blocking import predict_rule_objects
from linkage.resolve.models import ENTERPRISE, ComparisonSpec
from linkage.standardise.name_keys import enterprise_key, enterprise_keys, keys_from_standardised
from linkage.standardise.names import (
    enterprise_name,
    standardise_enterprise_names,
    to_simplified,
    width_and_space,
)
from linkage.standardise.vocabulary import VocabularyError, load_vocabulary

NAME: ComparisonSpec = next(c for c in ENTERPRISE if c.name == "name")
REGION: ComparisonSpec = next(c for c in ENTERPRISE if c.name == "region")
# Levels that count as the same name (everything above the fuzzy levels and "different").
MATCHING = {
    "full name exact (region and form as written)", "name exact", "name JW >= 0.95",
    "pinyin exact", "name without region and form exact",
    "pinyin without region and form exact (English / pinyin names)",
    "name cut short (one key starts the other)",
}
assert MATCHING <= {lv.label for lv in NAME.levels}


def record(name: str) -> dict[str, Any]:
    std = enterprise_name(name)
    keys = enterprise_key(name)
    return {
        "name_std": std.name_std, "name_pinyin": std.name_pinyin, "region": std.region,
        "name_full": to_simplified([width_and_space(name)])[0],
        "name_key": keys.name_key, "name_key_pinyin": keys.name_key_pinyin,
    }


def name_level(a: str, b: str) -> str:
    return NAME.levels[NAME.level_index(record(a), record(b))].label


def region_level(a: str, b: str) -> str:
    return REGION.levels[REGION.level_index(record(a), record(b))].label


def blocked_together(a: str, b: str) -> bool:
    left, right = record(a), record(b)
    for rule in predict_rule_objects("enterprise"):
        values = []
        for side in (left, right):
            parts = []
            for key in rule:
                v = side.get(key.column)
                if v is None:
                    break
                if key.part == "prefix":
                    v = v[: key.length]
                elif key.part == "suffix":
                    v = v[-key.length:]
                parts.append(v)
            values.append(tuple(parts) if len(parts) == len(rule) else None)
        if values[0] is not None and values[0] == values[1]:
            return True
    return False


SAME_FIRM = [
    # city with / without 市
    ("宁波市宏达贸易有限公司", "宁波宏达贸易有限公司"),
    # province and city, district
    ("浙江省宁波市宏达贸易有限公司", "宁波宏达贸易有限公司"),
    ("浙江宁波宏达贸易有限公司", "宁波市宏达贸易有限公司"),
    ("宁波市北仑区宏达贸易有限公司", "宁波宏达贸易有限公司"),
    # region moved into brackets, anywhere
    ("海汇水产品（青岛）股份有限公司", "青岛海汇水产品股份有限公司"),
    ("海汇水产品股份有限公司(青岛)", "青岛海汇水产品股份有限公司"),
    ("海汇水产品（青岛市）有限公司", "青岛市海汇水产品有限公司"),
    # region between trade name and industry
    ("海汇青岛水产品股份有限公司", "青岛海汇水产品股份有限公司"),
    # legal forms, whole and cut
    ("宁波宏达贸易有限责任公司", "宁波宏达贸易有限公司"),
    ("广州远宇供应链管理股份有限", "广州远宇供应链管理股份有限公司"),
    ("青岛市东腾供应链管理有限责", "青岛东腾供应链管理有限责任公司"),
    ("武汉晟福进出口贸易有", "武汉晟福进出口贸易有限公司"),
    ("厦门源诚机械设备", "厦门源诚机械设备有限公司"),
    # cut inside the industry words
    ("天津天成国际机电设", "天津天成国际机电设备有限公司"),
    # width, spaces, traditional characters
    ("天津天成國際機電設備有限公司", "天津 天成国际机电设备有限公司"),
    # customs English against the Chinese name, with spaced city pinyin
    ("TIAN JIN TIANCHENGGUOJI MECHANICAL AND ELECTRICAL EQUIPMENT CO., LTD.",
     "天津天成国际机电设备有限公司"),
    ("TIANJIN TIANCHENG INTERNATIONAL MECHANICAL & ELECTRICAL EQUIPMENT CO.,LTD",
     "天津天成国际机电设备有限公司"),
    ("XIA MEN HUAXIN IMPORT AND EXPORT TRADING CO., LTD.", "厦门华信进出口贸易有限公司"),
    ("Qingdao Haihui Aquatic Products Co.,Ltd", "海汇水产品（青岛）股份有限公司"),
    ("SHANGHAI HUAXIN INTERNATIONAL TRADE CO., LTD.", "上海华信国际贸易有限公司"),
    ("NINGBO HONGDA FOODS CO., LTD.", "宁波市宏达食品有限责任公司"),
    ("GUANGZHOU YUANYU SUPPLY CHAIN MANAGEMENT CO., LTD.", "广州远宇供应链管理股份有限公司"),
    ("SHENZHEN XINDA TECHNOLOGY CO LTD", "深圳市信达科技有限公司"),
    ("SHENZHEN XINDA SCIENCE AND TECHNOLOGY CO., LTD.", "深圳市信达科技有限公司"),
    ("DALIAN HAIXIN CHEMICAL CO., LTD.", "大连海鑫化工有限公司"),
    ("XIAMEN JINFA AGRICULTURAL PRODUCTS CO., LTD.", "厦门金发农产品有限公司"),
    ("SUZHOU RUIXIN ELECTRONICS CO., LTD.", "苏州瑞信电子有限公司"),
    ("WUHAN HENGTAI MACHINERY CO., LTD.", "武汉恒泰机械有限公司"),
    ("HANGZHOU MEILI TEXTILE CO., LTD.", "杭州美丽纺织有限公司"),
    ("HANGZHOU MEILI GARMENTS CO., LTD.", "杭州美丽服装有限公司"),
    ("HANGZHOU MEILI APPAREL CO., LTD.", "杭州美丽服装有限公司"),
    ("TIANJIN YUNDA LOGISTICS CO., LTD.", "天津韵达物流有限公司"),
    ("SHANGHAI HUAXIN INDUSTRIAL CO., LTD.", "上海华信实业有限公司"),
    ("BEIJING KANGTAI PHARMACEUTICAL CO., LTD.", "北京康泰医药有限公司"),
    ("HUAXIN TRADING (SHENZHEN) CO., LTD.", "深圳市华信贸易有限公司"),
    # industry words written for one another (vocabulary `equivalent` groups)
    ("BEIJING XIANG GUANG PLASTICS CO.,LTD.", "北京祥光塑料制品有限公司"),
    ("Hang Zhou Yanghao Trading Co.,Ltd.", "杭州市扬豪商贸有限公司"),
    ("NINGBO TONG HONG AGRO-PRODUCTS LIMITED LIABILITY COMPANY", "宁波通宏农产品有限责任公司"),
    ("Qing Dao Haodong Supply Chain Co.,Ltd", "青岛豪东供应链管理有限责任公司"),
    ("Hangzhou Yucheng Textile Co.,Ltd.", "杭州市裕诚纺织品有限责任公司"),
    ("YUANYANGQICHE PARTS CO., LTD. (HANGZHOU)", "杭州远扬汽车配件有限责任公司"),
    ("杭州市裕诚纺织有限公司", "杭州市裕诚纺织品有限责任公司"),
    ("宁波通宏技术股份有限公司", "宁波通宏科技股份有限公司"),
    ("北京安星商业贸易有限公司", "北京安星商贸有限公司"),
    ("SHANGHAI HUAXIN INFORMATION TECHNOLOGY CO LTD", "上海华信信息技术有限公司"),
]


@pytest.mark.parametrize(("a", "b"), SAME_FIRM)
def test_variants_compare_at_a_matching_level(a: str, b: str) -> None:
    assert name_level(a, b) in MATCHING, (record(a), record(b))
    assert region_level(a, b) != "different"
    assert blocked_together(a, b)


NAMESAKES = [
    ("宁波宏达贸易有限公司", "杭州宏达贸易有限公司"),
    ("海汇水产品（青岛）股份有限公司", "大连海汇水产品股份有限公司"),
    ("宁波市宏达贸易有限", "上海宏达贸易有限公司"),
    ("TIANJIN TIANCHENG INTERNATIONAL MECHANICAL AND ELECTRICAL EQUIPMENT CO., LTD.",
     "北京天成国际机电设备有限公司"),
    ("XIA MEN HUAXIN TRADING CO., LTD.", "上海华信贸易有限公司"),
]


@pytest.mark.parametrize(("a", "b"), NAMESAKES)
def test_namesakes_of_different_cities_differ_in_region(a: str, b: str) -> None:
    assert region_level(a, b) == "different"


@pytest.mark.parametrize(("branch", "parent"), [
    ("宏达贸易有限公司宁波分公司", "宏达贸易有限公司"),
    ("宁波宏达贸易有限公司北仑分公司", "宁波宏达贸易有限公司"),
    ("宏达贸易有限公司上海分公司", "宏达贸易有限公司北京分公司"),
    ("HONGDA TRADING CO., LTD. SHANGHAI BRANCH", "HONGDA TRADING CO., LTD."),
])
def test_branch_is_not_its_parent(branch: str, parent: str) -> None:
    assert name_level(branch, parent) not in MATCHING
    assert enterprise_key(branch).name_key != enterprise_key(parent).name_key


@pytest.mark.parametrize(("a", "b"), [
    ("上海华信贸易有限公司", "上海华信食品有限公司"),  # same trade name, other industry
    ("上海华信贸易有限公司", "上海华兴贸易有限公司"),
    ("上海泰安贸易有限公司", "上海贸易有限公司"),  # a trade name that is also a city stays
    ("上海华信贸易有限公司", "上海华信贸易集团有限公司"),  # a group is not its member
])
def test_different_firms_do_not_share_a_key(a: str, b: str) -> None:
    assert enterprise_key(a).name_key != enterprise_key(b).name_key
    assert enterprise_key(a).name_key_pinyin != enterprise_key(b).name_key_pinyin


def test_keys_of_empty_and_odd_values() -> None:
    assert enterprise_key("") == (None, None)
    assert enterprise_key("有限公司").name_key == "有限公司"  # never emptied
    assert enterprise_key("CO., LTD.").name_key is not None


def test_vocabulary_is_data_and_checked(tmp_path: Any) -> None:
    extra = tmp_path / "vocabulary.yaml"
    extra.write_text("industry:\n  轴承: [bearing, bearings]\nlegal_forms:\n  有限公司: [co ltd]\n",
                     encoding="utf-8")
    vocab = load_vocabulary(extra)
    assert vocab.industry["bearings"] == "zhoucheng"
    assert "轴承" in vocab.chinese_generic
    groups = tmp_path / "groups.yaml"
    groups.write_text("equivalent:\n  - [贸易, 商贸]\n  - [商贸, 经贸]\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="two groups"):
        load_vocabulary(groups)
    clash = tmp_path / "clash.yaml"
    clash.write_text("industry:\n  贸易: [trading]\n  商贸: [Trading]\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="already names"):
        load_vocabulary(clash)
    broken = tmp_path / "broken.yaml"
    broken.write_text("industry: [a, b]\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="broken.yaml"):
        load_vocabulary(broken)


def test_keys_from_standardised_names_are_the_keys_of_the_raw_names() -> None:
    raw = [n for pair in SAME_FIRM + NAMESAKES for n in pair] + ["", "  ", "CO., LTD."]
    std = standardise_enterprise_names(raw)
    assert keys_from_standardised((r, std[r].name_std) for r in raw) == enterprise_keys(raw)
