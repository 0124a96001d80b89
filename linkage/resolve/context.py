"""Resolve person mentions without a valid ID through the firms they are attached to.

A legal representative named on a penalty, or a shareholder listed without an ID, is joined
to a person already attached (as legal representative, shareholder, officer, declarant) to
the *same resolved enterprise* with the *same standardised name* or, where no ID holder
there writes that name, the *same name as read* (`name_key`: its pinyin, so that 张伟,
ZHANG WEI and the homophone 张卫 are one name then; the standardised name where there is no
pinyin) - never by name alone.
When that enterprise has exactly one such person holding a valid ID, the mention joins
them; when it has none, the name-only mentions of that name at that firm join each other;
when it has several distinct ID holders of that name, the mention is ambiguous and stays
its own entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.evidence import dumps, feature


def attachments(
    mentions: pd.DataFrame, relations: pd.DataFrame, index_of: dict[str, int]
) -> pd.DataFrame:
    """Pairs (person index, enterprise index) asserted by relations or row context."""
    kind = mentions["kind"].to_numpy()
    pairs: list[tuple[int, int]] = []
    if len(relations):
        src = relations["src_mention"].map(index_of)
        dst = relations["dst_mention"].map(index_of)
        ok = src.notna() & dst.notna()
        for s, d in zip(src[ok].astype(int).tolist(), dst[ok].astype(int).tolist(), strict=True):
            if kind[s] == "person" and kind[d] == "enterprise":
                pairs.append((s, d))
            elif kind[d] == "person" and kind[s] == "enterprise":
                pairs.append((d, s))
    if "context_mentions" in mentions.columns:
        persons = mentions.index[mentions["kind"] == "person"]
        ctx = mentions.loc[persons, "context_mentions"]
        for p, others in zip(persons.tolist(), ctx.tolist(), strict=True):
            if others is None or (isinstance(others, float)):
                continue
            for other in others:
                o = index_of.get(str(other))
                if o is not None and kind[o] == "enterprise":
                    pairs.append((int(p), o))
    return pd.DataFrame(pairs, columns=["person", "enterprise"]).drop_duplicates()


def name_key(mentions: pd.DataFrame) -> pd.Series:
    """Per mention: the name as read in either order (`name_read`: 张伟, ZHANG WEI and WEI
    ZHANG alike), else its pinyin, else its standardised name."""
    key = mentions["name_std"]
    for column in ("name_pinyin", "name_read"):
        if column in mentions.columns:
            key = mentions[column].where(mentions[column].notna(), key)
    return key


def letters_key(mentions: pd.DataFrame) -> pd.Series:
    """Per mention: the letters (or characters) of its name as read (`name_key`), sorted: one
    key for DAVID BROWN, BROWN DAVID and BROWNDAVID, for 张伟 and ZHANG WEI. Only for
    mentions already sharing a document number, where the name is a check, not evidence."""
    key = name_key(mentions)
    return key.where(key.isna(), key.astype(str).map(
        lambda k: "".join(sorted(k.replace("|", "")))))


def name_features(level: str, a: Any, b: Any) -> dict[str, Any]:
    """The name feature of a link: the two names as written, compared by what."""
    return feature("name_std" if a == b else "name_pinyin", level, a, b)


def holds_identifier(mentions: pd.DataFrame) -> np.ndarray:
    """Per mention: whether it carries a present identifier (valid, malformed or another
    document; a declared generic identifier too)."""
    held = mentions["id_valid"].fillna(False).astype(bool).to_numpy()
    for column in ("id_number", "other_id"):
        if column in mentions.columns:
            held = held | mentions[column].notna().to_numpy()
    return held


def _all_compatible(uf: ConstrainedUnionFind, roots: list[int]) -> bool:
    return all(not uf.conflicts(a, b) and uf.compatible(a, b)
               for i, a in enumerate(roots) for b in roots[i + 1:])


def context_links(
    mentions: pd.DataFrame,
    attached: pd.DataFrame,
    uf: ConstrainedUnionFind,
    mention_ids: Sequence[str],
) -> list[Link]:
    """Context links to offer (after enterprises and persons with evidence are clustered).

    Two passes: the same standardised name at the same firm first (as written); then, for
    the mentions whose name there has no ID holder, the same name as read (`name_key`), so a
    pinyin or homophone spelling joins the one person read alike, and never overrides an
    exact name's answer (an exact name held by two people stays ambiguous)."""
    if attached.empty:
        return []
    frame = attached.copy()
    persons = frame["person"].to_numpy()
    frame["name_std"] = mentions["name_std"].to_numpy()[persons]
    frame["name_key"] = name_key(mentions).to_numpy()[persons]
    frame = frame[frame["name_std"].notna()]
    frame["ent_root"] = [uf.find(int(e)) for e in frame["enterprise"]]
    frame["p_root"] = [uf.find(int(p)) for p in frame["person"]]
    names = mentions["name_std"].to_numpy()
    links: list[Link] = []
    for t_person, person, t_enterprise, enterprise in _two_passes(frame, mentions, uf):
        features = dumps([
            name_features("same name at the same resolved enterprise", names[t_person],
                           names[person]),
            feature("enterprise", "same resolved enterprise",
                    mention_ids[t_enterprise], mention_ids[enterprise]),
        ])
        links.append(Link(t_person, person, "context", None, 1.0, features))
    return links


