"""Resolution: mentions (+ relations, judgements) -> clusters and the links that made them.

Order of links, strongest first, through one constrained union-find (see `cluster.py`):
1. human judgements (`same` forced, `different` as cannot-link tags set before anything);
2. exact valid identifiers (USCC, customs code, registration number; resident ID) - the
   pre-clusters, so Splink never re-scores pairs already known to match;
3. Splink links at or above the kind's threshold, in decreasing match weight (persons also
   need agreement on something other than the name);
4. masked-ID links: a person whose resident ID a public list wrote masked joins the one
   ID holder agreeing with every visible character under the same name (`masked.py`);
5. context links for persons without a valid ID.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from linkage.resolve.blocking import EXACT_KEYS
from linkage.resolve.cluster import ConstrainedUnionFind, Link
from linkage.resolve.context import (
    anonymised_links,
    attachments,
    context_links,
    declarant_links,
    letters_key,
    mobile_links,
    mobiles,
    name_features,
    name_key,
    registered_name_links,
    short_name_links,
)
from linkage.resolve.evidence import dumps, feature
from linkage.resolve.health import model_health
from linkage.resolve.judgements import Judgement
from linkage.resolve.masked import masked_id_links
from linkage.resolve.models import FLAG_COLUMNS, KINDS, MODEL_COLUMNS, Kind
from linkage.resolve.sampling import SAMPLE_KEY
from linkage.resolve.scoring import Engine, Scored, train_and_score
from linkage.standardise.names import has_han

log = logging.getLogger(__name__)

# Exact identifiers per kind: (column, validity column or ""); a declared generic identifier
# (`other_id`, see the mapping) pre-clusters too (its blocking rule covers it in evaluation).
EXACT_IDS = {kind: (*keys, ("other_id", "")) for kind, keys in EXACT_KEYS.items()}
# Cannot-link tags: two different valid values never share an entity; a customs code (no check
# character: one slip makes another valid-looking code) gives way to a valid USCC in common.
SOFT_CONFLICT_IDS = frozenset({"customs_code"})
VERIFIED_IDS = frozenset({"uscc"})  # an exact link on these overrides the soft tags
CONFLICT_IDS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "enterprise": (
        ("uscc", "uscc_valid"), ("customs_code", "customs_code_valid"), ("reg_no", "reg_no_valid"),
        ("org_code", ""),
    ),
    "person": (("id_number", "id_valid"),),
}
# Person links from Splink need one of these at an agreeing level besides the name.
# (comparison, lowest agreeing comparison-vector value): ID / birth date within one edit,
# phone exact, address exact (not merely the same district).
PERSON_SUPPORT = (
    ("id_number", 1), ("birth_date", 1), ("phone", 1), ("address", 2), ("other_id", 1),
)


# Enterprise links from Splink need the names to agree at least at this comparison-vector
# value (1 = the weakest similarity level above "different").
ENTERPRISE_MIN_NAME_GAMMA = 1
# Two candidate links (to records with different identifiers) closer than this many bits
# make a record without an identifier ambiguous.
AMBIGUITY_MARGIN = 3.0


@dataclass(frozen=True)
class ResolveOptions:
    engine: Engine = "duckdb"
    thresholds: dict[str, float] = field(
        default_factory=lambda: {"enterprise": 0.8, "person": 0.9}
    )
    use_splink: bool = True
    # name-only declarants join the only ID-holding declarant of that name (see context.py)
    declarant_scope: bool = True


@dataclass
class Resolution:
    """Cluster label per mention (row order of the input), accepted links, models."""

    labels: np.ndarray
    links: list[Link]
    scored: dict[Kind, Scored]
    timings: dict[str, float]
    stats: dict[str, Any]


Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


def _text_or_none(values: pd.Series) -> pd.Series:
    """Each value as stripped text, None when missing or blank (object dtype, whole column at
    once: iterating an Arrow-backed column boxes every value and is ~20x slower)."""
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    return text.astype(object).where(text.notna(), None)


def _exact_links(mentions: pd.DataFrame, kind: Kind) -> list[Link]:
    links: list[Link] = []
    of_kind = mentions[mentions["kind"] == kind]
    names = _NameParts.of(of_kind) if kind == "person" else None  # once for every column
    for column, valid in EXACT_IDS[kind]:
        if column not in of_kind.columns:
            continue
        keep = of_kind[column].notna()
        if valid:
            keep &= of_kind[valid].fillna(False).astype(bool)
        sub = of_kind.loc[keep, [column, "mention_id"]].copy()
        sub["i"] = sub.index
        sub = sub.sort_values([column, "mention_id"], kind="stable")
        first = sub.groupby(column, sort=False)["i"].transform("first")
        pairs = sub[sub["i"] != first]
        level = f"valid {column} exact" if valid else f"{column} exact"
        # one feature, same shape as evidence.feature(); values are JSON-escaped
        placeholder = "\u0000"
        parts = dumps([feature(column, level, placeholder, placeholder)]).split(
            json.dumps(placeholder))
        lefts, rights = first[pairs.index].to_numpy(), pairs["i"].to_numpy()
        apart = (names.apart(lefts, rights) if names is not None
                 else np.zeros(len(pairs), dtype=bool))
        for value, a, b, other in zip(pairs[column].tolist(), lefts.tolist(), rights.tolist(),
                                      apart.tolist(), strict=True):
            v = json.dumps(str(value), ensure_ascii=False)
            features = parts[0] + v + parts[1] + v + parts[2]
            if other and names is not None:  # another person's name: joined, and said so
                features = features[:-1] + ", " + dumps([feature(
                    "name_std", NAMES_APART, names.written[a], names.written[b])])[1:]
            links.append(Link(int(a), int(b), "exact_id", None, 1.0, features,
                              verified=bool(valid) and column in VERIFIED_IDS))
    return links


NAMES_APART = "another name under this ID: check the record (a clerk's slip?)"


def names_apart_count(links: Sequence[Link]) -> dict[str, int]:
    """The report's count of the identifier links joining two names that share nothing."""
    n = sum(NAMES_APART in lk.features for lk in links)
    return {"offered": n, "accepted": n}


