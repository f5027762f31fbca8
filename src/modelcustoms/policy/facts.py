"""The facts document: the stable, validated projection of a report that rules read.

Rules never see a :class:`~modelcustoms.core.Report` directly. They see this document, built
and validated here first, so that a rule is written against one documented shape
(``docs/policy.md``) whatever engine versions produced the report:

- ``subject`` (with ``digest``: sha256 over the top-level artifacts, for waivers),
  ``artifacts``, ``report_digest``;
- ``findings`` with ``rank`` (0 info … 4 critical);
- ``facts``: every fact as a nested map by its dotted key (the first fact of a key wins),
  ``fact_values``: every value of every key (flat), ``invalid_facts``: key → why it was dropped;
- ``references``: every model reference the discover engine found (``discover.reference``),
  validated, with every field present (null when unknown);
- ``lineage``, ``skips``, and ``engines``: name → status, with every known engine present
  (``not-run`` when it did not run), so ``engines.audit.status`` is always defined.

Facts whose keys the policy layer knows (origin, licence, audit, endpoint) are checked against
their expected shape; a malformed one is removed and listed in ``invalid_facts``, so a rule that
needs it fails closed instead of reading garbage. Licence rows are completed from the knowledge
base (user thresholds, naming duties, governing law) when the report names them only by id.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
)

from modelcustoms.core import Report

if TYPE_CHECKING:
    from modelcustoms.kb import KnowledgeBase

KNOWN_ENGINES = ("scan", "provenance", "fingerprint", "audit", "discover")
"""Engines the document always lists (``not-run`` when absent from the report)."""

_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _country(value: str) -> str:
    if not _COUNTRY.match(value):
        msg = f"not an ISO 3166-1 alpha-2 country code: {value!r}"
        raise ValueError(msg)
    return value


Country = Annotated[str, AfterValidator(_country)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Open(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class SubjectView(_Strict):
    """What was inspected."""

    kind: str
    ref: str
    name: str
    revision: str | None
    digest: str
    """sha256 over the sorted (path, sha256) pairs of the top-level artifacts."""


class ArtifactView(_Strict):
    """One inspected byte sequence."""

    path: str
    size: int
    sha256: str
    format: str
    parent: str | None


class FindingView(_Strict):
    """A finding, with its severity as a number for comparisons."""

    rule_id: str
    severity: str
    rank: int = Field(ge=0, le=4)
    engine: str
    message: str
    confidence: float
    artifacts: tuple[str, ...]


class LineageView(_Strict):
    """One lineage link."""

    subject: str
    base: str
    relation: str
    level: str
    method: str
    score: float | None
    publisher: str | None
    country: str | None


class SkipView(_Strict):
    """Something an engine did not analyse."""

    engine: str
    artifact: str
    reason: str
    detail: str


class EngineView(_Strict):
    """How one engine ran."""

    status: str
    version: str | None
    analysed: int
    findings: int
    skips: int


class FactsDocument(_Strict):
    """The document rules evaluate (``params`` is added by the evaluator)."""

    report_digest: str
    subject: SubjectView
    artifacts: tuple[ArtifactView, ...]
    findings: tuple[FindingView, ...]
    facts: dict[str, JsonValue]
    fact_values: dict[str, list[JsonValue]]
    invalid_facts: dict[str, str]
    lineage: tuple[LineageView, ...]
    skips: tuple[SkipView, ...]
    engines: dict[str, EngineView]
    references: tuple[dict[str, JsonValue], ...] = ()
    """Every valid ``discover.reference`` (every field present, null when unknown)."""

    def to_cel(self) -> dict[str, Any]:
        """The plain JSON-shaped mapping handed to CEL."""
        out: dict[str, Any] = self.model_dump(mode="json")
        return out


# Shapes of the facts the built-in profiles rely on. Extra keys in rows are allowed (engines
# may add detail); the fields a rule compares must have the right type.
class _Watchlisting(_Open):
    list: str
    status: str
    date: str | None = None
    verified: bool = False


class _LicenseRow(_Open):
    id: str
    name: str
    commercial_use: str


class _SuiteDelta(_Open):
    suite: str
    pass_rate: float = Field(ge=0.0, le=1.0)
    ci_low: float = Field(ge=0.0, le=1.0)
    ci_high: float = Field(ge=0.0, le=1.0)
    delta: float = Field(ge=-1.0, le=1.0)
    """Subject pass rate minus the reference's (negative: worse than the reference)."""
    delta_ci_low: float = Field(ge=-1.0, le=1.0)
    delta_ci_high: float = Field(ge=-1.0, le=1.0)


