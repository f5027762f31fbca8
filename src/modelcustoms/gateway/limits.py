"""Per-key rate limits and budgets: the protocol, and the in-memory store of one process.

Rate limits count requests in fixed one-minute windows. Budgets compare the exact spend so
far (integer nano-USD) with the key's budget before a request, and add the request's cost
after it; requests already in flight when the budget runs out still complete and are
charged, so a budget can be overshot by at most the cost of the requests in flight.
"""

from __future__ import annotations

from typing import Protocol

from modelcustoms.gateway.config import Key
from modelcustoms.gateway.keys import Refusal
from modelcustoms.gateway.metering import nano_usd

WINDOW_S = 60


class Limits(Protocol):
    """Counters shared by every request (and, for the PostgreSQL store, every process)."""

    async def admit(self, key: Key, now: float) -> Refusal | None:
        """Count this request against the key's rate limit and check its budget."""
        ...

    async def charge(self, key_id: str, nano: int) -> int | None:
        """Add a request's cost; return the key's new total spend (nano-USD), or None when
        the cost is added later, with the request's audit entry (shared PostgreSQL mode)."""
        ...

    async def spent(self, key_id: str) -> int:
        """The key's spend so far (nano-USD)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def rate_refusal(key: Key) -> Refusal:
    """The answer once a key's requests in this minute exceed its limit."""
    return Refusal(429, "rate_limit_exceeded", f"key {key.id}: over {key.rpm} requests a minute")


def budget_refusal(key: Key) -> Refusal:
    """The answer once a key has spent its budget."""
    return Refusal(429, "insufficient_quota", f"key {key.id}: budget of {key.budget_usd} USD spent")


class MemoryLimits:
    """Counters in this process only (single-process mode: no I/O on the request path)."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}
        self._spent: dict[str, int] = {}

    async def admit(self, key: Key, now: float) -> Refusal | None:
        if key.rpm is not None:
            window = int(now // WINDOW_S)
            w, n = self._windows.get(key.id, (window, 0))
            n = n + 1 if w == window else 1
            self._windows[key.id] = (window, n)
            if n > key.rpm:
                return rate_refusal(key)
        if key.budget_usd is not None and self._spent.get(key.id, 0) >= nano_usd(key.budget_usd):
            return budget_refusal(key)
        return None

    async def charge(self, key_id: str, nano: int) -> int | None:
        total = self._spent.get(key_id, 0) + nano
        self._spent[key_id] = total
        return total

    async def spent(self, key_id: str) -> int:
        return self._spent.get(key_id, 0)

    async def aclose(self) -> None:
        return None