def _two_passes(frame: pd.DataFrame, mentions: pd.DataFrame, uf: ConstrainedUnionFind
                ) -> list[tuple[int, int, int, int]]:
    """`_group_links` of `frame` (its groups keyed by `ent_root`) by the standardised name,
    then by the name as read for the ID holders and the mentions whose written name has no ID
    holder in its group: a second pass never overrides the first's answer (an exact name held
    by two people stays ambiguous)."""
    present = holds_identifier(mentions)
    anchored_roots = {uf.find(int(i)) for i in np.flatnonzero(present)}
    frame = frame.assign(anchored=frame["p_root"].isin(anchored_roots))
    exact, unheld = _group_links(frame, "name_std", uf)
    second = frame[frame["anchored"] | unheld]
    seen = {(t, p) for t, p, _, _ in exact}
    return [*exact, *(row for row in _group_links(second, "name_key", uf)[0]
                      if (row[0], row[1]) not in seen)]


# a mobile number as `linkage.standardise.phones` writes it: one person's, unlike an office line
MOBILE = r"^\+861[3-9]\d{9}$"


def mobiles(mentions: pd.DataFrame) -> pd.Series:
    """Per mention: its phone when that is a mobile number, else None."""
    if "phone" not in mentions.columns:
        return pd.Series(None, index=mentions.index, dtype=object)
    phone = mentions["phone"].astype(object)
    return phone.where(phone.fillna("").astype(str).str.match(MOBILE), None)


def mobile_links(mentions: pd.DataFrame, uf: ConstrainedUnionFind) -> list[Link]:
    """Persons of one name and one mobile number, in any sources, firm resolved or not: the
    mention joins the one person of that name and mobile holding an identifier, or, where none
    holds one, the first mention of them; two ID holders of the name and mobile (a father and
    his son of one name sharing a phone) are ambiguous. As `context_links`, the name as
    written first, then as read (ZHANG WEI and 张伟 with one mobile). Offered with the
    identifier and trait check (`ConstrainedUnionFind.compatible`): different birth dates keep
    them apart."""
    mobile = mobiles(mentions).to_numpy()
    ok = ((mentions["kind"] == "person").to_numpy() & mentions["name_std"].notna().to_numpy()
          & pd.notna(mobile))
    at = np.flatnonzero(ok)
    if len(at) < 2:
        return []
    frame = pd.DataFrame({"person": at, "enterprise": at})
    frame["name_std"] = mentions["name_std"].to_numpy()[at]
    frame["name_key"] = name_key(mentions).to_numpy()[at]
    frame["ent_root"] = mobile[at].astype(str)
    frame["p_root"] = [uf.find(int(p)) for p in at]
    names = mentions["name_std"].to_numpy()
    links: list[Link] = []
    for target, person, _, _ in _two_passes(frame, mentions, uf):
        features = dumps([
            name_features(SAME_NAME_AND_MOBILE, names[target], names[person]),
            feature("phone", "same mobile", str(mobile[target]), str(mobile[person])),
        ])
        links.append(Link(target, person, "context", None, 1.0, features))
    return links