@dataclass(frozen=True)
class _NameParts:
    """Person mentions' names as `_exact_links` compares them (index: mention labels)."""

    written: pd.Series  # name_std
    read: pd.Series  # `context.name_key`: the name as read, either order
    surname: pd.Series  # in characters

    @classmethod
    def of(cls, persons: pd.DataFrame) -> _NameParts:
        none = pd.Series(None, index=persons.index, dtype=object)
        written = persons["name_std"] if "name_std" in persons.columns else none
        return cls(written, name_key(persons) if "name_std" in persons.columns else none,
                   persons["surname"] if "surname" in persons.columns else none)

    def apart(self, lefts: np.ndarray, rights: np.ndarray) -> np.ndarray:
        """Per pair (index labels): whether the two names share nothing - not the surname in
        characters, nor any part of the name as read (pinyin: 王英 and WANG LEI share wang) -
        while both are written: a valid ID copied onto another person, as a clerk may."""
        if len(lefts) == 0:
            return np.zeros(0, dtype=bool)
        both = (self.written.loc[lefts].notna().to_numpy()
                & self.written.loc[rights].notna().to_numpy())
        same_read = self.read.loc[lefts].to_numpy() == self.read.loc[rights].to_numpy()
        sl, sr = self.surname.loc[lefts].to_numpy(), self.surname.loc[rights].to_numpy()
        same_surname = pd.notna(sl) & (sl == sr)
        apart = np.asarray(both & ~same_read & ~same_surname, dtype=bool)
        reads_l = self.read.loc[lefts].to_numpy()
        reads_r = self.read.loc[rights].to_numpy()
        for k in np.flatnonzero(apart):  # few: then no part of the read names in common
            if set(str(reads_l[k]).split("|")) & set(str(reads_r[k]).split("|")):
                apart[k] = False
        return apart


