"""Knowledge-base name patterns compiled on first use, behind a literal every match contains.

A run compiles ~120 family and provider patterns otherwise, although a repository's few model
names meet only a handful: compiling them all costs more than scanning a small repository.
Each pattern's leading literal (``qwen2`` of ``\\bqwen2\\.5``) is read from its source; a text
without it cannot match, so the pattern is neither compiled nor run for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_ZERO_WIDTH = ("\\b", "^")
_META = set("()[]{}|?*+^$.\\")
_QUANTIFIERS = set("?*{")


def leading_literal(pattern: str) -> str:
    """A string every match of ``pattern`` contains ("" when none can be read off safely)."""
    if _top_level_alternation(pattern):
        return ""
    i = 0
    while True:
        for prefix in _ZERO_WIDTH:
            if pattern.startswith(prefix, i):
                i += len(prefix)
                break
        else:
            if pattern.startswith(("(?<!", "(?<=", "(?!", "(?="), i):
                end = _group_end(pattern, i)
                if end < 0:
                    return ""
                i = end + 1
                continue
            break
    out: list[str] = []
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in ".-_/:":
            literal, step = pattern[i + 1], 2
        elif c in _META:
            break
        else:
            literal, step = c, 1
        if i + step < len(pattern) and pattern[i + step] in _QUANTIFIERS:
            break  # this character is optional or repeated: the literal ends before it
        out.append(literal)
        i += step
    text = "".join(out)
    return text if text == text.lower() else ""


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """``(index, char, depth)`` of each structural character (escapes and classes skipped).

    ``depth`` is the group depth after the character: 1 after a top-level ``(``, 0 after its
    ``)``.
    """
    depth = 0
    i = start
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        else:
            depth += (c == "(") - (c == ")")
            yield i, c, depth
        i += 1


def _group_end(pattern: str, start: int) -> int:
    """Index of the ``)`` closing the group opened at ``start`` (-1 when unbalanced)."""
    return next((i for i, c, depth in _structure(pattern, start) if c == ")" and depth == 0), -1)


def _top_level_alternation(pattern: str) -> bool:
    return any(c == "|" and depth == 0 for _, c, depth in _structure(pattern))


class LazyPattern:
    """A pattern searched in lowercased text, compiled the first time a text could match."""

    __slots__ = ("_compiled", "literal", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.literal = leading_literal(pattern)
        self._compiled: re.Pattern[str] | None = None

    def search(self, low: str) -> re.Match[str] | None:
        """``re.search`` of the pattern in ``low`` (already lowercased)."""
        if self.literal and self.literal not in low:
            return None
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled.search(low)
