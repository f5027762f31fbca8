"""A real, throwaway PostgreSQL server on 127.0.0.1 for tests.

The ``postgres_server`` fixture (session-scoped) runs Debian's ``initdb`` into a temporary
folder, starts ``postgres`` on a free port with a private socket directory, and stops it and
deletes the folder at the end. ``postgres_url`` yields a SQLAlchemy URL to a fresh, empty
database of that server (one per test that asks for it). Tests that need PostgreSQL are skipped
with a clear reason only when the server binaries are not installed.

Under root (CI, this machine) ``initdb`` refuses to run, so the cluster is created and run as
the ``postgres`` user (``subprocess``'s ``user=``: the server is then our direct child, and a
signal reaches it without a ``runuser`` in between). Import the fixtures into a conftest.py or
a test module::

    from tests.pgserver import postgres_server, postgres_url  # noqa: F401
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SERVER_START_TIMEOUT_S = 60.0


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL bin directory (Debian layout), or one on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for cand in reversed(candidates):
        if (cand / "initdb").exists() and (cand / "postgres").exists():
            return cand
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running throwaway cluster; superuser ``postgres`` with trust authentication."""

    bindir: Path
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    as_user: dict[str, Any]

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) to ``database``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL statement through ``psql`` (over TCP to 127.0.0.1)."""
        argv = [
            str(self.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ]
        done = subprocess.run(argv, capture_output=True, timeout=60, check=True, **self.as_user)
        return done.stdout.decode()

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown; kill if it does not stop."""
        if self.process.poll() is None:
            # SIGINT is postgres' "fast" shutdown: it ends open sessions instead of waiting.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(bindir: Path) -> PostgresServer:
    """initdb + start on a free port; raises RuntimeError with postgres' log on failure."""
    root = Path(tempfile.mkdtemp(prefix="customs-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        # NOTE: initdb and postgres refuse to run as root; hand the folder to `postgres`.
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": [], "cwd": str(root)}
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
        root.chmod(0o700)
    init = [
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    ]
    done = subprocess.run(init, capture_output=True, timeout=120, check=False, **as_user)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        msg = f"initdb failed: {done.stderr.decode(errors='replace')[-2000:]}"
        raise RuntimeError(msg)
    port = _free_port()
    log = root / "postgres.log"
    argv = [
        str(bindir / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-k",
        str(sockets),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **as_user)
    server = PostgresServer(bindir, root, port, proc, as_user)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text(errors="replace")[-2000:]
            server.stop()
            msg = f"postgres exited at start: {text}"
            raise RuntimeError(msg)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            try:
                server.psql("SELECT 1")
            except subprocess.CalledProcessError:
                time.sleep(0.1)
                continue
            return server
        time.sleep(0.1)
    server.stop()
    msg = f"postgres did not accept connections within {SERVER_START_TIMEOUT_S:.0f} s"
    raise RuntimeError(msg)


_SHARED: list[PostgresServer] = []


def shared_server(bindir: Path) -> PostgresServer:
    """One cluster per test process, however many modules import the fixture; stopped at exit."""
    if not _SHARED or _SHARED[0].process.poll() is not None:
        server = start_postgres(bindir)
        atexit.register(server.stop)
        _SHARED[:] = [server]
    return _SHARED[0]


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The throwaway PostgreSQL cluster of this test process (per xdist worker)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) are not installed")
    return shared_server(bindir)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL to a fresh, empty database on the throwaway server."""
    return postgres_server.create_database()