def _malformed_id_links(mentions: pd.DataFrame) -> list[Link]:
    """Persons sharing the same present identity number that fails its check (or is another
    document), under the same name as read, in any order and spacing (`context.letters_key`:
    a passport holder written JOHN SMITH, SMITH JOHN and SMITHJOHN is one name): the same
    value is strong evidence."""
    if "id_scheme" not in mentions.columns:
        return []
    of_kind = mentions[(mentions["kind"] == "person") & mentions["id_number"].notna()
                       & ~mentions["id_valid"].fillna(False).astype(bool)
                       & mentions["name_std"].notna()]
    if of_kind.empty:
        return []
    sub = of_kind[["id_number", "id_scheme", "name_std", "mention_id"]].copy()
    sub["name_key"] = letters_key(of_kind)
    sub["i"] = sub.index
    keys = ["id_number", "id_scheme", "name_key"]
    sub = sub.sort_values([*keys, "mention_id"], kind="stable")
    first = sub.groupby(keys, sort=False, dropna=False)["i"].transform("first")
    pairs = sub[sub["i"] != first]
    names = sub["name_std"]
    links: list[Link] = []
    for value, a, b in zip(pairs["id_number"].tolist(), first[pairs.index].tolist(),
                           pairs["i"].tolist(), strict=True):
        name_a, name_b = str(names[a]), str(names[b])
        features = dumps([
            feature("id_number", "id_number exact (not valid)", str(value), str(value)),
            name_features("name exact" if name_a == name_b else "name as read", name_a,
                          name_b),
        ])
        links.append(Link(int(a), int(b), "exact_id", None, 1.0, features))
    return links + _romanised_permit_links(of_kind)


# permits whose holders are written in the romanisation of their place (Cantonese CHAN Hoi
# Chun, Wade-Giles Hsu Mei) as often as in characters: Mandarin pinyin cannot check the name
PERMITS = ("hk_macao_permit", "taiwan_permit")
_SYLLABLES = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")  # Hoi, Chun; HaiJun: Hai, Jun


def _romanised_permit_links(persons: pd.DataFrame) -> list[Link]:
    """Holders of one Hong Kong / Macao or Taiwan permit number written in Latin letters
    join its holder written in characters when the permit has one name in characters and
    the Latin name has as many syllables as it has characters (陈海俊 and CHAN Hoi Chun, 徐美
    and Hsu Mei): the number is the evidence, the name a check that can be made."""
    permits = persons[persons["id_scheme"].isin(PERMITS)]
    if permits.empty:
        return []
    written = permits["name"] if "name" in permits.columns else permits["name_std"]
    links: list[Link] = []
    for value, group in permits.groupby("id_number", sort=False):
        han = group[group["name_std"].astype(str).map(has_han)]
        if han.empty or han["name_std"].nunique() != 1:
            continue
        target = int(han.index.min())
        chars = len(str(han["name_std"].iloc[0]))
        for i in group.index.difference(han.index):
            words = _SYLLABLES.findall(str(written[i]))
            if len(words) != chars:
                continue
            features = dumps([
                feature("id_number", "id_number exact (not valid)", str(value), str(value)),
                name_features("romanised, as many syllables", str(written[target]),
                              str(written[i]))])
            links.append(Link(target, int(i), "exact_id", None, 1.0, features))
    return links


def _note_identifiers(uf: ConstrainedUnionFind, mentions: pd.DataFrame) -> None:
    """Every present person identifier, valid or not, for the same-identifier check of the
    context links (`ConstrainedUnionFind.compatible`); so too each person's birth date and
    mobile number: a context link (the same name at the same firm, a declarant's name) between
    two people whose birth dates or mobiles differ beyond a slip is refused (two 王伟 at one
    firm, each with a mobile of their own, are two people). An office line is no one's."""
    persons = mentions[mentions["kind"] == "person"]
    for column, scheme in (("birth_date", "trait:birth"), ("phone", "trait:mobile")):
        if column not in persons.columns:
            continue
        values = (persons[column].dropna().astype(str).str.slice(0, 10)
                  if scheme == "trait:birth" else mobiles(persons).dropna().astype(str))
        for i, value in zip(values.index.tolist(), values.tolist(), strict=True):
            uf.note_id(int(i), scheme, value)
    ids = persons[persons["id_number"].notna()]
    schemes = ids["id_scheme"] if "id_scheme" in ids.columns else pd.Series("ric", ids.index)
    for i, value, scheme in zip(ids.index.tolist(), ids["id_number"].tolist(),
                                schemes.fillna("ric").tolist(), strict=True):
        uf.note_id(int(i), f"id:{scheme}", str(value))
    if "other_id" in persons.columns:
        other = persons[persons["other_id"].notna()]
        for i, value in zip(other.index.tolist(), other["other_id"].tolist(), strict=True):
            uf.note_id(int(i), "other_id", str(value))


