"""The audit's roles (after garak, without its globals): requests, responses, targets, errors.

A :class:`Target` turns one :class:`Request` into one :class:`Response`. Everything else (probes,
scoring, statistics) is pure data around it, so a target is the only thing that touches a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Protocol

from modelcustoms.errors import CustomsError, EngineError, UsageError


class AuditError(EngineError):
    """The audit could not run as a whole (unreachable target, every request failed)."""


class TargetSpecError(UsageError):
    """A target was named in a way no target kind understands."""


class SuiteDataError(CustomsError):
    """A probe data file (bundled or imported) is malformed."""


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Request:
    """One chat completion request; its content hash is the cache key (with the target's id)."""

    messages: tuple[Message, ...]
    max_tokens: int = 128
    temperature: float = 0.0
    seed: int = 0
    json_mode: bool = False
    """Ask for a JSON object (``response_format``: the endpoint constrains the output)."""

    def key(self, target_id: str) -> str:
        """sha256 over the target identity and every field that can change the answer."""
        doc: dict[str, object] = {
            "target": target_id,
            "messages": [[m.role, m.content] for m in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        if self.json_mode:  # NOTE: only when set, so answers cached before it keep their keys
            doc["json_mode"] = True
        canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Response:
    """What a target answered (``error`` set when it never answered, after the retries)."""

    text: str
    finish_reason: str | None = None
    """``stop``, ``length`` (truncated at max_tokens) or None when unknown."""
    error: str | None = None
    latency_s: float = 0.0
    cached: bool = field(default=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the target answered (an empty answer is still an answer)."""
        return self.error is None


class Target(Protocol):
    """Something that answers chat requests (an endpoint, a local model, a fake)."""

    @property
    def id(self) -> str:
        """Stable identity for the cache key: kind, location and model name."""
        ...

    @property
    def display(self) -> str:
        """A short name for reports."""
        ...

    @property
    def family(self) -> str | None:
        """The model family when known (an LLM judge must not share it with the target)."""
        ...

    async def complete(self, request: Request) -> Response:
        """Answer one request; transport failures come back as ``Response(error=...)``."""
        ...

    async def aclose(self) -> None:
        """Release connections or the model."""
        ...
