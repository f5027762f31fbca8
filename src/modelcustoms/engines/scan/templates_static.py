"""Static layer of chat-template checks: walk the parsed Jinja AST for sandbox-escape shapes.

The template is *parsed* (never compiled or rendered in this process). The walker looks for
dunder attributes reached directly, through ``|attr()``, subscripts or strings assembled from
constants, and the globals used by public payloads (``lipsum``, ``cycler``, ``self`` ...); it
also collects the strings the template compares message content against (trigger candidates
for the behavioural layer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from modelcustoms.core import Severity
from modelcustoms.engines.scan.templates_fold import MAX_FOLD_CHARS, ConstFolder
from modelcustoms.engines.scan.templates_issue import TemplateIssue

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
# Callables and objects in the renderers' global namespace. Reading an attribute or item of
# the callable itself (``namespace.__init__``, ``namespace[i]``) has no use in a chat template:
# it is only ever the first step from a function to its ``__globals__``.
_GLOBAL_CALLABLES = frozenset(
    {
        "namespace", "cycler", "joiner", "lipsum", "range", "dict", "raise_exception",
        "strftime_now", "self", "url_for", "get_flashed_messages",
    }
)  # fmt: skip
# Variables the renderers pass in: subscripting them with computed keys is ordinary.
_CONTEXT_DATA = frozenset(
    {
        "messages", "message", "tools", "tool", "documents", "custom_tools", "builtin_tools",
        "xtools", "functions", "kwargs", "varargs",
    }
)  # fmt: skip
_OBJECT_FACTORIES = frozenset({"cycler", "joiner"})
_PRESENCE_TESTS = frozenset({"defined", "undefined", "callable", "none"})
# Filters that read a (dotted) attribute of each item by name.
_ATTRIBUTE_FILTERS = frozenset(
    {"map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min", "max"}
)
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
        self.folder = ConstFolder()
        self.defined: set[str] = set()
        # Names whose use is a call, an access (checked on its own) or a presence test.
        self._called: set[int] = set()
        self._objects: set[str] = set()

    @property
    def consts(self) -> dict[str, str]:
        """Names bound to a constant string somewhere in the template."""
        return self.folder.consts

    def walk(self, root: Any) -> None:
        """Collect constants, then visit every node for escape shapes and triggers."""
        from jinja2 import nodes

        all_nodes = list(_iter_nodes(root))
        assigns = [
            n for n in all_nodes if isinstance(n, nodes.Assign | nodes.AssignBlock | nodes.With)
        ]
        # Flow-insensitive constant propagation of ``{% set x = 'a' ~ 'b' %}`` and
        # ``{% set x %}...{% endset %}``, so payloads that assemble ``__class__`` over several
        # statements are still seen.
        overflow_line: int | None = None
        for _ in range(3):
            for n in assigns:
                self._fold_assign(n)
                if self.folder.overflowed and overflow_line is None:
                    overflow_line = getattr(n, "lineno", None)
        if self.folder.overflowed:
            msg = (
                f"a constant string grows past {MAX_FOLD_CHARS // 1024} KiB "
                "(exponential growth by repeated concatenation?)"
            )
            self._add("template.resource-exhaustion", msg, overflow_line, Severity.MEDIUM, 0.6)
        for n in all_nodes:
            if isinstance(n, nodes.Name) and n.ctx in ("store", "param"):
                self.defined.add(n.name)
            elif isinstance(n, nodes.Macro | nodes.CallBlock):
                self.defined.add(getattr(n, "name", ""))
            elif _uses_as_callee(n):
                self._called.add(id(n.node))
        for n in all_nodes:
            self._visit(n)

    def _fold_assign(self, n: Any) -> None:
        from jinja2 import nodes

        if isinstance(n, nodes.AssignBlock):
            if isinstance(n.target, nodes.Name):
                self.folder.store(n.target.name, self.folder.fold_block(n.body, n.filter))
            return
        if isinstance(n, nodes.With):
            pairs = list(zip(n.targets, n.values, strict=False))
        elif isinstance(n.target, nodes.Tuple) and isinstance(n.node, nodes.Tuple | nodes.List):
            pairs = list(zip(n.target.items, n.node.items, strict=False))
        else:
            pairs = [(n.target, n.node)]
        for target, value in pairs:
            if (
                isinstance(target, nodes.Name)
                and isinstance(value, nodes.Call)
                and isinstance(value.node, nodes.Name)
                and value.node.name in _OBJECT_FACTORIES
            ):
                # A cycler/joiner is a Python object, not data: its methods lead to globals.
                self._objects.add(target.name)
            if isinstance(target, nodes.Name):
                self.folder.store(target.name, self.folder.fold(value))
            elif isinstance(target, nodes.NSRef):
                self.folder.store(f"{target.name}.{target.attr}", self.folder.fold(value))

    def _visit(self, n: Any) -> None:
        from jinja2 import nodes

        line = getattr(n, "lineno", None)
        if isinstance(n, nodes.Getattr):
            self._attr(n.attr, line, "attribute")
            self._on_global(n, f".{n.attr}", line)
        elif isinstance(n, nodes.Getitem):
            for key in self.folder.values(n.arg):
                self._attr(key, line, "subscript")
            self._on_global(n, "[...]", line)
        elif isinstance(n, nodes.Filter) and n.name == "attr":
            name = self.fold(n.args[0]) if n.args else None
            if name is not None:
                self._attr(name, line, "|attr()")
            else:
                self._add("template.sandbox-escape", "|attr() with a computed name", line,
                          Severity.HIGH, 0.6)  # fmt: skip
        elif isinstance(n, nodes.Filter) and n.name in _ATTRIBUTE_FILTERS:
            self._attribute_filter(n, line)
        elif isinstance(n, nodes.Keyword) and n.key.startswith("__"):
            self._add("template.sandbox-escape", f"keyword argument {n.key!r}", line)
        elif isinstance(n, nodes.Name) and n.ctx == "load":
            if n.name in _ESCAPE_NAMES and n.name not in self.defined:
                msg = f"references {n.name!r}, a global used by sandbox-escape payloads"
                self._add("template.sandbox-escape", msg, line, Severity.HIGH, 0.7)
            elif (
                n.name in _GLOBAL_CALLABLES
                and n.name not in self.defined
                and id(n) not in self._called
            ):
                # ``{% set o = namespace %}`` launders the global past the access check.
                msg = f"uses the global function {n.name!r} as a value instead of calling it"
                self._add("template.sandbox-escape", msg, line, Severity.HIGH, 0.8)
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

    def _attribute_filter(self, n: Any, line: int | None) -> None:
        """``map(attribute=...)``, ``selectattr(...)``: dotted attribute paths, getattr outside
        a sandbox."""

        arg = next((k.value for k in n.kwargs if k.key == "attribute"), None)
        if arg is None and n.name in ("selectattr", "rejectattr") and n.args:
            arg = n.args[0]
        if arg is None:
            return
        for path in self.folder.values(arg):
            for part in path.split("."):
                self._attr(part, line, f"|{n.name}() attribute")

    def _on_global(self, n: Any, how: str, line: int | None) -> None:
        """Attribute or item access on a global callable itself: a step towards its globals."""
        from jinja2 import nodes

        base = n.node
        if (
            isinstance(base, nodes.Name)
            and base.name in _GLOBAL_CALLABLES
            and base.name not in self.defined
        ):
            msg = f"reads {base.name}{how}: attribute/item access on a global function"
            self._add("template.sandbox-escape", msg, line)

    def _dynamic_call(self, fn: Any, line: int | None) -> None:
        """A call through ``x[key]`` where ``key`` is computed and ``x`` is not template data.

        Outside a sandbox a subscript falls back to ``getattr``, so an unfoldable key on an
        object (rather than a message or dict) may name any attribute, and the call runs it.
        """
        from jinja2 import nodes

        dynamic = False
        node = fn
        for _ in range(64):
            if isinstance(node, nodes.Getitem):
                if not self.folder.values(node.arg) and not _is_index(node.arg):
                    dynamic = True
            elif not isinstance(node, nodes.Getattr | nodes.Call | nodes.Filter):
                break
            node = node.node
        if dynamic and not self._is_data(node):
            self._add("template.sandbox-escape", "unverifiable dynamic attribute access: a "
                      "computed subscript on a non-data object is then called", line,
                      Severity.HIGH, 0.6)  # fmt: skip

    def _is_data(self, root: Any) -> bool:
        from jinja2 import nodes

        if not isinstance(root, nodes.Name):
            return False
        if root.name in _CONTEXT_DATA:
            return True
        return (
            root.name in self.defined
            and root.name not in self.folder.consts
            and root.name not in self._objects
        )

    def _call(self, n: Any, line: int | None) -> None:
        from jinja2 import nodes

        fn = n.node
        self._dynamic_call(fn, line)
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

    def fold(self, node: Any) -> str | None:
        """The string an expression always evaluates to, when built only from constants."""
        return self.folder.fold(node)

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


def _uses_as_callee(n: Any) -> bool:
    """Whether ``n`` calls, accesses or presence-tests its ``node`` child."""
    from jinja2 import nodes

    if isinstance(n, nodes.Test):
        return n.name in _PRESENCE_TESTS
    return isinstance(n, nodes.Call | nodes.Getattr | nodes.Getitem)


def _is_index(node: Any) -> bool:
    """An integer index, a loop counter or arithmetic on them: never an attribute name."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return isinstance(node.value, int)
    if isinstance(node, nodes.Slice):
        return True
    if isinstance(node, nodes.Neg | nodes.Pos):
        return _is_index(node.node)
    if isinstance(node, nodes.Add | nodes.Sub | nodes.Mul | nodes.FloorDiv | nodes.Mod):
        return _is_index(node.left) or _is_index(node.right)
    if isinstance(node, nodes.Filter) and node.name in ("int", "length", "count"):
        return True
    return (
        isinstance(node, nodes.Getattr)
        and isinstance(node.node, nodes.Name)
        and (node.node.name == "loop")
    )


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
