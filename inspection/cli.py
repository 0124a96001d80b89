"""`guanlian draw`, `guanlian inspectors import`, `guanlian outcomes export` and
`guanlian inspection-report`: the inspection draws and their feedback from the command line
(the same functions as the API's /inspection routes; the state database of GUANLIAN_STATE_DB,
default var/api/state.sqlite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the stores load when a command runs
    from graph.store import GraphReader

inspectors_app = typer.Typer(help="The inspector roster (a CSV source with resident IDs).",
                             no_args_is_help=True)
outcomes_app = typer.Typer(help="Inspection outcomes fed back to the next run.",
                           no_args_is_help=True)
RunOpt = Annotated[Path | None, typer.Option(
    "--run", help="scored run folder (population; embedded store unless --neo4j)")]
StateOpt = Annotated[str | None, typer.Option(
    "--state-db", help="SQLAlchemy URL of the state database (default GUANLIAN_STATE_DB, "
    "else var/api/state.sqlite)")]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def _sessions(url: str | None):  # type: ignore[no-untyped-def]
    from alerts.state.db import open_state, state_url
    from inspection.store import InspectionStore

    return InspectionStore(open_state(url or state_url()))


def _store(run: Path, neo4j: bool) -> GraphReader:
    if neo4j:
        from graph.neo4j.conn import open_driver
        from graph.neo4j.store import Neo4jStore

        return Neo4jStore(open_driver())
    from graph.embedded.store import EmbeddedStore
    from risk.config import load_risk_config

    return EmbeddedStore.from_run(run, load_risk_config())


def _rates(values: list[str]) -> dict[str, float]:
    out = {}
    for v in values:
        name, sep, rate = v.partition("=")
        if not sep:
            raise ValueError(f"--rate {v!r}: write CLASS=RATE, e.g. D=0.4")
        out[name.strip()] = float(rate)
    return out


def draw_command(
    run: RunOpt = None,
    seed: Annotated[int, typer.Option(help="the published seed")] = 0,
    targets: Annotated[int | None, typer.Option(help="how many firms (default: class rates)")
                       ] = None,
    rate: Annotated[list[str] | None, typer.Option(help="CLASS=RATE replacing the class file's"
                                                   )] = None,
    uniform_share: Annotated[float, typer.Option(help="share drawn uniformly")] = 0.2,
    kind: Annotated[list[str] | None, typer.Option(help="Enterprise | Person")] = None,
    province: Annotated[list[str] | None, typer.Option()] = None,
    city: Annotated[list[str] | None, typer.Option()] = None,
    industry: Annotated[list[str] | None, typer.Option(help="industry word of the name")] = None,
    source: Annotated[list[str] | None, typer.Option(help="agency source name")] = None,
    status: Annotated[list[str] | None, typer.Option(help="registration status")] = None,
    per_target: Annotated[int, typer.Option("--inspectors-per-target")] = 2,
    roster: Annotated[Path | None, typer.Option(
        help="roster CSV (default: the state database's roster)")] = None,
    classes: Annotated[Path | None, typer.Option(help="class file (default classes.yaml)")
                       ] = None,
    neo4j: Annotated[bool, typer.Option("--neo4j", help="conflicts from the Neo4j server")
                     ] = False,
    record: Annotated[bool, typer.Option(help="store the draw in the state database")] = False,
    state_db: StateOpt = None,
    notice: Annotated[Path | None, typer.Option(help="write the public notice (.csv / .json)")
                      ] = None,
    out: Annotated[Path | None, typer.Option(help="write the whole draw as JSON")] = None,
) -> None:
    """Draw inspection targets (risk-weighted, seeded, reproducible) and their inspectors."""
    from pydantic import ValidationError

    from graph.store import StoreUnavailable
    from inspection.config import load_classes
    from inspection.draw import DrawParams
    from inspection.population import PopulationFilter, load_population
    from inspection.roster import RosterError, read_roster
    from inspection.service import make_draw, notice_csv, notice_json
    from inspection.service import notice as make_notice

    if run is None:
        raise _fail(ValueError("--run RUN is needed (the population is read from it)"))
    try:
        config = load_classes(classes)
        flt = PopulationFilter.model_validate({
            "kinds": kind or ["Enterprise"], "provinces": province or [], "cities": city or [],
            "industries": industry or [], "sources": source or [], "statuses": status or []})
        params = DrawParams(filter=flt, targets=targets, rates=_rates(rate or []),
                            uniform_share=uniform_share, seed=seed,
                            inspectors_per_target=per_target)
        state = _sessions(state_db) if record or roster is None else None
        entries = read_roster(roster) if roster is not None else (
            state.roster() if state is not None else [])
        store = _store(run, neo4j)
        try:
            draw = make_draw(load_population(run, config), store, entries, params, config)
        finally:
            store.close()
        if record and state is not None:
            draw = state.save_draw(draw, f"cli-{seed}", "cli")
    except (ValidationError, ValueError, RosterError, FileNotFoundError,
            StoreUnavailable) as exc:
        raise _fail(exc) from exc
    if out is not None:
        out.write_text(draw.model_dump_json(indent=2), encoding="utf-8")
    if notice is not None:
        n = make_notice(draw)
        notice.write_text(notice_csv(n) if notice.suffix == ".csv" else notice_json(n),
                          encoding="utf-8")
    by_part = {p: sum(t.part == p for t in draw.targets) for p in ("weighted", "uniform")}
    typer.echo(json.dumps({"draw_id": draw.id, "run_id": draw.run_id, "seed": seed,
                           "population": draw.population, "targets": len(draw.targets),
                           **by_part, "conflicts_excluded": len(draw.conflicts),
                           "unresolved_inspectors": draw.unresolved,
                           "understaffed": len(draw.understaffed),
                           "counts": [c.model_dump() for c in draw.counts]},
                          ensure_ascii=False))


@inspectors_app.command("import")
def import_command(roster: Path, state_db: StateOpt = None) -> None:
    """Replace the roster with ROSTER (CSV: 执法人员编号, 姓名, 身份证号码[, 所属单位, 地区])."""
    from inspection.roster import RosterError, read_roster

    try:
        counts = _sessions(state_db).import_roster(read_roster(roster), "cli")
    except (RosterError, ValueError) as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(counts))


@outcomes_app.command("export")
def export_command(
    run: Annotated[Path, typer.Option("--run", help="the run the outcomes were recorded on")],
    out: Annotated[Path, typer.Option("--out", help="folder for sources.yaml and data/")],
    sources: Annotated[Path | None, typer.Option(
        help="the sources.yaml of the next run (copied with the outcome source added)")] = None,
    state_db: StateOpt = None,
) -> None:
    """Write the recorded outcomes as an agency source: failures become INSPECTION_FAILURE
    events of the next `guanlian link --sources OUT/sources.yaml`."""
    from inspection.feedback import export_outcomes

    try:
        counts = export_outcomes(_sessions(state_db).outcomes(), run, out, sources)
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps({**counts, "sources": str(out / "sources.yaml")}))


def report_command(
    thresholds: Annotated[Path | None, typer.Option(
        help="recommendation thresholds (default recommend.yaml)")] = None,
    state_db: StateOpt = None,
) -> None:
    """Hit rates of the recorded outcomes (JSON): by recommendation, class, score band,
    draw part and month."""
    from inspection.config import load_thresholds
    from inspection.report import build_report

    try:
        report = build_report(_sessions(state_db).outcomes(), load_thresholds(thresholds))
    except ValueError as exc:
        raise _fail(exc) from exc
    typer.echo(report.model_dump_json(indent=2))


def register(app: typer.Typer) -> None:
    """Add the inspection commands to the app (api/cli.py assembles the commands)."""
    app.command("draw")(draw_command)
    app.command("inspection-report")(report_command)
    app.add_typer(inspectors_app, name="inspectors")
    app.add_typer(outcomes_app, name="outcomes")
