"""Line scanners for configs, env files, manifests, shell, JS/TS, Java, Go, C# and friends.

Every pattern is bounded (short quantifiers, lines capped in length) and built from the
knowledge base vocabulary. Comments are removed first: commented-out config is not a reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

from modelcustoms.core.references import ReferenceKind, Via
from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.vocab import Vocabulary

MAX_LINE = 4096
"""Longer lines (minified code, embedded blobs) are cut: references live in short lines."""


class Syntax(StrEnum):
    """How comments are written."""

    HASH = "hash"
    """``#`` to end of line (YAML, TOML, shell, env, Dockerfile, Makefile, properties, Python)."""
    SLASH = "slash"
    """``//`` and ``/* */`` (JS/TS, Java, Go, C#, Kotlin, Rust)."""
    HCL = "hcl"
    """Both (Terraform)."""
    NONE = "none"
    """No comments (JSON)."""


_OLLAMA_CMD = re.compile(
    r"\bollama[\"',\s]+(?:pull|run)[\"',\s]+([A-Za-z0-9][\w.\-/]{0,80}(?::[\w.\-]{1,40})?)"
)
_KEY_VALUE = re.compile(
    r"""(?ix)
    (?:^|[\s,{(\[;])
    ["']?([\w.\-]{0,60}model(?:[_\-.]?(?:name|id))?)["']?     # a key that says "model"
    \s*(?::=|=>|[:=])\s*
    ["']?([A-Za-z0-9][\w./:@\-]{1,120})
    """
)
_FLAG = re.compile(
    r"""(?ix)
    (?:^|[\s"'\[,])--model(?:[-_]?(?:name|id|path))?
    (?:["']?\s*,\s*["']?|=|\s+)
    ["']?([A-Za-z0-9][\w./:@\-]{1,120})
    """
)
_DOCKER_ENV = re.compile(
    r"""(?ix)
    ^\s*ENV\s+[\w.\-]{0,60}model(?:[_\-.]?(?:name|id))?   # legacy `ENV KEY value` form
    \s+["']?([A-Za-z0-9][\w./:@\-]{1,120})["']?\s*$
    """
)
_ENV_DEFAULT = re.compile(r"\$\{(\w{1,80}):?-([A-Za-z0-9][\w./:@\-]{0,120})\}")
_BARE = re.compile(r"[\w.:\-]{2,80}")
_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`")


def strip_comments(text: str, syntax: Syntax) -> list[str]:
    """The lines of ``text`` with comments blanked (line numbers are kept)."""
    lines = text.splitlines()
    if syntax is Syntax.NONE:
        return [ln[:MAX_LINE] for ln in lines]
    out: list[str] = []
    in_block = False
    for raw in lines:
        line = raw[:MAX_LINE]
        if syntax in (Syntax.SLASH, Syntax.HCL):
            line, in_block = _strip_slash(line, in_block)
        if syntax in (Syntax.HASH, Syntax.HCL):
            line = _strip_hash(line)
        out.append(line)
    return out


def _strip_hash(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    # An inline comment starts at a '#' after whitespace that is outside quotes.
    pos = _outside_strings(line, " #")
    return line if pos < 0 else line[:pos]


def _strip_slash(line: str, in_block: bool) -> tuple[str, bool]:
    out: list[str] = []
    i = 0
    while i < len(line):
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 2, False
            continue
        rest = line[i:]
        start_block = _outside_strings(rest, "/*")
        start_line = _outside_strings(rest, "//", url_safe=True)
        if start_line >= 0 and (start_block < 0 or start_line < start_block):
            out.append(rest[:start_line])
            return "".join(out), False
        if start_block < 0:
            out.append(rest)
            return "".join(out), False
        out.append(rest[:start_block])
        i += start_block + 2
        in_block = True
    return "".join(out), in_block


def _outside_strings(line: str, token: str, *, url_safe: bool = False) -> int:
    """Index of ``token`` outside quoted strings, or -1."""
    spans = [m.span() for m in _STRING.finditer(line)] if any(q in line for q in "\"'`") else []
    start = 0
    while True:
        pos = line.find(token, start)
        if pos < 0:
            return -1
        inside = any(a <= pos < b for a, b in spans)
        # NOTE: "https://host" is not a comment even outside quotes (YAML, properties, .env).
        if not inside and not (url_safe and pos > 0 and line[pos - 1] == ":"):
            return pos
        start = pos + 1


def scan_lines(vocab: Vocabulary, lines: list[str], *, first_line: int = 1) -> Iterator[Hit]:
    """Hits on comment-free lines (``first_line`` numbers the first one)."""
    for i, line in enumerate(lines):
        if line.strip():
            yield from scan_line(vocab, line, first_line + i)


