"""Cost per request from the upstream's token usage and the price table, in integer nano-USD.

Integers keep the sums exact: a budget shared by several processes is the exact sum of the
costs in the audit log, with no floating-point drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from modelcustoms.gateway.config import Price

NANO = Decimal(1_000_000_000)


@dataclass(frozen=True, slots=True)
class Rate:
    """Nano-USD per token, input and output (rounded once, at configuration load)."""

    input: int
    output: int

    @classmethod
    def of(cls, price: Price) -> Rate:
        per = NANO / Decimal(1_000_000)
        return cls(int(price.input_per_mtok * per), int(price.output_per_mtok * per))

    def cost(self, usage: Usage) -> int:
        """The cost of ``usage`` in nano-USD."""
        return usage.prompt * self.input + usage.completion * self.output


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens as the upstream reported them (``estimated`` when it reported none)."""

    prompt: int = 0
    completion: int = 0
    estimated: bool = False

    @classmethod
    def of(cls, usage: Any) -> Usage | None:
        """Read an OpenAI ``usage`` object; None when absent or malformed."""
        if not isinstance(usage, dict):
            return None
        p, c = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        if not isinstance(p, int) or not isinstance(c, int) or p < 0 or c < 0:
            return None
        return cls(p, c)


def usd(nano: int) -> float:
    """For display and metrics only."""
    return nano / 1e9


def nano_usd(amount: Decimal) -> int:
    """A budget in USD as integer nano-USD."""
    return int(amount * NANO)