class _Reference(_Open):
    """A ``discover.reference`` row: the fields a rule compares, typed (more may follow)."""

    kind: str
    model: str | None = None
    endpoint: str | None = None
    file: str
    line: int | None = None
    cell: int | None = None
    publisher: str | None = None
    publisher_country: Country | None = None
    host_operator: str | None = None
    host_country: Country | None = None
    lineage: tuple[str, ...] = ()
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    via: str | None = None
    unresolved: str | None = None


REFERENCE_KEY = "discover.reference"
"""Fact key of the discover engine's model references (exposed to rules as ``references``)."""

KNOWN_FACTS: dict[str, TypeAdapter[Any]] = {
    REFERENCE_KEY: TypeAdapter(_Reference),
    "origin.country": TypeAdapter(Country),
    "origin.ultimate_parent_country": TypeAdapter(Country),
    "origin.incorporation_country": TypeAdapter(Country),
    "origin.chain_countries": TypeAdapter(list[Country]),
    "origin.foreign_adversary_nexus": TypeAdapter(bool),
    "origin.listed": TypeAdapter(bool),
    "origin.watchlists": TypeAdapter(list[_Watchlisting]),
    "license.declared": TypeAdapter(str),
    "license.family_candidates": TypeAdapter(list[_LicenseRow]),
    "audit.suites": TypeAdapter(list[_SuiteDelta]),
    "endpoint.host": TypeAdapter(str),
    "endpoint.operator": TypeAdapter(str),
    "endpoint.operator_country": TypeAdapter(Country),
    "endpoint.operator_parent_country": TypeAdapter(Country),
}
"""Fact key → expected shape; a fact that does not match is dropped into ``invalid_facts``."""

DERIVED_FACTS = ("license.effective", "license.resolved")
"""Facts the policy layer derives (from ``license.declared`` + ``license.family_candidates``)."""

_LICENSE_FIELDS = (
    "hf_license_id",
    "commercial_use",
    "commercial_detail",
    "user_threshold",
    "revenue_threshold",
    "attribution",
    "naming_requirement",
    "use_restrictions",
    "territorial_restriction",
    "governing_law",
    "forum",
    "remote_restriction_clause",
)


def build_facts(
    report: Report, kb: KnowledgeBase | None = None, *, digest: str | None = None
) -> FactsDocument:
    """Project ``report`` into the validated facts document (``digest``: a known report digest).

    Raises :class:`pydantic.ValidationError` only if the projection itself is inconsistent
    (the evaluator turns that into a deny).
    """
    invalid: dict[str, str] = {}
    values: dict[str, list[Any]] = {}
    first: dict[str, Any] = {}
    for fact in report.facts:
        value = _checked(fact.key, fact.value, invalid)
        if fact.key in invalid:
            continue
        values.setdefault(fact.key, []).append(value)
        first.setdefault(fact.key, value)
    for key in DERIVED_FACTS:
        if key in first:
            first.pop(key)
            values.pop(key, None)
            invalid[key] = "reserved: derived by the policy layer, the report's value is ignored"
    _derive_license(first, kb, invalid)
    nested = _nest(first, invalid)
    engines = {
        name: EngineView(status="not-run", version=None, analysed=0, findings=0, skips=0)
        for name in KNOWN_ENGINES
    }
    for run in report.runs:
        engines[run.engine] = EngineView(
            status=run.status.value,
            version=run.version,
            analysed=run.analysed,
            findings=len(run.findings),
            skips=len(run.skips),
        )
    return FactsDocument(
        report_digest=digest or report.digest(),
        subject=SubjectView(
            kind=report.subject.kind.value,
            ref=report.subject.ref,
            name=report.subject.name,
            revision=report.subject.revision,
            digest=subject_digest(report),
        ),
        artifacts=tuple(
            ArtifactView(
                path=a.path, size=a.size, sha256=a.sha256, format=a.format.value, parent=a.parent
            )
            for a in report.artifacts
        ),
        findings=tuple(
            FindingView(
                rule_id=f.rule_id,
                severity=f.severity.value,
                rank=f.severity.rank,
                engine=f.engine,
                message=f.message,
                confidence=f.confidence,
                artifacts=tuple(dict.fromkeys(e.location.artifact for e in f.evidence)),
            )
            for f in report.findings
        ),
        facts=nested,
        fact_values=values,
        invalid_facts=invalid,
        lineage=tuple(
            LineageView(
                subject=c.subject,
                base=c.base,
                relation=c.relation.value,
                level=c.level.value,
                method=c.method,
                score=c.score,
                publisher=c.publisher,
                country=c.country,
            )
            for run in report.runs
            for c in run.lineage
        ),
        skips=tuple(
            SkipView(engine=run.engine, artifact=s.artifact, reason=s.reason, detail=s.detail)
            for run in report.runs
            for s in run.skips
        ),
        engines=engines,
        references=tuple(values.get(REFERENCE_KEY, ())),
    )


