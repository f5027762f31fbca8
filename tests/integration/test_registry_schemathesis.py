"""Schemathesis against the registry's OpenAPI spec, on a live server, on SQLite and PostgreSQL.

Every check runs except ``positive_data_acceptance``: a report document is only acceptable when
its ``report_digest`` is the sha256 of its own canonical JSON, which no JSON Schema can express,
so schema-valid documents are (rightly) refused with 422. The run is authenticated as an
approver, so every write path is fuzzed too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelcustoms.registry.auth import Role
from modelcustoms.registry.store import RegistryStore
from tests.pgserver import PostgresServer, postgres_server  # noqa: F401
from tests.unit.registry.live import LiveRegistry
from tests.unit.registry.reports import model_report, repo_report

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which(
    "schemathesis"
)
pytestmark = pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is not installed")
MAX_EXAMPLES = "8"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_openapi_spec_fuzzed_without_server_errors(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database()
    store = RegistryStore(url)
    token = store.create_token("fuzz", Role.APPROVER)
    store.record(model_report(), actor="seed")
    store.record(model_report(revision="r2"), actor="seed")
    store.record(repo_report(), actor="seed")
    assert SCHEMATHESIS is not None
    try:
        with LiveRegistry(store) as live:
            done = subprocess.run(
                [
                    SCHEMATHESIS,
                    "run",
                    f"{live.url}/openapi.json",
                    "--checks",
                    "all",
                    "--exclude-checks",
                    "positive_data_acceptance",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--max-examples",
                    MAX_EXAMPLES,
                    "--phases",
                    "examples,coverage,fuzzing",
                    "--workers",
                    "1",
                    "--request-timeout",
                    "30",
                    "--seed",
                    "1",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
                env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
            )
    finally:
        store.close()
    tail = done.stdout[-4000:] + done.stderr[-2000:]
    assert "Server error" not in done.stdout, tail
    assert done.returncode == 0, tail
    assert "passed" in done.stdout
