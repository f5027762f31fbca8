"""One regression per public pickle-scanner bypass or advisory (link beside each case).

Every sample is built here, in code; payloads are inert (`echo pwned`) and never executed:
the scanner only reads bytes.
"""

from __future__ import annotations

import os
import pickle
import struct
from typing import Any

import pytest

from modelcustoms.core import Severity
from modelcustoms.engines.scan import ScanOptions, ScanResult
from modelcustoms.engines.scan.pickle import PickleAnalyzer
from tests.unit.engines.scan.test_pickle import ScanFiles, call, glob, p4, sbu, sglobal


def scan(scan_files: ScanFiles, data: bytes, name: str = "model.pkl") -> ScanResult:
    return scan_files({name: data}, analyzers=[PickleAnalyzer()], options=ScanOptions(jobs=1))


def critical(result: ScanResult) -> set[str]:
    """Excerpts of the critical findings."""
    return {
        f.evidence[0].excerpt or "" for f in result.run.findings if f.severity is Severity.CRITICAL
    }


def gadget(module: str, name: str, *args: bytes, protocol: int = 4) -> bytes:
    """``module.name(*args)`` as a protocol 4 (STACK_GLOBAL) or protocol 0 (GLOBAL) pickle."""
    if protocol == 0:
        return call(glob(module, name), *args) + b"."
    return p4(call(sglobal(module, name), *args))


