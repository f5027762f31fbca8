"""Static analysis of the Python files a model repository ships (``trust_remote_code``).

Hugging Face repositories may carry ``modeling_*.py``, ``configuration_*.py`` and
``tokenization_*.py`` files that ``from_pretrained(..., trust_remote_code=True)`` imports, so
they run with the user's rights the moment the model is loaded. This analyzer parses them with
:mod:`ast` (it never imports, compiles or runs them), resolves what each name really refers to
through import aliases, assignments, ``__import__``/``getattr`` with foldable strings,
``sys.modules``/``__builtins__`` subscripts and star imports, and reports process spawning,
dynamic code, network and file access, unsafe deserialisation, encoded payloads, credential
access and native libraries.

Strings handed to ``exec``/``eval`` are folded (concatenation, ``join``, reversal, base64, hex,
zlib, bz2, lzma, all bounded) and the result is analysed in turn, so ``exec(b64decode("..."))``
reports what the hidden code does. Resolution is flow-insensitive on purpose: a name that is
*ever* bound to ``os.system`` counts as ``os.system`` everywhere, which an attacker cannot
dodge by reordering code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.remote_code_calls import (
    CREDS,
    DESERIAL,
    DYNAMIC,
    ENCODED,
    FILE_WRITE,
    NATIVE,
    NETWORK,
    PROCESS,
    UNPARSABLE,
)
from modelcustoms.engines.scan.remote_code_checks import Module, UnparsableError

MAX_SOURCE_BYTES = 10 * 1024 * 1024
"""Larger Python files are not parsed (real modeling files are well under 1 MB)."""
MAX_FINDINGS = 300
"""Most findings reported for one file; the rest are counted in a skip."""
MAX_IMPORTS_FACT = 200

_REFS = (
    "https://huggingface.co/docs/transformers/custom_models",
    "https://jfrog.com/blog/data-scientists-targeted-by-malicious-hugging-face-ml-models-with-silent-backdoor/",
)
_C, _H, _M = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM

RULES: tuple[Rule, ...] = (
    Rule(
        id=PROCESS,
        title="Remote code spawns a process",
        severity=_C,
        help="The repository's Python code starts a process or a shell (os.system, subprocess, "
        "pty.spawn, ...). It runs on from_pretrained(..., trust_remote_code=True). Do not load it.",
        references=_REFS,
    ),
    Rule(
        id=DYNAMIC,
        title="Remote code runs dynamically built code",
        severity=_H,
        help="exec/eval/compile, imports of computed module names, computed attribute lookups on "
        "sensitive modules, import hooks or tampering with builtins hide what the code does. "
        "Critical when the executed text is decoded from an embedded blob.",
        references=_REFS,
    ),
    Rule(
        id=NETWORK,
        title="Remote code uses the network or fetches other code",
        severity=_H,
        help="The code opens sockets or HTTP connections, or fetches and runs code from another "
        "repository (torch.hub.load, hf_hub_download of .py files, nested trust_remote_code), "
        "which this scan did not see.",
        references=(*_REFS, "https://github.com/advisories/GHSA-8fr4-5q9j-m8gm"),
    ),
    Rule(
        id=FILE_WRITE,
        title="Remote code deletes files, changes permissions or touches persistence paths",
        severity=_H,
        help="The code deletes files, changes permissions, or names shell start-up files, SSH "
        "authorized_keys, crontabs or Python start-up hooks: ways to persist on the machine.",
        references=_REFS,
    ),
    Rule(
        id=DESERIAL,
        title="Remote code deserialises data unsafely",
        severity=_H,
        help="pickle/marshal/dill/joblib loads, torch.load without weights_only=True, "
        "numpy.load(allow_pickle=True) or yaml.load without a safe loader run code embedded in "
        "the data they read.",
        references=(
            *_REFS,
            "https://nvd.nist.gov/vuln/detail/CVE-2023-7018",
            "https://nvd.nist.gov/vuln/detail/CVE-2023-6730",
        ),
    ),
    Rule(
        id=ENCODED,
        title="Remote code embeds an encoded blob",
        severity=_H,
        help="A long base64, hex or binary constant hides content from review. Critical when it "
        "is decoded and executed or unmarshalled.",
        references=_REFS,
    ),
    Rule(
        id=CREDS,
        title="Remote code reads credentials",
        severity=_H,
        help="The code reads secret-looking environment variables (tokens, keys, AWS_*), dumps "
        "the whole environment, or names credential files (~/.aws, ~/.netrc, SSH keys).",
        references=_REFS,
    ),
    Rule(
        id=NATIVE,
        title="Remote code loads native code",
        severity=_H,
        help="ctypes, cffi or torch extension loaders run native code this scan cannot see.",
        references=_REFS,
    ),
    Rule(
        id=UNPARSABLE,
        title="Python file could not be analysed",
        severity=_M,
        help="The file is not valid Python for this scanner (syntax error, newer syntax, nesting "
        "too deep, too large), so it is NOT verified. High when its text names dangerous calls.",
    ),
)


_SUSPICIOUS_TEXT = re.compile(
    r"\b(?:os\.system|os\.popen|subprocess|pty\.spawn|socket\.socket|__import__|exec\s*\(|"
    r"eval\s*\(|marshal\.loads|pickle\.loads?|b64decode|ctypes|urlopen|requests\.(?:get|post))"
)


class RemoteCodeAnalyzer(Analyzer):
    """AST analysis of Python files a model repository ships for ``trust_remote_code``."""

    name = "remote-code"
    formats = frozenset({Format.PYTHON})
    rules = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        """Parse the file without running it and report what its code would do on load."""
        if ctx.blob.size > MAX_SOURCE_BYTES:
            yield ctx.skip("too-large", f"Python file over {MAX_SOURCE_BYTES} bytes not parsed")
            yield ctx.finding(
                UNPARSABLE,
                f"Python file of {ctx.blob.size} bytes is too large to analyse; not verified",
            )
            return
        source = ctx.blob.read(0, ctx.blob.size)
        try:
            module = Module.from_source(source)
            hits = module.run()
        except UnparsableError as exc:
            yield from _unparsable(ctx, source, str(exc))
            return
        except RecursionError:
            yield from _unparsable(ctx, source, "nesting too deep")
            return
        yield ctx.fact("python.imports", sorted(module.imports)[:MAX_IMPORTS_FACT])
        for n, hit in enumerate(hits):
            if n == MAX_FINDINGS:
                yield ctx.skip("findings-capped", f"{len(hits) - n} more findings not reported")
                break
            yield ctx.finding(
                hit.rule,
                hit.message,
                line=hit.line,
                pointer=f"line {hit.line}",
                excerpt=hit.excerpt,
                severity=hit.severity,
            )


def _unparsable(ctx: ScanContext, source: bytes, why: str) -> Iterator[Result]:
    text = source.decode("utf-8", errors="replace")
    names = sorted({m.group(0).rstrip("( \t") for m in _SUSPICIOUS_TEXT.finditer(text)})
    if names:
        listed = ", ".join(names[:8])
        yield ctx.finding(
            UNPARSABLE,
            f"could not parse the file ({why}) and its text mentions {listed}; not verified",
            severity=_H,
            excerpt=listed,
            confidence=0.6,
        )
    else:
        yield ctx.finding(UNPARSABLE, f"could not parse the file ({why}); not verified")
