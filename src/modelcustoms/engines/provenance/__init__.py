"""Provenance engine: identity, lineage and origin of a model from its metadata files.

It reads only small metadata files and headers (never weights), scores every knowledge-base
family against the architecture signature, the tokenizer fingerprint and the declared names,
and reports the identity with a confidence level, a lineage chain with the publisher and
country of every link, and findings where the declared story disagrees with the files.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from modelcustoms.artifacts.blob import Opener
from modelcustoms.core import EngineRun, EngineStatus, Skip
from modelcustoms.engines.provenance.architecture import extract_signature
from modelcustoms.engines.provenance.combine import decide
from modelcustoms.engines.provenance.declared import collect_declared, resolve
from modelcustoms.engines.provenance.dependency import HubLookup, dependency_facts, hub_facts
from modelcustoms.engines.provenance.metadata import TOKENIZER_JSON_LIMIT, read_metadata
from modelcustoms.engines.provenance.report import RULES, build_outputs
from modelcustoms.engines.provenance.scoring import score_families
from modelcustoms.engines.provenance.tokenizer import fingerprint
from modelcustoms.kb import KnowledgeBase, default_kb
from modelcustoms.version import __version__

ENGINE = "provenance"

__all__ = ["ENGINE", "RULES", "HubLookup", "ProvenanceEngine"]


class ProvenanceEngine:
    """Identify a model's family, lineage and origin from its metadata."""

    name = ENGINE

    def __init__(
        self, kb: KnowledgeBase | None = None, *, tokenizer_json_limit: int = TOKENIZER_JSON_LIMIT
    ) -> None:
        self.kb = kb or default_kb()
        self.tokenizer_json_limit = tokenizer_json_limit
        """Largest tokenizer.json read (remote subjects use a small one to bound transfer)."""

    def run(
        self,
        openers: Sequence[Opener],
        *,
        subject: str = "subject",
        digests: Mapping[str, str] | None = None,
        hub: HubLookup | None = None,
        now: datetime | None = None,
    ) -> EngineRun:
        """Run over a subject's files.

        ``digests`` maps paths to sha256 digests already known (from the scan engine or a hub
        listing), so that large weight files are not hashed a second time. ``hub``, for a repo
        read from the Hub, adds release-age and ecosystem facts, dated against ``now``.
        """
        start = time.monotonic()
        meta = read_metadata(openers, digests, tokenizer_json_limit=self.tokenizer_json_limit)
        sig = extract_signature(meta)
        tp = fingerprint(meta)
        resolved = [resolve(self.kb, d) for d in collect_declared(meta)]
        candidates = score_families(self.kb, sig, tp, resolved)
        ident = decide(self.kb, candidates, resolved)
        facts, findings, lineage = build_outputs(
            self.kb, subject, meta, sig, tp, resolved, ident, candidates
        )
        paths = [o.path for o in openers]
        facts.extend(dependency_facts(self.kb, meta, sig, paths, ident.family))
        hub_skips: tuple[Skip, ...] = ()
        if hub is not None:
            root = next((f.value for f in facts if f.key == "identity.reference_repo"), None)
            more, hub_skips = hub_facts(
                hub, root if isinstance(root, str) else None, now or datetime.now(UTC)
            )
            facts.extend(more)
        used = {f.rule_id for f in findings}
        status = EngineStatus.PARTIAL if meta.problems or meta.skips else EngineStatus.OK
        return EngineRun(
            engine=ENGINE,
            version=__version__,
            status=status,
            findings=tuple(findings),
            facts=tuple(facts),
            skips=(*meta.skips, *hub_skips),
            lineage=tuple(lineage),
            rules=tuple(r for r in RULES if r.id in used),
            analysed=meta.analysed,
            duration_s=time.monotonic() - start,
        )
