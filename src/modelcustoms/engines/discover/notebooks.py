"""Jupyter notebooks: code cells through the Python scanner, shell escapes through the line
scanner; markdown cells are documentation and are not read."""

from __future__ import annotations

import json

from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.python_ast import scan_python
from modelcustoms.engines.discover.text import Syntax, scan_lines, strip_comments
from modelcustoms.engines.discover.vocab import Vocabulary

MAX_CELLS = 10_000


def scan_notebook(vocab: Vocabulary, data: bytes) -> tuple[list[Hit], str | None]:
    """Hits in the code cells of an ``.ipynb`` document (lines are relative to each cell)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        return [], f"not a JSON notebook: {exc}"[:200]
    cells = doc.get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, list):
        return [], "no cells list"
    hits: list[Hit] = []
    problems: list[str] = []
    for index, cell in enumerate(cells[:MAX_CELLS]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        text = "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else src
        if not isinstance(text, str):
            continue
        py_lines, shell_lines = [], []
        for line in text.splitlines():
            magic = line.lstrip().startswith(("!", "%"))
            py_lines.append("" if magic else line)
            shell_lines.append(line.lstrip().lstrip("!%") if magic else "")
        found, error = scan_python(vocab, "\n".join(py_lines))
        if error:
            problems.append(f"cell {index}: {error}")
            found = list(scan_lines(vocab, strip_comments(text, Syntax.HASH)))
        found += scan_lines(vocab, strip_comments("\n".join(shell_lines), Syntax.HASH))
        hits.extend(h._replace(cell=index) for h in found)
    return hits, "; ".join(problems)[:500] or None
