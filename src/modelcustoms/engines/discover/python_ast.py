"""Python sources through the AST: follow model names through constants, dicts, env defaults,
f-strings and settings attributes to the calls that use them.

Nothing is imported or executed. Comments never reach the AST; docstrings are skipped.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import NamedTuple

from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.kbview import ProviderRow
from modelcustoms.engines.discover.kinds import ReferenceKind, Via
from modelcustoms.engines.discover.vocab import Vocabulary

MAX_DEPTH = 8
"""How many names a value is followed through."""

MODEL_ARGS = (
    "model",
    "model_name",
    "model_id",
    "repo_id",
    "pretrained_model_name_or_path",
    "model_name_or_path",
    "model_path",
)
URL_ARGS = ("base_url", "api_base", "openai_api_base", "base_path", "endpoint", "azure_endpoint")
_ENV_GETTERS = {"getenv", "get", "environ.get", "os.getenv", "os.environ.get"}
_REQUEST_METHODS = {"create", "acreate", "completion", "acompletion", "chat", "generate", "embed"}
_NO_POSITIONAL = {"pipeline"}
"""Loaders whose first positional argument is not the model (``pipeline(task, model=...)``)."""

_STRENGTH = {Via.LITERAL: 0, Via.CONSTANT: 1, Via.DICT: 2, Via.ENV_DEFAULT: 3, Via.CONFIG_KEY: 1}


class Value(NamedTuple):
    """A string value and how it got to the place that uses it."""

    text: str
    via: Via
    nodes: tuple[int, ...]
    """ids of the literal nodes it was made of (they are then not reported on their own)."""


class _Module:
    __slots__ = ("consumed", "docstrings", "names")

    def __init__(self) -> None:
        self.names: dict[str, ast.expr] = {}
        self.docstrings: set[int] = set()
        self.consumed: set[int] = set()


def scan_python(vocab: Vocabulary, source: str) -> tuple[list[Hit], str | None]:
    """Hits in a Python module; the error text when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return [], f"{type(exc).__name__}: {exc}"[:200]
    # NOTE: one walk, shared by the three passes (walking is most of the cost of a module).
    nodes = _walk(tree)
    mod = _index(nodes)
    hits = list(_calls(vocab, nodes, mod))
    hits.extend(_loose_literals(vocab, nodes, mod))
    return hits, None


def _walk(tree: ast.AST) -> list[ast.AST]:
    """Every node, in ``ast.walk``'s breadth-first order, without its generator overhead."""
    out: list[ast.AST] = [tree]
    i = 0
    node_type = ast.AST
    while i < len(out):
        node = out[i]
        i += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, node_type):
                out.append(value)
            elif isinstance(value, list):
                out.extend(x for x in value if isinstance(x, node_type))
    return out


def _index(nodes: list[ast.AST]) -> _Module:
    mod = _Module()
    for node in nodes:
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                mod.docstrings.add(id(body[0].value))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            mod.docstrings.add(id(node.value))  # a bare string statement is documentation
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            _bind(mod, node.targets[0], node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            _bind(mod, node.target, node.value)
    return mod


def _bind(mod: _Module, target: ast.expr, value: ast.expr) -> None:
    # NOTE: scope-insensitive on purpose: a settings attribute and a module constant are both
    # found by name, the first binding wins (defaults are usually declared first).
    if isinstance(target, ast.Name):
        mod.names.setdefault(target.id, value)
    elif isinstance(target, ast.Attribute):
        mod.names.setdefault(target.attr, value)


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute) and len(parts) < 16:
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def value_of(mod: _Module, node: ast.expr | None, depth: int = 0) -> Value | None:
    """The string ``node`` evaluates to, when constants and defaults decide it."""
    if node is None or depth > MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant):
        return Value(node.value, Via.LITERAL, (id(node),)) if isinstance(node.value, str) else None
    if isinstance(node, (ast.Name, ast.Attribute)):
        key = node.id if isinstance(node, ast.Name) else node.attr
        bound = mod.names.get(key)
        inner = value_of(mod, bound, depth + 1) if bound is not None else None
        return _via(inner, Via.CONSTANT)
    if isinstance(node, ast.JoinedStr):
        return _fstring(mod, node, depth)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = value_of(mod, node.left, depth + 1), value_of(mod, node.right, depth + 1)
        if left is None or right is None:
            return None
        via = max(left.via, right.via, Via.CONSTANT, key=lambda v: _STRENGTH[v])
        return Value(left.text + right.text, via, left.nodes + right.nodes)
    if isinstance(node, ast.Call):
        return _call_value(mod, node, depth)
    if isinstance(node, ast.Subscript):
        return _subscript(mod, node, depth)
    return None


