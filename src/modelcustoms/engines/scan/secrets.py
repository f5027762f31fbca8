"""Credentials left in the text files of a model repository (configs, code, notes, .env).

A bounded regular-expression pass over the first :data:`MAX_SCAN_BYTES` of each text, JSON or
Python file. Known token formats (Hugging Face, OpenAI, Anthropic, AWS, GitHub, GitLab, Slack,
Google, Stripe, PEM private keys, JWTs) are matched by their prefixes and then checked for
randomness, so that placeholders (``hf_xxxx``, ``sk-...``, ``<your-token>``) stay quiet. A
generic rule catches ``api_key = "..."`` style assignments of high-entropy values.

Tokenizer vocabularies are full of random-looking strings; files that are vocabularies by
structure (``model.vocab``, huge ``{token: id}`` maps or token lists) are scanned with the
prefixed detectors only. Secrets never appear in findings: excerpts show the first four
characters and the length.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from modelcustoms.core import Format, Rule, Severity
from modelcustoms.engines.scan.base import Analyzer, Result, ScanContext

MAX_SCAN_BYTES = 16 * 1024 * 1024
"""Only this many leading bytes of a file are scanned; the rest is recorded as a skip."""
MAX_FINDINGS = 100
"""Most credentials reported per file."""
VOCAB_MIN_ENTRIES = 1000
"""A JSON map or list this large whose entries are all token ids / strings is a vocabulary."""

RULE_ID = "secrets.credential"
RULES: tuple[Rule, ...] = (
    Rule(
        id=RULE_ID,
        title="Credential in plain text",
        severity=Severity.HIGH,
        help="A file of the repository contains what looks like a live credential (API token, "
        "cloud key, private key). Anyone who downloads the model can use it. Revoke it at the "
        "issuer and remove it from the repository history; do not just delete the file.",
        references=(
            "https://huggingface.co/docs/hub/security-tokens",
            "https://www.lasso.security/blog/1500-huggingface-api-tokens-were-exposed-leaving-millions-of-meta-llama-bloom-and-pythia-users-for-grabs",
        ),
    ),
)

_PLACEHOLDER_WORDS = (
    "example", "xxxx", "your", "placeholder", "dummy", "redacted", "sample", "changeme",
    "replace", "insert", "fake", "<", ">", "...", "***", "…", "${", "{{", "0000000", "1234567",
    "abcdefgh",
)  # fmt: skip
_BASE64ISH = re.compile(r"[A-Za-z0-9_\-+/=]{20,}")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_HEX_HASH = re.compile(r"(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})", re.I)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_SEGMENTS = frozenset(
    {"token", "secret", "password", "passwd", "pwd", "apikey", "credential", "credentials"}
)
_KEY_PAIRS = frozenset({"api_key", "access_key", "secret_key", "private_key", "auth_key"})


def _entropy(s: str) -> float:
    n = len(s)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _is_placeholder(value: str) -> bool:
    low = value.lower()
    if any(w in low for w in _PLACEHOLDER_WORDS):
        return True
    top = Counter(value).most_common(1)[0][1] if value else 0
    return top * 2 >= len(value) or len(set(value)) < 8


def _random(body: str, min_entropy: float = 3.0) -> bool:
    """High enough entropy, not a placeholder, and more than one class of characters."""
    if len(body) < 16 or _is_placeholder(body):
        return False
    classes = sum(
        (
            any(c.islower() for c in body),
            any(c.isupper() for c in body),
            any(c.isdigit() for c in body),
        )
    )
    return classes >= 2 and _entropy(body) >= min_entropy


def _mixed_case_random(body: str) -> bool:
    # Random letters put upper-case pairs side by side about a quarter of the time;
    # CamelCase identifiers (``hf_AutoModelForCausalLM...``) almost never do.
    if not _random(body, 3.5):
        return False
    upper_pairs = sum(a.isupper() and b.isupper() for a, b in itertools.pairwise(body))
    return any(c.isdigit() for c in body) or upper_pairs >= 3


def _slack(body: str) -> bool:
    parts = body.split("-")
    return len(parts) >= 3 and any(p.isdigit() and len(p) >= 6 for p in parts) and _random(body)


def _jwt(body: str) -> bool:
    head = body.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded and _random(body.rsplit(".", 1)[1])


@dataclass(frozen=True, slots=True)
class Detector:
    """One kind of credential: a pattern with a ``s`` group for the secret, and a check."""

    kind: str
    pattern: re.Pattern[str]
    prefix: int
    """Characters of the match that are a fixed prefix (checked for randomness after it)."""
    check: Callable[[str], bool]
    strong: bool = True
    """Kept on vocabulary files: the prefix makes a chance match very unlikely."""


def _d(
    kind: str, pattern: str, prefix: int, check: Callable[[str], bool], strong: bool = True
) -> Detector:
    return Detector(kind, re.compile(pattern), prefix, check, strong)


DETECTORS: tuple[Detector, ...] = (
    _d("Hugging Face token", r"(?P<s>hf_[A-Za-z0-9]{30,40})\b", 3, _mixed_case_random),
    _d("Hugging Face org token", r"(?P<s>api_org_[A-Za-z0-9]{30,40})\b", 8, _mixed_case_random),
    _d("Anthropic API key", r"(?P<s>sk-ant-[A-Za-z0-9_\-]{32,})", 7, _random),
    _d(
        "OpenAI API key",
        r"(?P<s>sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{32,})",
        3,
        _random,
    ),
    _d("AWS access key id", r"(?P<s>A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16})\b", 4, _random),
    _d("GitHub token", r"(?P<s>gh[pousr]_[A-Za-z0-9]{36,})\b", 4, _random),
    _d("GitHub token", r"(?P<s>github_pat_[A-Za-z0-9_]{60,})\b", 11, _random),
    _d("GitLab token", r"(?P<s>glpat-[A-Za-z0-9_\-]{20,})", 6, _random),
    _d("Slack token", r"(?P<s>xox[abprs]-[A-Za-z0-9\-]{10,})", 5, _slack),
    _d("Google API key", r"(?P<s>AIza[0-9A-Za-z_\-]{35})(?![0-9A-Za-z_\-])", 4, _random),
    _d("Stripe live key", r"(?P<s>[sr]k_live_[0-9A-Za-z]{24,})", 8, _random),
    _d(
        "private key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\\[nr]|\s)*"
        r"(?:[A-Za-z-]+: [^\n]*(?:\\n|\n))*(?:\\[nr]|\s)*(?P<s>[A-Za-z0-9+/=]{40,})",
        0,
        _random,
    ),
    _d(
        "JSON web token",
        r"(?P<s>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,})",
        0,
        _jwt,
        strong=False,
    ),
)

# Patterns start with a literal (no leading ``\b``) so that the regex engine can skip ahead
# to candidates; the word boundary before a match is checked in code. The generic patterns
# run case-sensitively over an ASCII-lower-cased copy (same offsets) and start at the
# keyword, because a greedy identifier prefix would backtrack over long runs of word chars.
_KW = (
    r"(?:token|secret|passw(?:or)?d|api[_\-]?key|access[_\-]?key|private[_\-]?key|"
    r"auth[_\-]?key|credential)"
)
_ASSIGN_QUOTED = re.compile(
    rf"(?P<key>{_KW}[a-z0-9_.\-]{{0,40}})[\"']?\s{{0,8}}(?::=|=>|:|=)\s{{0,8}}[rbf]?[\"']"
    rf"(?P<s>[^\"'\s\\]{{16,200}})[\"']"
)
_ASSIGN_ENV = re.compile(
    rf"(?m)(?P<key>{_KW}[a-z0-9_]{{0,40}})[ \t]*=[ \t]*(?P<s>[^\s\"'#]{{16,200}})[ \t]*$"
)
_ENV_LINE_HEAD = re.compile(r"[ \t]*(?:export[ \t]+)?[A-Za-z0-9_]*")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_IDENT_TAIL = re.compile(r"[A-Za-z0-9_.\-]{1,60}$")


_KNOWN_PREFIXES = (
    "hf_",
    "api_org_",
    "sk-",
    "AKIA",
    "ASIA",
    "gh",
    "github_pat_",
    "glpat-",
    "xox",
    "AIza",
    "sk_live_",
    "rk_live_",
    "eyJ",
)


_HIGH = Severity.HIGH


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    secret: str
    kind: str
    severity: Severity
    note: str = ""


def _key_names_secret(key: str) -> bool:
    snake = _CAMEL.sub("_", key).lower()
    segs = [s for s in re.split(r"[^a-z0-9]+", snake) if s]
    pairs = {f"{a}_{b}" for a, b in itertools.pairwise(segs)}
    return bool(_KEY_SEGMENTS.intersection(segs) or _KEY_PAIRS & pairs)


def _generic_value(value: str) -> bool:
    if _HEX_HASH.fullmatch(value) or value.startswith(("http", "/", "$", "%")):
        return False
    if "/" in value and "." in value:
        return False  # a path or a repository id, not a key
    if value.startswith(_KNOWN_PREFIXES):
        return False  # the format's own detector has judged it already
    if value.replace("_", "").isalpha() and not _mixed_case_random(value):
        return False  # an identifier (``hf_AutoModelForCausalLM``), not a random key
    return _random(value, 3.5)


class _Scanner:
    """Runs the detectors over one decoded text."""

    def __init__(self, text: str, *, vocab: bool, env_style: bool) -> None:
        self.text = text
        self.vocab = vocab
        self.env_style = env_style
        self._newlines: list[int] | None = None

    def matches(self) -> list[_Match]:
        """Every credential found, once per distinct value, in file order."""
        out: dict[str, _Match] = {}
        for det in DETECTORS:
            if self.vocab and not det.strong:
                continue
            for m in det.pattern.finditer(self.text):
                secret, start = m.group("s"), m.start("s")
                if secret in out or not self._word_start(m.start()):
                    continue
                if det.check(secret[det.prefix :]):
                    out[secret] = self._judge(det, start, secret)
                    if len(out) >= MAX_FINDINGS:
                        return sorted(out.values(), key=lambda x: x.start)
        if not self.vocab:
            self._generic(out)
        return sorted(out.values(), key=lambda x: x.start)

    def _generic(self, out: dict[str, _Match]) -> None:
        lowered = self.text.translate(_ASCII_LOWER)
        patterns = [_ASSIGN_QUOTED, _ASSIGN_ENV] if self.env_style else [_ASSIGN_QUOTED]
        for pat in patterns:
            for m in pat.finditer(lowered):
                secret = self.text[m.start("s") : m.end("s")]
                key_start = m.start("key")
                if pat is _ASSIGN_ENV and not self._env_line_head(key_start):
                    continue
                key = self._full_key(key_start) + self.text[key_start : m.end("key")]
                if secret in out or not _key_names_secret(key) or not _generic_value(secret):
                    continue
                out[secret] = _Match(m.start("s"), secret, f"secret assigned to {key!r}", _HIGH)
                if len(out) >= MAX_FINDINGS:
                    return

    def _word_start(self, start: int) -> bool:
        return start == 0 or not (self.text[start - 1].isalnum() or self.text[start - 1] == "_")

    def _env_line_head(self, key_start: int) -> bool:
        line_start = self.text.rfind("\n", 0, key_start) + 1
        return _ENV_LINE_HEAD.fullmatch(self.text, line_start, key_start) is not None

    def _full_key(self, start: int) -> str:
        """The identifier characters just before the keyword (``hf_`` in ``hf_token``)."""
        m = _IDENT_TAIL.search(self.text, max(0, start - 60), start)
        return m.group(0) if m else ""

    def _judge(self, det: Detector, start: int, secret: str) -> _Match:
        if det.kind != "AWS access key id":
            return _Match(start, secret, det.kind, Severity.HIGH)
        # An access key id alone grants nothing; with its secret key nearby it is a credential.
        window = self.text[max(0, start - 400) : start + len(secret) + 400]
        for m in _AWS_SECRET.finditer(window):
            if _random(m.group(0), 4.0) and m.group(0) != secret:
                return _Match(start, secret, "AWS access key with its secret key", Severity.HIGH)
        return _Match(start, secret, det.kind, Severity.MEDIUM, " (no secret key found nearby)")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_left(self._newlines, offset)
        line_start = self._newlines[line - 1] + 1 if line else 0
        return line + 1, offset - line_start + 1

    def excerpt(self, match: _Match) -> str:
        start, end = match.start, match.start + len(match.secret)
        line_start = self.text.rfind("\n", 0, start) + 1
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end
        before = self.text[max(line_start, start - 60) : start]
        after = self.text[end : min(line_end, end + 20)]
        return f"{_mask(before)}{redact(match.secret)}{_mask(after)}".strip()


def redact(secret: str) -> str:
    """The first four characters and the length: enough to find it, not to use it."""
    return f"{secret[:4]}…[redacted, {len(secret)} chars]"


def _mask(context: str) -> str:
    # Context next to a secret can hold a second one (or a cut-off piece): mask anything long
    # and random-looking.
    return _BASE64ISH.sub(lambda m: m.group(0)[:4] + "…", context)


def is_vocabulary(text: str, complete: bool) -> bool:
    """Whether a JSON text is a tokenizer vocabulary, judged by its structure."""
    if complete:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict):
            model = doc.get("model")
            if isinstance(model, dict) and ("vocab" in model or "merges" in model):
                return True
            if len(doc) >= VOCAB_MIN_ENTRIES:
                sample = list(doc.values())[:200]
                return all(isinstance(v, int) for v in sample)
            return False
        if isinstance(doc, list):
            return len(doc) >= VOCAB_MIN_ENTRIES and all(isinstance(v, str) for v in doc[:200])
        if doc is not None:
            return False
    # Truncated or broken JSON: judge by the head.
    head = text[:65536]
    if re.search(r'"model"\s*:\s*\{', head) and re.search(r'"(?:vocab|merges)"\s*:', head):
        return True
    return len(re.findall(r'"(?:[^"\\]|\\.){1,64}"\s*:\s*\d+\s*[,}]', head)) >= 500


class SecretsAnalyzer(Analyzer):
    """Finds credentials (API tokens, cloud keys, private keys) in repository text files."""

    name = "secrets"
    formats = frozenset({Format.TEXT, Format.JSON, Format.PYTHON})
    rules = RULES

    def analyze(self, ctx: ScanContext) -> Iterator[Result]:
        """Scan the leading bytes of the file for credentials; never report them in clear."""
        size = ctx.blob.size
        data = ctx.blob.read(0, min(size, MAX_SCAN_BYTES))
        complete = size <= MAX_SCAN_BYTES
        if not complete:
            yield ctx.skip(
                "partially-scanned",
                f"only the first {MAX_SCAN_BYTES} of {size} bytes were searched for secrets",
            )
        text = data.decode("utf-8", errors="replace")
        fmt = ctx.artifact.format
        vocab = fmt is Format.JSON and is_vocabulary(text, complete)
        if vocab:
            yield ctx.fact("secrets.vocabulary", True)
        scanner = _Scanner(text, vocab=vocab, env_style=fmt is Format.TEXT)
        for match in scanner.matches():
            line, col = scanner.position(match.start)
            yield ctx.finding(
                RULE_ID,
                f"{match.kind} in plain text: {redact(match.secret)}{match.note}",
                line=line,
                pointer=f"line {line}, column {col}",
                excerpt=scanner.excerpt(match),
                severity=match.severity,
            )
