"""Benchmark of the Neo4j loader: full load, reload of the same run, ~1%-changed sync.

    .venv/bin/python bench/bench_load.py --run RUN --wipe          # an existing run folder
    .venv/bin/python bench/bench_load.py --synthetic 100000 --wipe  # a generated run folder
    ... --bulk            # also `guanlian load --bulk` (Spark + neo4j-admin) of the run
    ... --full-only       # only the full online load (with --bulk: online vs bulk)

`--wipe` is required: the benchmark empties the target database (Community has one).
The 1%-changed run is derived from the run: 1% of entities renamed, 0.25% removed (with their
relations) and 0.25% added, under a new run_id. `--bulk` then empties the database again and
bulk-loads the run (`graph.neo4j.bulk`: Spark writes the importer's files, the managed server
`scripts/neo4j` is stopped, `neo4j-admin database import full` runs, the server restarts and
counts and checksum are verified), printing its elements/s beside the online full load's.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from neo4j import Driver

from graph.neo4j.conn import open_driver
from graph.neo4j.hash import graph_digest
from graph.neo4j.loader import LoadReport, publish_run
from runfolder.folder import write_table

ROOT = Path(__file__).resolve().parent.parent


# --- a synthetic run folder of the large set's shape ----------------------------------------


def synthesise_run(out: Path, n_firms: int, seed: int = 7) -> Path:
    """A run folder with `n_firms` enterprises, ~1.2 people per firm, officers, shareholders,
    shared addresses / phones and events (shape of the generator's large set)."""
    rnd = random.Random(seed)
    run_id = f"bench_{n_firms}"
    run = out / run_id
    run.mkdir(parents=True, exist_ok=True)
    n_people = int(n_firms * 1.2)
    n_addr, n_phone = int(n_firms * 0.7), int(n_firms * 0.8)
    firms = [f"E{i:012x}" for i in range(n_firms)]
    people = [f"P{i:012x}" for i in range(n_people)]
    entities: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    addr_of: dict[str, str] = {}
    phone_of: dict[str, str] = {}

    def mention(eid: str, kind: str, n: int, addr: str | None, phone: str | None) -> str:
        mid = f"{'registry' if kind == 'enterprise' else 'persons'}:R{n}:{kind}"
        mentions.append({"mention_id": mid, "source": mid.split(":")[0], "record_id": f"R{n}",
                         "role": kind, "kind": kind, "entity_id": eid, "name": eid,
                         "address_std": addr, "phone": phone, "run_id": run_id})
        return mid

    for i, eid in enumerate(firms):
        addr = f"某省某市某区某路{rnd.randrange(n_addr)}号"
        phone = f"8613{rnd.randrange(n_phone):09d}" if rnd.random() < 0.8 else None
        addr_of[eid], phone_of[eid] = addr, phone or ""
        mid = mention(eid, "enterprise", i, addr, phone)
        entities.append({
            "entity_id": eid, "kind": "enterprise", "name": f"某某{i}贸易有限公司",
            "names": [f"某某{i}贸易有限公司"], "name_pinyin": f"mou mou {i} mao yi",
            "uscc": f"91{i:016d}", "customs_code": f"31{i:08d}", "address": addr,
            "address_std": addr, "phone": phone, "province": "某省", "city": "某市",
            "established": date(2000, 1, 1) + timedelta(days=rnd.randrange(8000)),
            "status": "注销" if rnd.random() < 0.05 else "存续", "n_mentions": 1,
            "sources": ["registry"], "mention_ids": [mid], "run_id": run_id,
        })
    for i, pid in enumerate(people):
        mid = mention(pid, "person", n_firms + i, None, None)
        entities.append({
            "entity_id": pid, "kind": "person", "name": f"张{i}", "names": [f"张{i}"],
            "name_pinyin": f"zhang {i}", "id_number": f"110101{i:012d}", "n_mentions": 1,
            "birth_date": date(1960, 1, 1) + timedelta(days=rnd.randrange(15000)),
            "sources": ["persons"], "mention_ids": [mid], "run_id": run_id,
        })
    relations: dict[tuple[str, str, str], dict[str, Any]] = {}

    def rel(rtype: str, src: str, dst: str, **props: Any) -> None:
        if (rtype, src, dst) in relations:
            return
        n = len(relations)
        relations[(rtype, src, dst)] = {
            "relation_id": f"R{n:012x}", "type": rtype, "src": src, "dst": dst,
            "mention_ids": [f"registry:X{n}:{rtype.lower()}"], "sources": ["registry"],
            "run_id": run_id, **props,
        }

    for eid in firms:
        rel("LEGAL_REP_OF", rnd.choice(people), eid, start_date=date(2015, 1, 1))
        for _ in range(rnd.randint(1, 3)):
            owner = rnd.choice(people) if rnd.random() < 0.8 else rnd.choice(firms)
            if owner != eid:
                rel("SHAREHOLDER_OF", owner, eid, share_pct=round(rnd.uniform(1, 60), 2))
        for rtype, p in (("DIRECTOR_OF", 0.5), ("SUPERVISOR_OF", 0.3), ("MANAGER_OF", 0.3),
                         ("DECLARANT_FOR", 0.4)):
            if rnd.random() < p:
                rel(rtype, rnd.choice(people), eid, role=rtype.split("_")[0].lower())
    events = []
    kinds = ("PENALTY", "INSPECTION_FAILURE", "BLACKLISTING")
    for i, eid in enumerate(rnd.sample(firms, n_firms // 8)):
        events.append({
            "event_id": f"V{i:012x}", "type": rnd.choice(kinds), "entity_id": eid,
            "date": date(2018, 1, 1) + timedelta(days=rnd.randrange(2500)),
            "category": "伪报", "amount": 10000.0, "description": f"案件 {i}",
            "source": "penalties", "record_id": f"C{i}", "mention_id": f"penalties:C{i}:event",
            "run_id": run_id,
        })
    write_table(run, "entities", entities)
    write_table(run, "mentions", mentions)
    write_table(run, "relations", list(relations.values()))
    write_table(run, "events", events)
    write_table(run, "evidence", [])
    report = {"run_id": run_id, "version": 1, "created_at": "2026-01-01T00:00:00+00:00",
              "sources": {}, "entities": {"enterprise": n_firms, "person": n_people}}
    (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return run


def changed_run(base: Path, out: Path, fraction: float = 0.01, seed: int = 11) -> Path:
    """A rerun with `fraction` of entities renamed, fraction/4 removed and fraction/4 added."""
    rnd = random.Random(seed)
    run_id = f"{base.name}_changed"
    run = out / run_id
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(base, run)
    ents = pq.read_table(run / "entities.parquet").to_pylist()
    n = len(ents)
    picked = rnd.sample(range(n), int(n * fraction * 1.5))
    rename = set(picked[: int(n * fraction)])
    remove = set(picked[int(n * fraction):])
    removed_ids = {ents[i]["entity_id"] for i in remove}
    out_rows = []
    for i, row in enumerate(ents):
        row["run_id"] = run_id
        if i in remove:
            continue
        if i in rename:
            row["name"] = row["name"] + "（新）"
        out_rows.append(row)
    for j, i in enumerate(sorted(remove)):
        fresh = dict(ents[i], entity_id=f"{ents[i]['entity_id'][0]}f{j:011x}", run_id=run_id)
        out_rows.append(fresh)
    write_table(run, "entities", out_rows)
    rels = [r for r in pq.read_table(run / "relations.parquet").to_pylist()
            if r["src"] not in removed_ids and r["dst"] not in removed_ids]
    write_table(run, "relations", rels)
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    report["run_id"] = run_id
    (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return run


# --- measurements -----------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    report: LoadReport

    def line(self) -> str:
        r = self.report
        secs = max(r.seconds, 1e-9)
        write = r.timings.get("write", 0.0)
        return (
            f"{self.name:<16} {r.seconds:8.1f} s  mode={r.mode:<8} "
            f"nodes {r.nodes_total:>9} ({r.nodes_total / secs:>9.0f}/s)  "
            f"rels {r.rels_total:>9} ({r.rels_total / secs:>9.0f}/s)  "
            f"written {r.nodes_written}+{r.rels_written} deleted {r.nodes_deleted}+"
            f"{r.rels_deleted}  [read run {r.timings.get('read_run', 0):.1f}s, read graph "
            f"{r.timings.get('read_state', 0):.1f}s, diff {r.timings.get('diff', 0):.1f}s, "
            f"write {write:.1f}s]"
        )


def wipe(driver: Driver) -> None:
    with driver.session() as session:
        while session.run(
            "MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c"
        ).single(strict=True)["c"]:
            pass


def bench_loader(driver: Driver, run: Path, changed: Path, batch_size: int) -> list[Figure]:
    figures = []
    wipe(driver)
    figures.append(Figure("full load", publish_run(driver, run, batch_size, progress=False)))
    figures.append(Figure("reload same run", publish_run(driver, run, batch_size, progress=False)))
    figures.append(Figure("reload full-diff", publish_run(driver, run, batch_size, progress=False,
                                                       full_diff=True)))
    figures.append(Figure("1% sync", publish_run(driver, changed, batch_size, progress=False)))
    return figures


def bench_bulk(driver: Driver, run: Path) -> dict[str, Any]:
    """`guanlian load --bulk` of the run into the emptied database of the managed server
    (`graph.neo4j.bulk`): elements/s end to end and without the verification read-back
    (the online loader verifies nothing), and the seconds of every step. The walk queries are
    planned and the lookups exercised afterwards (not timed), so later stages meet a warm
    server as after `load --bulk`."""
    from graph.neo4j.bulk import ManagedServer, bulk_load, digest_source
    from graph.neo4j.conn import get_settings
    from graph.neo4j.store import RESTART_WARM_UP_S, warm_up_walks
    from linkage.resolve.spark import spark_session, stop_spark

    server = ManagedServer()
    server.check_target(get_settings().uri)
    wipe(driver)
    try:
        report = bulk_load(run, open_driver, spark_session, server=server,
                           source=digest_source())
    finally:
        stop_spark()
    fresh = open_driver()  # the server restarted: warm it up, as `load --bulk` does
    try:
        warm_up_walks(fresh, seconds=RESTART_WARM_UP_S)
    finally:
        fresh.close()
    return {
        "bulk_s": round(report.seconds, 2), "bulk_nodes": report.nodes,
        "bulk_relationships": report.relationships,
        "bulk_elements_per_s": round(report.elements_per_second()),
        "bulk_elements_per_s_unverified": round(report.unverified_elements_per_second()),
        "bulk_import_elements_per_s": round(report.import_elements_per_second()),
        "bulk_timings": report.timings, "bulk_overlapped": report.overlapped,
        "bulk_checksum": report.checksum,
    }


def bulk_lines(online: LoadReport, bulk: dict[str, Any]) -> list[str]:
    """The bulk figures beside the online full load's (elements = nodes + relationships),
    each rate named by what it covers."""
    from graph.neo4j.bulk import OVERLAPPED_IN

    online_rate = (online.nodes_total + online.rels_total) / max(online.seconds, 1e-9)
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in bulk["bulk_timings"].items())
    steps += "".join(f"; {k} {v:.1f}s inside {OVERLAPPED_IN.get(k, '?')}"
                     for k, v in bulk.get("bulk_overlapped", {}).items())
    return [
        f"elements/s (nodes + relationships; target >= 50,000), {bulk['bulk_nodes']} + "
        f"{bulk['bulk_relationships']} elements:",
        f"  online full load (Bolt, unverified)         {online_rate:>9.0f}/s"
        f"  {online.seconds:8.1f} s",
        f"  bulk, whole path, verified                  {bulk['bulk_elements_per_s']:>9}/s"
        f"  {bulk['bulk_s']:8.1f} s",
        f"  bulk, whole path without the read-back      "
        f"{bulk['bulk_elements_per_s_unverified']:>9}/s",
        f"  bulk, neo4j-admin import step alone         {bulk['bulk_import_elements_per_s']:>9}/s",
        f"  bulk steps: {steps}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="run folder to load")
    source.add_argument("--synthetic", type=int, metavar="N_FIRMS",
                        help="generate a run folder with this many firms")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data",
                        help="where generated / changed runs go (git-ignored)")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--wipe", action="store_true", help="allow emptying the database")
    parser.add_argument("--checksum", action="store_true",
                        help="also verify the synced graph equals a clean load (slow)")
    parser.add_argument("--full-only", action="store_true",
                        help="only the full online load (no reloads, no 1%%-changed run)")
    parser.add_argument("--bulk", action="store_true",
                        help="also bulk-load the run (the managed server is stopped/started)")
    args = parser.parse_args(argv)
    if not args.wipe:
        parser.error("--wipe is required: the benchmark empties the Neo4j database")
    if args.full_only and args.checksum:
        parser.error("--checksum compares the 1%-changed sync, which --full-only skips")
    args.data.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    run = args.run or synthesise_run(args.data, args.synthetic)
    changed = None if args.full_only else changed_run(run, args.data)
    print(f"runs ready in {time.perf_counter() - t:.1f}s: {run} and {changed}")
    driver = open_driver()
    try:
        if changed is None:
            wipe(driver)
            figures = [Figure("full load", publish_run(driver, run, args.batch_size,
                                                       progress=False))]
        else:
            figures = bench_loader(driver, run, changed, args.batch_size)
        for f in figures:
            print(f.line())
        if changed is not None and args.checksum:
            synced = graph_digest(driver)
            wipe(driver)
            publish_run(driver, changed, args.batch_size, progress=False)
            clean = graph_digest(driver)
            print(f"sync == clean load: {synced.checksum == clean.checksum} "
                  f"({clean.nodes} nodes, {clean.relationships} rels)")
        if args.bulk:
            print("\n".join(bulk_lines(figures[0].report, bench_bulk(driver, run))))
    finally:
        driver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
