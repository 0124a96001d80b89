"""The state database: its URL, the engine, and the migrations that make its schema.

`GUANLIAN_STATE_DB` (a SQLAlchemy URL) names it; by default a SQLite file `state.sqlite` under
`GUANLIAN_STATE_DIR` (default var/api). PostgreSQL URLs (`postgresql+psycopg://...`) work
through the same code. `migrate(url)` brings a database to the newest revision (Alembic).
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def state_url(state_dir: Path | None = None) -> str:
    """The configured state database URL."""
    url = os.environ.get("GUANLIAN_STATE_DB", "").strip()
    if url:
        return url
    folder = state_dir or Path(os.environ.get("GUANLIAN_STATE_DIR", "var/api"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'state.sqlite').resolve()}"


def _sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (creating its tables the first time)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def open_state(url: str) -> sessionmaker[Session]:
    """Migrate the database and return a session factory for it."""
    migrate(url)
    return sessionmaker(make_engine(url), expire_on_commit=False)
