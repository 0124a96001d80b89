"""Making a draw end to end, and its public notice.

`make_draw`: the run's population (filtered) → the targets (inspection.draw) → the roster
resolved against the graph's persons (inspection.roster) → the conflicts between the drawn
firms and the inspectors (inspection.conflicts, through the GraphReader) → the inspectors
assigned. Deterministic: the same run, class file, roster, parameters and seed give the same
draw, on either store.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from graph.store import GraphReader
from inspection.config import ClassConfig
from inspection.conflicts import assign, find_conflicts
from inspection.draw import DrawParams, draw_targets, rates_of
from inspection.models import Draw, ExcludedConflict, Notice, NoticeRow
from inspection.population import Population, load_population, select
from inspection.roster import RosterEntry, resolve

NOTICE_COLUMNS = ("entity_name", "uscc", "risk_class", "inspectors")


def make_draw(population: Population, store: GraphReader, roster: list[RosterEntry],
              params: DrawParams, classes: ClassConfig) -> Draw:
    rates_of(params, classes)  # unknown classes in `rates`: ValueError before any work
    pool = select(population, params.filter)
    targets, counts = draw_targets(pool, params, classes)
    inspectors = resolve(store, roster) if params.inspectors_per_target else []
    firms = {t.entity_id for t in targets}
    conflicts = find_conflicts(store, inspectors, firms)
    short = assign(targets, inspectors, conflicts, params.inspectors_per_target, params.seed)
    return Draw(
        run_id=population.run_id, params=params, classes=classes.model_dump(by_alias=True),
        population=len(pool), counts=counts, targets=targets, inspectors=inspectors,
        unresolved=[i.code for i in inspectors if i.resolution != "resolved"],
        conflicts=[ExcludedConflict(**c.model_dump()) for c in conflicts],
        understaffed=short)


def draw_from_run(run_dir: Path, store: GraphReader, roster: list[RosterEntry],
                  params: DrawParams, classes: ClassConfig) -> Draw:
    return make_draw(load_population(run_dir, classes), store, roster, params, classes)


def notice(draw: Draw) -> Notice:
    """The public notice: each target's name, USCC, class and inspectors (no score)."""
    names = {i.code: i.name for i in draw.inspectors}
    rows = [NoticeRow(entity_name=t.name, uscc=t.uscc, risk_class=t.risk_class,
                      inspectors=[f"{names.get(c, c)} ({c})" for c in t.inspectors])
            for t in sorted(draw.targets, key=lambda t: t.position)]
    return Notice(draw_id=draw.id or 0, run_id=draw.run_id, seed=draw.params.seed,
                  created_at=draw.created_at, rows=rows)


def notice_csv(n: Notice) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(NOTICE_COLUMNS)
    for r in n.rows:
        writer.writerow([r.entity_name, r.uscc or "", r.risk_class, "; ".join(r.inspectors)])
    return buf.getvalue()


def notice_json(n: Notice) -> str:
    return json.dumps(n.model_dump(mode="json"), ensure_ascii=False, indent=2)
