"""Legal-form and region variants of an enterprise name, judged by the linkage's own name
standardisation (`linkage.standardise.name_keys`, `linkage.standardise.names`).

深圳市宝锦电子科技有限责任公司, 深圳市宝锦电子科技有限公司 and 宝锦电子科技（深圳）有限公司 share
the name key 宝锦电子科技 and the region 深圳市: one firm written three ways. The same key in
another city (广州宝锦电子科技有限公司) is a namesake, not a variant; a name without a region
is a variant of any region. Both names must be whole registered names, legal form included
(上海华信进出口贸易 is a fragment, not a variant). A branch keeps its whole name in its key, so
it is never its parent's variant.
"""

from __future__ import annotations

from typing import NamedTuple

from linkage.standardise.name_keys import enterprise_key
from linkage.standardise.names import enterprise_name


class NameVariant(NamedTuple):
    key: str | None
    region: str | None
    whole: bool  # carries a legal form: the standardised name is more than its key


def variant_of(name: str) -> NameVariant:
    std = enterprise_name(name)
    key = enterprise_key(name).name_key
    return NameVariant(key, std.region, bool(key and std.name_std and std.name_std != key))


def same_firm_name(a: NameVariant, b: NameVariant) -> bool:
    """Both whole names, the same key, and no two different regions."""
    if not a.key or a.key != b.key or not (a.whole and b.whole):
        return False
    return a.region is None or b.region is None or a.region == b.region


def key_query(name: str) -> str | None:
    """The name's key as a second search text (None when it is the name itself or too short):
    it finds the variants a full-name search ranks below other firms of the same trade."""
    variant = variant_of(name)
    key = variant.key
    if not variant.whole or not key or len(key) < 2 or key.startswith("#"):
        return None
    return key