# (advisory, module, name): each a callable that a scanner missed.
GADGETS = [
    # CVE-2025-1716: picklescan did not treat pip as unsafe (pip.main installs packages).
    # https://github.com/advisories/GHSA-655q-fx9r-782v
    ("CVE-2025-1716", "pip", "main"),
    ("CVE-2025-1716-internal", "pip._internal.cli.main", "main"),
    # CVE-2025-10157: asyncio subprocess transport internals spawn a process.
    # https://github.com/mmaitre314/picklescan/security/advisories (JFrog, 2025)
    ("CVE-2025-10157", "asyncio.unix_events", "_UnixSubprocessTransport._start"),
    ("CVE-2025-10157-base", "asyncio.base_subprocess", "BaseSubprocessTransport"),
    # CVE-2025-10155/10156: file writes through distutils and _io.
    ("CVE-2025-10156-distutils", "distutils.file_util", "write_file"),
    ("CVE-2025-10156-fileio", "_io", "FileIO"),
    ("CVE-2025-10156-shutil", "shutil", "rmtree"),
    # GHSA-46h3-79wf-xr6c, GHSA-4675-36f9-wf6r: profilers/debuggers/test runners run code.
    # https://github.com/mmaitre314/picklescan/security/advisories/GHSA-4675-36f9-wf6r
    ("GHSA-4675-36f9-wf6r-timeit", "timeit", "timeit"),
    ("GHSA-4675-36f9-wf6r-cprofile", "cProfile", "runctx"),
    ("GHSA-4675-36f9-wf6r-profile", "profile", "run"),
    ("GHSA-4675-36f9-wf6r-trace", "trace", "Trace.runctx"),
    ("GHSA-4675-36f9-wf6r-pdb", "pdb", "run"),
    ("GHSA-4675-36f9-wf6r-bdb", "bdb", "Bdb.run"),
    ("GHSA-4675-36f9-wf6r-doctest", "doctest", "debug_script"),
    # pydoc pagers pipe text into a shell command.
    ("pydoc-pipepager", "pydoc", "pipepager"),
    # GHSA-r8g5-cgf2-4m4m: idlelib and lib2to3 evaluate code.
    # https://github.com/mmaitre314/picklescan/security/advisories/GHSA-r8g5-cgf2-4m4m
    ("GHSA-r8g5-cgf2-4m4m-idlelib", "idlelib.pyshell", "ModifiedInterpreter.runcode"),
    ("GHSA-r8g5-cgf2-4m4m-idlelib-run", "idlelib.run", "Executive.runcode"),
    ("GHSA-r8g5-cgf2-4m4m-lib2to3", "lib2to3.pgen2.literals", "evalString"),
    # numpy's test helper runs a string with exec; f2py evaluates Fortran expressions.
    ("numpy-runstring", "numpy.testing._private.utils", "runstring"),
    ("numpy-f2py", "numpy.f2py.crackfortran", "_eval_length"),
    # torch internals reachable by name from an "allowed" torch prefix.
    ("torch-bottleneck", "torch.utils.bottleneck.__main__", "run_cprofile"),
    ("torch-inductor", "torch._inductor.codecache", "compile_file"),
    ("torch-hub", "torch.hub", "load"),
    ("torch-jit", "torch.jit", "load"),
    ("torch-cpp-extension", "torch.utils.cpp_extension", "load_inline"),
    ("torch-load", "torch", "load"),
    # GHSA-m273-6v24-x4m4, GHSA-955r-x9j8-7rhh: operator indirections.
    # https://github.com/mmaitre314/picklescan/security/advisories/GHSA-m273-6v24-x4m4
    ("GHSA-m273-6v24-x4m4-attrgetter", "operator", "attrgetter"),
    ("GHSA-955r-x9j8-7rhh-methodcaller", "_operator", "methodcaller"),
    ("operator-itemgetter", "operator", "itemgetter"),
    # functools.partial itself is allowed (constructing one runs nothing): see
    # tests/regressions/test_bypasses_review.py for partial(os.system, ...) called via REDUCE.
    ("functools-reduce", "_functools", "reduce"),
    # GHSA-84r2-jw7c-4r5q: nested unpickling.
    # https://github.com/mmaitre314/picklescan/security/advisories/GHSA-84r2-jw7c-4r5q
    ("GHSA-84r2-jw7c-4r5q", "_pickle", "Unpickler"),
    # GHSA-vqmv-47xg-9wpr: package manipulation.
    # https://github.com/mmaitre314/picklescan/security/advisories/GHSA-vqmv-47xg-9wpr
    ("GHSA-vqmv-47xg-9wpr-venv", "venv", "create"),
    ("GHSA-vqmv-47xg-9wpr-ensurepip", "ensurepip", "_run_pip"),
    # GHSA-hgrh-qx5j-jfwx: network modules.
    # https://github.com/mmaitre314/picklescan/security/advisories/GHSA-hgrh-qx5j-jfwx
    ("GHSA-hgrh-qx5j-jfwx-http", "http.client", "HTTPSConnection"),
    ("GHSA-hgrh-qx5j-jfwx-requests", "requests", "get"),
    ("GHSA-hgrh-qx5j-jfwx-aiohttp", "aiohttp.client", "request"),
    ("GHSA-hgrh-qx5j-jfwx-ssl", "ssl", "get_server_certificate"),
    # CVE-2026-56315: stdlib modules that run commands (uuid, imaplib, _pyrepl, _osx_support).
    # https://aithreatalert.com/cve/CVE-2026-56315
    ("CVE-2026-56315-uuid", "uuid", "_get_command_stdout"),
    ("CVE-2026-56315-imaplib", "imaplib", "IMAP4_stream"),
    ("CVE-2026-56315-pyrepl", "_pyrepl.pager", "pipe_pager"),
    ("CVE-2026-56315-osx", "_osx_support", "_read_output"),
    ("CVE-2026-56315-aix", "_aix_support", "_read_cmd_output"),
    # Classic gadgets every scanner must keep catching.
    ("builtins-exec", "builtins", "exec"),
    ("builtins-getattr", "builtins", "getattr"),
    ("importlib", "importlib", "import_module"),
    ("runpy", "runpy", "run_path"),
    ("code", "code", "InteractiveInterpreter.runsource"),
    ("ctypes", "ctypes", "CDLL"),
    ("webbrowser", "webbrowser", "open"),
    ("multiprocessing", "multiprocessing.util", "spawnv_passfds"),
    ("yaml", "yaml", "unsafe_load"),
    ("jinja2", "jinja2", "Template"),
    ("logging-config", "logging.config", "listen"),
    ("pandas-read-pickle", "pandas", "read_pickle"),
    ("joblib-load", "joblib", "load"),
    ("numpy-load", "numpy", "load"),
    ("dill", "dill", "loads"),
    ("cloudpickle", "cloudpickle", "loads"),
    ("tempfile", "tempfile", "NamedTemporaryFile"),
    ("zipimport", "zipimport", "zipimporter"),
    ("marshal", "marshal", "loads"),
    ("types-code", "types", "CodeType"),
    ("types-function", "types", "FunctionType"),
]


# Dotted names need protocol 4 (STACK_GLOBAL); the others are tried in both encodings.
CASES = [(*g, 4) for g in GADGETS] + [(*g, 0) for g in GADGETS if "." not in g[2]]


@pytest.mark.parametrize(
    ("advisory", "module", "name", "protocol"), CASES, ids=[f"{c[0]}-p{c[3]}" for c in CASES]
)
def test_gadget_is_critical(
    scan_files: ScanFiles, advisory: str, module: str, name: str, protocol: int
) -> None:
    arg = b"S'echo pwned'\n" if protocol == 0 else sbu("echo pwned")
    result = scan(scan_files, gadget(module, name, arg, protocol=protocol))
    assert f"{module}.{name}" in critical(result), advisory


def test_reduce_of_real_callable_every_protocol(scan_files: ScanFiles) -> None:
    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, ("echo pwned",))

    for protocol in range(6):
        assert critical(scan(scan_files, pickle.dumps(Payload(), protocol=protocol)))


