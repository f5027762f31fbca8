"""Constant folding of Jinja expressions, bounded in size and time.

Payloads assemble ``__globals__`` from pieces (``'__glo' ~ 'bals__'``,
``{% set x %}...{% endset %}``, ``|join``, ``|format``, ``|reverse`` ...) so that no single
constant names a dunder. The folder computes the string an expression always evaluates to,
when it is built only from constants.

Every folded value is capped at :data:`MAX_FOLD_CHARS` (beyond that it is *unknown*), and the
strings stored for named constants share one budget, so ``{% set a2 = a1 ~ a1 %}`` doubling
over many lines costs linear time and bounded memory instead of hanging the scanner.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MAX_FOLD_CHARS = 64 * 1024
"""Largest folded string; longer values are treated as unknown."""
MAX_STORED_CHARS = 1024 * 1024
"""Total characters kept for named constants."""
_MAX_FOLD_DEPTH = 24
_MAX_ALTERNATIVES = 16

_SIMPLE_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "string": str,
    "safe": str,
    "capitalize": str.capitalize,
    "title": str.title,
}


class ConstFolder:
    """Folds Jinja expressions to strings using a flow-insensitive table of named constants."""

    def __init__(self) -> None:
        self.consts: dict[str, str] = {}
        self.alternatives: dict[str, list[str]] = {}
        """Every distinct value a name was assigned, for keys whose value depends on flow."""
        self.overflowed = False
        """Set when some value exceeded a cap (suspicious exponential growth)."""
        self._stored = 0

    def store(self, name: str, value: str | None) -> None:
        """Record that ``name`` is assigned ``value`` (``None``: not a constant)."""
        if value is None:
            return
        prev = self.consts.get(name)
        extra = len(value) - (len(prev) if prev is not None else 0)
        if prev != value and self._stored + extra > MAX_STORED_CHARS:
            self.overflowed = True
            return
        alts = self.alternatives.setdefault(name, [])
        if value not in alts:
            if len(alts) >= _MAX_ALTERNATIVES:
                return
            alts.append(value)
        self._stored += extra
        self.consts[name] = value

    def values(self, node: Any) -> list[str]:
        """Every constant value ``node`` may take (several for a name assigned several)."""
        from jinja2 import nodes

        if isinstance(node, nodes.Name) and node.name in self.alternatives:
            return list(self.alternatives[node.name])
        value = self.fold(node)
        return [] if value is None else [value]

    def fold(self, node: Any, depth: int = 0) -> str | None:
        """The string an expression always evaluates to, when built only from constants."""
        from jinja2 import nodes

        if depth > _MAX_FOLD_DEPTH:
            return None
        d = depth + 1
        if isinstance(node, nodes.Const):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, nodes.TemplateData):
            return self._capped(node.data)
        if isinstance(node, nodes.Name):
            return self.consts.get(node.name)
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            # ``{% set ns.key = '...' %}`` stores under "ns.key".
            return self.consts.get(f"{node.node.name}.{node.attr}")
        if isinstance(node, nodes.Concat):
            return self._join([self._lazy(x, d) for x in node.nodes])
        if isinstance(node, nodes.Add):
            return self._join([self._lazy(node.left, d), self._lazy(node.right, d)])
        if isinstance(node, nodes.Mul):
            return self._fold_mul(node, d)
        if isinstance(node, nodes.Filter) and node.node is not None:
            inner = None if node.name == "join" else self.fold(node.node, d)
            return self.apply_filter(node, inner, d)
        return None

    def fold_block(self, body: list[Any], filt: Any) -> str | None:
        """The text a ``{% set x %}...{% endset %}`` body always produces, if constant."""
        from jinja2 import nodes

        parts: list[Callable[[], str | None]] = []
        for stmt in body:
            if not isinstance(stmt, nodes.Output):
                return None
            parts.extend(self._lazy(x, 1) for x in stmt.nodes)
        value = self._join(parts)
        if value is None or filt is None:
            return value
        # A block filter chain is nested Filter nodes whose innermost ``node`` is None.
        chain: list[Any] = []
        while isinstance(filt, nodes.Filter) and len(chain) <= _MAX_FOLD_DEPTH:
            chain.append(filt)
            filt = filt.node
        for f in reversed(chain):
            value = self.apply_filter(f, value, 1)
            if value is None:
                return None
        return value

    def apply_filter(self, node: Any, inner: str | None, d: int) -> str | None:
        """``inner|name(args)`` for the filters payloads use to disguise names."""
        if node.name == "join":
            return self._fold_join(node, d)
        if inner is None:
            return None
        if node.name in _SIMPLE_FILTERS:
            return _SIMPLE_FILTERS[node.name](inner)
        if node.name == "reverse":
            return inner[::-1]
        if node.name == "replace" and len(node.args) >= 2:
            old, new = self.fold(node.args[0], d), self.fold(node.args[1], d)
            if old is None or new is None:
                return None
            # Worst case: every position matches (an empty ``old`` inserts between characters).
            if len(inner) * (len(new) + 1) + len(new) > MAX_FOLD_CHARS:
                return self._capped(inner.replace(old, new)) if len(old) >= len(new) else None
            return inner.replace(old, new)
        if node.name == "format":
            return self._fold_format(node, inner, d)
        return None

    def _fold_join(self, node: Any, d: int) -> str | None:
        from jinja2 import nodes

        sep = self.fold(node.args[0], d) if node.args else ""
        if sep is None:
            return None
        if isinstance(node.node, nodes.List | nodes.Tuple):
            items = [self._lazy(item, d) for item in node.node.items]
        else:
            # A string joins its characters.
            text = self.fold(node.node, d)
            if text is None or len(text) * (len(sep) + 1) > MAX_FOLD_CHARS:
                return None
            return sep.join(text)
        parts: list[Callable[[], str | None]] = []
        for i, item in enumerate(items):
            if i:
                parts.append(self._const(sep))
            parts.append(item)
        return self._join(parts)

    def _fold_format(self, node: Any, inner: str, d: int) -> str | None:
        from jinja2 import nodes

        if re.search(r"%[-#0 +]*[\d*]", inner):  # width/precision could blow up
            return None
        args: list[object] = []
        for a in node.args:
            if isinstance(a, nodes.Const) and isinstance(a.value, int | float | str):
                args.append(a.value)
            else:
                folded = self.fold(a, d)
                if folded is None:
                    return None
                args.append(folded)
        try:
            return self._capped(inner % tuple(args))
        except (TypeError, ValueError, OverflowError):
            return None

    def _fold_mul(self, node: Any, d: int) -> str | None:
        from jinja2 import nodes

        text, count = node.left, node.right
        if isinstance(text, nodes.Const) and isinstance(text.value, int):
            text, count = count, text
        if not (isinstance(count, nodes.Const) and isinstance(count.value, int)):
            return None
        value = self.fold(text, d)
        if value is None or count.value < 0 or isinstance(count.value, bool):
            return None
        if len(value) * count.value > MAX_FOLD_CHARS:
            self.overflowed = True
            return None
        return value * count.value

    def _lazy(self, node: Any, d: int) -> Callable[[], str | None]:
        return lambda: self.fold(node, d)

    @staticmethod
    def _const(value: str) -> Callable[[], str | None]:
        return lambda: value

    def _join(self, parts: list[Callable[[], str | None]]) -> str | None:
        """Concatenate lazily folded parts, giving up as soon as one is unknown or too big."""
        out: list[str] = []
        size = 0
        for part in parts:
            value = part()
            if value is None:
                return None
            size += len(value)
            if size > MAX_FOLD_CHARS:
                self.overflowed = True
                return None
            out.append(value)
        return "".join(out)

    def _capped(self, value: str) -> str | None:
        if len(value) > MAX_FOLD_CHARS:
            self.overflowed = True
            return None
        return value
