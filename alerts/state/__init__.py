"""Durable early-warning state: alerts, watchlists, cases and webhook deliveries in one SQL
database (SQLite by default, PostgreSQL through the same code), schema by Alembic migrations."""
