"""modelcustoms: inspect open-weight AI models at the border of your software.

The public API is small and imported lazily, so that ``customs --help`` stays fast::

    from modelcustoms import scan_paths, load_report
    report = scan_paths([Path("model-dir")])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelcustoms.version import __version__

__all__ = [
    "Report",
    "ReportDocument",
    "Verdict",
    "__version__",
    "inspect_paths",
    "load_report",
    "scan_paths",
]

if TYPE_CHECKING:
    from modelcustoms.core import Report, ReportDocument, Verdict
    from modelcustoms.core.load import load_report
    from modelcustoms.pipeline import inspect_paths, scan_paths

_LAZY = {
    "Report": "modelcustoms.core",
    "ReportDocument": "modelcustoms.core",
    "Verdict": "modelcustoms.core",
    "load_report": "modelcustoms.core.load",
    "inspect_paths": "modelcustoms.pipeline",
    "scan_paths": "modelcustoms.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'modelcustoms' has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib

    return getattr(importlib.import_module(module), name)
