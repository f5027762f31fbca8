"""Lineage claims: "this model is derived from that one", with how we know and how sure we are."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from modelcustoms.core.evidence import Evidence


class Relation(StrEnum):
    """How a model relates to the base it is claimed to derive from."""

    SAME = "same"
    """The same release (identical files, or a mirror/re-upload)."""
    FINETUNE = "finetune"
    QUANTIZED = "quantized"
    MERGE = "merge"
    ADAPTER = "adapter"
    DISTILLED = "distilled"
    CONTINUED_PRETRAINING = "continued-pretraining"
    PRUNED = "pruned"
    DERIVED = "derived"
    """Derived in an unspecified way."""
    INDEPENDENT = "independent"
    """Tested and found NOT derived."""


class ConfidenceLevel(StrEnum):
    """Strength of the evidence behind a claim, strongest first."""

    IDENTICAL_HASH = "identical-hash"
    """A file hash identical to a known release."""
    WEIGHTS = "weights"
    """A weight-level statistical test."""
    SIGNATURES = "signatures"
    """Config (architecture/dimensions) and tokenizer signatures agree."""
    PARTIAL_SIGNATURES = "partial-signatures"
    """Some structural signals agree, others are missing."""
    DECLARED = "declared"
    """The model card or metadata says so; nothing else checked."""

    @property
    def rank(self) -> int:
        """0 for the strongest level."""
        return list(ConfidenceLevel).index(self)


class LineageClaim(BaseModel):
    """One link of a lineage chain: ``subject`` --relation--> ``base``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str
    """The model the claim is about (a path, repo id, or a base named by an earlier claim)."""
    base: str
    """The base model or family it derives from (a repo id or a knowledge-base family id)."""
    relation: Relation
    level: ConfidenceLevel
    method: str
    """What produced the claim, e.g. ``config-signature+tokenizer-hash``, ``card base_model``."""
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    p_value: float | None = Field(default=None, ge=0.0, le=1.0)
    publisher: str | None = None
    """Publisher of ``base`` (knowledge-base id), when known."""
    country: str | None = None
    """ISO 3166-1 alpha-2 country of the base's publisher, when known."""
    evidence: tuple[Evidence, ...] = ()