SAME_NAME_AND_MOBILE = "the same name and mobile number"
SAME_SURNAME_AT_FIRM = "the only person of this surname at the same resolved enterprise"


def anonymised_links(
    mentions: pd.DataFrame,
    attached: pd.DataFrame,
    uf: ConstrainedUnionFind,
    mention_ids: Sequence[str],
) -> list[Link]:
    """Context links of anonymised persons (王某某, as penalty decisions write the legal
    representative: a `surname`, no `name_std`), offered after the other context links are
    applied. At a resolved enterprise, the mention joins the one person attached there under a
    written name of that surname (several mentions of one name as read, their identifiers
    compatible); where no written name there has the surname, the anonymised mentions of the
    surname there join each other; two people of the surname there: ambiguous, apart."""
    if attached.empty or "surname" not in mentions.columns:
        return []
    frame = attached.copy()
    persons = frame["person"].to_numpy()
    frame["surname"] = mentions["surname"].to_numpy()[persons]
    frame["named"] = mentions["name_std"].notna().to_numpy()[persons]
    frame = frame[frame["surname"].notna()]
    anonymous = frame[~frame["named"]]
    if anonymous.empty:
        return []
    frame["name_key"] = name_key(mentions).to_numpy()[frame["person"].to_numpy()]
    frame = frame.assign(ent_root=[uf.find(int(e)) for e in frame["enterprise"]],
                         p_root=[uf.find(int(p)) for p in frame["person"]])
    frame = frame.sort_values(["person", "enterprise"], kind="stable")
    keys = pd.MultiIndex.from_frame(frame[["ent_root", "surname"]])
    asked = keys.isin(keys[~frame["named"].to_numpy()])  # the firms and surnames asked about
    named = frame[frame["named"].to_numpy() & asked]
    targets: dict[tuple[int, str], tuple[int, int] | None] = {}
    for key, group in named.groupby(["ent_root", "surname"], sort=False):
        one = (group["name_key"].nunique() == 1
               and _all_compatible(uf, list(dict.fromkeys(group["p_root"].astype(int)))))
        first = group.iloc[0]
        targets[cast(tuple[int, str], key)] = (
            (int(first["person"]), int(first["enterprise"])) if one else None)
    names = mentions["name"].to_numpy()
    links: list[Link] = []
    alone: dict[tuple[int, str], tuple[int, int]] = {}
    for person, enterprise, root, surname in zip(
            frame.loc[anonymous.index, "person"].astype(int),
            frame.loc[anonymous.index, "enterprise"].astype(int),
            frame.loc[anonymous.index, "ent_root"].astype(int),
            frame.loc[anonymous.index, "surname"].astype(str), strict=True):
        key = (int(root), str(surname))
        if key in targets:
            to = targets[key]
        else:  # no written name of the surname here: the first anonymised mention of it
            to = alone.setdefault(key, (person, enterprise))
        if to is None or uf.find(to[0]) == uf.find(person):
            continue
        features = dumps([
            feature("surname", SAME_SURNAME_AT_FIRM, names[to[0]], names[person]),
            feature("enterprise", "same resolved enterprise", mention_ids[to[1]],
                    mention_ids[enterprise]),
        ])
        links.append(Link(to[0], person, "context", None, 1.0, features))
    return links


