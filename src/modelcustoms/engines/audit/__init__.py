"""The audit engine: behavioral probe suites run against a target and a reference model."""

from modelcustoms.engines.audit.cache import ResponseCache
from modelcustoms.engines.audit.engine import AuditEngine, AuditOptions, AuditResult
from modelcustoms.engines.audit.interface import (
    AuditError,
    Message,
    Request,
    Response,
    SuiteDataError,
    Target,
    TargetSpecError,
)
from modelcustoms.engines.audit.measures import Measure, StatOptions
from modelcustoms.engines.audit.probes import Suite
from modelcustoms.engines.audit.scoring.scorer import Scorer, scorer_for
from modelcustoms.engines.audit.suites import BuildOptions
from modelcustoms.engines.audit.targets import (
    FakeTarget,
    HttpOptions,
    OpenAITarget,
    TargetOptions,
    open_target,
)

__all__ = [
    "AuditEngine",
    "AuditError",
    "AuditOptions",
    "AuditResult",
    "BuildOptions",
    "FakeTarget",
    "HttpOptions",
    "Measure",
    "Message",
    "OpenAITarget",
    "Request",
    "Response",
    "ResponseCache",
    "Scorer",
    "StatOptions",
    "Suite",
    "SuiteDataError",
    "Target",
    "TargetOptions",
    "TargetSpecError",
    "open_target",
    "scorer_for",
]