def scan_line(vocab: Vocabulary, line: str, n: int) -> Iterator[Hit]:
    """Hits on one comment-free line; each value at most once."""
    seen: set[str] = set()
    covered: list[tuple[int, int]] = []

    def fresh(value: str, span: tuple[int, int]) -> bool:
        key = value.lower().rstrip("/")
        if key in seen or any(a <= span[0] < b for a, b in covered):
            return False
        seen.add(key)
        covered.append(span)
        return True

    for m in _OLLAMA_CMD.finditer(line):
        tag = m.group(1)
        if fresh(tag, m.span(1)):
            yield Hit(ReferenceKind.OLLAMA, n, Via.LITERAL, 0.95, model=tag)
    for m in vocab.hf_id_re.finditer(line):
        repo = f"{m.group(1)}/{m.group(2)}".rstrip(".")
        if _path_like(line, m.start()) or not fresh(repo, m.span()):
            continue
        yield Hit(ReferenceKind.HF_MODEL, n, Via.LITERAL, 0.9, model=repo)
    for m in vocab.host_re.finditer(line):
        url = m.group(0).rstrip(".")
        if fresh(url, m.span()):
            yield Hit(ReferenceKind.API_ENDPOINT, n, Via.LITERAL, 0.95, endpoint=url)
    for m in vocab.router_re.finditer(line):
        value = m.group(0)
        # NOTE: "ollama/ollama:latest" is an image; a router string must name a known model.
        if vocab.names_a_model(m.group(2)) and fresh(value, m.span()):
            provider = vocab.prefixes.get(m.group(1))
            yield Hit(
                ReferenceKind.MODEL_STRING, n, Via.LITERAL, 0.85, model=value, provider=provider
            )
    for m in vocab.class_re.finditer(line):
        provider = vocab.classes[m.group(1)]
        if provider.kind == "api" and not provider.model_patterns and not provider.publisher:
            continue  # a router's client names no model by itself
        if provider.kind in ("api", "ollama") and fresh(m.group(1), m.span(1)):
            yield Hit(ReferenceKind.SDK_CLASS, n, Via.LITERAL, 0.8, model=None, provider=provider)
    for rx, via in (
        (_ENV_DEFAULT, Via.ENV_DEFAULT),
        (_FLAG, Via.CONFIG_KEY),
        (_KEY_VALUE, Via.CONFIG_KEY),
        (_DOCKER_ENV, Via.CONFIG_KEY),
    ):
        for m in rx.finditer(line):
            value = m.group(m.lastindex or 1).rstrip(".,:")
            if vocab.names_a_model(value) and fresh(value, m.span(m.lastindex or 1)):
                kind = ReferenceKind.MODEL_STRING
                head = value.partition("/")[0]
                if "/" in value and vocab.publisher_of_namespace(head) is not None:
                    kind = ReferenceKind.HF_MODEL
                yield Hit(kind, n, via, 0.8, model=value)
    for m in _STRING.finditer(line):
        value = m.group(0)[1:-1].strip()
        # A quoted name of a provider's own model is unambiguous on its own ("hunyuan-turbo").
        if _BARE.fullmatch(value) and vocab.provider_of_model(value) and fresh(value, m.span()):
            yield Hit(ReferenceKind.MODEL_STRING, n, Via.LITERAL, 0.6, model=value)


def _path_like(line: str, start: int) -> bool:
    """True when the match continues a filesystem path or a non-hub URL."""
    before = line[max(0, start - 40) : start]
    return bool(re.search(r"(github\.com|gitlab\.com|\.\.|~)/?$", before))


def attach_host(hits: list[Hit], vocab: Vocabulary) -> list[Hit]:
    """Give model strings of a file the API host the file points at, when it names exactly one."""
    from dataclasses import replace

    from modelcustoms.engines.discover.resolve import host_of

    providers = {
        p.id: p
        for h in hits
        if h.kind is ReferenceKind.API_ENDPOINT and h.endpoint
        for p in [vocab.provider_of_host(host_of(h.endpoint))]
        if p is not None
    }
    if len(providers) != 1:
        return hits
    (only,) = providers.values()
    out = []
    for h in hits:
        if h.kind is ReferenceKind.SDK_CLASS and h.provider is not None and h.provider is not only:
            continue  # a compatible client ("new OpenAI(...)") pointed at the file's one host
        if h.kind is ReferenceKind.MODEL_STRING and h.provider is None:
            h = replace(h, provider=only)
        out.append(h)
    return out
