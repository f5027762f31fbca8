"""Walk a tree without following links, classify files by name, and say what was left out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from enum import StrEnum
from typing import NamedTuple

from modelcustoms.engines.discover.text import Syntax

VENDORED = frozenset(
    {
        "site-packages",
        "dist-packages",
        "node_modules",
        "vendor",
        "third_party",
        "third-party",
        ".venv",
        "venv",
        "bower_components",
    }
)
"""Directories of third-party code: their references are someone else's (reported as skips)."""
IGNORED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".idea",
        ".vscode",
    }
)
"""Tool state, not software: left out silently."""


class FileKind(StrEnum):
    """How a file is read."""

    PYTHON = "python"
    NOTEBOOK = "notebook"
    TEXT = "text"
    DOC = "doc"
    MAYBE_MODEL = "maybe-model"
    """Possibly a model file: its first bytes are sniffed (GGUF, safetensors, ONNX) and only its
    header is read."""
    OTHER = "other"


_SUFFIX: dict[str, tuple[FileKind, Syntax]] = {
    ".py": (FileKind.PYTHON, Syntax.HASH),
    ".pyi": (FileKind.PYTHON, Syntax.HASH),
    ".ipynb": (FileKind.NOTEBOOK, Syntax.NONE),
    ".md": (FileKind.DOC, Syntax.NONE),
    ".rst": (FileKind.DOC, Syntax.NONE),
    ".txt": (FileKind.DOC, Syntax.NONE),
    ".adoc": (FileKind.DOC, Syntax.NONE),
    ".gguf": (FileKind.MAYBE_MODEL, Syntax.NONE),
    ".bin": (FileKind.MAYBE_MODEL, Syntax.NONE),
    ".ggml": (FileKind.MAYBE_MODEL, Syntax.NONE),
    ".safetensors": (FileKind.MAYBE_MODEL, Syntax.NONE),
    ".onnx": (FileKind.MAYBE_MODEL, Syntax.NONE),
    ".json": (FileKind.TEXT, Syntax.NONE),
}
for _s in (
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".conf",
    ".properties",
    ".env",
    ".sh",
    ".bash",
    ".zsh",
    ".mk",
    ".dockerfile",
    ".rb",
    ".r",
    ".ps1",
):
    _SUFFIX[_s] = (FileKind.TEXT, Syntax.HASH)
for _s in (
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".tsx",
    ".jsx",
    ".mts",
    ".java",
    ".kt",
    ".kts",
    ".scala",
    ".gradle",
    ".go",
    ".cs",
    ".rs",
    ".swift",
    ".php",
    ".c",
    ".cc",
    ".cpp",
    ".h",
    ".dart",
):
    _SUFFIX[_s] = (FileKind.TEXT, Syntax.SLASH)
for _s in (".tf", ".tfvars", ".hcl"):
    _SUFFIX[_s] = (FileKind.TEXT, Syntax.HCL)
_NAMES = {"dockerfile", "containerfile", "makefile", "gnumakefile", "procfile", "justfile"}
_LOCKFILES = {
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "cargo.lock",
}


def classify(name: str) -> tuple[FileKind, Syntax]:
    """How to read a file, by its name (content decides for possible model files)."""
    low = name.lower()
    if low in _LOCKFILES:
        return FileKind.OTHER, Syntax.NONE
    if low.startswith(".env") or low.endswith(".env") or low in _NAMES:
        return FileKind.TEXT, Syntax.HASH
    if low.startswith(("dockerfile", "containerfile")) or low.endswith(".dockerfile"):
        return FileKind.TEXT, Syntax.HASH
    dot = low.rfind(".")
    suffix = low[dot:] if dot > 0 else ""
    return _SUFFIX.get(suffix, (FileKind.OTHER, Syntax.NONE))


class Entry(NamedTuple):
    """A regular file to look at (``path`` as the operating system names it)."""

    path: str
    rel: str
    size: int
    kind: FileKind
    syntax: Syntax

    @property
    def suffix(self) -> str:
        """The file name's last suffix, with its dot ("" when none)."""
        name = self.rel.rsplit("/", 1)[-1]
        dot = name.rfind(".")
        return name[dot:] if dot > 0 else ""


def walk(root: str | os.PathLike[str], vendored: list[str], max_files: int) -> Iterator[Entry]:
    """Regular files under ``root`` (or ``root`` itself), sorted per directory, links not followed.

    Vendored directories are appended to ``vendored`` instead of being entered.
    """
    # NOTE: os functions on str paths, not pathlib: `customs discover -f json` starts without
    # importing pathlib (and the URL modules it pulls in).
    top = os.fspath(root)
    if os.path.isfile(top):  # noqa: PTH113
        name = os.path.basename(top)  # noqa: PTH119
        kind, syntax = classify(name)
        yield Entry(top, _printable(name), os.stat(top).st_size, kind, syntax)  # noqa: PTH116
        return
    stack = [(top, "")]
    count = 0
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name in IGNORED:
                    continue
                if e.name in VENDORED:
                    vendored.append(prefix + _printable(e.name))
                    continue
                subdirs.append((e.path, prefix + _printable(e.name) + "/"))
            elif e.is_file(follow_symlinks=False):
                count += 1
                if count > max_files:
                    return
                kind, syntax = classify(e.name)
                try:
                    size = e.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                yield Entry(e.path, prefix + _printable(e.name), size, kind, syntax)
        stack.extend(reversed(subdirs))


def _printable(name: str) -> str:
    """A file name as reported: bytes that are not UTF-8 are written as ``\\xNN`` escapes.

    The operating system hands them over as lone surrogates, which no report (JSON, SARIF)
    can carry; the entry's ``path`` keeps the real name for opening the file.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")
    return name
