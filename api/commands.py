"""CLI commands contributed by `api/` (registered in api/cli.py): serve, keys, audit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.auth import ROLES
from api.validation import shown

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Inspect the audit log.", no_args_is_help=True)

StateDir = Annotated[
    Path | None,
    typer.Option("--state-dir", help="API state folder (default: GUANLIAN_STATE_DIR or var/api)"),
]


def _settings(**overrides: Any) -> Any:
    from api.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def serve(
    run: Annotated[Path | None, typer.Option("--run", help="serve this run folder (embedded)")]
    = None,
    neo4j: Annotated[str | None, typer.Option("--neo4j", help="serve Neo4j at this bolt URI")]
    = None,
    run_dir: Annotated[Path | None, typer.Option(
        "--run-dir", help="with --neo4j: the run folder holding the linkage model")] = None,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    state_dir: StateDir = None,
    log_level: Annotated[str, typer.Option(help="log level")] = "INFO",
) -> None:
    """Serve the HTTP API with uvicorn (embedded store on --run, or Neo4j with --neo4j)."""
    import uvicorn

    from api.app import create_app
    from api.logs import configure_logging

    if run and neo4j:
        typer.echo("error: give --run (embedded) or --neo4j, not both", err=True)
        raise typer.Exit(2)
    if run is not None and not run.is_dir():
        typer.echo(f"error: run folder {run} does not exist", err=True)
        raise typer.Exit(2)
    settings = _settings(
        run_dir=run or run_dir, neo4j_uri=neo4j, state_dir=state_dir,
        store="neo4j" if neo4j else ("embedded" if run else None),
    )
    configure_logging(log_level.upper())
    try:
        app = create_app(settings)
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if settings.switch_interval_s is not None:
        sys.setswitchinterval(settings.switch_interval_s)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False,
                timeout_graceful_shutdown=10)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help=f"one of {', '.join(ROLES)}")],
    name: Annotated[str, typer.Option("--name", help="who or what holds the key")],
    state_dir: StateDir = None,
) -> None:
    """Create a key and print it (once: only its hash is kept)."""
    from api.auth import KeyStore

    if role not in ROLES:
        typer.echo(f"error: unknown role {role!r}; one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    store = KeyStore(_settings(state_dir=state_dir).keys_path)
    try:
        record, key = store.create(name, role)  # type: ignore[arg-type]
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    typer.echo(f"key_id {record.key_id} role {record.role} name {shown(record.name)}",
               err=True)
    typer.echo(key)


@keys_app.command("list")
def keys_list(state_dir: StateDir = None) -> None:
    """List keys (IDs, names, roles, revocation), never the secrets."""
    from api.auth import KeyStore

    store = KeyStore(_settings(state_dir=state_dir).keys_path)
    try:
        for k in store.list():
            state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
            # a stored name is escaped: it can never forge a line or colour the terminal
            typer.echo(f"{k.key_id}\t{k.role}\t{shown(k.name)}\t{k.created_at}\t{state}")
    finally:
        store.close()


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key ID")],
                state_dir: StateDir = None) -> None:
    """Revoke a key; a running service refuses it from its next request."""
    from api.auth import KeyStore

    store = KeyStore(_settings(state_dir=state_dir).keys_path)
    try:
        if not store.revoke(key_id):
            typer.echo(f"error: no active key {key_id}", err=True)
            raise typer.Exit(1)
    finally:
        store.close()
    typer.echo(f"revoked {key_id}")


@audit_app.command("verify")
def audit_verify(state_dir: StateDir = None) -> None:
    """Verify the audit chain, its signed checkpoints and counter; exit 1 when anything is
    missing or altered (a missing log is a failure)."""
    from api.audit_verify import verify

    config = _settings(state_dir=state_dir).audit_config
    result = verify(config)
    if result.ok:
        typer.echo(f"ok: {result.entries} entries, chain intact, {result.checkpoints} "
                   f"checkpoints, {result.attested} entries attested ({config.log_path})")
        return
    where = (f" at entry {result.first_bad_seq} (line {result.first_bad_line})"
             if result.first_bad_seq is not None else "")
    typer.echo(f"BROKEN{where}: {result.reason} ({result.entries} entries verified before "
               f"it; {config.log_path})", err=True)
    raise typer.Exit(1)


@audit_app.command("rotate-key")
def audit_rotate_key(state_dir: StateDir = None) -> None:
    """Append a new audit key to the key file (0600); the service MACs with it from its
    next start, which begins a new segment. Older keys stay for verification."""
    from api.audit_keys import AuditKeyError, add_key

    settings = _settings(state_dir=state_dir)
    if settings.audit_key is not None:
        typer.echo("error: GUANLIAN_AUDIT_KEY is set; rotate by appending a new key to it "
                   "(comma-separated, the last one active)", err=True)
        raise typer.Exit(2)
    config = settings.audit_config
    try:
        key = add_key(config.key_file)
    except (AuditKeyError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"new audit key {key.kid} in {config.key_file}; restart the service to use it")


def register(app: typer.Typer) -> None:
    """Add this package's subcommands to the `guanlian` app."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
