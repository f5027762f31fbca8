"""Adapters for public probe datasets a user has on disk (their text is never bundled here).

Each adapter reads one file and returns :class:`ImportedItem`s with an arm that says how an
answer is judged: ``sensitive`` and ``government`` (China-sensitive requests and parallel
requests about other governments: answering passes), ``safe`` (XSTest's over-refusal controls:
answering passes), ``harmful`` (XSTest unsafe, HarmBench: refusing passes).

- ``promptfoo``: promptfoo's CCP-sensitive prompts, CSV ``subject,prompt`` or JSONL with those keys;
- ``speechmap``: SpeechMap ``questions/*.jsonl`` (``id``, ``category``, ``question``); the
  ``*_criticism`` files share ids, so China and US/EU/Russia criticism pair up by id;
- ``deccp``: augmxnt/deccp text files, one question per line;
- ``xstest``: XSTest JSONL (``id``, ``type``, ``prompt``; ids or types mark safe vs unsafe);
- ``harmbench``: HarmBench behaviours, one per line (or CSV with a ``Behavior`` column).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

from modelcustoms.engines.audit.interface import SuiteDataError

MAX_BYTES = 64 * 1024 * 1024
_CJK = re.compile(r"[\u4e00-\u9fff]")


class ImportFormat(StrEnum):
    """The dataset formats an adapter exists for."""

    PROMPTFOO = "promptfoo"
    SPEECHMAP = "speechmap"
    DECCP = "deccp"
    XSTEST = "xstest"
    HARMBENCH = "harmbench"


@dataclass(frozen=True, slots=True)
class ImportedItem:
    """One imported prompt."""

    source: str
    id: str
    text: str
    lang: str
    arm: str
    cluster: str
    category: str


def _lang(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            msg = f"{path}: larger than {MAX_BYTES} bytes"
            raise SuiteDataError(msg)
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise SuiteDataError(msg) from exc


def _jsonl(path: Path, text: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            msg = f"{path}:{n}: not JSON ({exc.msg})"
            raise SuiteDataError(msg) from exc
        if not isinstance(row, dict):
            msg = f"{path}:{n}: not a JSON object"
            raise SuiteDataError(msg)
        rows.append(row)
    return rows


def _field(path: Path, n: int, row: dict[str, Any], *names: str) -> str:
    for name in names:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    msg = f"{path}: row {n} has no {' or '.join(names)}"
    raise SuiteDataError(msg)


def read_dataset(fmt: ImportFormat, path: Path) -> list[ImportedItem]:
    """The items of one dataset file."""
    text = _read(path)
    # NOTE: one source per format, so paired files (SpeechMap criticism) meet in one analysis;
    # ids and clusters carry the file stem so files of one format never collide.
    src = fmt.value
    stem = path.stem
    items: list[ImportedItem]
    if fmt is ImportFormat.PROMPTFOO:
        if path.suffix.lower() == ".csv":
            rows = list(csv.DictReader(io.StringIO(text)))
        else:
            rows = _jsonl(path, text)
        items = []
        for n, row in enumerate(rows, 1):
            subject = _field(path, n, row, "subject")
            prompt = _field(path, n, row, "prompt")
            items.append(
                ImportedItem(
                    src, f"{stem}/{n}", prompt, _lang(prompt), "sensitive", subject, subject
                )
            )
    elif fmt is ImportFormat.SPEECHMAP:
        items = []
        for n, row in enumerate(_jsonl(path, text), 1):
            q = _field(path, n, row, "question")
            rid = _field(path, n, row, "id")
            cat = str(row.get("category") or path.stem)
            m = re.search(r"(\d+)$", rid)
            arm = "sensitive" if "china" in cat else "government" if "criticism" in cat else "other"
            cluster = f"pair-{m.group(1)}" if m and "criticism" in cat else rid
            items.append(ImportedItem(src, f"{stem}/{rid}", q, _lang(q), arm, cluster, cat))
    elif fmt is ImportFormat.DECCP:
        lines = [x.strip() for x in text.splitlines() if x.strip()]
        items = [
            ImportedItem(src, f"{stem}/{n}", q, _lang(q), "sensitive", f"{stem}/{n}", stem)
            for n, q in enumerate(lines, 1)
        ]
    elif fmt is ImportFormat.XSTEST:
        items = []
        for n, row in enumerate(_jsonl(path, text), 1):
            prompt = _field(path, n, row, "prompt")
            rid = str(row.get("id") or n)
            kind = str(row.get("type") or row.get("label") or "")
            unsafe = "unsafe" in rid or "contrast" in kind or kind == "unsafe"
            arm = "harmful" if unsafe else "safe"
            items.append(
                ImportedItem(src, f"{stem}/{rid}", prompt, _lang(prompt), arm, kind or rid, kind)
            )
    elif fmt is ImportFormat.HARMBENCH:
        if path.suffix.lower() == ".csv":
            rows = list(csv.DictReader(io.StringIO(text)))
            lines = [_field(path, n, r, "Behavior", "behavior") for n, r in enumerate(rows, 1)]
        else:
            lines = [x.strip() for x in text.splitlines() if x.strip()]
        items = [
            ImportedItem(src, f"{stem}/{n}", q, _lang(q), "harmful", f"{stem}/{n}", stem)
            for n, q in enumerate(lines, 1)
        ]
    else:
        assert_never(fmt)
    if not items:
        msg = f"{path}: no items"
        raise SuiteDataError(msg)
    return items


def parse_import(spec: str) -> tuple[ImportFormat, Path]:
    """``FORMAT:PATH`` → (format, path)."""
    name, sep, rest = spec.partition(":")
    try:
        fmt = ImportFormat(name)
    except ValueError:
        fmt = None
    if not sep or not rest or fmt is None:
        msg = (
            f"--import wants FORMAT:PATH with FORMAT one of {', '.join(ImportFormat)}; got {spec!r}"
        )
        raise SuiteDataError(msg)
    return fmt, Path(rest)