def _via(inner: Value | None, via: Via) -> Value | None:
    if inner is None:
        return None
    return inner if _STRENGTH[inner.via] >= _STRENGTH[via] else inner._replace(via=via)


def _fstring(mod: _Module, node: ast.JoinedStr, depth: int) -> Value | None:
    text: list[str] = []
    nodes: list[int] = []
    for part in node.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            text.append(part.value)
        elif isinstance(part, ast.FormattedValue):
            inner = value_of(mod, part.value, depth + 1)
            if inner is None:
                return None
            text.append(inner.text)
            nodes.extend(inner.nodes)
        else:
            return None
    return Value("".join(text), Via.CONSTANT, tuple(nodes))


def _call_value(mod: _Module, node: ast.Call, depth: int) -> Value | None:
    name = _dotted(node.func)
    tail = name.rsplit(".", 1)[-1]
    if name in _ENV_GETTERS or tail == "getenv" or name.endswith("environ.get"):
        default = node.args[1] if len(node.args) > 1 else _kw(node, "default")
        return _via(value_of(mod, default, depth + 1), Via.ENV_DEFAULT)
    if tail == "Field":  # pydantic settings: Field("default", ...) or Field(default=...)
        default = node.args[0] if node.args else _kw(node, "default")
        return _via(value_of(mod, default, depth + 1), Via.CONSTANT)
    return None


def _subscript(mod: _Module, node: ast.Subscript, depth: int) -> Value | None:
    key = value_of(mod, node.slice, depth + 1)
    target: ast.expr | None = node.value
    if isinstance(target, (ast.Name, ast.Attribute)):
        target = mod.names.get(target.id if isinstance(target, ast.Name) else target.attr)
    if key is None or not isinstance(target, ast.Dict):
        return None
    for k, v in zip(target.keys, target.values, strict=True):
        if isinstance(k, ast.Constant) and k.value == key.text:
            return _via(value_of(mod, v, depth + 1), Via.DICT)
    return None


def _kw(node: ast.Call, *names: str) -> ast.expr | None:
    for kw in node.keywords:
        if kw.arg in names:
            return kw.value
    return None


def _calls(vocab: Vocabulary, nodes: list[ast.AST], mod: _Module) -> Iterator[Hit]:
    hits: list[Hit] = []
    client: ProviderRow | None = None
    """The provider the file's OpenAI-compatible client points at (last one seen)."""
    for node in sorted(
        (n for n in nodes if isinstance(n, ast.Call)),
        key=lambda n: (n.lineno, n.col_offset),
    ):
        name = _dotted(node.func)
        tail = name.rsplit(".", 1)[-1]
        provider = vocab.classes.get(tail)
        if provider is not None:
            hit, endpoint_provider = _sdk_call(vocab, mod, node, tail, provider)
            if endpoint_provider is not None or provider.id == "openai-api":
                client = endpoint_provider or provider
            if hit is not None:
                hits.append(hit)
        elif tail in _REQUEST_METHODS:
            hit = _request_call(vocab, mod, node, name, client)
            if hit is not None:
                hits.append(hit)
    yield from hits


def _sdk_call(
    vocab: Vocabulary, mod: _Module, node: ast.Call, tail: str, provider: ProviderRow
) -> tuple[Hit | None, ProviderRow | None]:
    model_node = _kw(node, *MODEL_ARGS)
    if model_node is None and node.args and tail not in _NO_POSITIONAL:
        model_node = node.args[0]
    model = value_of(mod, model_node)
    url = value_of(mod, _kw(node, *URL_ARGS))
    endpoint_provider = None
    if url is not None:
        from modelcustoms.engines.discover.resolve import host_of

        endpoint_provider = vocab.provider_of_host(host_of(url.text))
        mod.consumed.update(url.nodes)
    line = node.lineno
    if model is not None and model.text.strip():
        mod.consumed.update(model.nodes)
        kind = {
            "hub": ReferenceKind.HF_MODEL,
            "runtime": ReferenceKind.HF_MODEL,
            "ollama": ReferenceKind.OLLAMA,
        }.get(provider.kind, ReferenceKind.MODEL_STRING)
        if provider.kind in ("hub", "runtime") and not _repo_id(vocab, model.text):
            return None, endpoint_provider  # a local path or a bare task name, not a repo id
        host = endpoint_provider or provider
        return (
            Hit(
                kind,
                line,
                model.via,
                0.95,
                model=model.text,
                endpoint=url.text if url else None,
                provider=host,
            ),
            endpoint_provider,
        )
    if url is not None and url.text.startswith(("http://", "https://")):
        hit = Hit(
            ReferenceKind.API_ENDPOINT, line, url.via, 0.95, endpoint=url.text, provider=provider
        )
        return hit, endpoint_provider
    if provider.kind == "api" and (provider.publisher or provider.model_patterns):
        return Hit(ReferenceKind.SDK_CLASS, line, Via.LITERAL, 0.8, provider=provider), None
    return None, endpoint_provider


