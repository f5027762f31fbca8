"""Discover rules as plain data, and which one a reference falls under.

Nothing here names a model: the severity follows only from resolved countries.

The severity says whether the reference needs a look, never that something is broken: a model
or a model service from a covered nation is ``medium``, one whose origin could not be resolved is
``low`` (could not verify is not clean), any other reference is ``info``.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

COVERED_COUNTRIES = frozenset({"CN", "HK", "MO", "RU", "IR", "KP"})
"""Covered nations of 10 U.S.C. 4872(d) (PRC incl. Hong Kong and Macau, Russia, Iran, DPRK).

The same list as the ``origin-covered-nations`` policy profile; a policy can use any other list
over the ``discover.reference`` facts, this one only ranks the findings.
"""

_SOURCE = "https://www.law.cornell.edu/uscode/text/10/4872"


class RuleData(NamedTuple):
    """A catalog entry (the fields and order of ``core.Rule``)."""

    id: str
    title: str
    severity: str
    help: str
    references: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the ``core.Rule``."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "help": self.help,
            "references": list(self.references),
        }


FOREIGN_ENDPOINT = RuleData(
    id="discover.foreign-endpoint",
    title="Model service operated from a covered nation",
    severity="medium",
    help=(
        "The software sends requests to a model API whose operator is in a covered nation "
        "(10 U.S.C. 4872(d): China incl. Hong Kong and Macau, Russia, Iran, North Korea). "
        "Prompts and data leave to that jurisdiction. Check that this is intended and allowed; "
        "a policy (`--policy discover-origin`) can turn this into a CI gate."
    ),
    references=(_SOURCE,),
)
FOREIGN_MODEL = RuleData(
    id="discover.foreign-model",
    title="Model published from a covered nation",
    severity="medium",
    help=(
        "The software loads or calls a model whose publisher (or its ultimate parent) is in a "
        "covered nation (10 U.S.C. 4872(d)). Where it runs does not change where it comes from. "
        "Check that this is intended and allowed by your procurement rules."
    ),
    references=(_SOURCE,),
)
UNRESOLVED = RuleData(
    id="discover.unresolved-reference",
    title="Model reference whose origin could not be established",
    severity="low",
    help=(
        "The software names a model or a model service, but the knowledge base knows neither "
        "its publisher nor the operator of its host. Its origin is unverified, not clean: "
        "look it up and, if it matters, add it to the knowledge base."
    ),
)
MODEL_REFERENCE = RuleData(
    id="discover.model-reference",
    title="Model reference",
    severity="info",
    help=(
        "The software loads or calls this model or model service; its publisher and host are "
        "not in a covered nation. Listed so that the inventory is complete."
    ),
)

RULE_DATA: tuple[RuleData, ...] = (FOREIGN_ENDPOINT, FOREIGN_MODEL, UNRESOLVED, MODEL_REFERENCE)


class RefLike(Protocol):
    """What the rule choice reads (a ``Ref`` or a ``core.references.ModelReference``)."""

    @property
    def kind(self) -> str: ...
    @property
    def model(self) -> str | None: ...
    @property
    def endpoint(self) -> str | None: ...
    @property
    def publisher(self) -> str | None: ...
    @property
    def publisher_country(self) -> str | None: ...
    @property
    def host_operator(self) -> str | None: ...
    @property
    def host_country(self) -> str | None: ...
    @property
    def unresolved(self) -> str | None: ...


def _covered(country: str | None) -> bool:
    return country is not None and country in COVERED_COUNTRIES


def rule_data_for(ref: RefLike) -> RuleData:
    """The rule a reference falls under (the host first: that is where the data goes)."""
    if _covered(ref.host_country):
        return FOREIGN_ENDPOINT
    if _covered(ref.publisher_country):
        return FOREIGN_MODEL
    if ref.unresolved and ref.publisher is None and ref.host_operator is None:
        return UNRESOLVED
    return MODEL_REFERENCE


def message(ref: RefLike) -> str:
    """The one-line finding message of a reference."""
    what = ref.model or ref.endpoint or "?"
    noun = "model"
    if ref.kind == "api-endpoint" and not ref.model:
        noun = "endpoint"
    elif ref.kind == "sdk-class" and not ref.model:
        noun = "client class"
    parts = [f"{noun} {what}"]
    if ref.publisher:
        parts.append(f"published by {ref.publisher} ({ref.publisher_country or 'country unknown'})")
    if ref.host_operator:
        parts.append(f"served by {ref.host_operator} ({ref.host_country or 'country unknown'})")
    elif ref.endpoint and ref.model:
        parts.append(f"at {ref.endpoint}")
    if ref.unresolved:
        parts.append(f"unresolved: {ref.unresolved}")
    return "; ".join(parts)
