"""Which facts an expression touches, read from its tokens (independent of the CEL library).

CEL's logical operators absorb errors: ``facts.missing || true`` is ``true``. A rule that
touches an absent fact could therefore pass silently. Before a rule runs, the evaluator checks
that every ``facts.a.b`` path the expression names is present; a path is optional only when
the author guarded it with ``has()`` (``has(facts.audit) && facts.audit.suites…``). In CEL,
``has(facts.a.b)`` itself needs ``facts.a`` to exist, so the parent of a ``has()`` path counts
as touched.
"""

from __future__ import annotations

import re

ROOT = "facts"

_TOKEN = re.compile(
    r"""
    (?P<string>(?:[rR][bB]?|[bB][rR]?)?(?:'''(?:.|\n)*?'''|\"\"\"(?:.|\n)*?\"\"\"
        |'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<number>[0-9][0-9A-Za-z_.]*)
    |(?P<space>\s+)
    |(?P<punct>.)
    """,
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "punct"
        if kind != "space":
            out.append((kind, m.group()))
    return out


def touched_paths(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """``(touched, guarded)`` dotted fact paths named by ``text`` (without the ``facts.``)."""
    toks = _tokens(text)
    touched: set[tuple[str, ...]] = set()
    guarded: set[tuple[str, ...]] = set()
    i = 0
    while i < len(toks):
        kind, value = toks[i]
        if kind != "ident" or value != ROOT or (i > 0 and toks[i - 1][1] == "."):
            i += 1
            continue
        parts: list[str] = []
        j = i + 1
        while j + 1 < len(toks) and toks[j][1] == "." and toks[j + 1][0] == "ident":
            parts.append(toks[j + 1][1])
            j += 2
        if parts and j < len(toks) and toks[j][1] == "(":
            parts.pop()  # the last name is a method call: facts.x.size()
        in_has = (
            i >= 2
            and toks[i - 1][1] == "("
            and toks[i - 2] == ("ident", "has")
            and j < len(toks)
            and toks[j][1] == ")"
        )
        if in_has and parts:
            guarded.add(tuple(parts))
            if len(parts) > 1:
                touched.add(tuple(parts[:-1]))
        elif parts:
            touched.add(tuple(parts))
        i = j
    return _dotted(touched), _dotted(guarded)


def required_paths(text: str) -> frozenset[str]:
    """Paths the expression needs: touched and not under a ``has()``-guarded prefix."""
    touched, guarded = touched_paths(text)
    guards = [g.split(".") for g in guarded]
    out = set()
    for path in touched:
        parts = path.split(".")
        if not any(parts[: len(g)] == g for g in guards):
            out.add(path)
    return frozenset(out)


def _dotted(paths: set[tuple[str, ...]]) -> frozenset[str]:
    return frozenset(".".join(p) for p in paths)
