"""A labelled zoo of benign and hostile model files, written with the standard library only.

Used by ``customs demo`` (a small zoo scanned in a temporary folder), by the integration tests
and by the benchmarks (the full corpus). Nothing in this package ever loads what it writes.
"""

from modelcustoms.samples.zoo import Sample, build_zoo, load_manifest

__all__ = ["Sample", "build_zoo", "load_manifest"]
