"""Alembic environment: the URL (or an open connection) comes from the caller
(`alerts.state.db.migrate`); target metadata = alerts.state.tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from alerts.state.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
