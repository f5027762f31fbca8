"""Origin: publisher → legal entity → jurisdiction, each fact citing the knowledge-base row.

Evidence for a knowledge-base fact points into the bundled data file (by its digest and the
row's JSON pointer), with the row's public source in the excerpt, so a report says exactly
which version of which row it relied on.
"""

from __future__ import annotations

from modelcustoms.core import Evidence, Fact, Location
from modelcustoms.kb import Family, KnowledgeBase, Publisher

ENGINE = "provenance"


def kb_evidence(kb: KnowledgeBase, file: str, row_id: str, sources: tuple[str, ...]) -> Evidence:
    """Evidence pointing at a knowledge-base row."""
    excerpt = "sources: " + ", ".join(sources[:3])
    return Evidence(
        location=Location(
            artifact=f"kb/{file}",
            sha256=kb.digests.get(file, "0" * 64),
            pointer=kb.pointers.get((file, row_id)),
        ),
        excerpt=excerpt[:2000],
    )


def family_evidence(kb: KnowledgeBase, fam: Family) -> Evidence:
    """Evidence citing a family row."""
    return kb_evidence(kb, "families.json", fam.id, fam.sources)


def publisher_evidence(kb: KnowledgeBase, pub: Publisher) -> Evidence:
    """Evidence citing a publisher row."""
    return kb_evidence(kb, "publishers.json", pub.id, pub.sources)


def publisher_of(kb: KnowledgeBase, fam: Family) -> Publisher | None:
    """The publisher of a family."""
    return kb.publisher(fam.publisher)


def origin_facts(kb: KnowledgeBase, pub: Publisher, prefix: str = "origin") -> list[Fact]:
    """Who the publisher is and where it is, with the KB row as evidence."""
    ev = (publisher_evidence(kb, pub),)
    conf = 0.9 if pub.verified else 0.6
    listed = [w for w in pub.watchlists if w.status in ("listed", "parent-listed")]
    values: list[tuple[str, object]] = [
        ("publisher", pub.id),
        ("publisher_name", pub.name),
        ("legal_entity", pub.legal_entity),
        ("country", pub.hq_country),
        ("ultimate_parent_country", pub.ultimate_parent_country),
        ("foreign_adversary_nexus", pub.foreign_adversary_nexus),
        (
            "watchlists",
            [
                {"list": w.name, "status": w.status, "date": w.date, "verified": w.verified}
                for w in pub.watchlists
            ],
        ),
        ("listed", bool(listed)),
    ]
    if pub.incorporation_country:
        values.append(("incorporation_country", pub.incorporation_country))
    return [
        Fact(key=f"{prefix}.{k}", value=v, engine=ENGINE, evidence=ev, confidence=conf)
        for k, v in values
    ]


def license_facts(kb: KnowledgeBase, fam: Family) -> list[Fact]:
    """The licences the knowledge base lists for a family (a candidate set, per checkpoint)."""
    out: list[Fact] = []
    rows = [lic for lic_id in fam.licenses if (lic := kb.license(lic_id)) is not None]
    if rows:
        ev = tuple(kb_evidence(kb, "licenses.json", lic.id, lic.sources) for lic in rows[:4])
        value = [
            {"id": lic.id, "name": lic.name, "commercial_use": lic.commercial_use} for lic in rows
        ]
        out.append(
            Fact(
                key="license.family_candidates",
                value=value,
                engine=ENGINE,
                evidence=ev,
                confidence=0.5,
            )
        )
    return out
