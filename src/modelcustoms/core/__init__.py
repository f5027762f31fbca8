"""The shared vocabulary: frozen types every engine produces and every consumer reads.

This package imports nothing else from modelcustoms (enforced by import-linter).
"""

from modelcustoms.core.artifact import Artifact, Format
from modelcustoms.core.catalog import Rule
from modelcustoms.core.evidence import Evidence, Location
from modelcustoms.core.facts import Fact
from modelcustoms.core.findings import Finding
from modelcustoms.core.lineage import ConfidenceLevel, LineageClaim, Relation
from modelcustoms.core.report import (
    SCHEMA_VERSION,
    EngineRun,
    EngineStatus,
    Report,
    ReportDocument,
    Skip,
    ToolInfo,
)
from modelcustoms.core.severity import Severity
from modelcustoms.core.subject import Subject, SubjectKind
from modelcustoms.core.verdict import Decision, Verdict

__all__ = [
    "SCHEMA_VERSION",
    "Artifact",
    "ConfidenceLevel",
    "Decision",
    "EngineRun",
    "EngineStatus",
    "Evidence",
    "Fact",
    "Finding",
    "Format",
    "LineageClaim",
    "Location",
    "Relation",
    "Report",
    "ReportDocument",
    "Rule",
    "Severity",
    "Skip",
    "Subject",
    "SubjectKind",
    "ToolInfo",
    "Verdict",
]
