"""Migrations: a database of the previous release (0001) with data upgrades to the newest schema.

The 0001 database is written with plain SQL as release 0.1 wrote it (no ``max_severity``, no
approvals), then opened by the current store, which migrates it; the old rows must be intact,
the new column backfilled from the stored documents, and the new features usable at once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from modelcustoms.core import Decision
from modelcustoms.registry.db import current_revision, migrate, open_engine
from modelcustoms.registry.record import canonical
from modelcustoms.registry.store import RegistryStore
from modelcustoms.registry.tables import Base
from tests.unit.registry.reports import model_report


def _seed_release_01(url: str) -> list[str]:
    """Create a 0001 database holding two models, three reports and an event."""
    engine = open_engine(url)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    now = datetime(2026, 11, 2, tzinfo=UTC)
    docs = [
        ("hf:a/one", model_report("a/one", revision="r1")),
        ("hf:a/one", model_report("a/one", revision="r2", findings=("pickle.x",))),
        ("hf:b/two", model_report("b/two", family="llama3", decision=Decision.DENY)),
    ]
    with engine.begin() as conn:
        for mid, key in ((1, "hf:a/one"), (2, "hf:b/two")):
            conn.execute(
                text(
                    "INSERT INTO models (id, key, kind, name, first_seen, last_seen, decision) "
                    "VALUES (:id, :key, 'huggingface', :key, :now, :now, 'allow')"
                ),
                {"id": mid, "key": key, "now": now},
            )
        for rid, (key, doc) in enumerate(docs, start=1):
            conn.execute(
                text(
                    "INSERT INTO reports (id, model_id, report_digest, revision, created_at, "
                    "recorded_at, recorded_by, decision, policy, findings_count, document) "
                    "VALUES (:id, :mid, :digest, :rev, :now, :now, 'old-ci', :dec, 'p', :n, :doc)"
                ),
                {
                    "id": rid,
                    "mid": 1 if key == "hf:a/one" else 2,
                    "digest": doc.report_digest,
                    "rev": doc.subject.revision,
                    "now": now,
                    "dec": doc.verdict.decision.value if doc.verdict else "none",
                    "n": len(doc.findings),
                    "doc": canonical(doc),
                },
            )
        conn.execute(text("UPDATE models SET latest_report_id = 2 WHERE id = 1"))
        conn.execute(text("UPDATE models SET latest_report_id = 3 WHERE id = 2"))
        conn.execute(
            text(
                "INSERT INTO events (at, actor, action, reason, detail) "
                "VALUES (:now, 'old-ci', 'record', '', '{}')"
            ),
            {"now": now},
        )
    engine.dispose()
    return [d.report_digest for _, d in docs]


def test_upgrade_from_release_01_keeps_and_backfills(db_url: str) -> None:
    digests = _seed_release_01(db_url)
    with RegistryStore(db_url) as store:
        assert current_revision(store.engine) == "0002"
        page = store.list_models()
        assert {m.key for m in page.items} == {"hf:a/one", "hf:b/two"}
        one = store.model(store.model_id("hf:a/one"))
        assert [r.report_digest for r in one.reports] == [digests[1], digests[0]]
        assert {r.revision: r.max_severity for r in one.reports} == {"r2": "high", "r1": None}
        assert store.report(2).document["subject"]["revision"] == "r2"
        # Features of the second release work on the migrated data.
        store.approve(store.model_id("hf:a/one"), actor="alice", reason="ok", report_id=1)
        assert [e.action for e in store.events()][:2] == ["approve", "record"]
    with RegistryStore(db_url) as again:  # opening a migrated database is a no-op
        assert current_revision(again.engine) == "0002"
        assert again.list_models().total == 2


def test_migrated_schema_matches_the_tables(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diffs == []


def test_downgrade_to_release_01_and_up_again(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tokens (name, role, token_hash, created_at) "
                "VALUES ('t', 'viewer', :h, :now)"
            ),
            {"h": "0" * 64, "now": datetime.now(UTC)},
        )
    from alembic import command
    from alembic.config import Config

    from modelcustoms.registry import db

    cfg = Config()
    cfg.set_main_option("script_location", db._MIGRATIONS)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert current_revision(engine) == "0001"
    migrate(engine)
    assert current_revision(engine) == "0002"
    with engine.connect() as conn:
        assert json.loads(json.dumps(conn.execute(text("SELECT name FROM tokens")).scalar()))
    engine.dispose()