def _tag_identifiers(uf: ConstrainedUnionFind, mentions: pd.DataFrame) -> None:
    _note_identifiers(uf, mentions)
    for kind in KINDS:
        of_kind = mentions[mentions["kind"] == kind]
        for column, valid in CONFLICT_IDS[kind]:
            if column not in of_kind.columns:
                continue
            ok = of_kind[column].notna()
            if valid in of_kind.columns:
                ok &= of_kind[valid].fillna(False).astype(bool)
            for i, value in zip(of_kind.index[ok].tolist(), of_kind.loc[ok, column].tolist(),
                                strict=True):
                uf.tag(int(i), f"{kind}:{column}", str(value),
                       soft=column in SOFT_CONFLICT_IDS)


def _judgement_links(
    uf: ConstrainedUnionFind, judgements: Sequence[Judgement], index_of: dict[str, int],
    stats: dict[str, Any],
) -> list[Link]:
    same: list[Link] = []
    unknown = 0
    for k, j in enumerate(judgements):
        a, b = index_of.get(j.mention_id_l), index_of.get(j.mention_id_r)
        if a is None or b is None:
            unknown += 1
            continue
        if j.judgement == "different":
            uf.tag(a, f"judgement:{k}", "l")
            uf.tag(b, f"judgement:{k}", "r")
        else:
            features = dumps([feature("judgement", "same", j.who, j.when.isoformat())])
            same.append(Link(a, b, "judgement", None, 1.0, features))
    stats["judgements_applied"] = len(judgements) - unknown
    stats["judgements_unknown_mentions"] = unknown
    return same


def _full_names(names: pd.Series) -> pd.Series:
    """Names as written (width, spaces and traditional characters normalised only), so
    firms whose standardised names coincide can still be told apart by region or form."""
    from linkage.standardise.names import to_simplified, width_and_space

    distinct = [v for v in names.dropna().unique() if isinstance(v, str)]
    simplified = to_simplified([width_and_space(v) for v in distinct])
    table = dict(zip(distinct, simplified, strict=True))
    return names.map(table).astype(object)


def _region(frame: pd.DataFrame) -> pd.Series:
    """The firm's region: the one its name carries, else the city of its address."""
    named = frame["name_region"] if "name_region" in frame.columns else None
    city = _column(frame, "city")
    if named is None:
        return city
    return named.astype(object).where(named.notna(), city)


def _name_keys(names: pd.Series, std: pd.Series) -> dict[str, pd.Series]:
    """`name_key` / `name_key_pinyin` of each enterprise name (`name_keys.keys_of_names`)."""
    from linkage.standardise.name_keys import keys_of_names

    key, key_pinyin = keys_of_names(names, std)
    return {"name_key": key, "name_key_pinyin": key_pinyin}


