"""Registry fixtures: every store test runs on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelcustoms.passport import KeyAlgorithm, PrivateKey, generate_key
from modelcustoms.registry.store import RegistryStore
from tests.pgserver import PostgresServer, postgres_server  # noqa: F401


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture(scope="session")
def signing_key() -> PrivateKey:
    """The passport key the test registries trust."""
    return generate_key(KeyAlgorithm.ED25519)


@pytest.fixture
def store(db_url: str, signing_key: PrivateKey) -> Iterator[RegistryStore]:
    """A migrated store that trusts ``signing_key``."""
    s = RegistryStore(db_url, trusted_keys=[signing_key.public_key()])
    try:
        yield s
    finally:
        s.close()
