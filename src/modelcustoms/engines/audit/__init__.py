"""The audit engine: behavioral probe suites run against a target and a reference model.

The public names are imported lazily: the command line builds its parser from
:mod:`modelcustoms.engines.audit.probes` alone, and importing the targets (httpx) and scorers
for every ``customs`` invocation would cost start-up time on every command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_LAZY = {
    "ResponseCache": "cache",
    "AuditEngine": "engine",
    "AuditOptions": "engine",
    "AuditResult": "engine",
    "AuditError": "interface",
    "Message": "interface",
    "Request": "interface",
    "Response": "interface",
    "SuiteDataError": "interface",
    "Target": "interface",
    "TargetSpecError": "interface",
    "Measure": "measures",
    "StatOptions": "measures",
    "Suite": "probes",
    "Scorer": "scoring.scorer",
    "scorer_for": "scoring.scorer",
    "BuildOptions": "suites",
    "FakeTarget": "targets",
    "HttpOptions": "targets",
    "OpenAITarget": "targets",
    "TargetOptions": "targets",
    "open_target": "targets",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
