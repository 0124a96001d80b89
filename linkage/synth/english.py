"""English / pinyin consignee names as customs declarations write them (the 'customs' style).

'TIAN JIN TIANCHENGGUOJI MECHANICAL AND ELECTRICAL EQUIPMENT CO., LTD.': the city in pinyin,
often one syllable per word; the trade name in pinyin, sometimes glued to the first word of the
industry in pinyin; the industry translated (one of its usual English forms) or spelled in
pinyin; the legal form in one of its English forms.
"""

from __future__ import annotations

import random

from pypinyin import lazy_pinyin

from linkage.synth import names as nm
from linkage.synth.world import Firm

# Usual English forms of each industry of names.INDUSTRIES (the first is the generator's own).
INDUSTRY_ENGLISH: dict[str, tuple[str, ...]] = {
    "进出口贸易": ("IMPORT AND EXPORT TRADING", "IMPORT & EXPORT TRADING", "IMP. & EXP.",
                "IMPORT AND EXPORT TRADE"),
    "国际贸易": ("INTERNATIONAL TRADING", "INTERNATIONAL TRADE", "INT'L TRADING"),
    "贸易": ("TRADING", "TRADE"),
    "商贸": ("COMMERCE AND TRADE", "TRADING", "COMMERCIAL AND TRADING"),
    "食品": ("FOOD", "FOODS", "FOODSTUFF"),
    "农产品": ("AGRICULTURAL PRODUCTS", "AGRICULTURE PRODUCTS", "AGRO-PRODUCTS"),
    "水产": ("AQUATIC PRODUCTS", "SEAFOOD", "AQUATIC PRODUCT"),
    "冷链物流": ("COLD CHAIN LOGISTICS", "COLD-CHAIN LOGISTICS"),
    "供应链管理": ("SUPPLY CHAIN MANAGEMENT", "SUPPLY CHAIN MGMT", "SUPPLY CHAIN"),
    "化工": ("CHEMICAL", "CHEMICALS", "CHEMICAL INDUSTRY"),
    "医疗器械": ("MEDICAL DEVICES", "MEDICAL EQUIPMENT", "MEDICAL INSTRUMENTS"),
    "电子科技": ("ELECTRONIC TECHNOLOGY", "ELECTRONICS TECHNOLOGY", "ELECTRONIC TECH"),
    "机械设备": ("MACHINERY AND EQUIPMENT", "MECHANICAL AND ELECTRICAL EQUIPMENT",
              "MACHINERY EQUIPMENT"),
    "纺织品": ("TEXTILES", "TEXTILE"),
    "服装": ("GARMENTS", "GARMENT", "CLOTHING"),
    "化妆品": ("COSMETICS",),
    "酒业": ("WINE", "WINES", "WINE INDUSTRY"),
    "木业": ("WOOD INDUSTRY", "WOOD", "TIMBER"),
    "五金": ("HARDWARE", "HARDWARE PRODUCTS"),
    "汽车配件": ("AUTO PARTS", "AUTOMOBILE PARTS", "AUTO ACCESSORIES"),
    "塑料制品": ("PLASTIC PRODUCTS", "PLASTICS"),
    "实业": ("INDUSTRIAL", "INDUSTRY"),
    "科技": ("TECHNOLOGY", "SCIENCE AND TECHNOLOGY", "TECH"),
    "生物科技": ("BIOTECHNOLOGY", "BIOLOGICAL TECHNOLOGY", "BIO-TECH"),
    "母婴用品": ("MATERNAL AND INFANT PRODUCTS", "BABY PRODUCTS"),
}

# Industries whose first word is often kept in pinyin and glued to the trade name
# (天成国际机电… -> TIANCHENGGUOJI): (that first word, English of the rest).
GLUED_FIRST_WORD: dict[str, tuple[str, str]] = {
    "进出口贸易": ("进出口", "TRADING"), "国际贸易": ("国际", "TRADING"),
    "电子科技": ("电子", "TECHNOLOGY"), "生物科技": ("生物", "TECHNOLOGY"),
    "冷链物流": ("冷链", "LOGISTICS"), "供应链管理": ("供应链", "MANAGEMENT"),
    "汽车配件": ("汽车", "PARTS"), "机械设备": ("机械", "EQUIPMENT"),
}

FORM_ENGLISH: dict[str, tuple[str, ...]] = {
    "有限公司": ("CO., LTD.", "CO.,LTD.", "CO., LTD", "CO LTD", "COMPANY LIMITED", "LIMITED"),
    "有限责任公司": ("CO., LTD.", "CO.,LTD", "LIMITED LIABILITY COMPANY", "COMPANY LIMITED"),
    "股份有限公司": ("CO., LTD.", "STOCK CO., LTD.", "JOINT STOCK CO., LTD.",
                "COMPANY LIMITED"),
}


def _syllables(text: str) -> list[str]:
    return [s.upper() for s in lazy_pinyin(text)]


def customs_english(f: Firm, rng: random.Random) -> str:
    """One customs-style English / pinyin rendering of the firm's registered name."""
    industry = nm.INDUSTRIES[f.industry][0]
    form = nm.FORMS[f.form][0]
    city = _syllables(f.region.removesuffix("市"))
    r = rng.random()
    region = " ".join(city) if r < 0.45 else "".join(city) if r < 0.85 else ""
    brand = _syllables(f.brand)
    trade = " ".join(brand) if rng.random() < 0.2 else "".join(brand)
    r = rng.random()
    if industry in GLUED_FIRST_WORD and r < 0.3:
        first, rest = GLUED_FIRST_WORD[industry]
        trade += "".join(_syllables(first))
        words = rest
    elif r < 0.85:
        words = rng.choice(INDUSTRY_ENGLISH[industry])
    else:
        words = "".join(_syllables(industry))
    legal = rng.choice(FORM_ENGLISH[form])
    if region and rng.random() < 0.15:
        text = f"{trade} ({region}) {words} {legal}"
    else:
        text = " ".join(p for p in (region, trade, words, legal) if p)
    return text.title().replace("Co., Ltd.", "Co.,Ltd.") if rng.random() < 0.2 else text
