"""State shared by several gateway processes in PostgreSQL: rate limits, spend, the audit chain.

- Rate limits and spend are single atomic statements (``INSERT … ON CONFLICT DO UPDATE …
  RETURNING``), so concurrent processes never lose an update; spend is integer nano-USD.
- The audit chain is extended under a transaction-level advisory lock: the writer reads the
  head, seals its batch after it and inserts, and no other process can interleave. ``seq`` is
  the primary key, so even a writer that bypassed the lock could not fork the chain.
- Entries are queued and written by one background task per process, in batches, off the
  request path; :meth:`PostgresLedger.aclose` writes what is left before exit. When the audit
  chain is in PostgreSQL, each batch also adds its costs to the keys' spend in the same
  transaction, so the spend is the sum of the audited costs by construction and the request
  path keeps a single round trip (the rate-limit and budget check).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import psycopg

from modelcustoms.gateway.config import Key
from modelcustoms.gateway.errors import GatewayError
from modelcustoms.gateway.keys import Refusal
from modelcustoms.gateway.ledger import GENESIS, seal
from modelcustoms.gateway.limits import WINDOW_S, budget_refusal, rate_refusal
from modelcustoms.gateway.metering import nano_usd

_log = logging.getLogger("modelcustoms.gateway")
AUDIT_LOCK = 0x637573746F6D73  # "customs" = 27995161429503347: the audit chain's advisory lock
SCHEMA_LOCK = AUDIT_LOCK + 1
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS gateway_rate (key_id TEXT NOT NULL, win BIGINT NOT NULL,"
    " n BIGINT NOT NULL, PRIMARY KEY (key_id, win))",
    "CREATE TABLE IF NOT EXISTS gateway_spend (key_id TEXT PRIMARY KEY, nano BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS gateway_audit (seq BIGINT PRIMARY KEY, hash TEXT NOT NULL,"
    " line TEXT NOT NULL)",
)
_ADMIT = (
    "WITH r AS (INSERT INTO gateway_rate AS t (key_id, win, n) VALUES (%s, %s, 1)"
    " ON CONFLICT (key_id, win) DO UPDATE SET n = t.n + 1 RETURNING n)"
    " SELECT (SELECT n FROM r), COALESCE((SELECT nano FROM gateway_spend WHERE key_id = %s), 0)"
)
_HEAD = (
    "BEGIN; SELECT pg_advisory_xact_lock(27995161429503347);"  # AUDIT_LOCK, written out
    " SELECT seq, hash FROM gateway_audit ORDER BY seq DESC LIMIT 1"
)
_SPENT = "SELECT COALESCE((SELECT nano FROM gateway_spend WHERE key_id = %s), 0)"
_ADD = (
    "INSERT INTO gateway_spend AS s (key_id, nano) VALUES (%s, %s)"
    " ON CONFLICT (key_id) DO UPDATE SET nano = s.nano + EXCLUDED.nano"
)
_CHARGE = _ADD + " RETURNING nano"


def libpq_url(url: str) -> str:
    """Accept SQLAlchemy-style ``postgresql+psycopg://`` URLs too."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


async def _connect(url: str) -> psycopg.AsyncConnection[Any]:
    try:
        return await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True)
    except psycopg.Error as exc:
        msg = f"cannot connect to the shared PostgreSQL database: {exc}"
        raise GatewayError(msg) from exc


async def ensure_schema(url: str) -> None:
    """Create the gateway tables once (several processes may start together)."""
    conn = await _connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in SCHEMA:
                await conn.execute(statement)
    finally:
        await conn.close()