def _group_links(frame: pd.DataFrame, key: str, uf: ConstrainedUnionFind
                 ) -> tuple[list[tuple[int, int, int, int]], pd.Series]:
    """(target person, person, target enterprise, enterprise) of each mention to join within
    its (resolved enterprise, `key`) group: to the group's ID holder if there is one person
    holding an ID, else to its first mention; groups of several ID holders are ambiguous.
    Also, per row of `frame`, whether its group has no ID holder (`unheld`)."""
    if frame.empty:
        return [], pd.Series(dtype=bool)
    frame = frame.copy()
    frame["g"] = frame.groupby(["ent_root", key], sort=False).ngroup()
    unheld = ~frame.groupby("g")["anchored"].transform("any").astype(bool)
    distinct = frame.groupby("g")["p_root"].transform("nunique")
    frame = frame[distinct > 1]
    anchors = frame[frame["anchored"]].groupby("g")["p_root"].unique()
    # several holders of different identifiers share the name here: ambiguous
    ambiguous = {g for g, roots in anchors.items() if not _all_compatible(uf, list(roots))}
    frame = frame[~frame["g"].isin(ambiguous)]
    # the target of each group: its ID holder if any, else its first mention
    frame = frame.sort_values(["g", "anchored", "person"], ascending=[True, False, True],
                              kind="stable")
    target = frame.drop_duplicates("g").set_index("g")
    rows = frame.drop_duplicates(["g", "p_root"])
    rows = rows[rows["p_root"].to_numpy() != target.loc[rows["g"], "p_root"].to_numpy()]
    out = [(int(cast(Any, target.at[g, "person"])), int(person),
            int(cast(Any, target.at[g, "enterprise"])), int(enterprise))
           for g, person, enterprise in zip(rows["g"].astype(int), rows["person"].astype(int),
                                            rows["enterprise"].astype(int), strict=True)]
    return out, unheld


def declarant_links(
    mentions: pd.DataFrame,
    relations: pd.DataFrame,
    uf: ConstrainedUnionFind,
    mention_ids: Sequence[str],
    index_of: dict[str, int],
) -> list[Link]:
    """Declarants without an identifier, scoped to the declarant population: a name-only
    declarant joins

    - the one person of that name holding an identifier who shares its phone (any role),
    - the one person holding an identifier (valid or not) who acts as a declarant under
      that name (declarants are registered professionals),

    and only when exactly one such person exists: a second candidate of the name, or one
    whose identifier differs from the declarant's cluster, makes the mention ambiguous (the
    same firm is handled by `context_links`)."""
    if relations.empty:
        return []
    mapped = relations.loc[relations["type"] == "DECLARANT_FOR", "src_mention"].map(index_of)
    decl = mapped.dropna().astype(int).unique()
    if len(decl) == 0:
        return []
    frame = pd.DataFrame({"person": decl})
    frame["name_std"] = mentions["name_std"].to_numpy()[decl]
    frame["name_key"] = name_key(mentions).to_numpy()[decl]
    frame = frame[frame["name_std"].notna()]
    frame["root"] = [uf.find(int(p)) for p in frame["person"]]
    present = holds_identifier(mentions)
    frame["holds_id"] = present[frame["person"].to_numpy()]
    anchored_roots = set(frame.loc[frame["holds_id"], "root"])
    frame["anchored"] = frame["root"].isin(anchored_roots)
    holders = frame[frame["holds_id"]].sort_values("person")
    # the name as written first; the name as read only where no holder writes it so
    by_name = Targets(uf, holders["name_std"].astype(str), holders["root"], holders["person"])
    by_read = Targets(uf, holders["name_key"].astype(str), holders["root"], holders["person"])
    by_phone, by_phone_read = _phone_targets(mentions, uf)
    lone = frame[~frame["anchored"]]
    phones = mentions["phone"] if "phone" in mentions.columns else None
    names = mentions["name_std"].to_numpy()
    links: list[Link] = []
    for person, name, key in zip(lone["person"].astype(int), lone["name_std"].astype(str),
                                 lone["name_key"].astype(str), strict=True):
        phone = phones.iat[person] if phones is not None else None
        to = None
        if isinstance(phone, str) and phone:
            to = by_phone.first(((name, phone), (key, phone)), by_phone_read)
        if to is not None and uf.find(to) != uf.find(person):
            features = dumps([
                name_features("the only person of this name with this phone", names[to],
                               names[person]),
                feature("phone", "same phone", str(phone), str(phone)),
            ])
            links.append(Link(to, person, "context", None, 1.0, features))
            continue
        to = by_name.first((name, key), by_read)
        if to is None:
            continue
        features = dumps([name_features(
            "the only declarant with an identifier under this name", names[to],
            names[person])])
        links.append(Link(to, person, "context", None, 1.0, features))
    return links


