"""Evidence: where in which bytes a claim was observed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Location(BaseModel):
    """A place inside one artifact, named by the artifact's digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    artifact: str
    """Artifact path (as in ``Artifact.path``)."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """Digest of the artifact the pointer refers into."""
    pointer: str | None = None
    """Format-specific pointer: ``opcode 12``, ``tensor x``, ``/chat_template``, ``member x``."""
    offset: int | None = Field(default=None, ge=0)
    """Byte offset inside the artifact, when meaningful."""
    line: int | None = Field(default=None, ge=1)
    """1-based line number, for text artifacts."""


class Evidence(BaseModel):
    """What was seen, and where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    location: Location
    excerpt: str | None = Field(default=None, max_length=2000)
    """A short, printable extract of what was seen (never the whole payload)."""
