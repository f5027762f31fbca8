"""The subject: what was inspected, as the user named it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class SubjectKind(StrEnum):
    """How the subject was named."""

    PATH = "path"
    HUGGINGFACE = "huggingface"
    OLLAMA = "ollama"
    ENDPOINT = "endpoint"


class Subject(BaseModel):
    """What a report is about."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SubjectKind
    ref: str
    """The name as given: a path, ``hf:org/name@rev``, ``ollama:tag`` or a URL."""
    name: str
    """A short display name."""
    revision: str | None = None
