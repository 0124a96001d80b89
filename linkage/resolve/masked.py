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
    persons = (mentions["kind"] == "person") & mentions["id_masked"].notna()
    masked = mentions[persons & mentions["name_std"].notna()]
    anonymous = (mentions[persons & mentions["name_std"].isna() & mentions["surname"].notna()]
                 if "surname" in mentions.columns else mentions.iloc[:0])
    if masked.empty and anonymous.empty:
        return []
    holders = _Holders(mentions, uf)  # and their visible characters, once per mask shape
    links = _anonymised(mentions, anonymous, holders, uf)
    if masked.empty:
        return links
    numbers = mentions["id_number"]
    held_written = holders.frame["name_std"].astype(str)
    held_read = name_key(holders.frame).astype(str)
    names = mentions["name_std"].to_numpy()
    written, read = masked["name_std"].astype(str), name_key(masked).astype(str)
    shapes = masked["id_masked"].astype(str).map(mask_shape)
    answered: set[int] = set()
    for shape in sorted(set(shapes)):  # a few shapes: the holders' visible part under each
        by_name = holders.targets(shape, held_written)
        by_read = holders.targets(shape, held_read)
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


class _Holders:
    """The named persons holding an 18-character ID (`frame`, by index), their clusters, and
    their visible characters under each mask shape asked for (computed once a shape)."""

    def __init__(self, mentions: pd.DataFrame, uf: ConstrainedUnionFind) -> None:
        numbers = mentions["id_number"]
        frame = mentions[(mentions["kind"] == "person") & mentions["name_std"].notna()
                         & numbers.notna() & (numbers.astype("str").str.len() == 18)]
        self.frame = frame.sort_index()
        self.uf = uf
        self.roots = pd.Series([uf.find(int(i)) for i in self.frame.index],
                               index=self.frame.index)
        self.members = pd.Series(self.frame.index, index=self.frame.index)
        self._held = self.frame["id_number"].astype(str)
        self._visible: dict[str, pd.Series] = {}

    def targets(self, shape: str, names: pd.Series) -> Targets:
        """The one holder (if one) of each (visible characters under `shape`, name)."""
        if shape not in self._visible:
            self._visible[shape] = self._held.map(lambda v: visible_part(v, shape))
        return Targets(self.uf, _pairs(self._visible[shape], names), self.roots, self.members)


def _anonymised(mentions: pd.DataFrame, anonymous: pd.DataFrame, holders: _Holders,
                uf: ConstrainedUnionFind) -> list[Link]:
    """The links of the masked mentions under an anonymised name, `anonymous` (see the
    module docstring)."""
    if anonymous.empty:
        return []
    surnames = holders.frame["surname"].astype(str)
    names, numbers = mentions["name"].to_numpy(), mentions["id_number"].to_numpy()
    shapes = anonymous["id_masked"].astype(str).map(mask_shape)
    links: list[Link] = []
    answered: set[int] = set()
    for shape in sorted(set(shapes)):
        by_surname = holders.targets(shape, surnames)
        mine = anonymous[shapes == shape]
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
    rest = anonymous[~anonymous.index.isin(answered)]
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
