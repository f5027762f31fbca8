"""Fake targets, real plugins: deterministic answers for ``customs demo`` and for tests.

``echo`` repeats the last user message, ``refuse`` refuses everything (in the language asked),
``fixed:TEXT`` always says TEXT, ``lipsum`` answers with filler text of the requested length.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import assert_never

from modelcustoms.engines.audit.interface import Request, Response

_LIPSUM = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed")


class FakeKind(StrEnum):
    """The built-in fake targets."""

    ECHO = "echo"
    REFUSE = "refuse"
    FIXED = "fixed"
    LIPSUM = "lipsum"


class FakeTarget:
    """A target that answers without a model."""

    def __init__(self, kind: FakeKind, text: str = "") -> None:
        self._kind = kind
        self._text = text
        self.calls = 0
        """How many requests reached it (tests assert on this)."""

    @property
    def id(self) -> str:
        """``fake:<kind>[:<text digest>]``."""
        if self._kind is FakeKind.FIXED:
            return f"fake:fixed:{hashlib.sha256(self._text.encode()).hexdigest()[:16]}"
        return f"fake:{self._kind.value}"

    @property
    def display(self) -> str:
        """``fake:<kind>``."""
        return f"fake:{self._kind.value}"

    @property
    def family(self) -> str | None:
        """Fakes belong to no family."""
        return None

    async def complete(self, request: Request) -> Response:
        """Answer deterministically."""
        self.calls += 1
        last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        return Response(text=self._answer(last, request.max_tokens), finish_reason="stop")

    def _answer(self, last: str, max_tokens: int) -> str:
        kind = self._kind
        if kind is FakeKind.ECHO:
            return last
        if kind is FakeKind.REFUSE:
            if any("\u4e00" <= ch <= "\u9fff" for ch in last):
                return "抱歉，我无法回答这个问题。"
            return "I'm sorry, but I can't help with that."
        if kind is FakeKind.FIXED:
            return self._text
        if kind is FakeKind.LIPSUM:
            return " ".join(_LIPSUM[i % len(_LIPSUM)] for i in range(max(1, max_tokens // 2)))
        assert_never(kind)

    async def aclose(self) -> None:
        """Nothing to release."""
