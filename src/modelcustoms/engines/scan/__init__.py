"""The scan engine: static security analysis of model files, without loading them."""

from modelcustoms.engines.scan.base import Analyzer, ScanContext, ScanOptions
from modelcustoms.engines.scan.engine import ENGINE_RULES, ScanEngine, ScanResult

__all__ = ["ENGINE_RULES", "Analyzer", "ScanContext", "ScanEngine", "ScanOptions", "ScanResult"]
