"""Inspection draws, their targets, the inspector roster and inspection outcomes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inspectors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("id_number", sa.String(40), nullable=False),
        sa.Column("agency", sa.String(200), nullable=True),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("imported_by", sa.String(40), nullable=False),
        sa.Column("imported_at", TS, nullable=False),
    )
    op.create_table(
        "draws",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "draw_targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draw_id", sa.Integer(), sa.ForeignKey("draws.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(40), nullable=False, index=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("uscc", sa.String(40), nullable=True),
        sa.Column("risk_class", sa.String(10), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("part", sa.String(10), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.UniqueConstraint("draw_id", "entity_id"),
    )
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_request_id", sa.String(64), nullable=False, index=True),
        sa.Column("draw_id", sa.Integer(), sa.ForeignKey("draws.id"), nullable=True,
                  index=True),
        sa.Column("entity_id", sa.String(40), nullable=False, index=True),
        sa.Column("result", sa.String(4), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("level", sa.String(10), nullable=True),
        sa.Column("risk_class", sa.String(10), nullable=True),
        sa.Column("part", sa.String(10), nullable=True),
        sa.Column("recorded_by", sa.String(40), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("outcomes", "draw_targets", "draws", "inspectors"):
        op.drop_table(table)
