"""Line scanners for configs, env files, manifests, shell, JS/TS, Java, Go, C# and friends.

Every pattern is bounded (short quantifiers, lines capped in length) and built from the
knowledge base vocabulary. Comments are removed first: commented-out config is not a reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.kinds import ReferenceKind, Via
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
    ["']?([\w.\-]{0,60}(?:model|llm)(?:[_\-.]?(?:name|id))?)["']?  # a key that says "model"/"llm"
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
# NOTE: hub ids and hosts are found by shape and then looked up in the knowledge base, not by
# one alternation of every namespace and host: that alternation (case-insensitive) was tried at
# every position of every line and cost more than everything else a scan does.
_HF_ID = re.compile(
    r"(?<![\w.\-/@])(?:(?:https?://)?(?:huggingface\.co|hf\.co|hf-mirror\.com)/)?"
    r"([A-Za-z0-9][\w.\-]{0,95})/([A-Za-z0-9][\w.\-]{0,95})"
)
_HOSTISH = re.compile(r"(?<![\w.-])(?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,24}(?![\w-])", re.IGNORECASE)
_URL_TAIL = re.compile(r"(?::\d{1,5})?(?![\w-])(?:/[^\s\"'<>`),;]*)?")
_DOWNLOAD = re.compile(
    r"/[^/?#]+\.(?:sh|ps1|bat|exe|msi|dmg|pkg|deb|rpm|zip|tgz|gz|xz|tar|whl|html?|md|pdf|"
    r"png|jpe?g|gif|svg|ico|css|js)(?:[?#].*)?$"
)
"""Matched on the lowercased URL (a case-insensitive pattern costs more to compile)."""
_BASE_URL_KEY = re.compile(
    r"""(?ix)
    (?:^|[\s,{(\[;])
    ["']?[\w.\-]{0,60}(?:base[_\-.]?url|api[_\-.]?base|endpoint)["']?   # a key naming an API base
    \s*(?::=|=>|[:=])\s*
    ["']?(https?://[^\s"'<>`),;]{3,200})
    """
)
_PRIVATE_HOST = re.compile(
    r"(?:localhost|0\.0\.0\.0|127(?:\.\d{1,3}){3}|10(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}|"
    r"172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|\[?::1\]?|[\w-]+|.+\.(?:local|internal|svc|lan))"
)
"""Hosts on the machine or the private network (or a bare service name such as ``ollama``)."""
_PATH_BEFORE = re.compile(r"(github\.com|gitlab\.com|\.\.|~)/?$")
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

    # NOTE: cheap substring tests first: most lines name nothing, and each pattern below costs
    # a pass over the line.
    low = line.lower()
    for m in _OLLAMA_CMD.finditer(line) if "ollama" in low else ():
        tag = m.group(1)
        if fresh(tag, m.span(1)):
            yield Hit(ReferenceKind.OLLAMA, n, Via.LITERAL, 0.95, model=tag)
    if "/" in line:
        for m in _HF_ID.finditer(line):
            if vocab.publisher_of_namespace(m.group(1)) is None:
                continue
            repo = f"{m.group(1)}/{m.group(2)}".rstrip(".")
            if _path_like(line, m.start()) or not fresh(repo, m.span()):
                continue
            yield Hit(ReferenceKind.HF_MODEL, n, Via.LITERAL, 0.9, model=repo)
    if vocab.host_tld_re.search(low):
        for url, span in _known_urls(vocab, line):
            if fresh(url, span):
                yield Hit(ReferenceKind.API_ENDPOINT, n, Via.LITERAL, 0.95, endpoint=url)
    for m in vocab.router_re.finditer(line) if "/" in line else ():
        value = m.group(0)
        # NOTE: "ollama/ollama:latest" is an image; a router string must name a known model.
        if vocab.names_a_model(m.group(2)) and fresh(value, m.span()):
            provider = vocab.prefixes.get(m.group(1))
            yield Hit(
                ReferenceKind.MODEL_STRING, n, Via.LITERAL, 0.85, model=value, provider=provider
            )
    for m in vocab.class_re.finditer(line) if "(" in line else ():
        provider = vocab.classes[m.group(1)]
        if provider.kind == "api" and not provider.model_patterns and not provider.publisher:
            continue  # a router's client names no model by itself
        if provider.kind in ("api", "ollama") and fresh(m.group(1), m.span(1)):
            yield Hit(ReferenceKind.SDK_CLASS, n, Via.LITERAL, 0.8, model=None, provider=provider)
    keyed = "model" in low or "llm" in low
    for rx, via, applies in (
        (_ENV_DEFAULT, Via.ENV_DEFAULT, "${" in line),
        (_FLAG, Via.CONFIG_KEY, keyed),
        (_KEY_VALUE, Via.CONFIG_KEY, keyed),
        (_DOCKER_ENV, Via.CONFIG_KEY, keyed),
    ):
        for m in rx.finditer(line) if applies else ():
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
    return _PATH_BEFORE.search(line[max(0, start - 40) : start]) is not None


def _known_urls(vocab: Vocabulary, line: str) -> Iterator[tuple[str, tuple[int, int]]]:
    """URLs (or bare hosts) on ``line`` whose host a provider serves, with their spans."""
    for m in _HOSTISH.finditer(line):
        if vocab.provider_of_host(m.group(0)) is None:
            continue
        start = m.start()
        head = line[max(0, start - 8) : start].lower()
        if head.endswith("https://"):
            start -= 8
        elif head.endswith("http://"):
            start -= 7
        tail = _URL_TAIL.match(line, m.end())
        end = tail.end() if tail else m.end()
        url = line[start:end].rstrip(".")
        if _DOWNLOAD.search(url.lower()):
            continue  # an installer, archive, image or page on the host, not its model API
        yield url, (start, end)


def attach_host(hits: list[Hit], vocab: Vocabulary) -> list[Hit]:
    """Give model strings of a file the API host the file points at, when it names exactly one."""
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
            h = h._replace(provider=only)
        out.append(h)
    return out


def keyed_endpoints(vocab: Vocabulary, lines: list[str], *, first_line: int = 1) -> Iterator[Hit]:
    """URLs under a key that names an API base (``*_BASE_URL``, ``api_base``, ``endpoint``) whose
    host the knowledge base does not know: in a file that names models these are the endpoints
    the models are called at, relays included (reported as unresolved hosts). Hosts on the
    machine or the private network are left out: they are not a provider's.
    """
    from modelcustoms.engines.discover.resolve import host_of

    for i, line in enumerate(lines):
        if "://" not in line:
            continue
        for m in _BASE_URL_KEY.finditer(line):
            url = m.group(1).rstrip(".")
            host = host_of(url)
            if not host or _PRIVATE_HOST.fullmatch(host) or vocab.provider_of_host(host):
                continue
            yield Hit(ReferenceKind.API_ENDPOINT, first_line + i, Via.CONFIG_KEY, 0.6, endpoint=url)
