"""Alembic migrations of the registry schema (run by :func:`modelcustoms.registry.db.migrate`)."""