def with_derived_columns(of_kind: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    """Mentions of one kind with the model columns derived from others (enterprises: region,
    name as written, name keys); also used to measure blocking recall."""
    if kind != "enterprise":
        return of_kind
    names = _column(of_kind, "name")
    return of_kind.assign(region=_region(of_kind), name_full=_full_names(names),
                          **_name_keys(names, _column(of_kind, "name_std")))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column as objects, or all missing when the frame has none (a table written by hand)."""
    if name in frame.columns:
        return frame[name].astype(object)
    return pd.Series(None, index=frame.index, dtype=object)


def splink_table(mentions: pd.DataFrame, kind: Kind, pc: np.ndarray) -> pd.DataFrame:
    """One row per distinct (pre-cluster, model columns) among the kind's mentions, with
    `rid`, `pc`, `rep` (index of the first mention having that row) and `sample_key` (the
    smallest mention ID it stands for: what Splink's samples are drawn by, see
    `linkage.resolve.sampling`)."""
    of_kind = mentions[mentions["kind"] == kind]
    if kind == "person":
        columns = [c for c in ("id_number", "phone", "birth_date", "address_std", "other_id")
                   if c in of_kind.columns]
        of_kind = of_kind[of_kind[columns].notna().any(axis=1)]
        if "id_birth" in of_kind.columns:
            # a malformed resident ID still states a birth date (see identifiers.py)
            born = of_kind["birth_date"].astype(object)
            stated = of_kind["id_birth"].astype(object)
            of_kind = of_kind.assign(birth_date=born.where(born.notna(), stated))
    cols = list(MODEL_COLUMNS[kind])
    if kind == "enterprise":
        of_kind = with_derived_columns(of_kind, kind)
    frame = of_kind.reindex(columns=cols)
    for col in cols:
        if col in FLAG_COLUMNS:
            # as objects: a flag column the mentions lack comes back from reindex as float NaN,
            # which pandas will stop filling with a bool
            frame[col] = frame[col].astype(object).fillna(False).astype(bool)
        else:
            frame[col] = _text_or_none(frame[col])
    frame["pc"] = pc[of_kind.index.to_numpy()]
    frame["i"] = of_kind.index.to_numpy()
    frame["rid"] = frame.groupby(["pc", *cols], dropna=False, sort=False).ngroup()
    frame[SAMPLE_KEY] = of_kind["mention_id"].astype(str).to_numpy()
    frame[SAMPLE_KEY] = frame.groupby("rid")[SAMPLE_KEY].transform("min")
    if "is_new" in of_kind.columns:
        # a row is new only when every mention it stands for is new
        frame["is_new"] = of_kind["is_new"].to_numpy(dtype=bool)
        frame["is_new"] = frame.groupby("rid")["is_new"].transform("all")
    rows = frame.drop_duplicates("rid").rename(columns={"i": "rep"})
    return rows.reset_index(drop=True)


def _person_supported(pred: pd.DataFrame) -> pd.Series:
    ok = pd.Series(False, index=pred.index)
    for name, lowest in PERSON_SUPPORT:
        col = f"gamma_{name}"
        if col in pred.columns:
            ok |= pred[col] >= lowest
    return ok


def _anchors(mentions: pd.DataFrame, kind: Kind, pc: np.ndarray) -> pd.Series:
    """Pre-cluster -> its valid primary identifier (USCC / resident ID), where it has one."""
    column, valid = CONFLICT_IDS[kind][0]
    of_kind = mentions[(mentions["kind"] == kind) & mentions[column].notna()]
    of_kind = of_kind[of_kind[valid].fillna(False).astype(bool)]
    frame = pd.DataFrame({"pc": pc[of_kind.index.to_numpy()], "id": of_kind[column].to_numpy()})
    return frame.drop_duplicates("pc").set_index("pc")["id"]


def _drop_ambiguous(chosen: pd.DataFrame, table: pd.DataFrame, anchors: pd.Series) -> pd.DataFrame:
    """A record without an identifier that links about equally well to two records holding
    different identifiers (two firms of the same name) joins neither: best-link, not chain."""
    if chosen.empty or anchors.empty:
        return chosen
    pc_of = table.set_index("rid")["pc"]
    sides = []
    for me, other in (("rid_l", "rid_r"), ("rid_r", "rid_l")):
        part = pd.DataFrame({
            "row": chosen.index, "me": chosen[me].to_numpy(),
            "my_anchor": pc_of.loc[chosen[me].to_numpy()].map(anchors).to_numpy(),
            "other_anchor": pc_of.loc[chosen[other].to_numpy()].map(anchors).to_numpy(),
            "w": chosen["match_weight"].to_numpy(),
        })
        sides.append(part[part["my_anchor"].isna() & part["other_anchor"].notna()])
    cand = pd.concat(sides)
    if cand.empty:
        return chosen
    best = cand.groupby(["me", "other_anchor"])["w"].max().reset_index()
    best = best.sort_values(["me", "w"], ascending=[True, False])
    best["rank"] = best.groupby("me").cumcount()
    top = best[best["rank"] == 0].set_index("me")["w"]
    second = best[best["rank"] == 1].set_index("me")["w"]
    gap = (top - second.reindex(top.index)).dropna()
    ambiguous = set(gap[gap < AMBIGUITY_MARGIN].index)
    if not ambiguous:
        return chosen
    drop = set(cand.loc[cand["me"].isin(ambiguous), "row"])
    return chosen.drop(index=list(drop))


def name_shared_apart(table: pd.DataFrame, anchors: pd.Series) -> np.ndarray:
    """Per row of an enterprise model table: whether it names no region and holds no
    identifier, and its name's core (`name_key`: 远洋国际贸易) is that of firms holding
    different identifiers in two regions or more (上海 and 厦门远洋国际贸易有限公司). Such
    a record (an inspection list writing 远洋国际贸易) cannot say which firm it is: its Splink
    links to any other record are dropped (`_drop_name_shared`)."""
    if table.empty or anchors.empty or "name_key" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    anchor = table["pc"].map(anchors)
    held = table[anchor.notna() & table["region"].notna() & table["name_key"].notna()]
    by_key = pd.DataFrame({"key": held["name_key"], "anchor": anchor[held.index],
                           "region": held["region"]}).groupby("key").nunique()
    shared = set(by_key.index[(by_key["anchor"] >= 2) & (by_key["region"] >= 2)])
    return (anchor.isna() & table["region"].isna()
            & table["name_key"].isin(shared)).to_numpy()


def _drop_name_shared(chosen: pd.DataFrame, table: pd.DataFrame,
                      anchors: pd.Series) -> pd.DataFrame:
    """Drop the links between a record of `name_shared_apart` and a record that is not one
    (such records may still join each other)."""
    flagged = pd.Series(name_shared_apart(table, anchors), index=table["rid"].to_numpy())
    if chosen.empty or not flagged.any():
        return chosen
    left = flagged.loc[chosen["rid_l"].to_numpy()].to_numpy()
    right = flagged.loc[chosen["rid_r"].to_numpy()].to_numpy()
    return chosen[left == right]


def _splink_links(kind: Kind, table: pd.DataFrame, scored: Scored, threshold: float,
                  anchors: pd.Series) -> list[Link]:
    pred = scored.predictions
    if pred.empty:
        return []
    pred = pred.reset_index(drop=True)
    scored.predictions = pred
    accept = pred["match_probability"] >= threshold
    if kind == "person":
        accept &= _person_supported(pred)
    elif "gamma_name" in pred.columns:
        # firms sharing a phone or an address but not a name are different firms
        accept &= pred["gamma_name"] >= ENTERPRISE_MIN_NAME_GAMMA
    chosen = pred[accept].sort_values(
        ["match_weight", "rid_l", "rid_r"], ascending=[False, True, True], kind="stable"
    )
    chosen = _drop_ambiguous(chosen, table, anchors)
    if kind == "enterprise":
        chosen = _drop_name_shared(chosen, table, anchors)
    rep = table.set_index("rid")["rep"]
    left = rep.loc[chosen["rid_l"].to_numpy()].to_numpy()
    right = rep.loc[chosen["rid_r"].to_numpy()].to_numpy()
    return [
        Link(int(a), int(b), "splink", float(w), float(p), "", int(ref))
        for a, b, w, p, ref in zip(
            left, right, chosen["match_weight"], chosen["match_probability"], chosen.index,
            strict=True,
        )
    ]


Scorer = Callable[[Kind, pd.DataFrame], Scored]


def _train_and_score_all(tables: dict[Kind, pd.DataFrame], opts: ResolveOptions,
                         scorer: Scorer | None, progress: Progress,
                         timings: dict[str, float]) -> dict[Kind, Scored]:
    """Train and score the models of both kinds side by side (each on its own database
    connection; the engine works outside the GIL, so one model's Python steps overlap the
    other's queries). A model runs only with Splink on and at least two pre-clusters; the
    results do not depend on the order the two finish in."""
    todo = [k for k in KINDS if opts.use_splink and tables[k]["pc"].nunique() >= 2]

    def run(kind: Kind) -> Scored:
        started = time.perf_counter()
        try:
            if scorer is not None:
                return scorer(kind, tables[kind])
            return train_and_score(kind, tables[kind], engine=opts.engine)
        finally:
            timings[f"splink_{kind}"] += time.perf_counter() - started

    for kind in todo:
        progress(f"splink {kind}: training and scoring {len(tables[kind])} records")
    if len(todo) < 2 or opts.engine != "duckdb":
        return {kind: run(kind) for kind in todo}
    with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="splink") as pool:
        futures = {kind: pool.submit(run, kind) for kind in todo}
        return {kind: futures[kind].result() for kind in todo}


def resolve(
    mentions: pd.DataFrame,
    relations: pd.DataFrame,
    judgements: Sequence[Judgement] = (),
    options: ResolveOptions | None = None,
    progress: Progress = _noop,
    *,
    fixed: Sequence[tuple[str, str, str, float | None, float, str]] = (),
    scorer: Scorer | None = None,
) -> Resolution:
    """Cluster `mentions` into entities.

    `fixed` are links kept from a previous run (mention_id_l, mention_id_r, method,
    match_weight, match_probability, features), applied right after `same` judgements.
    `scorer` replaces training + scoring (incremental linking scores new rows only)."""
    opts = options or ResolveOptions()
    mentions = mentions.reset_index(drop=True)
    n = len(mentions)
    ids = mentions["mention_id"].astype(str).tolist()
    index_of = {m: i for i, m in enumerate(ids)}
    uf = ConstrainedUnionFind(n)
    timings: dict[str, float] = {}
    stats: dict[str, Any] = {"pairs_compared": {}, "links": {}}
    accepted: list[Link] = []

    t0 = time.perf_counter()
    progress("exact identifiers")
    same = _judgement_links(uf, judgements, index_of, stats)
    _tag_identifiers(uf, mentions)
    accepted += uf.apply(same, force=True)
    kept = [
        Link(index_of[a], index_of[b], method, weight, prob, features)
        for a, b, method, weight, prob, features in fixed
        if a in index_of and b in index_of
    ]
    accepted += uf.apply(kept)
    for kind in KINDS:
        got = uf.apply(_exact_links(mentions, kind))
        if kind == "person":
            stats["links"]["exact_id_names_apart"] = names_apart_count(got)
        accepted += got
    accepted += uf.apply(_malformed_id_links(mentions))
    pc = np.asarray(uf.labels(), dtype=np.int64)
    timings["exact_ids"] = time.perf_counter() - t0

    scored: dict[Kind, Scored] = {}
    tables: dict[Kind, pd.DataFrame] = {}
    for kind in KINDS:
        t1 = time.perf_counter()
        tables[kind] = splink_table(mentions, kind, pc)
        timings[f"splink_{kind}"] = time.perf_counter() - t1
    results = _train_and_score_all(tables, opts, scorer, progress, timings)
    for kind in KINDS:
        t1 = time.perf_counter()
        table = tables[kind]
        stats.setdefault("splink_rows", {})[kind] = len(table)
        if kind in results:
            result = results[kind]
            scored[kind] = result
            stats["pairs_compared"][kind] = result.pairs_compared
            links = _splink_links(kind, table, result, opts.thresholds[kind],
                                  _anchors(mentions, kind, pc))
            got = uf.apply(links)
            stats["links"][f"splink_{kind}"] = {"offered": len(links), "accepted": len(got)}
            stats.setdefault("model_health", {})[kind] = model_health(
                kind, len(table), result, len(links), len(got))
            stats.setdefault("splink_steps_s", {})[kind] = {
                step: round(seconds, 3) for step, seconds in result.timings.items()}
            accepted += got
        else:
            stats["pairs_compared"][kind] = 0
        timings[f"splink_{kind}"] += time.perf_counter() - t1

    t2 = time.perf_counter()
    progress("enterprises named in full only")
    named = registered_name_links(mentions, uf)
    got = uf.apply(named, same_ids=True)
    stats["links"]["context_registered_name"] = {"offered": len(named), "accepted": len(got)}
    accepted += got
    short = short_name_links(mentions, uf)
    got = uf.apply(short, same_ids=True)
    stats["links"]["context_short_name"] = {"offered": len(short), "accepted": len(got)}
    accepted += got
    progress("context for persons without ID")
    masked = masked_id_links(mentions, uf)
    got = uf.apply(masked, same_ids=True)
    stats["links"]["masked_id"] = {"offered": len(masked), "accepted": len(got)}
    accepted += got
    phoned = mobile_links(mentions, uf)
    got = uf.apply(phoned, same_ids=True)
    stats["links"]["context_mobile"] = {"offered": len(phoned), "accepted": len(got)}
    accepted += got
    attached = attachments(mentions, relations, index_of)
    ctx = context_links(mentions, attached, uf, ids)
    got = uf.apply(ctx, same_ids=True)
    stats["links"]["context"] = {"offered": len(ctx), "accepted": len(got)}
    accepted += got
    anonymised = anonymised_links(mentions, attached, uf, ids)
    got = uf.apply(anonymised, same_ids=True)
    stats["links"]["context_anonymised"] = {"offered": len(anonymised), "accepted": len(got)}
    accepted += got
    if opts.declarant_scope:
        decl = declarant_links(mentions, relations, uf, ids, index_of)
        got = uf.apply(decl, same_ids=True)
        stats["links"]["context_declarant"] = {"offered": len(decl), "accepted": len(got)}
        accepted += got
    timings["context"] = time.perf_counter() - t2

    labels = np.asarray(uf.labels(), dtype=np.int64)
    stats["links"]["total_accepted"] = len(accepted)
    return Resolution(labels, accepted, scored, timings, stats)
