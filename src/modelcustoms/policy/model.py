"""Validated policy types: what a policy file may say, checked strictly (``extra="forbid"``).

A policy is data a compliance engineer writes: rules whose conditions are CEL expressions over
the facts document (see :mod:`modelcustoms.policy.facts`), each with an effect, a message and a
citation; parameters the rules read as ``params``; waivers as data; and other profiles it
extends. These models only describe and check the shape; :mod:`modelcustoms.policy.load`
merges ``extends`` and compiles the expressions.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, model_validator

_RULE_ID = re.compile(r"^[a-z0-9]+(\.[a-z0-9-]+)+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_FACT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_URL = re.compile(r"^https?://\S+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _match(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: str) -> str:
        if not pattern.match(value):
            msg = f"not a valid {what}: {value!r}"
            raise ValueError(msg)
        return value

    return AfterValidator(check)


RuleId = Annotated[str, _match(_RULE_ID, "rule id (<area>.<what>, lowercase)")]
PolicyName = Annotated[str, _match(_NAME, "policy name (lowercase letters, digits, '-')")]
FactPath = Annotated[str, _match(_FACT_PATH, "fact path (dotted identifiers)")]
SourceId = Annotated[str, _match(_NAME, "source id (lowercase letters, digits, '-')")]
Url = Annotated[str, _match(_URL, "http(s) URL")]
Sha256 = Annotated[str, _match(_SHA256, "sha256 hex digest")]
Expression = Annotated[str, Field(min_length=1, max_length=4000)]


class Effect(StrEnum):
    """What a rule does when its condition holds."""

    DENY = "deny"
    WARN = "warn"
    INFO = "info"

    @property
    def weight(self) -> int:
        """Order for "worst effect wins": info 0, warn 1, deny 2."""
        return _WEIGHT[self]


_WEIGHT = {Effect.INFO: 0, Effect.WARN: 1, Effect.DENY: 2}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Strict):
    """A citation: the law, list or standard a rule enforces."""

    id: SourceId
    """Short id rules cite, e.g. ``usc-10-4872``."""
    title: str = Field(min_length=1)
    """Human citation, e.g. ``10 U.S.C. 4872(d) covered nations``."""
    url: Url
    as_of: date | None = None
    """When the cited text was last checked (lists change)."""
    note: str = ""


class Rule(_Strict):
    """One rule: when ``when`` is true (and ``applies`` is), the rule fires with ``effect``."""

    id: RuleId
    effect: Effect
    when: Expression
    """CEL over the facts document; must evaluate to a boolean."""
    message: str = Field(min_length=1, max_length=2000)
    """Shown when the rule fires; ``{cel}`` placeholders are filled from the document."""
    source: SourceId
    """Id of an entry in the policy's ``sources``."""
    requires: tuple[FactPath, ...] = ()
    """Fact paths (``origin.country``) that must be present; a missing one denies."""
    applies: Expression = "true"
    """CEL precondition over always-present parts (subject, engines); false skips the rule."""
    description: str = ""


class WaiverSubject(_Strict):
    """Which subjects a waiver covers: a content digest, a name pattern, or both."""

    digest: Sha256 | None = None
    """``subject.digest`` of the facts document (or the sha256 of a single-file model)."""
    name: str | None = Field(default=None, min_length=1, max_length=200)
    """A shell-style pattern (``fnmatch``) over the subject's name and reference."""

    @model_validator(mode="after")
    def _one_of(self) -> WaiverSubject:
        if self.digest is None and self.name is None:
            msg = "a waiver subject needs a digest or a name pattern"
            raise ValueError(msg)
        return self


class Waiver(_Strict):
    """An approved exception: one rule does not count for matching subjects until ``expires``."""

    rule: RuleId
    subject: WaiverSubject
    approved_by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date
    """Last day the waiver applies (inclusive). An expired waiver is reported, not applied."""


class Policy(_Strict):
    """A policy file as written (before ``extends`` is merged)."""

    name: PolicyName
    description: str = Field(min_length=1)
    as_of: date
    """Date the rules and their sources were last reviewed."""
    extends: tuple[str, ...] = ()
    """Built-in profile names or paths (relative to this file) whose rules are included."""
    sources: tuple[Source, ...] = ()
    params: dict[str, JsonValue] = Field(default_factory=dict)
    """Values the rules read as ``params.<name>`` (e.g. the country list a profile uses)."""
    rules: tuple[Rule, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    unsafe: bool = False
    """Set only by ``unsafe-…`` profiles: every use prints a warning."""

    @model_validator(mode="after")
    def _unsafe_named(self) -> Policy:
        if self.unsafe != self.name.startswith("unsafe-"):
            msg = "a pass-everything policy must be named 'unsafe-…' and set unsafe: true"
            raise ValueError(msg)
        return self