_REPO_ID = re.compile(r"[A-Za-z0-9][\w.\-]{0,95}/[A-Za-z0-9][\w.\-]{0,95}")


_LEGACY_ID = re.compile(r"[A-Za-z][\w.\-]{1,95}")
"""A hub id without a namespace (``gpt2``, ``bert-base-uncased``, ``all-MiniLM-L6-v2``): the
loading library resolves it under its default namespace, so it names a model even when the
knowledge base does not know its publisher (it is then reported as unresolved, with why)."""
_FILE_SUFFIX = re.compile(r"\.(?:[A-Za-z]\w{0,11})$")


def _repo_id(vocab: Vocabulary, text: str) -> bool:
    if _REPO_ID.fullmatch(text):
        return True
    if "/" in text or "\\" in text:
        return False
    if vocab.names_a_model(text):
        return True
    # NOTE: a legacy id carries a digit or a hyphen ("gpt2", "roberta-base"); a bare word
    # ("cuda", "bert") or a file name ("model.bin") is not taken for one.
    return (
        _LEGACY_ID.fullmatch(text) is not None
        and any(c.isdigit() or c == "-" for c in text)
        and _FILE_SUFFIX.search(text) is None
    )


def _request_call(
    vocab: Vocabulary, mod: _Module, node: ast.Call, name: str, client: ProviderRow | None
) -> Hit | None:
    model = value_of(mod, _kw(node, "model"))
    if model is None or not model.text.strip():
        return None
    root = name.split(".", 1)[0]
    if root == "ollama":
        mod.consumed.update(model.nodes)
        return Hit(ReferenceKind.OLLAMA, node.lineno, model.via, 0.9, model=model.text)
    if client is None and not vocab.names_a_model(model.text):
        return None
    mod.consumed.update(model.nodes)
    return Hit(
        ReferenceKind.MODEL_STRING, node.lineno, model.via, 0.9, model=model.text, provider=client
    )


def _loose_literals(vocab: Vocabulary, nodes: list[ast.AST], mod: _Module) -> Iterator[Hit]:
    """Strings no call consumed: hub ids of known publishers, router strings, API hosts, and
    model names under a key or name that says "model"."""
    from modelcustoms.engines.discover.text import scan_line

    keyed: dict[int, Via] = {}
    for node in nodes:
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(k, ast.Constant)
                    and isinstance(k.value, str)
                    and "model" in k.value.lower()
                ):
                    keyed[id(v)] = Via.DICT
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
            if any("model" in n.lower() for n in names) and node.value is not None:
                inner = node.value
                if isinstance(inner, ast.Call):
                    inner = (
                        (inner.args[1] if len(inner.args) > 1 else inner.args[0])
                        if inner.args
                        else inner
                    )
                keyed[id(inner)] = Via.CONFIG_KEY
        elif isinstance(node, ast.keyword) and node.arg and "model" in node.arg.lower():
            keyed[id(node.value)] = Via.CONFIG_KEY
    for node in nodes:
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if id(node) in mod.docstrings or id(node) in mod.consumed:
            continue
        text = node.value
        if len(text) > 300 or "\n" in text:
            continue
        line = getattr(node, "lineno", 1)
        if id(node) in keyed and vocab.names_a_model(text.strip()):
            value = text.strip()
            head = value.partition("/")[0]
            kind = (
                ReferenceKind.HF_MODEL
                if "/" in value and vocab.publisher_of_namespace(head) is not None
                else ReferenceKind.MODEL_STRING
            )
            yield Hit(kind, line, keyed[id(node)], 0.8, model=value)
            continue
        # NOTE: only self-identifying values count outside a "model" context (an id of a known
        # publisher, a router prefix, a known API host), never a bare family word.
        whole = text.strip()
        for hit in scan_line(vocab, f'"{whole}"', line):
            if hit.via is Via.LITERAL and whole in (hit.model, hit.endpoint):
                yield hit._replace(confidence=min(hit.confidence, 0.7))