def subject_digest(report: Report) -> str:
    """A content digest of the subject: its top-level files by path and sha256."""
    pairs = sorted((a.path, a.sha256) for a in report.artifacts if a.parent is None)
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode()).hexdigest()


def lookup(facts: dict[str, Any], path: str) -> tuple[bool, Any]:
    """``(present, value)`` of a dotted path in the nested facts; ``null`` counts as absent."""
    cur: Any = facts
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return cur is not None, cur


def _checked(key: str, value: Any, invalid: dict[str, str]) -> Any:
    adapter = KNOWN_FACTS.get(key)
    if adapter is None:
        return value
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"])
        invalid[key] = f"malformed ({where + ': ' if where else ''}{first['msg']})"
        return None


def _nest(flat: dict[str, Any], invalid: dict[str, str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    leaves: set[str] = set()
    for key in sorted(flat, key=lambda k: (k.count("."), k)):
        parts = key.split(".")
        cur = root
        conflict = None
        for n, part in enumerate(parts[:-1]):
            prefix = ".".join(parts[: n + 1])
            if prefix in leaves:
                conflict = prefix
                break
            cur = cur.setdefault(part, {})
        if conflict is not None:
            invalid[key] = f"conflicts with the value of fact {conflict!r}"
            continue
        cur[parts[-1]] = flat[key]
        leaves.add(key)
    return root


def _tokens(license_id: str) -> set[str]:
    return set(re.findall(r"[a-z0-9][a-z0-9.\-]*", license_id.lower())) - {"license_name"}


def _derive_license(
    facts: dict[str, Any], kb: KnowledgeBase | None, invalid: dict[str, str]
) -> None:
    """``license.effective`` (rows to judge) and ``license.resolved`` from declared + candidates."""
    declared = facts.get("license.declared")
    candidates = [_complete(dict(row), kb) for row in facts.get("license.family_candidates") or []]
    if declared is None and not candidates:
        return
    effective: list[dict[str, Any]] = candidates
    resolved = len(candidates) == 1
    if isinstance(declared, str):
        want = declared.strip().lower()
        matches = [
            c
            for c in candidates
            if want == c.get("id") or want in _tokens(str(c.get("hf_license_id") or ""))
        ]
        if not matches:
            matches = _kb_rows_for(want, kb)
        if matches:
            effective, resolved = matches, len({_terms(m) for m in matches}) == 1
        else:
            effective = [_complete({"id": want, "name": declared, "commercial_use": "unknown"}, kb)]
            resolved = False
    facts["license.effective"] = effective
    facts["license.resolved"] = resolved
    for key in DERIVED_FACTS:
        invalid.pop(key, None)


def _terms(row: dict[str, Any]) -> str:
    return json.dumps([row.get(k) for k in _LICENSE_FIELDS[1:]], sort_keys=True)


def _complete(row: dict[str, Any], kb: KnowledgeBase | None) -> dict[str, Any]:
    lic = _kb(kb).license(str(row.get("id", "")))
    if lic is not None:
        for name in _LICENSE_FIELDS:
            row.setdefault(name, getattr(lic, name))
    for name in _LICENSE_FIELDS:
        row.setdefault(name, None)
    return row


def _kb_rows_for(license_id: str, kb: KnowledgeBase | None) -> list[dict[str, Any]]:
    if license_id == "other":
        return []
    rows = [lic for lic in _kb(kb).licenses if license_id in _tokens(lic.hf_license_id or "")]
    return [
        _complete({"id": lic.id, "name": lic.name, "commercial_use": lic.commercial_use}, kb)
        for lic in rows
    ]


def _kb(kb: KnowledgeBase | None) -> KnowledgeBase:
    if kb is not None:
        return kb
    from modelcustoms.kb import default_kb

    return default_kb()
