"""The built-in suites: each builds probes from its data file, scores answers, analyses pairs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from modelcustoms.engines.audit.importers import ImportedItem
from modelcustoms.engines.audit.interface import Message, Request
from modelcustoms.engines.audit.measures import Measure
from modelcustoms.engines.audit.probes import Outcome, Probe


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What to generate."""

    languages: tuple[str, ...] = ("en", "zh")
    max_items: int | None = None
    """Items (topics, templates, attacks) per suite after stratified sampling; None: all."""
    max_variants: int | None = None
    """Business variants per template (the baseline included); None: all."""
    max_tokens: int = 128
    seed: int = 0
    json_mode: bool = True
    """Business tasks ask the endpoint for a JSON object (``response_format``), as an
    application delegating a structured task would; off for endpoints that reject it."""
    per_suite: tuple[tuple[str, int], ...] = ()
    imports: tuple[ImportedItem, ...] = ()
    """Items of the imported suite (read from the user's dataset files)."""
    """``max_items`` overrides by suite name."""

    def for_suite(self, name: str) -> BuildOptions:
        """The options with this suite's ``max_items`` override applied."""
        for suite, k in self.per_suite:
            if suite == name:
                return replace(self, max_items=k)
        return self


@dataclass(frozen=True, slots=True)
class Scored:
    """A probe with both models' outcomes."""

    probe: Probe
    subject: Outcome
    reference: Outcome


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """The measures of one suite; ``pass_measure`` names the one the policy row reads."""

    measures: tuple[Measure, ...]
    pass_measure: str
    headline: str


def user(
    text: str, opts: BuildOptions, system: str | None = None, *, json_mode: bool = False
) -> Request:
    """A single-turn request."""
    msgs = (Message("system", system),) if system else ()
    return Request(
        (*msgs, Message("user", text)),
        max_tokens=opts.max_tokens,
        seed=opts.seed,
        json_mode=json_mode,
    )


def by_arm(rows: Sequence[Scored], *arms: str) -> list[Scored]:
    """The rows of the given arms."""
    return [r for r in rows if r.probe.arm in arms]
