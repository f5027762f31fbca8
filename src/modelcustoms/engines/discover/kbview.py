"""The few knowledge-base columns discover needs, read without the validating loader.

``kb.load`` validates every row with the report model's library; discover only needs hosts,
classes, prefixes, namespaces and name patterns, so the bundled files are read as plain JSON
here. A test keeps this view equal to the one built from the validated knowledge base, so the
validation still guards the data; only the per-run cost goes.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from modelcustoms.kb import KnowledgeBase


class ProviderRow(NamedTuple):
    """A model service, hub, runtime or local server (``kb.Provider``)."""

    id: str
    name: str
    kind: str
    operator: str
    country: str | None = None
    publisher: str | None = None
    hosts: tuple[str, ...] = ()
    sdk_classes: tuple[str, ...] = ()
    litellm_prefixes: tuple[str, ...] = ()
    model_patterns: tuple[str, ...] = ()


class PublisherRow(NamedTuple):
    """A publisher (``kb.Publisher``)."""

    id: str
    name: str
    ultimate_parent_country: str
    hf_namespaces: tuple[str, ...] = ()


class ReleaseRow(NamedTuple):
    """A release of a family: its hub repo and the family it was built on."""

    repo: str | None = None
    base_family: str | None = None


class FamilyRow(NamedTuple):
    """A model family (``kb.Family``)."""

    id: str
    publisher: str
    base_family: str | None = None
    name_patterns: tuple[str, ...] = ()
    releases: tuple[ReleaseRow, ...] = ()


class KBView:
    """Rows and the lookups the resolver uses."""

    __slots__ = ("_by_ns", "_fam", "_pub", "families", "providers", "publishers")

    def __init__(
        self,
        providers: tuple[ProviderRow, ...],
        publishers: tuple[PublisherRow, ...],
        families: tuple[FamilyRow, ...],
    ) -> None:
        self.providers = providers
        self.publishers = publishers
        self.families = families
        ns: dict[str, PublisherRow] = {}
        for p in publishers:
            for n in p.hf_namespaces:
                ns.setdefault(n.lower(), p)
        self._by_ns = ns
        self._pub = {p.id: p for p in publishers}
        self._fam = {f.id: f for f in families}

    def publisher(self, pub_id: str) -> PublisherRow | None:
        """The publisher with this id."""
        return self._pub.get(pub_id)

    def family(self, fam_id: str) -> FamilyRow | None:
        """The family with this id."""
        return self._fam.get(fam_id)

    def publisher_of_namespace(self, namespace: str) -> PublisherRow | None:
        """The publisher owning a hub namespace (case-insensitive)."""
        return self._by_ns.get(namespace.lower())


def _tuple(row: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(x) for x in row.get(key) or ())


def provider_row(row: dict[str, Any]) -> ProviderRow:
    """A provider row from its JSON (or ``model_dump``) form."""
    return ProviderRow(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        operator=row["operator"],
        country=row.get("country"),
        publisher=row.get("publisher"),
        hosts=_tuple(row, "hosts"),
        sdk_classes=_tuple(row, "sdk_classes"),
        litellm_prefixes=_tuple(row, "litellm_prefixes"),
        model_patterns=_tuple(row, "model_patterns"),
    )


def publisher_row(row: dict[str, Any]) -> PublisherRow:
    """A publisher row from its JSON form."""
    return PublisherRow(
        id=row["id"],
        name=row["name"],
        ultimate_parent_country=row["ultimate_parent_country"],
        hf_namespaces=_tuple(row, "hf_namespaces"),
    )


def family_row(row: dict[str, Any]) -> FamilyRow:
    """A family row from its JSON form."""
    releases = tuple(
        ReleaseRow(repo=r.get("repo"), base_family=r.get("base_family"))
        for r in row.get("releases") or ()
    )
    return FamilyRow(
        id=row["id"],
        publisher=row["publisher"],
        base_family=row.get("base_family"),
        name_patterns=_tuple(row, "name_patterns"),
        releases=releases,
    )


def view_of(docs: dict[str, Any]) -> KBView:
    """The view of parsed data files (``{"providers": [...], "publishers": [...], ...}``)."""
    return KBView(
        providers=tuple(provider_row(r) for r in docs.get("providers") or ()),
        publishers=tuple(publisher_row(r) for r in docs.get("publishers") or ()),
        families=tuple(family_row(r) for r in docs.get("families") or ()),
    )


def from_kb(kb: KnowledgeBase) -> KBView:
    """The view of a validated knowledge base (any folder ``kb.load_kb`` accepts)."""
    return view_of(
        {
            "providers": [p.model_dump() for p in kb.providers],
            "publishers": [p.model_dump() for p in kb.publishers],
            "families": [f.model_dump() for f in kb.families],
        }
    )


@lru_cache(maxsize=1)
def bundled_view() -> KBView:
    """The view of the bundled knowledge base files, read as plain JSON."""
    # NOTE: a plain os path next to the package (not importlib.resources or pathlib: their
    # imports cost more than reading the three files).
    import modelcustoms

    data = os.path.join(os.path.dirname(modelcustoms.__file__), "kb", "data")  # noqa: PTH118, PTH120
    docs: dict[str, Any] = {}
    for key in ("providers", "publishers", "families"):
        with open(os.path.join(data, f"{key}.json"), "rb") as fh:  # noqa: PTH118, PTH123
            doc = json.loads(fh.read())
        docs[key] = doc.get(key) if isinstance(doc, dict) else None
    return view_of(docs)
