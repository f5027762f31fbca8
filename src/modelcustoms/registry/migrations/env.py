"""Alembic environment: migrations run on the connection :func:`db.migrate` hands over.

There is no ``alembic.ini``: the registry migrates itself when it opens a database, so the
connection (and its URL) always comes from the caller, never from a config file.
"""

from __future__ import annotations

from alembic import context

from modelcustoms.registry.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # NOTE: SQLite cannot ALTER most things; batch mode copies the table when it must.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
