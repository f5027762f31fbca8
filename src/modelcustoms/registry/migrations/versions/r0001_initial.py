"""Initial registry schema (release 0.1): tokens, models, reports, passports, repositories, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(500), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.Column("latest_report_id", sa.Integer, nullable=True),
        sa.Column("latest_created_at", _TS, nullable=True),
        sa.Column("family", sa.String(200), nullable=True),
        sa.Column("publisher", sa.String(200), nullable=True),
        sa.Column("country", sa.String(8), nullable=True),
        sa.Column("decision", sa.String(10), nullable=False),
    )
    for col in ("family", "publisher", "country", "decision"):
        op.create_index(f"ix_models_{col}", "models", [col])
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("report_digest", sa.String(64), nullable=False),
        sa.Column("revision", sa.String(200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("policy", sa.String(200), nullable=True),
        sa.Column("findings_count", sa.Integer, nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("model_id", "report_digest", name="uq_report_model"),
    )
    op.create_index("ix_reports_model_id", "reports", ["model_id"])
    op.create_index("ix_reports_report_digest", "reports", ["report_digest"])
    op.create_index("ix_reports_model_created", "reports", ["model_id", "created_at"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_artifacts_report_id", "artifacts", ["report_id"])
    op.create_index("ix_artifacts_sha256", "artifacts", ["sha256"])
    op.create_table(
        "passports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
    )
    op.create_index("ix_passports_report_id", "passports", ["report_id"])
    op.create_table(
        "repositories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(500), nullable=False, unique=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("first_seen", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.Column("latest_report_id", sa.Integer, nullable=True),
        sa.Column("latest_created_at", _TS, nullable=True),
        sa.Column("references_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "repository_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("repository_id", sa.Integer, sa.ForeignKey("repositories.id"), nullable=False),
        sa.Column("report_digest", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.UniqueConstraint("repository_id", "report_digest", name="uq_repo_report"),
    )
    op.create_index("ix_repository_reports_repository_id", "repository_reports", ["repository_id"])
    op.create_table(
        "repository_refs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("repository_reports.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("model", sa.String(500), nullable=True),
        sa.Column("endpoint", sa.String(1000), nullable=True),
        sa.Column("publisher", sa.String(200), nullable=True),
        sa.Column("publisher_country", sa.String(8), nullable=True),
        sa.Column("host_operator", sa.String(200), nullable=True),
        sa.Column("host_country", sa.String(8), nullable=True),
        sa.Column("file", sa.String(1000), nullable=False),
        sa.Column("line", sa.Integer, nullable=True),
    )
    op.create_index("ix_repository_refs_report_id", "repository_refs", ["report_id"])
    op.create_index("ix_repository_refs_model", "repository_refs", ["model"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("model_id", sa.Integer, nullable=True),
        sa.Column("report_id", sa.Integer, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_model_id", "events", ["model_id"])


def downgrade() -> None:
    """Drop everything."""
    for table in (
        "events",
        "repository_refs",
        "repository_reports",
        "repositories",
        "passports",
        "artifacts",
        "reports",
        "models",
        "tokens",
    ):
        op.drop_table(table)
