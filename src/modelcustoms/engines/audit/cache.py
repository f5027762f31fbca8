"""Every response cached by content hash, in one SQLite file: a rerun or a resumed run is free.

Rows are inserted as each response arrives and committed in small groups (every 32 answers or
0.25 s, and on ``flush``/``close``, which the harness calls even when interrupted), so a Ctrl-C
loses nothing and even a killed process loses at most a quarter of a second of answers. Failed
requests are not cached: a resume retries them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from modelcustoms.engines.audit.interface import Response

COMMIT_EVERY = 32
COMMIT_AFTER_S = 0.25
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT,
    latency_s REAL NOT NULL
)
"""


class ResponseCache:
    """A content-addressed response store (``path=None``: in memory, for one run)."""

    def __init__(self, path: Path | None = None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path is not None else ":memory:", check_same_thread=False
        )
        self._lock = threading.Lock()
        self._pending = 0
        self._last_commit = time.monotonic()
        with self._lock:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                # NOTE: survives a crash of this process (the resume case), not of the OS;
                # a full fsync per answer would cost more than a local model call.
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()

    def get(self, key: str) -> Response | None:
        """The cached response for ``key``, marked ``cached``."""
        with self._lock:
            row = self._db.execute(
                "SELECT text, finish_reason, latency_s FROM responses WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return Response(text=row[0], finish_reason=row[1], latency_s=row[2], cached=True)

    def put(self, key: str, target: str, response: Response) -> None:
        """Store a successful response (errors are never cached)."""
        if not response.ok:
            return
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (key, target, response.text, response.finish_reason, response.latency_s),
            )
            self._pending += 1
            now = time.monotonic()
            if self._pending >= COMMIT_EVERY or now - self._last_commit >= COMMIT_AFTER_S:
                self._commit(now)

    def _commit(self, now: float) -> None:
        self._db.commit()
        self._pending = 0
        self._last_commit = now

    def flush(self) -> None:
        """Commit every answer stored so far."""
        with self._lock:
            if self._pending:
                self._commit(time.monotonic())

    def __len__(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM responses").fetchone()
        return int(n)

    def close(self) -> None:
        """Commit and close the database."""
        self.flush()
        with self._lock:
            self._db.close()