class Targets:
    """`_single_candidates` of some keys (the one person each key names), and which keys had
    any candidate at all (context and masked-ID links)."""

    def __init__(self, uf: ConstrainedUnionFind, keys: pd.Series, roots: pd.Series,
                 members: pd.Series) -> None:
        self.single = _single_candidates(uf, keys, roots, members) if len(keys) else {}
        self.known = set(keys.tolist())

    def first(self, keys: tuple[Any, Any], read: Targets) -> int | None:
        """The target under the written key (`keys[0]`) when that key has a candidate (None
        when they are several people); else the target of `read` under `keys[1]`."""
        written, as_read = keys
        if written in self.known:
            return self.single.get(written)
        return read.single.get(as_read)


def _phone_targets(mentions: pd.DataFrame, uf: ConstrainedUnionFind
                   ) -> tuple[Targets, Targets]:
    """(name, phone) and (name as read, phone) -> a mention of the only resolved person
    holding an identifier with that name and phone."""
    if "phone" not in mentions.columns:
        mentions = mentions.assign(phone=None)
    persons = mentions[(mentions["kind"] == "person") & mentions["phone"].notna()
                       & mentions["name_std"].notna() & holds_identifier(mentions)]
    phone = persons["phone"].astype(str)
    frame = pd.DataFrame({"i": persons.index})
    frame["root"] = [uf.find(int(i)) for i in frame["i"]]
    out = []
    for names in (persons["name_std"].astype(str), name_key(persons).astype(str)):
        keys = pd.Series(list(zip(names, phone, strict=True)), index=frame.index)
        out.append(Targets(uf, keys, frame["root"], frame["i"]))
    return out[0], out[1]


def _single_candidates(uf: ConstrainedUnionFind, keys: pd.Series, roots: pd.Series,
                       members: pd.Series) -> dict[Any, int]:
    """Key -> the first member (smallest index) of the key's candidates, for the keys whose
    candidate clusters are one person: a single cluster, or clusters whose identifiers are the
    same number up to a typo (not yet joined). Keys with two different persons are left out."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "root": roots.to_numpy(),
                          "member": members.to_numpy()}).sort_values("member", kind="stable")
    firsts = frame.drop_duplicates("key")
    out: dict[Any, int] = dict(zip(firsts["key"], firsts["member"].astype(int), strict=True))
    n_roots = frame.groupby("key", sort=False)["root"].nunique()
    several = frame[frame["key"].isin(set(n_roots[n_roots > 1].index))]
    for key, group in several.groupby("key", sort=False):
        distinct = list(dict.fromkeys(int(r) for r in group["root"]))
        if not _all_compatible(uf, distinct):
            del out[key]
    return out


# An enterprise's full name as registered is unique within its registry: a name this long
# (a region, a trade name, a line of business, a legal form) is no common word.
MIN_REGISTERED_NAME = 6
# A foreign firm's name in Latin letters names no Chinese region; written in full (a trade
# name and a legal form: Andes Agro S.A. reads andesagrosa) it is this long
MIN_LATIN_NAME = 10
LATIN_NAME = r"^[a-z0-9]+$"  # a standardised name in Latin letters (and digits) only
ENTERPRISE_IDS = ("uscc", "customs_code", "reg_no", "other_id", "org_code")


def _held_and_roots(firms: pd.DataFrame,
                    uf: ConstrainedUnionFind) -> tuple[np.ndarray, np.ndarray]:
    """Per enterprise mention: whether it holds an identifier (`ENTERPRISE_IDS`), and its
    cluster's root."""
    held = np.zeros(len(firms), dtype=bool)
    for column in ENTERPRISE_IDS:
        if column in firms.columns:
            held |= firms[column].notna().to_numpy()
    roots = np.fromiter((uf.find(int(i)) for i in firms.index), dtype=np.int64,
                        count=len(firms))
    return held, roots