class PostgresLimits:
    """Rate-limit and spend counters shared through PostgreSQL (one round trip per request)."""

    def __init__(self, url: str, connections: int = 4, *, charged_by_ledger: bool = False) -> None:
        self.url = url
        self.size = connections
        self.charged_by_ledger = charged_by_ledger
        """True when :class:`PostgresLedger` adds costs with the audit entries (no charge here)."""
        self._free: asyncio.Queue[psycopg.AsyncConnection[Any]] | None = None
        self._all: list[psycopg.AsyncConnection[Any]] = []

    async def open(self) -> None:
        """Connect (called at start-up, inside the event loop)."""
        self._free = asyncio.Queue()
        for _ in range(self.size):
            conn = await _connect(self.url)
            self._all.append(conn)
            self._free.put_nowait(conn)

    async def _one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
        assert self._free is not None, "PostgresLimits.open() was not called"
        conn = await self._free.get()
        try:
            cur = await conn.execute(sql, params)
            row = await cur.fetchone()
        finally:
            self._free.put_nowait(conn)
        assert row is not None
        return tuple(row)

    async def admit(self, key: Key, now: float) -> Refusal | None:
        if key.rpm is None and key.budget_usd is None:
            return None
        if key.rpm is not None:
            n, spent = await self._one(_ADMIT, (key.id, int(now // WINDOW_S), key.id))
            if n > key.rpm:
                return rate_refusal(key)
        else:
            (spent,) = await self._one(_SPENT, (key.id,))
        if key.budget_usd is not None and spent >= nano_usd(key.budget_usd):
            return budget_refusal(key)
        return None

    async def charge(self, key_id: str, nano: int) -> int | None:
        if self.charged_by_ledger:
            return None
        (total,) = await self._one(_CHARGE, (key_id, nano))
        return int(total)

    async def spent(self, key_id: str) -> int:
        (total,) = await self._one(_SPENT, (key_id,))
        return int(total)

    async def aclose(self) -> None:
        for conn in self._all:
            await conn.close()
        self._all.clear()


class PostgresLedger:
    """The audit chain in ``gateway_audit``, extended by every process under one lock."""

    def __init__(self, url: str, batch: int = 256) -> None:
        self.url = url
        self.batch = batch
        self._pending: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._closing = False

    async def open(self) -> None:
        """Connect and start the writer task."""
        self._conn = await _connect(self.url)
        self._task = asyncio.create_task(self._writer())

    def append(self, fields: dict[str, Any]) -> str | None:
        self._pending.append(fields)
        self._wake.set()
        return None

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            failures = 0
            while self._pending:
                batch = self._pending[: self.batch]
                try:
                    await self._write(batch)
                except Exception:
                    failures += 1
                    _log.exception("audit write to PostgreSQL failed; retrying")
                    if self._closing and failures >= 5:
                        _log.error("%d audit entries could not be written", len(self._pending))
                        return
                    await asyncio.sleep(0.5)
                    continue
                failures = 0
                del self._pending[: len(batch)]
            if self._closing:
                return

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        """One transaction in two round trips: lock + read the head, then insert + commit."""
        conn = self._conn
        assert conn is not None
        costs: dict[str, int] = {}
        for fields in batch:
            cost, key = fields.get("cost_nano_usd"), fields.get("key")
            if isinstance(cost, int) and cost > 0 and isinstance(key, str):
                costs[key] = costs.get(key, 0) + cost
        # NOTE: statements without parameters go out together in one simple query; the lock
        # is held from here to COMMIT, so no other process can extend the chain meanwhile.
        cur = await conn.execute(_HEAD.encode())
        try:
            while cur.nextset():  # BEGIN, the lock, then the head: read the last result
                pass
            row = await cur.fetchone()
            seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
            rows = []
            for fields in batch:
                seq += 1
                line, prev = seal(fields, seq, prev)
                rows.append((seq, prev, line))
            async with conn.pipeline(), conn.cursor() as c:
                await c.executemany(
                    "INSERT INTO gateway_audit (seq, hash, line) VALUES (%s, %s, %s)", rows
                )
                if costs:
                    await c.executemany(_ADD, sorted(costs.items()))
                await c.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(psycopg.Error):
                await conn.execute("ROLLBACK")
            raise

    async def aclose(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._conn is not None:
            await self._conn.close()


def export_lines(url: str) -> Iterator[str]:
    """Every audit line in chain order (for ``verify-log --postgres`` and exports)."""
    try:
        with psycopg.connect(libpq_url(url)) as conn, conn.cursor(name="audit") as cur:
            cur.execute("SELECT line FROM gateway_audit ORDER BY seq")
            for (line,) in cur:
                yield str(line)
    except psycopg.Error as exc:
        msg = f"cannot read the audit chain from PostgreSQL: {exc}"
        raise GatewayError(msg) from exc
