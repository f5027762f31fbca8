"""Model card parsing: the YAML front matter subset that cards use, and the title.

Only what provenance needs is understood: top-level ``key: scalar``, ``key: [a, b]`` and
``key:`` followed by ``- item`` lines. Nested mappings are skipped. This is not a YAML parser
and never evaluates anything; unknown constructs are ignored.
"""

from __future__ import annotations

import re
from typing import Any

MAX_LINES = 2000
MAX_ITEMS = 256
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)\s*:\s*(.*)$")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_HTML_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE)


def parse_card(text: str) -> tuple[dict[str, Any], str | None]:
    """The front matter (as plain strings and lists of strings) and the first H1 title."""
    lines = text.lstrip("\ufeff").splitlines()[:MAX_LINES]
    front: dict[str, Any] = {}
    body_start = 0
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            front = _front_matter(lines[1:end])
            body_start = end + 1
    return front, _title(lines[body_start:])


def _front_matter(lines: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    key: str | None = None
    for raw in lines:
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace() and not raw.startswith("-"):
            m = _KEY.match(raw)
            key = None
            if m is None:
                continue
            name, rest = m.group(1), m.group(2).strip()
            if rest in ("", "|", ">", ">-", "|-"):
                key = name
                out[name] = []
            else:
                out[name] = _inline(rest)
            continue
        item = raw.strip()
        if key is not None and item.startswith("- ") and isinstance(out.get(key), list):
            values = out[key]
            if len(values) < MAX_ITEMS:
                values.append(_scalar(item[2:].strip()))
    return {k: v for k, v in out.items() if v != []}


def _inline(value: str) -> str | list[str]:
    if value.startswith("[") and value.endswith("]"):
        return [_scalar(v.strip()) for v in value[1:-1].split(",") if v.strip()][:MAX_ITEMS]
    return _scalar(value)


def _scalar(value: str) -> str:
    value = value.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value[:500]


def _title(lines: list[str]) -> str | None:
    for line in lines[:200]:
        m = _H1.match(line.strip())
        if m:
            return _clean(m.group(1))
        h = _HTML_H1.search(line)
        if h:
            return _clean(re.sub(r"<[^>]+>", "", h.group(1)))
    return None


def _clean(title: str) -> str | None:
    title = re.sub(r"[*_`]+", "", title).strip()
    return title[:200] or None