def test_nullifai_broken_tail(scan_files: ScanFiles) -> None:
    # nullifAI (ReversingLabs, Feb 2025): payload first, then a broken opcode so that
    # scanners that stop at the error report nothing while the loader has already run it.
    # https://www.reversinglabs.com/blog/rl-identifies-malware-ml-model-hosted-on-hugging-face
    data = gadget("os", "system", sbu("echo pwned"))[:-1] + b"\x00\x01\x02"
    result = scan(scan_files, data)
    assert "os.system" in critical(result)
    broken = [f for f in result.run.findings if f.rule_id == "pickle.malformed"]
    assert broken and broken[0].severity is Severity.HIGH


def test_second_pickle_in_stream(scan_files: ScanFiles) -> None:
    # Scanners that read only the first pickle miss the second one (pickle.load twice).
    data = pickle.dumps({"weights": [1, 2]}, protocol=2) + gadget("os", "system", sbu("x"))
    assert "os.system" in critical(scan(scan_files, data))


def test_memo_hidden_stack_global(scan_files: ScanFiles) -> None:
    # Module and name come from the memo long after they were pushed (name-pair heuristics
    # that look at the two strings just before STACK_GLOBAL miss this).
    body = sbu("subprocess") + b"\x94" + sbu("check_output") + b"\x940" + b"0"
    body += sbu("padding") + b"0" + b"h\x00h\x01\x93" + sbu("id") + b"\x85R"
    assert "subprocess.check_output" in critical(scan(scan_files, p4(body)))


def test_dynamic_module_name(scan_files: ScanFiles) -> None:
    # STACK_GLOBAL fed by a call result: the imported name never appears as a constant pair.
    name = call(sglobal("builtins", "str"), sbu("system"))
    data = p4(sbu("os") + name + b"\x93" + sbu("echo pwned") + b"\x85R")
    rules = {
        f.rule_id for f in scan(scan_files, data).run.findings if f.severity >= Severity.CRITICAL
    }
    assert "pickle.dynamic-import" in rules


def test_getattr_on_allowed_module(scan_files: ScanFiles) -> None:
    # getattr(<allowed module object>, 'system'): the allowed import is a decoy.
    data = p4(
        call(
            call(sglobal("builtins", "getattr"), sglobal("torch", "Size"), sbu("system")), sbu("x")
        )
    )
    assert "builtins.getattr" in critical(scan(scan_files, data))


def test_dotted_name_from_allowed_prefix(scan_files: ScanFiles) -> None:
    # Protocol 4 resolves dotted names by attribute walk: torch._utils.os.system is os.system.
    data = p4(call(sglobal("torch._utils", "os.system"), sbu("echo pwned")))
    assert "torch._utils.os.system" in critical(scan(scan_files, data))


def test_py2_module_names(scan_files: ScanFiles) -> None:
    # Protocol < 3 pickles are loaded with fix_imports: __builtin__ means builtins.
    data = call(glob("__builtin__", "eval"), b"S'1'\n") + b"."
    assert "__builtin__.eval" in critical(scan(scan_files, data))


def test_torch_load_weights_only_gadget_class(scan_files: ScanFiles) -> None:
    # CVE-2025-32434 (GHSA-53q9-r3pm-6pq6): torch.load(weights_only=True) could still run code
    # in torch <= 2.5.1. We never rely on weights_only: every global of every pickle in a torch
    # file is judged against the allow-list of what checkpoints need, legacy files included.
    # https://github.com/pytorch/pytorch/security/advisories/GHSA-53q9-r3pm-6pq6
    legacy = b"".join(
        [
            pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2),
            pickle.dumps(1001, protocol=2),
            pickle.dumps({"protocol_version": 1001}, protocol=2),
            gadget("torch.serialization", "load", sbu("/tmp/other.pt")),
            pickle.dumps([], protocol=2),
        ]
    )
    result = scan(scan_files, legacy, name="model.pt")
    assert result.artifacts[0].format.value == "pytorch-legacy"
    assert "torch.serialization.load" in critical(result)


def test_extension_registry(scan_files: ScanFiles) -> None:
    # EXT1/2/4 import through copyreg's registry: unresolvable statically, never in checkpoints.
    data = p4(b"\x82\x01" + sbu("echo pwned") + b"\x85R")
    result = scan(scan_files, data)
    assert any(
        f.rule_id == "pickle.extension-code" and f.severity is Severity.HIGH
        for f in result.run.findings
    )


def test_nested_pickle_payload(scan_files: ScanFiles) -> None:
    # GHSA-84r2-jw7c-4r5q: the real payload sits inside bytes passed to pickle.loads.
    inner = gadget("os", "system", sbu("echo pwned"))
    data = p4(call(sglobal("pickle", "loads"), b"C" + struct.pack("<B", len(inner)) + inner))
    result = scan(scan_files, data)
    nested = [f for f in result.run.findings if f.evidence[0].location.artifact != "model.pkl"]
    assert any(f.evidence[0].excerpt == "os.system" for f in nested)
