"""The Spark engine (pyspark, local mode: every stage from the extracted mentions on as Spark
DataFrame work, `linkage.spark`) gives the same entities as DuckDB on the small set.

pyspark is imported at module level on purpose: without it (it is in the `dev` extra) this
file errors instead of being skipped. Both engines train on the same samples with the same
Jaro-Winkler and apply the same rules, so the models, the partitions and the entity IDs are
the same (docs/scale.md "Same entities").
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pyspark  # noqa: F401 - fail, do not skip, when the extra is missing
import pytest

import linkage.extract
from linkage.extract import extract
from linkage.resolve.blocking import EXACT_KEYS
from linkage.resolve.spark import spark_db_api
from linkage.run import RunResult, link, link_extraction

pytestmark = [pytest.mark.slow, pytest.mark.spark]
SMALL = Path(__file__).parents[1] / "fixtures" / "small" / "sources.yaml"


def differing_mentions(a: pd.Series, b: pd.Series) -> pd.Series:
    """Mentions (index) whose cluster under labelling `a` is not exactly the same set of
    mentions as under labelling `b` (both indexed by mention ID)."""
    frame = pd.DataFrame({"a": a, "b": b.reindex(a.index)})
    size_a = frame.groupby("a")["a"].transform("size")
    size_b = frame.groupby("b")["b"].transform("size")
    both = frame.groupby(["a", "b"])["a"].transform("size")
    same = (both == size_a) & (both == size_b)
    return frame.index[~same.to_numpy()].to_series()


def test_differing_mentions_counts_every_mention_of_a_changed_cluster() -> None:
    ids = ["m1", "m2", "m3", "m4", "m5"]
    a = pd.Series(["x", "x", "y", "y", "z"], index=ids)
    assert differing_mentions(a, a.map({"x": "p", "y": "q", "z": "r"})).empty  # renamed only
    b = pd.Series(["x", "x", "y", "z", "z"], index=ids)  # m4 moved from y to z
    assert set(differing_mentions(a, b)) == {"m3", "m4", "m5"}


def test_spark_session_is_local_offline_and_has_splink_udfs() -> None:
    spark = spark_db_api(2).spark  # the API registers the UDFs of Splink's jar
    conf = spark.sparkContext.getConf()
    assert spark.sparkContext.master.startswith("local[")
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    row = spark.sql("SELECT jaro_winkler('华信贸易', '华信贸易公司') AS jw").collect()
    assert 0.5 < row[0]["jw"] < 1.0


def _no_pandas_extraction(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("link --engine spark ran the pandas extraction in the driver")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    extraction = extract(SMALL)
    out: dict[str, Any] = {"extraction": extraction}
    for engine in ("duckdb", "spark"):
        folder = tmp_path_factory.mktemp(engine) / "run"
        if engine == "duckdb":
            result: RunResult = link_extraction(extraction, folder, engine="duckdb", quiet=True)
        else:
            with pytest.MonkeyPatch.context() as patch:  # extraction too runs on Spark
                patch.setattr(linkage.extract, "extract", _no_pandas_extraction)
                result = link(SMALL, folder, engine="spark", quiet=True)
        out[engine] = result
        out[f"{engine}_folder"] = folder
        out[f"{engine}_mentions"] = pd.read_parquet(folder / "mentions.parquet")
    return out


def _labels(mentions: pd.DataFrame) -> pd.Series:
    return mentions.set_index("mention_id")["entity_id"]


def test_spark_run_reports_its_engine_and_trains_both_models(runs: dict[str, Any]) -> None:
    report = runs["spark"].report
    assert report["engine"] == "spark"
    assert set(report["models"]) >= {"enterprise", "person"}
    assert report["pairs_compared"] == runs["duckdb"].report["pairs_compared"]


def test_spark_entities_are_duckdbs(runs: dict[str, Any]) -> None:
    duck, spark = _labels(runs["duckdb_mentions"]), _labels(runs["spark_mentions"])
    assert set(duck.index) == set(spark.index)
    differ = differing_mentions(duck, spark)
    assert differ.empty, f"{len(differ)} of {len(duck)} mentions in different clusters"
    assert (duck == spark.reindex(duck.index)).all()  # the same entity IDs too


def _parameters(folder: Path, kind: str) -> dict[tuple[str, str, str], float]:
    """Every trained m and u of the model, by (comparison, level, m or u)."""
    model = json.loads((folder / "models" / f"{kind}.json").read_text())
    return {(c["output_column_name"], lv["label_for_charts"], p): float(lv[p])
            for c in model["comparisons"] for lv in c["comparison_levels"]
            for p in ("m_probability", "u_probability") if p in lv}


def test_both_engines_train_the_same_models(runs: dict[str, Any]) -> None:
    """The same samples (`linkage.resolve.sampling`) and the same Jaro-Winkler
    (`linkage.resolve.spark.use_duckdb_jaro_winkler`): every m and u equal."""
    estimated = 0
    for kind in ("enterprise", "person"):
        duck = _parameters(runs["duckdb_folder"], kind)
        spark = _parameters(runs["spark_folder"], kind)
        assert duck.keys() == spark.keys()
        for key, value in duck.items():
            assert spark[key] == pytest.approx(value, rel=1e-9, abs=1e-15), (kind, key)
        estimated += sum(1 for v in duck.values() if 0.0 < v < 1.0)
    assert estimated >= 20


def _jaro_winkler_pairs(count: int, seed: int) -> list[tuple[str | None, str | None]]:
    """Random pairs where Jaro-Winkler's arithmetic varies most: few letters (many matches
    and transpositions), Chinese, code points outside the BMP; half of them edits of each
    other; and the edge cases (empty, one code point, null)."""
    rng = random.Random(seed)
    alphabets = ["abcdefghij", "abc", "张王李赵刘陈杨黄周吴", "ab\U0001F600\U00020000", "aeiou ng"]
    pairs: list[tuple[str | None, str | None]] = []
    for _ in range(count):
        letters = rng.choice(alphabets)
        left = "".join(rng.choice(letters) for _ in range(rng.randint(0, 14)))
        if rng.random() < 0.5:
            chars = list(left)
            for _ in range(rng.randint(0, 4)):
                spot = rng.randint(0, len(chars))
                if rng.random() < 0.5 and chars:
                    del chars[min(spot, len(chars) - 1)]
                else:
                    chars.insert(spot, rng.choice(letters))
            right = "".join(chars)
        else:
            right = "".join(rng.choice(letters) for _ in range(rng.randint(0, 14)))
        pairs.append((left, right))
    return pairs + [("anchengmaoyiyouxiangongsi", "anhonggongyinglianguanliyouxiangongsi"),
                    ("上海市崇明区城桥路20号5幢1355室", "上海市崇明区陈海公路131号"),
                    ("martha", "marhta"), ("", ""), ("", "abc"), ("a", "a"), ("a", "b"),
                    ("abc", None), (None, None)]


def test_the_session_jaro_winkler_is_duckdbs_to_the_last_bit() -> None:
    """The Java UDF (`linkage/resolve/java/JaroWinkler.java`) is registered as the session's
    `jaro_winkler` and equals DuckDB's `jaro_winkler_similarity` exactly on 50,000 pairs
    (rapidfuzz, the Arrow fallback, differs in the last bit on about a fifth of them)."""
    import duckdb

    from linkage.resolve.spark import use_duckdb_jaro_winkler

    spark = spark_db_api(2).spark
    assert use_duckdb_jaro_winkler(spark) == "java"
    pairs = pd.DataFrame(_jaro_winkler_pairs(50_000, 17), columns=["x", "y"]).astype(object)
    pairs["i"] = range(len(pairs))
    spark.createDataFrame(pairs).createOrReplaceTempView("jw_pairs")
    got = spark.sql("SELECT i, jaro_winkler(x, y) AS jw FROM jw_pairs").toPandas()
    got = got.set_index("i")["jw"].sort_index()
    want = duckdb.connect().execute(
        "SELECT jaro_winkler_similarity(x, y) AS jw FROM pairs ORDER BY i").df()["jw"]
    assert got.isna().to_numpy().tolist() == want.isna().to_numpy().tolist()
    assert int(got.isna().sum()) == 2
    same = got.to_numpy(dtype=float, na_value=0.0) == want.to_numpy(dtype=float, na_value=0.0)
    assert same.all(), pairs.loc[~same, ["x", "y"]].head(5).to_dict("records")


def test_the_arrow_fallback_is_duckdbs_but_for_the_last_bit() -> None:
    import duckdb

    from linkage.resolve.spark import _jaro_winkler

    pairs = pd.DataFrame(_jaro_winkler_pairs(2_000, 18), columns=["x", "y"]).astype(object)
    got = _jaro_winkler(pairs["x"], pairs["y"])
    want = duckdb.connect().execute(
        "SELECT jaro_winkler_similarity(x, y) AS jw FROM pairs").df()["jw"]
    assert got.isna().tolist() == want.isna().tolist()
    assert (got.fillna(0.0) - want.fillna(0.0)).abs().max() < 1e-12


def test_exact_identifier_preclusters_are_identical(runs: dict[str, Any]) -> None:
    duck, spark = _labels(runs["duckdb_mentions"]), _labels(runs["spark_mentions"])
    mentions = runs["duckdb_mentions"]
    in_precluster: set[str] = set()
    for kind, keys in EXACT_KEYS.items():
        of_kind = mentions[mentions["kind"] == kind]
        for column, valid in keys:
            if column not in of_kind.columns:  # a key for resolution only (org_code)
                continue
            ok = of_kind[column].notna()
            if valid:
                ok &= of_kind[valid].fillna(False).astype(bool)
            groups = of_kind[ok].groupby(column)["mention_id"].agg(list)
            for members in groups[groups.map(len) >= 2]:
                assert duck.loc[members].nunique() == 1
                assert spark.loc[members].nunique() == 1
                in_precluster.update(members)
    assert len(in_precluster) > 1000  # the fixture has plenty of identifier matches
    members = sorted(in_precluster)
    assert differing_mentions(duck.loc[members], spark.loc[members]).empty


def test_spark_run_folder_has_the_same_tables_and_counts(runs: dict[str, Any]) -> None:
    """Every table of the contract, readable and valid; the same events, and relations up to
    those whose ends sit in a differently clustered entity."""
    from runfolder.folder import validate_run

    duck, spark = runs["duckdb_folder"], runs["spark_folder"]
    validate_run(spark)
    a, b = runs["duckdb"].report, runs["spark"].report
    assert b["events"] == a["events"] and b["quarantined_rows"] == a["quarantined_rows"]
    assert b["mentions"] == a["mentions"] and b["reconciled"]
    # extraction by Spark: the same per-source counts and unreadable-value notes
    assert b["sources"] == a["sources"]
    assert b["malformed_values"] == a["malformed_values"]
    for table in ("mentions", "relations", "events", "quarantine", "malformed"):
        path = f"extraction/{table}.parquet"
        assert len(pd.read_parquet(spark / path)) == len(pd.read_parquet(duck / path)), table
    differ = differing_mentions(_labels(runs["duckdb_mentions"]),
                                _labels(runs["spark_mentions"]))
    relations = pd.read_parquet(duck / "relations.parquet")
    moved = set(differ)
    touched = relations["mention_ids"].map(lambda ids: bool(moved & set(ids)))
    assert abs(b["relations"] - a["relations"]) <= int(touched.sum())
    for table in ("entities", "evidence", "changelog"):
        assert len(pd.read_parquet(spark / f"{table}.parquet")) > 0
    entities = pd.read_parquet(spark / "entities.parquet")
    assert entities["entity_id"].is_monotonic_increasing and entities["entity_id"].is_unique
    assert int(entities["n_mentions"].sum()) == len(runs["spark_mentions"])
    assert sum(b["entities"].values()) == len(entities)


def test_tables_written_side_by_side_each_in_full_and_a_failure_stops_the_rest(
        tmp_path: Path) -> None:
    """`_write_all` writes every table whole with its row count; a table that fails is
    raised, and tables not yet started are not written (the run folder is not published)."""
    from linkage.spark.link import WRITERS, WriteJob, _write_all

    spark = spark_db_api(2).spark

    def job(name: str, n: int) -> WriteJob:
        return name, lambda: spark.range(n).toDF("v"), None, {"file": f"{name}.parquet"}

    ok = tmp_path / "ok"
    ok.mkdir()
    sizes = {f"t{i}": 10 * (i + 1) for i in range(WRITERS + 2)}
    assert _write_all(ok, [job(name, n) for name, n in sizes.items()]) == sizes
    for name, n in sizes.items():
        assert sorted(pd.read_parquet(ok / f"{name}.parquet")["v"]) == list(range(n))

    def broken() -> Any:
        raise RuntimeError("table t0 could not be built")

    bad = tmp_path / "bad"
    bad.mkdir()
    jobs: list[WriteJob] = [("t0", broken, None, {"file": "t0.parquet"})]
    jobs += [job(name, n) for name, n in sizes.items() if name != "t0"]
    jobs += [job(f"late{i}", 5) for i in range(4 * WRITERS)]
    with pytest.raises(RuntimeError, match="t0 could not be built"):
        _write_all(bad, jobs)
    assert not (bad / "t0.parquet").exists()
    late = list(bad.glob("late*.parquet"))
    assert len(late) < 4 * WRITERS  # the queued tables were cancelled, not all written


def _spark_kept(pairs: pd.DataFrame, table: pd.DataFrame, mentions: pd.DataFrame
                ) -> set[tuple[int, int]]:
    """The enterprise Splink pairs `accepted_splink_links` keeps on Spark (threshold 0.8)."""
    from linkage.spark.resolve import accepted_splink_links
    from linkage.spark.splink import SparkScored

    spark = spark_db_api(2).spark
    scored = SparkScored("enterprise", {}, spark.createDataFrame(pairs), 0)
    got = accepted_splink_links("enterprise", scored, spark.createDataFrame(table),
                                spark.createDataFrame(mentions), 0.8).toPandas()
    return set(zip(got["rid_l"].astype(int), got["rid_r"].astype(int), strict=True))


def test_the_ambiguity_rule_drops_only_the_links_to_identifier_holders() -> None:
    """Record 3 has no USCC and links about equally well to two firms holding different
    USCCs (1, 2): it joins neither, on both engines, but its link to record 4 (no USCC
    either) stays, as `pipeline._drop_ambiguous` keeps it. Spark used to drop it too: three
    links on medium."""
    from linkage.resolve.pipeline import _drop_ambiguous

    pairs = pd.DataFrame({"rid_l": [1, 2, 3, 1], "rid_r": [3, 3, 4, 5],
                          "match_weight": [6.0, 5.0, 4.0, 7.0],
                          "match_probability": [0.98, 0.97, 0.94, 0.99],
                          "gamma_name": [3, 3, 3, 3]})
    table = pd.DataFrame({"rid": [1, 2, 3, 4, 5], "pc": [10, 20, 30, 40, 50]})
    mentions = pd.DataFrame({
        "kind": "enterprise", "pc": [10, 20, 30, 40, 50],
        "uscc": ["91310000AAAAAAAA1X", "91310000BBBBBBBB2X", None, None, None],
        "uscc_valid": [True, True, False, False, False]})
    anchors = mentions.dropna(subset=["uscc"]).set_index("pc")["uscc"]
    kept = _drop_ambiguous(pairs, table, anchors)
    expected = {(3, 4), (1, 5)}
    assert set(zip(kept["rid_l"], kept["rid_r"], strict=True)) == expected

    assert _spark_kept(pairs, table, mentions) == expected


def test_a_trade_name_of_firms_in_two_regions_decides_no_record_naming_no_region() -> None:
    """Two firms holding USCCs write one trade name in two cities (上海 / 厦门远洋国际贸易有限
    公司): a record naming no region and holding no code (远洋国际贸易, an inspection list's
    short name) links to neither, nor to a record that names a region (which would lead to
    one), but joins another record like itself; a short name one firm alone carries still
    links. The same on both engines."""
    from linkage.resolve.pipeline import _drop_ambiguous, _drop_name_shared, name_shared_apart

    key, other = "远洋国际贸易", "新海食品"
    table = pd.DataFrame({
        "rid": [1, 2, 3, 4, 5, 6, 7], "pc": [10, 20, 30, 40, 50, 60, 70],
        "name_key": [key, key, key, key, key, other, other],
        "region": ["上海市", "厦门市", None, None, "上海市", None, "宁波市"]})
    pairs = pd.DataFrame({"rid_l": [1, 3, 4, 1, 6], "rid_r": [3, 4, 5, 5, 7],
                          "match_weight": [6.0, 5.0, 4.0, 7.0, 6.5],
                          "match_probability": [0.9, 0.88, 0.85, 0.99, 0.9],
                          "gamma_name": [3, 3, 3, 3, 3]})
    mentions = pd.DataFrame({
        "kind": "enterprise", "pc": [10, 20, 30, 40, 50, 60, 70],
        "uscc": ["91310000AAAAAAAA1X", "91350200BBBBBBBB2X", None, None, None, None,
                 "91330200CCCCCCCC3X"],
        "uscc_valid": [True, True, False, False, False, False, True]})
    anchors = mentions.dropna(subset=["uscc"]).set_index("pc")["uscc"]
    assert name_shared_apart(table, anchors).tolist() == [False, False, True, True, False,
                                                          False, False]
    kept = _drop_name_shared(_drop_ambiguous(pairs, table, anchors), table, anchors)
    expected = {(3, 4), (1, 5), (6, 7)}
    assert set(zip(kept["rid_l"], kept["rid_r"], strict=True)) == expected

    assert _spark_kept(pairs, table, mentions) == expected


def test_masked_ids_join_the_same_people_on_spark() -> None:
    """The Spark graph offers every pair the masked-ID rule could join (a masked mention and
    each holder agreeing with its visible characters under its name as written or as read;
    masked mentions of one value and name), and a bucket clusters them as the DuckDB path:
    the one fitting holder joins, two fitting holders leave the mention apart."""
    from tests.linkage.test_resolve_masked import FULL, OTHER, _links, _mentions

    mentions = _mentions([
        ("reg:1", "张伟", FULL, None),                      # 0
        ("reg:2", "李娜", OTHER, None),                     # 1
        ("reg:3", "李娜", FULL.replace("1953", "1971"), None),  # 2 (check digit wrong)
        ("bl:1", "ZHANG WEI", None, "310101********3938"),  # 3 -> 0, as read
        ("bl:2", "李娜", None, "310101********3938"),        # 4 two holders: apart
        ("bl:3", "王芳", None, "310101********3938"),        # 5
        ("bl:4", "王芳", None, "310101********3938"),        # 6 -> 5
        ("bl:5", "李娜", None, "3101011968****3938"),        # 7 -> 1
    ])
    graph, links = _masked_on_spark(mentions)
    assert graph == {(0, 3), (1, 4), (2, 4), (5, 6), (1, 7)}
    duckdb_links, _ = _links(mentions)
    assert set(links) == {(lk.left, lk.right) for lk in duckdb_links} == {(0, 3), (5, 6), (1, 7)}
    assert set(links.values()) == {"masked_id"}


def _masked_on_spark(mentions: pd.DataFrame
                     ) -> tuple[set[tuple[int, int]], dict[tuple[int, int], str]]:
    """The masked-ID graph's pairs of `mentions` (positions), and the links (with their
    method) a bucket of them gives on Spark, without other edges."""
    from pyspark.sql import functions as F

    from linkage.spark.resolve import LOCAL_COLUMNS, _masked_graph, cluster_bucket

    mentions = mentions.drop(columns="context_mentions", errors="ignore")
    mentions["i"] = range(100, 100 + len(mentions))
    frame = spark_db_api(2).spark.createDataFrame(mentions.astype(object).where(
        mentions.notna(), None))
    edges = _masked_graph(frame, F.col("name_pinyin")).toPandas()
    graph = {(min(a, b) - 100, max(a, b) - 100) for a, b in zip(
        edges["src"].astype(int), edges["dst"].astype(int), strict=True)}
    nodes = mentions.assign(**{c: None for c in LOCAL_COLUMNS if c not in mentions.columns})
    no_edges = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("type", object), ("a", "int64"), ("b", "int64"), ("match_weight", float),
        ("match_probability", float), ("who", object), ("at", object))})
    out = cluster_bucket(nodes, no_edges, "person")
    rows = out[out["row"] == "link"]
    links = {(int(a) - 100, int(b) - 100): str(m) for a, b, m in zip(
        rows["a"], rows["b"], rows["method"], strict=True)}
    return graph, links


def test_anonymised_masked_mentions_join_the_same_people_on_spark() -> None:
    """An anonymised name behind a masked ID (王某某, 3101011953****3938): the Spark graph
    offers the holders of its visible characters under its surname and the anonymised
    mentions of one value and surname; a bucket joins as the DuckDB path does."""
    from linkage.resolve.masked import masked_id_links
    from tests.linkage.test_resolve_anonymised import FULL, _frame, _tagged

    mentions = _frame([
        ("reg:1", "person", "王建国", FULL, None),                 # 0
        ("reg:2", "person", "李娜", "310101196802143938", None),   # 1 same 6+4 part
        ("bl:1", "person", "王某某", None, "310101********3938"),  # 2 -> 0 (surname)
        ("bl:2", "person", "赵某", None, "440305********1234"),    # 3
        ("bl:3", "person", "赵**", None, "440305********1234"),    # 4 -> 3
        ("bl:4", "person", "钱某", None, "440305********1234"),    # 5 apart
    ])
    graph, links = _masked_on_spark(mentions)
    assert graph == {(0, 2), (3, 4)}
    duckdb_links = masked_id_links(mentions, _tagged(mentions))
    assert set(links) == {(lk.left, lk.right) for lk in duckdb_links} == {(0, 2), (3, 4)}


@pytest.mark.slow
@pytest.mark.profiles
def test_spark_entities_are_duckdbs_under_every_noise_at_once(tmp_path: Path) -> None:
    """Profile `hard` (malformed and masked IDs, names in pinyin, homophones, notes, values
    pasted with invisible characters, customs English, a messy registry), tiny: Spark gives
    DuckDB's entity IDs and the same links by method. About a minute and a half; with
    `pytest -m profiles`."""
    from linkage.synth import generate

    data = generate("tiny", 3, tmp_path / "data", profile="hard")
    for engine in ("duckdb", "spark"):
        link(data / "sources.yaml", tmp_path / engine, engine=engine, quiet=True)  # type: ignore[arg-type]
    duck, spark = (_labels(pd.read_parquet(tmp_path / e / "mentions.parquet"))
                   for e in ("duckdb", "spark"))
    assert (duck == spark.reindex(duck.index)).all()
    methods = [pd.read_parquet(tmp_path / e / "evidence.parquet")["method"].value_counts()
               .to_dict() for e in ("duckdb", "spark")]
    assert methods[0] == methods[1] and methods[0].get("masked_id", 0) > 0
