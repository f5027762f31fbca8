"""Static layer of chat-template checks: walk the parsed Jinja AST for sandbox-escape shapes.

The template is *parsed* (never compiled or rendered in this process). The walker looks for
dunder attributes reached directly, through ``|attr()``, subscripts or strings assembled from
constants, and the globals used by public payloads (``lipsum``, ``cycler``, ``self`` ...); it
also collects the strings the template compares message content against (trigger candidates
for the behavioural layer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from modelcustoms.core import Severity
from modelcustoms.engines.scan.templates_issue import TemplateIssue

_MAX_FOLD_DEPTH = 24

# Attributes that only sandbox escapes need (beyond ``_``-prefixed ones, which Jinja's sandbox
# already refuses). See the Jinja SSTI literature and CVE-2019-10906 (str.format_map).
_ESCAPE_ATTRS = frozenset(
    {
        "func_globals", "f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "gi_code",
        "cr_frame", "ag_frame", "tb_frame", "co_code", "im_func", "func_code", "mro",
        "format_map", "popen", "environ", "import_module", "load_module", "exec_module",
    }
)  # fmt: skip
# Jinja/Flask globals that public payloads start from; chat templates have no use for them.
_ESCAPE_NAMES = frozenset(
    {
        "lipsum", "cycler", "joiner", "self", "config", "request", "os", "url_for",
        "get_flashed_messages", "sys", "subprocess", "builtins", "__builtins__", "importlib",
        "globals", "locals", "eval", "exec", "open", "getattr", "setattr", "__import__",
    }
)  # fmt: skip
_TRIGGER_METHODS = frozenset(
    {"startswith", "endswith", "find", "rfind", "index", "rindex", "count", "split", "rsplit",
     "partition", "rpartition"}
)  # fmt: skip
_DUNDER_IN_TEXT = re.compile(
    r"__(class|globals|subclasses|mro|bases|base|builtins|import|init|getattribute|code|"
    r"dict|reduce|reduce_ex|func|self|loader|spec)__"
)


class StaticWalker:
    """Walks a parsed template (explicit stack) for escape shapes and trigger constants."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.issues: list[TemplateIssue] = []
        self.triggers: list[str] = []
        self.consts: dict[str, str] = {}
        self.defined: set[str] = set()

    def walk(self, root: Any) -> None:
        from jinja2 import nodes

        all_nodes = list(_iter_nodes(root))
        # Flow-insensitive constant propagation of ``{% set x = 'a' ~ 'b' %}``, so payloads that
        # assemble ``__class__`` over several statements are still seen.
        for _ in range(3):
            for n in all_nodes:
                if isinstance(n, nodes.Assign) and isinstance(n.target, nodes.Name):
                    folded = self.fold(n.node)
                    if folded is not None:
                        self.consts[n.target.name] = folded
        for n in all_nodes:
            if isinstance(n, nodes.Name) and n.ctx in ("store", "param"):
                self.defined.add(n.name)
            elif isinstance(n, nodes.Macro | nodes.CallBlock):
                self.defined.add(getattr(n, "name", ""))
        for n in all_nodes:
            self._visit(n)

    def _visit(self, n: Any) -> None:
        from jinja2 import nodes

        line = getattr(n, "lineno", None)
        if isinstance(n, nodes.Getattr):
            self._attr(n.attr, line, "attribute")
        elif isinstance(n, nodes.Getitem):
            key = self.fold(n.arg)
            if key is not None:
                self._attr(key, line, "subscript")
        elif isinstance(n, nodes.Filter) and n.name == "attr":
            name = self.fold(n.args[0]) if n.args else None
            if name is not None:
                self._attr(name, line, "|attr()")
            else:
                self._add("template.sandbox-escape", "|attr() with a computed name", line,
                          Severity.HIGH, 0.6)  # fmt: skip
        elif isinstance(n, nodes.Keyword) and n.key.startswith("__"):
            self._add("template.sandbox-escape", f"keyword argument {n.key!r}", line)
        elif isinstance(n, nodes.Name) and n.ctx == "load":
            if n.name in _ESCAPE_NAMES and n.name not in self.defined:
                msg = f"references {n.name!r}, a global used by sandbox-escape payloads"
                self._add("template.sandbox-escape", msg, line, Severity.HIGH, 0.7)
        elif isinstance(n, nodes.Const) and isinstance(n.value, str):
            m = _DUNDER_IN_TEXT.search(n.value)
            if m:
                self._add("template.sandbox-escape", f"string constant contains {m.group(0)!r}",
                          line, None, 0.8)  # fmt: skip
        elif isinstance(n, nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends):
            msg = f"{type(n).__name__.lower()} loads another template (file access)"
            self._add("template.sandbox-escape", msg, line, Severity.HIGH, 0.7)
        elif isinstance(n, nodes.Call):
            self._call(n, line)
        elif isinstance(n, nodes.Compare):
            self._compare(n)
        elif isinstance(n, nodes.Mul | nodes.Pow):
            big = _big_int(n.right) or _big_int(n.left)
            if big or (isinstance(n, nodes.Pow) and _big_int(n.right, 64)):
                self._add("template.resource-exhaustion", "multiplies or raises by a huge constant",
                          line, None, 0.8)  # fmt: skip

    def _attr(self, name: str, line: int | None, how: str) -> None:
        if name.startswith("_"):
            sev = None if "__" in name else Severity.HIGH
            self._add("template.sandbox-escape", f"{how} {name!r} (Python internals)", line, sev)
        elif name in _ESCAPE_ATTRS:
            self._add("template.sandbox-escape", f"{how} {name!r}", line, Severity.HIGH, 0.8)

    def _call(self, n: Any, line: int | None) -> None:
        from jinja2 import nodes

        fn = n.node
        is_range = isinstance(fn, nodes.Name) and fn.name == "range"
        if is_range and "range" not in self.defined and any(_big_int(a, 10_000) for a in n.args):
            self._add("template.resource-exhaustion", "range() over a huge constant", line,
                          None, 0.8)  # fmt: skip
        if isinstance(fn, nodes.Getattr) and fn.attr in _TRIGGER_METHODS and n.args:
            self._trigger(n.args[0])

    def _compare(self, n: Any) -> None:
        if not n.ops or n.ops[0].op not in ("eq", "ne", "in", "notin"):
            return
        self._trigger(n.expr)
        self._trigger(n.ops[0].expr)

    def _trigger(self, node: Any) -> None:
        from jinja2 import nodes

        items = node.items if isinstance(node, nodes.List | nodes.Tuple) else [node]
        for item in items:
            value = self.fold(item)
            if value and value.strip() and len(value) <= 256 and value not in self.triggers:
                self.triggers.append(value)

    def fold(self, node: Any, depth: int = 0) -> str | None:
        """The string an expression always evaluates to, when built only from constants."""
        from jinja2 import nodes

        if depth > _MAX_FOLD_DEPTH:
            return None
        d = depth + 1
        if isinstance(node, nodes.Const):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, nodes.Name):
            return self.consts.get(node.name)
        if isinstance(node, nodes.Concat):
            parts = [self.fold(x, d) for x in node.nodes]
            return None if None in parts else "".join(p for p in parts if p is not None)
        if isinstance(node, nodes.Add):
            left, right = self.fold(node.left, d), self.fold(node.right, d)
            return None if left is None or right is None else left + right
        if isinstance(node, nodes.Filter) and node.node is not None:
            return self._fold_filter(node, d)
        return None

    def _fold_filter(self, node: Any, d: int) -> str | None:
        from jinja2 import nodes

        if node.name == "join" and isinstance(node.node, nodes.List | nodes.Tuple):
            parts = [self.fold(x, d) for x in node.node.items]
            sep = self.fold(node.args[0], d) if node.args else ""
            if None in parts or sep is None:
                return None
            return sep.join(p for p in parts if p is not None)
        inner = self.fold(node.node, d)
        if inner is None:
            return None
        if node.name in _SIMPLE_FILTERS:
            return _SIMPLE_FILTERS[node.name](inner)
        if node.name == "reverse":
            return inner[::-1]
        if node.name == "replace" and len(node.args) >= 2:
            old, new = self.fold(node.args[0], d), self.fold(node.args[1], d)
            if old is not None and new is not None and len(inner) * (len(new) + 1) < 100_000:
                return inner.replace(old, new)
        if node.name == "format" and not re.search(r"%[-#0 +]*\d", inner):
            args = [a.value if isinstance(a, nodes.Const) else None for a in node.args]
            if None not in args:
                try:
                    return inner % tuple(args)
                except (TypeError, ValueError, OverflowError):
                    return None
        return None

    def _add(
        self,
        rule: str,
        what: str,
        line: int | None,
        severity: Severity | None = None,
        confidence: float = 1.0,
    ) -> None:
        self.issues.append(
            TemplateIssue(rule, what, source_line(self.text, line), line, severity, confidence)
        )


