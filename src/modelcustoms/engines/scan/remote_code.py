"""Static analysis of the Python files a model repository ships (``trust_remote_code``).

Hugging Face repositories may carry ``modeling_*.py``, ``configuration_*.py`` and
``tokenization_*.py`` files that ``from_pretrained(..., trust_remote_code=True)`` imports, so
they run with the user's rights the moment the model is loaded. This analyzer parses them with
:mod:`ast` (never imports, compiles or runs them), resolves what each call really names through
import aliases, assignments, ``__import__``/``getattr`` with foldable strings and star imports,
and reports process spawning, dynamic code, network and file access, unsafe deserialisation,
encoded payloads, credential access and native libraries.

String payloads handed to ``exec``/``eval`` are folded (concatenation, ``join``, reversal,
base64/hex/zlib/bz2/lzma decoding, all bounded) and the result is analysed in turn, so
``exec(b64decode("..."))`` reports what the hidden code does.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from modelcustoms.core import Rule, Severity
from modelcustoms.engines.scan import pyrules
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext
from modelcustoms.engines.scan.pyrules import Hit, ModuleAnalysis

MAX_SOURCE_BYTES = 10 * 1024 * 1024
"""Larger Python files are not parsed (real modeling files are well under 1 MB)."""
MAX_FINDINGS = 300
"""Most findings reported for one file; the rest are summarised in a skip."""
MAX_IMPORTS_FACT = 200

_REFS = (
    "https://huggingface.co/docs/transformers/custom_models",
    "https://jfrog.com/blog/data-scientists-targeted-by-malicious-hugging-face-ml-models-with-silent-backdoor/",
)

RULES: tuple[Rule, ...] = (
    Rule(
        id="remote-code.process",
        title="Remote code spawns a process",
        severity=Severity.CRITICAL,
        help="The repository's Python code starts a process or a shell (os.system, subprocess, "
        "pty.spawn, ...). It runs on from_pretrained(..., trust_remote_code=True). Do not load it.",
        references=_REFS,
    ),
    Rule(
        id="remote-code.dynamic-code",
        title="Remote code runs dynamically built code",
        severity=Severity.HIGH,
        help="exec/eval/compile, imports of computed module names, computed attribute lookups on "
        "sensitive modules or tampering with builtins hide what the code does from review. "
        "Critical when the executed text is decoded from an embedded blob.",
        references=_REFS,
    ),
    Rule(
        id="remote-code.network",
        title="Remote code uses the network or fetches other code",
        severity=Severity.HIGH,
        help="The code opens sockets or HTTP connections, or downloads and runs code from another "
        "repository (torch.hub.load, hf_hub_download of .py files, nested trust_remote_code), "
        "which this scan did not see.",
        references=(*_REFS, "https://github.com/advisories/GHSA-8fr4-5q9j-m8gm"),
    ),
    Rule(
        id="remote-code.file-write",
        title="Remote code deletes files, changes permissions or touches persistence paths",
        severity=Severity.HIGH,
        help="The code deletes files, changes permissions, or names shell start-up files, SSH "
        "authorized_keys, crontabs or Python start-up hooks: ways to persist on the machine.",
        references=_REFS,
    ),
    Rule(
        id="remote-code.unsafe-deserialization",
        title="Remote code deserialises data unsafely",
        severity=Severity.HIGH,
        help="pickle/marshal/dill/joblib loads, torch.load without weights_only=True, "
        "numpy.load(allow_pickle=True) or yaml.load without a safe loader execute code embedded "
        "in the data they read.",
        references=(
            *_REFS,
            "https://nvd.nist.gov/vuln/detail/CVE-2023-7018",
            "https://nvd.nist.gov/vuln/detail/CVE-2023-6730",
        ),
    ),
    Rule(
        id="remote-code.encoded-payload",
        title="Remote code embeds an encoded blob",
        severity=Severity.HIGH,
        help="A long base64, hex or binary constant hides content from review. Critical when it "
        "is decoded and executed or unmarshalled.",
        references=_REFS,
    ),
    Rule(
        id="remote-code.credential-access",
        title="Remote code reads credentials",
        severity=Severity.HIGH,
        help="The code reads secret-looking environment variables (tokens, keys, AWS_*), dumps "
        "the whole environment, or names credential files (~/.aws, ~/.netrc, SSH keys).",
        references=_REFS,
    ),
    Rule(
        id="remote-code.native-library",
        title="Remote code loads native code",
        severity=Severity.HIGH,
        help="ctypes/cffi or torch extension loaders run native code that this scan cannot see.",
        references=_REFS,
    ),
    Rule(
        id="remote-code.unparsable",
        title="Python file could not be parsed",
        severity=Severity.MEDIUM,
        help="The file is not valid Python for this scanner (syntax error, newer syntax, too "
        "deeply nested), so it is NOT verified. High when its text names dangerous calls.",
    ),
)

# Used only when the file cannot be parsed: names that deserve a human look.
_SUSPICIOUS_TEXT = re.compile(
    r"\b(?:os\.system|os\.popen|subprocess|pty\.spawn|socket\.socket|__import__|exec\s*\(|"
    r"eval\s*\(|marshal\.loads|pickle\.loads?|b64decode|ctypes|urlopen|requests\.(?:get|post))"
)


class RemoteCodeAnalyzer(Analyzer):
    """AST analysis of Python files a model repository ships for ``trust_remote_code``."""

    name = "remote-code"
    formats = frozenset({pyrules.PYTHON})
    rules = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        """Parse the file without running it and report what its code would do on load."""
        if ctx.blob.size > MAX_SOURCE_BYTES:
            yield ctx.skip("too-large", f"Python file over {MAX_SOURCE_BYTES} bytes not parsed")
            yield ctx.finding(
                "remote-code.unparsable",
                f"Python file of {ctx.blob.size} bytes is too large to analyse; not verified",
            )
            return
        source = ctx.blob.read(0, ctx.blob.size)
        try:
            analysis = ModuleAnalysis.parse(source)
        except pyrules.UnparsableError as exc:
            yield from _unparsable(ctx, source, str(exc))
            return
        hits = analysis.run()
        yield ctx.fact(
            "python.imports", sorted(analysis.imports)[:MAX_IMPORTS_FACT], pointer="imports"
        )
        for n, hit in enumerate(hits):
            if n == MAX_FINDINGS:
                yield ctx.skip(
                    "findings-capped", f"{len(hits) - MAX_FINDINGS} more findings not reported"
                )
                break
            yield _finding(ctx, hit)


def _finding(ctx: ScanContext, hit: Hit) -> Result:
    return ctx.finding(
        hit.rule,
        hit.message,
        line=hit.line,
        pointer=f"line {hit.line}",
        excerpt=hit.excerpt,
        severity=hit.severity,
        confidence=hit.confidence,
    )


def _unparsable(ctx: ScanContext, source: bytes, why: str) -> Iterator[Result]:
    text = source.decode("utf-8", errors="replace")
    names = sorted({m.group(0).rstrip("( \t") for m in _SUSPICIOUS_TEXT.finditer(text)})
    if names:
        yield ctx.finding(
            "remote-code.unparsable",
            f"could not parse the file ({why}), and its text mentions {', '.join(names[:8])}; "
            "not verified",
            severity=Severity.HIGH,
            excerpt=", ".join(names[:8]),
            confidence=0.6,
        )
    else:
        yield ctx.finding(
            "remote-code.unparsable", f"could not parse the file ({why}); not verified"
        )


def _is_parse_error(exc: BaseException) -> bool:
    return isinstance(exc, SyntaxError | ValueError | RecursionError | MemoryError)


__all__ = ["RULES", "RemoteCodeAnalyzer", "ast"]
