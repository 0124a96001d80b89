"""Bench stage: 双随机 draws. On the scored run, the firms active at the generator's cutoff
(the population `evaluate-risk` measures on) are drawn twice at the same size, 5% of them: a
risk-weighted draw (class rates of inspection/classes.yaml, no uniform part) and a uniform
draw (uniform_share = 1). The violation label is the generator's planted future violators
(truth/risk.json: events after the cutoff, never in the sources). Printed side by side with
their ratio; the same seed must reproduce the same draw and another seed give another. Then
the mean of both rates over SEEDS seeds (one uniform draw is noisy), and the inspectors: a
roster of ROSTER persons of the run (seeded sample of those with an ID
number) drawn for the weighted targets on the embedded store, counting the conflicts
excluded, and checking that no assignment is a conflict.

    .venv/bin/python -m bench.draws --run RUN --truth DATA/truth [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

from inspection.config import load_classes
from inspection.draw import DrawnTarget, DrawParams, draw_targets
from inspection.population import Population, PopulationFilter, load_population, select
from runfolder.folder import read_table

SHARE = 0.05
ROSTER = 40
SEEDS = 20  # the mean over this many seeds: one uniform draw of a few hundred firms is noisy


def _truth(run: Path, truth: Path) -> tuple[set[str], set[str]]:
    """(run IDs of the firms active at the cutoff, run IDs of the future violators)."""
    from risk.evaluate import _truth_map

    risk = json.loads((truth / "risk.json").read_text(encoding="utf-8"))
    mentions = read_table(run, "mentions", ("mention_id", "entity_id"))
    to_run = _truth_map(run, truth, mentions)
    active = {to_run[e] for e in risk["active_at_cutoff"] if e in to_run}
    future = {to_run[e] for e in risk["future_violators"] if e in to_run}
    return active, future


def _rate(targets: list[DrawnTarget], violators: set[str]) -> float:
    return sum(t.entity_id in violators for t in targets) / len(targets) if targets else 0.0


def _roster(run: Path, seed: int) -> list[Any]:
    from inspection.roster import RosterEntry

    people = read_table(run, "entities", ("entity_id", "kind", "name", "id_number"))
    people = people[(people["kind"] == "person") & people["id_number"].notna()]
    rows = people.sort_values("entity_id").to_dict("records")
    picked = random.Random(seed).sample(rows, min(ROSTER, len(rows)))
    return [RosterEntry(code=f"B{i:03d}", name=str(r["name"])[:100], id_number=r["id_number"])
            for i, r in enumerate(picked)]


def bench_draws(run: Path, truth: Path, seed: int = 7, inspectors: bool = True
                ) -> dict[str, Any]:
    classes = load_classes()
    started = time.perf_counter()
    population = load_population(run, classes)
    active, violators = _truth(run, truth)
    frame = population.frame[population.frame["entity_id"].isin(active)]
    pool = select(Population(population.run_id, frame), PopulationFilter())
    size = max(1, round(len(pool) * SHARE))
    weighted, counts = draw_targets(pool, DrawParams(seed=seed, targets=size,
                                                     uniform_share=0.0), classes)
    draw_s = time.perf_counter() - started
    uniform, _ = draw_targets(pool, DrawParams(seed=seed, targets=size, uniform_share=1.0),
                              classes)
    again, _ = draw_targets(pool.sample(frac=1.0, random_state=seed),
                            DrawParams(seed=seed, targets=size, uniform_share=0.0), classes)
    other, _ = draw_targets(pool, DrawParams(seed=seed + 1, targets=size, uniform_share=0.0),
                            classes)
    w_rate, u_rate = _rate(weighted, violators), _rate(uniform, violators)
    out: dict[str, Any] = {
        "population": len(pool), "targets": size, "base_rate":
            round(sum(e in violators for e in pool["entity_id"]) / len(pool), 4),
        "weighted_violation_rate": round(w_rate, 4),
        "uniform_violation_rate": round(u_rate, 4),
        "weighted_over_uniform": round(w_rate / u_rate, 2) if u_rate else None,
        "same_seed_same_draw": [t.entity_id for t in again] == [t.entity_id for t in weighted],
        "other_seed_overlap": round(len({t.entity_id for t in other}
                                        & {t.entity_id for t in weighted}) / size, 3),
        "class_counts": {c.risk_class: {"population": c.population, "drawn": c.weighted,
                                        "violators": sum(t.entity_id in violators
                                                         for t in weighted
                                                         if t.risk_class == c.risk_class)}
                         for c in counts},
        "draw_wall_s": round(draw_s, 2),
    }
    out.update(_over_seeds(pool, size, violators, seed, classes))
    if inspectors:
        out.update(_inspectors(run, weighted, seed))
    return out


def _over_seeds(pool: Any, size: int, violators: set[str], seed: int, classes: Any
                ) -> dict[str, Any]:
    """Mean violation rates of SEEDS weighted and uniform draws (seeds seed .. seed+SEEDS-1)."""
    w = u = 0.0
    for s in range(seed, seed + SEEDS):
        w += _rate(draw_targets(pool, DrawParams(seed=s, targets=size, uniform_share=0.0),
                                classes)[0], violators)
        u += _rate(draw_targets(pool, DrawParams(seed=s, targets=size, uniform_share=1.0),
                                classes)[0], violators)
    w, u = w / SEEDS, u / SEEDS
    return {"seeds": SEEDS, "mean_weighted_violation_rate": round(w, 4),
            "mean_uniform_violation_rate": round(u, 4),
            "mean_weighted_over_uniform": round(w / u, 2) if u else None}


def _inspectors(run: Path, targets: list[DrawnTarget], seed: int) -> dict[str, Any]:
    from graph.embedded.store import EmbeddedStore
    from inspection.conflicts import assign, find_conflicts
    from inspection.roster import resolve
    from risk.config import load_risk_config

    store = EmbeddedStore.from_run(run, load_risk_config())
    roster = _roster(run, seed)
    started = time.perf_counter()
    resolved = resolve(store, roster)
    conflicts = find_conflicts(store, resolved, {t.entity_id for t in targets})
    short = assign(targets, resolved, conflicts, 2, seed)
    took = time.perf_counter() - started
    blocked = {(c.entity_id, c.inspector) for c in conflicts}
    violations = sum((t.entity_id, code) in blocked for t in targets for code in t.inspectors)
    store.close()
    return {"roster": len(roster),
            "roster_resolved": sum(r.resolution == "resolved" for r in resolved),
            "conflicts_excluded": len(conflicts), "conflicted_assignments": violations,
            "understaffed": len(short), "inspectors_wall_s": round(took, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(bench_draws(args.run, args.truth, args.seed), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
