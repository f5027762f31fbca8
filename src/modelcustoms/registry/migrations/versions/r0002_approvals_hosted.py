"""Approvals and waivers, hosted-model bindings, and each report's worst severity (backfilled).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ORDER = ("info", "low", "medium", "high", "critical")
_BATCH = 500


def upgrade() -> None:
    """New tables, a new column, and its values for the reports already stored."""
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_approvals_model_id", "approvals", ["model_id"])
    op.create_index("ix_approvals_report_id", "approvals", ["report_id"])
    op.create_table(
        "hosted_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("model_name", sa.String(500), nullable=False),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("operator", "model_name", name="uq_hosted"),
    )
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("max_severity", sa.String(10), nullable=True))
    _backfill_max_severity()


def _backfill_max_severity() -> None:
    """Read every stored document once, in batches, and write its worst finding severity."""
    bind = op.get_bind()
    reports = sa.table(
        "reports",
        sa.column("id", sa.Integer),
        sa.column("document", sa.Text),
        sa.column("max_severity", sa.String),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(reports.c.id, reports.c.document)
            .where(reports.c.id > last)
            .order_by(reports.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for row_id, document in rows:
            worst = _worst(document)
            if worst is not None:
                bind.execute(
                    reports.update().where(reports.c.id == row_id).values(max_severity=worst)
                )
            last = row_id


def _worst(document: str) -> str | None:
    try:
        doc = json.loads(document)
    except ValueError:
        return None
    ranks = [
        _ORDER.index(f.get("severity"))
        for run in doc.get("runs") or []
        for f in run.get("findings") or []
        if f.get("severity") in _ORDER
    ]
    return _ORDER[max(ranks)] if ranks else None


def downgrade() -> None:
    """Back to 0001."""
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("max_severity")
    op.drop_table("hosted_models")
    op.drop_table("approvals")
