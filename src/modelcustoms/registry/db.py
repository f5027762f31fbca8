"""Open a registry database by URL and bring its schema to the newest revision.

SQLite (a file, the default) and PostgreSQL (``postgresql+psycopg://…``) are supported. SQLite
runs in WAL mode with a busy timeout, so several writers wait for each other instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from modelcustoms.registry.errors import RegistryError

DEFAULT_FILE = "customs-registry.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "customs_write"
_MIGRATIONS = str(Path(__file__).parent / "migrations")


def default_url() -> str:
    """``CUSTOMS_REGISTRY_DB``, else a SQLite file in the current folder."""
    return os.environ.get("CUSTOMS_REGISTRY_DB") or f"sqlite:///{DEFAULT_FILE}"


def normalise_url(url: str) -> str:
    """Accept a bare file path for SQLite and ``postgresql://`` for the psycopg 3 driver."""
    if "://" not in url:
        return f"sqlite:///{Path(url)}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_engine(url: str) -> Engine:
    """An engine for ``url``; a clear :class:`RegistryError` for an unusable URL."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        msg = f"not a database URL: {url!r}"
        raise RegistryError(msg, hint="use sqlite:///FILE or postgresql://HOST/DB") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        msg = f"unsupported database {backend!r}: the registry runs on SQLite or PostgreSQL"
        raise RegistryError(msg)
    kwargs: dict[str, Any] = {}
    if backend == "postgresql":
        kwargs = {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
    else:
        # NOTE: each thread gets its own connection; SQLite serialises writers itself.
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        msg = f"no driver for {parsed.drivername}: {exc}"
        raise RegistryError(msg, hint="pip install 'modelcustoms[registry]'") from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # NOTE: pysqlite's own transaction handling defers BEGIN; switch it off and issue
    # BEGIN IMMEDIATE ourselves (below) so that a writer takes the lock up front instead of
    # failing with "database is locked" when it upgrades a read lock mid-transaction.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Writers (engines made by ``writer()``) lock at BEGIN; readers stay deferred and, in WAL
    # mode, never wait for a writer.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine, flagged so that SQLite transactions take the write lock at BEGIN."""
    return engine.execution_options(**{WRITE_OPTION: True})


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (the newest by default); idempotent."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        msg = f"cannot open the registry database {engine.url!r}: {exc.orig}"
        raise RegistryError(msg) from exc


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database (None for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        from sqlalchemy import text

        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(value) if value is not None else None
