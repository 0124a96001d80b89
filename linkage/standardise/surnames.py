"""Chinese surnames as Latin script writes them, to read a name written given name first.

Customs and Chinese agencies write a person in pinyin surname first (ZHANG WEI); invoices,
bills of lading and foreign partners' documents often write the given name first (Wei Zhang,
Xiaoming LI). `surname_first(words)` puts the surname first when the writing says which word
it is, and leaves the order as written when it does not:

- a comma: what precedes it is the surname (ZHANG, Wei);
- one word in capitals among words that are not (Wei ZHANG, Xiaoming LI): that word;
- the last word a common surname and the first word none (Xiaoming Li, XIU OUYANG): the last.

WEI ZHANG stays as written, since 魏 (Wei) is a surname too: the written order is the one
Chinese agencies use. The list is of common surnames only (most of the population carries
one of a few hundred): a rare surname written last is left where it is.
"""

from __future__ import annotations

# the pinyin (toneless, as Latin script writes it) of common single-character surnames
SINGLE = frozenset("""
ai an ao ba bai ban bao bei bi bian bo bu cai cao cen chai chang chao che chen cheng chi chu
cong cui dai dan deng di diao ding dong dou du duan e fan fang fei feng fu gan gao ge geng gong
gou gu guan guo han hao he hong hou hu hua huang hui huo ji jia jian jiang jiao jin jing ju kang
ke kong kou kuang lai lan lang lao lei leng li lian liang liao lin ling liu long lou lu luan luo
lv lyu ma mai man mao mei meng mi miao min ming mo mou mu ni nie ning niu nong ou pan pang pei
peng pi ping pu qi qian qiao qin qiu qu quan ran rao ren rong ru ruan sang sha shan shang shao
she shen sheng shi shu si song su sui sun suo tai tan tang tao teng tian tong tu wan wang wei
wen weng wu xi xia xian xiang xiao xie xin xing xiong xu xuan xue yan yang yao ye yi yin ying
yong you yu yuan yue yun zang zeng zha zhai zhan zhang zhao zhen zheng zhong zhou zhu zhuang
zhuo zong zou zu zuo
""".split())
# two-character surnames, written as one word
COMPOUND = frozenset("""
ouyang sima zhuge shangguan situ dongfang huangfu xiahou zhangsun yuwen murong linghu
gongsun duanmu helian huyan taishi wenren nangong ximen dugu
""".split())
SURNAMES = SINGLE | COMPOUND
# surnames whose reading as a surname is not the character's first reading, which pinyin
# tools give (曾 is zēng as a surname, céng in 曾经): how customs and passports write them
READINGS = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "查": "zha",
    "区": "ou", "翟": "zhai", "覃": "qin", "缪": "miao", "盖": "ge", "种": "chong",
    "秘": "bi", "牟": "mu", "员": "yun", "召": "shao", "折": "she", "黑": "he", "句": "gou",
    "洗": "xian", "重": "chong", "尉迟": "yuchi", "万俟": "moqi", "长孙": "zhangsun",
}


def _is_capitals(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def _key(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


def surname_first(words: list[str], comma: bool = False) -> list[str]:
    """`words` of a Latin-script person name with the surname first where the writing says
    which word it is (see the module docstring); `comma`: the name was written SURNAME,
    GIVEN (the order is then kept)."""
    if comma or len(words) < 2:
        return words
    capitals = [i for i, w in enumerate(words) if _is_capitals(w)]
    if len(capitals) == 1 and len(words) > 1 and any(
            any(c.islower() for c in w) for w in words):
        i = capitals[0]
        return [words[i], *words[:i], *words[i + 1:]]
    if _key(words[-1]) in SURNAMES and _key(words[0]) not in SURNAMES:
        return [words[-1], *words[:-1]]
    return words