_SIMPLE_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "string": str,
}


def _iter_nodes(root: Any) -> Iterator[Any]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(node.iter_child_nodes())))


def _big_int(node: Any, limit: int = 100_000) -> bool:
    value = getattr(node, "value", None)
    return isinstance(value, int) and not isinstance(value, bool) and value >= limit


def source_line(text: str, line: int | None) -> str | None:
    """The stripped text of 1-based ``line`` in ``text`` (at most 300 characters), if any."""
    if not isinstance(line, int) or line < 1:
        return None
    lines = text.splitlines()
    return lines[line - 1].strip()[:300] if line <= len(lines) else None


def dedupe(issues: list[TemplateIssue]) -> list[TemplateIssue]:
    """One issue per rule and line: a one-line payload is one finding, not seven."""
    merged: dict[tuple[str, int | None], TemplateIssue] = {}
    for i in issues:
        key = (i.rule_id, i.line)
        prev = merged.get(key)
        if prev is None:
            merged[key] = i
        elif i.message not in prev.message:
            sev = _worse(prev.severity, i.severity)
            merged[key] = TemplateIssue(
                i.rule_id,
                f"{prev.message}; {i.message}",
                prev.excerpt or i.excerpt,
                i.line,
                sev,
                max(prev.confidence, i.confidence),
            )
    return list(merged.values())


def _worse(a: Severity | None, b: Severity | None) -> Severity | None:
    """The worse of two overrides, where None (the rule's own default) is the worst."""
    if a is None or b is None:
        return None
    return a if a >= b else b