def _one_firm(holders: list[int], uf: ConstrainedUnionFind) -> list[int] | None:
    """Mentions of clusters holding identifiers under one name, the largest cluster first,
    when they are one firm: none holds another identifier of a kind the largest holds (a
    customs code one slip off is a slip); None when they are two firms or more."""
    ordered = sorted(holders, key=lambda m: (-uf.cluster_size(m), m))
    if any(uf.conflicts(ordered[0], other, slips=True) or not uf.compatible(ordered[0], other)
           for other in ordered[1:]):
        return None
    return ordered


def full_name_keys(firms: pd.DataFrame) -> pd.Series:
    """Each enterprise mention's full name as `registered_name_links` compares it, None where
    it has none: the region the name names and the rest, standardised (上海市/...), or, for a
    name in Latin letters naming no region (a foreign consignor), the standardised name alone
    when at least `MIN_LATIN_NAME` long. `linkage.spark.resolve` builds the same key."""
    std = firms["name_std"].astype(object)
    region = firms["name_region"].astype(object)
    length = std.fillna("").astype(str).str.len()
    regional = region.notna() & std.notna() & (length >= MIN_REGISTERED_NAME)
    latin = (region.isna() & std.notna() & (length >= MIN_LATIN_NAME)
             & std.fillna("").astype(str).str.fullmatch(LATIN_NAME))
    keys = pd.Series(None, index=firms.index, dtype=object)
    keys[regional] = region[regional].astype(str) + "/" + std[regional].astype(str)
    keys[latin] = "/" + std[latin].astype(str)
    return keys


def registered_name_links(mentions: pd.DataFrame, uf: ConstrainedUnionFind) -> list[Link]:
    """Enterprise clusters without any identifier (an inspection or penalty list naming the
    firm only) whose full standardised name (`full_name_keys`) is exactly that of the
    clusters holding an identifier join them; where no cluster of the name holds one, they
    join each other. Clusters holding identifiers of different kinds (a registry's USCC,
    customs' code), or customs codes one slip apart, are one firm of that name and join too;
    where two of them hold different identifiers of one kind (two firms of one name
    registered apart), the name decides nothing. A name naming no region is left to the
    model unless it is in Latin letters (a foreign firm: no Chinese region to name). A model
    trained on few records, or on sources where the name is the only field in common, cannot
    weigh an exact full name for itself (its prior floor and its u for the name both come
    from random pairs, many of them true matches)."""
    if "name_std" not in mentions.columns or "name_region" not in mentions.columns:
        return []
    firms = mentions[mentions["kind"] == "enterprise"]
    if firms.empty:
        return []
    held, roots = _held_and_roots(firms, uf)
    held_roots = set(roots[held].tolist())
    names = full_name_keys(firms)
    named = names.notna().to_numpy()
    frame = pd.DataFrame({"m": firms.index[named].astype(int), "name": names[named].astype(str),
                          "root": roots[named]})
    frame["held"] = frame["root"].isin(held_roots)
    written = firms["name"] if "name" in firms.columns else firms["name_std"]  # for evidence
    frame = frame.sort_values(["name", "m"], kind="stable").drop_duplicates(["name", "root"])
    links: list[Link] = []
    for _, group in frame.groupby("name", sort=False):
        if len(group) < 2:
            continue
        holders = _one_firm(group.loc[group["held"], "m"].astype(int).tolist(), uf)
        if holders is None:
            continue  # two registered firms of this name: ambiguous
        target = (holders or group["m"].astype(int).tolist())[0]
        for other in group["m"].astype(int):
            if other == target:
                continue
            held_too = other in holders
            level = ("one firm under this full name, its identifiers alike"
                     if held_too else "the only firm with an identifier under this full name"
                     if holders else "the same full name, no identifier on either side")
            features = dumps([name_features(level, str(written[target]), str(written[other]))])
            # checked above, slips allowed: the link outweighs a soft cannot-link tag
            links.append(Link(target, other, "context", None, 1.0, features,
                              verified=held_too))
    return links


