"""Resolve person mentions whose resident ID is written masked, as public lists write it.

Published credit lists and penalty decisions hide part of a resident ID
(310101********3938, 3101011953****3938). Standardisation keeps such a value apart
(`id_masked`, `linkage.standardise.identifiers.masked_ric`): the mention holds no identifier
for Splink, whose ID levels would count the hidden characters against it. Here, after the
Splink links and before the firm context, a masked mention joins

- the one person holding an 18-character resident ID (valid or not) that agrees with every
  visible character, under the same name as written, or, where no such holder writes the
  name so, the same name as read (`context.name_key`: its pinyin);
- else, the other masked mentions of the same masked value and the same written name.

An anonymised name (王某某: `surname` only, no `name_std`) is matched the same way under its
surname: the one holder agreeing with every visible character whose name has that surname,
else the other anonymised mentions of the same masked value and surname.

Two different people fitting make the mention ambiguous: it stays apart. With eight visible
characters or more (region, and the sequence and check) plus the name, a chance agreement
needs two people of one name from one district sharing the last four characters.
"""

from __future__ import annotations

import pandas as pd

from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.context import Targets, name_features, name_key
from linkage.resolve.evidence import dumps, feature
from linkage.standardise.identifiers import mask_shape, visible_part

LEVEL = "masked ID agrees with every visible character"
SAME_MASKED = "same masked ID"
SAME_SURNAME = "an anonymised name of the same surname"


def masked_id_links(mentions: pd.DataFrame, uf: ConstrainedUnionFind) -> list[Link]:
    """The links to offer for the masked mentions of `mentions` (see the module docstring);
    apply them with `same_ids=True`."""
    if "id_masked" not in mentions.columns:
        return []
    persons = (mentions["kind"] == "person") & mentions["name_std"].notna()
    masked = mentions[persons & mentions["id_masked"].notna()]
    links = _anonymised(mentions, uf)
    if masked.empty:
        return links
    numbers = mentions["id_number"]
    holders, roots, members = _holders(mentions, uf)
    held = holders["id_number"].astype(str)
    held_written, held_read = holders["name_std"].astype(str), name_key(holders).astype(str)
    names = mentions["name_std"].to_numpy()
    written, read = masked["name_std"].astype(str), name_key(masked).astype(str)
    shapes = masked["id_masked"].astype(str).map(mask_shape)
    answered: set[int] = set()
    for shape in sorted(set(shapes)):  # a few shapes: the holders' visible part under each
        visible = held.map(lambda v, s=shape: visible_part(v, s))
        by_name = Targets(uf, _pairs(visible, held_written), roots, members)
        by_read = Targets(uf, _pairs(visible, held_read), roots, members)
        mine = masked[shapes == shape]
        for person, value, name, key in zip(mine.index.astype(int), mine["id_masked"],
                                            written[mine.index], read[mine.index], strict=True):
            part = visible_part(str(value), shape)
            if (part, name) in by_name.known or (part, key) in by_read.known:
                answered.add(person)  # a holder fits: never joined by the masked value alone
            to = by_name.first(((part, name), (part, key)), by_read)
            if to is None or uf.find(to) == uf.find(person):
                continue
            features = dumps([
                feature("id_masked", LEVEL, str(numbers.iat[to]), str(value)),
                name_features("same name", names[to], names[person]),
            ])
            links.append(Link(to, person, "masked_id", None, 1.0, features))
    links += _same_masked(masked[~masked.index.isin(answered)], uf)
    return links


def _holders(mentions: pd.DataFrame, uf: ConstrainedUnionFind
             ) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """The named persons holding an 18-character ID (by index), their roots and members."""
    numbers = mentions["id_number"]
    holders = mentions[(mentions["kind"] == "person") & mentions["name_std"].notna()
                       & numbers.notna() & (numbers.astype("str").str.len() == 18)]
    holders = holders.sort_index()
    roots = pd.Series([uf.find(int(i)) for i in holders.index], index=holders.index)
    return holders, roots, pd.Series(holders.index, index=holders.index)


def _anonymised(mentions: pd.DataFrame, uf: ConstrainedUnionFind) -> list[Link]:
    """The links of masked mentions under an anonymised name (see the module docstring)."""
    if "surname" not in mentions.columns:
        return []
    masked = mentions[(mentions["kind"] == "person") & mentions["name_std"].isna()
                      & mentions["surname"].notna() & mentions["id_masked"].notna()]
    if masked.empty:
        return []
    holders, roots, members = _holders(mentions, uf)
    held, surnames = holders["id_number"].astype(str), holders["surname"].astype(str)
    names, numbers = mentions["name"].to_numpy(), mentions["id_number"].to_numpy()
    shapes = masked["id_masked"].astype(str).map(mask_shape)
    links: list[Link] = []
    answered: set[int] = set()
    for shape in sorted(set(shapes)):
        visible = held.map(lambda v, s=shape: visible_part(v, s))
        by_surname = Targets(uf, _pairs(visible, surnames), roots, members)
        mine = masked[shapes == shape]
        for person, value, surname in zip(mine.index.astype(int), mine["id_masked"],
                                          mine["surname"].astype(str), strict=True):
            key = (visible_part(str(value), shape), surname)
            if key not in by_surname.known:
                continue
            answered.add(person)  # a holder fits: never joined by the masked value alone
            to = by_surname.single.get(key)
            if to is None or uf.find(to) == uf.find(person):
                continue
            features = dumps([
                feature("id_masked", LEVEL, str(numbers[to]), str(value)),
                feature("surname", SAME_SURNAME, str(names[to]), str(names[person])),
            ])
            links.append(Link(to, person, "masked_id", None, 1.0, features))
    rest = masked[~masked.index.isin(answered)]
    return links + _same_masked(rest, uf, "surname", SAME_SURNAME)


def _pairs(left: pd.Series, right: pd.Series) -> pd.Series:
    return pd.Series(list(zip(left, right, strict=True)), index=left.index, dtype=object)


def _same_masked(masked: pd.DataFrame, uf: ConstrainedUnionFind, column: str = "name_std",
                 level: str = "name exact") -> list[Link]:
    """Masked mentions no holder answered, joined under one masked value and written name
    (`column`: or the surname of an anonymised name)."""
    links: list[Link] = []
    for (value, name), group in masked.groupby(["id_masked", column], sort=True):
        first = int(group.index.min())
        for other in sorted(int(i) for i in group.index if i != first):
            if uf.find(first) == uf.find(other):
                continue
            features = dumps([feature("id_masked", SAME_MASKED, str(value), str(value)),
                              feature(column, level, str(name), str(name))])
            links.append(Link(first, other, "masked_id", None, 1.0, features))
    return links