# An enterprise name's core (`name_key`: a trade name and a line of business, 大盛农产品) this
# long says which firm it is, when one firm holding an identifier has it; a shorter one (新鑫)
# is a word many firms share
MIN_CORE_NAME, MIN_CORE_LATIN = 4, 8


def short_name_links(mentions: pd.DataFrame, uf: ConstrainedUnionFind) -> list[Link]:
    """Enterprise clusters without any identifier whose name is written short (大盛农产品,
    厦门万华进出口, 万华进出口（厦门）: no legal form, no region, or the region after it) join
    the one firm holding an identifier whose name has that core (`name_key`): where the
    clusters holding one are one firm (as `registered_name_links` judges) and every record of
    the core that names a region names the same one. A record whose address is in another city
    stays apart. Core names of branches (#...) are their own."""
    if "name_key" not in mentions.columns:
        return []
    firms = mentions[mentions["kind"] == "enterprise"]
    key = firms["name_key"].astype(object)
    text = key.fillna("").astype(str)
    latin = text.str.fullmatch(LATIN_NAME)
    long_enough = text.str.len() >= np.where(latin, MIN_CORE_LATIN, MIN_CORE_NAME)
    ok = (key.notna() & ~text.str.startswith("#") & long_enough).to_numpy()
    if not ok.any():
        return []
    firms = firms[ok]
    held, roots = _held_and_roots(firms, uf)
    region = firms["name_region"] if "name_region" in firms.columns else None
    city = firms["city"] if "city" in firms.columns else None
    frame = pd.DataFrame({
        "m": firms.index.astype(int), "key": firms["name_key"].astype(str), "root": roots,
        "region": region.astype(object) if region is not None else None,
        "city": city.astype(object) if city is not None else None})
    frame["held"] = frame["root"].isin(set(roots[held].tolist()))
    written = firms["name"] if "name" in firms.columns else firms["name_std"]
    links: list[Link] = []
    for _, group in frame.sort_values(["key", "m"], kind="stable").groupby("key", sort=False):
        regions = group["region"].dropna().unique()
        if len(regions) > 1 or not group["held"].any() or group["root"].nunique() < 2:
            continue
        holders = _one_firm(
            group.loc[group["held"]].drop_duplicates("root")["m"].astype(int).tolist(), uf)
        if not holders:
            continue  # two firms hold identifiers under this core name
        target = holders[0]
        place = regions[0] if len(regions) else None
        lone = group[~group["held"]].drop_duplicates("root")
        for other, where in zip(lone["m"].astype(int), lone["city"], strict=True):
            if place is not None and isinstance(where, str) and where != place:
                continue  # an address in another city
            features = dumps([name_features("the only firm with an identifier under this "
                                            "core name", str(written[target]),
                                            str(written[other]))])
            links.append(Link(target, other, "context", None, 1.0, features))
        for other in holders[1:]:
            features = dumps([name_features("one firm under this core name, its identifiers "
                                            "alike", str(written[target]),
                                            str(written[other]))])
            links.append(Link(target, other, "context", None, 1.0, features, verified=True))
    return links
