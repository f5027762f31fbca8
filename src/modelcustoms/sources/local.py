"""Local files and folders as a subject.

Walks folders without following directory symlinks (no loops), follows file symlinks (the
Hugging Face cache links snapshots to blobs), and refuses anything that is not a regular file:
opening a FIFO or a device would hang or never end.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelcustoms.artifacts.blob import Opener
from modelcustoms.core import Skip, Subject, SubjectKind
from modelcustoms.errors import SourceError

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__"})
"""Version-control internals are not model files; their objects would be scanned as noise."""


@dataclass(frozen=True, slots=True)
class LocalInputs:
    """The subject, the files to read, and what was left out (with reasons)."""

    subject: Subject
    openers: tuple[Opener, ...]
    skips: tuple[Skip, ...]


def local_inputs(paths: Sequence[Path]) -> LocalInputs:
    """Resolve files and folders into openers. Missing paths are an input error."""
    if not paths:
        msg = "no path given"
        raise SourceError(msg)
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        msg = f"no such file or folder: {', '.join(missing)}"
        raise SourceError(msg, hint="check the path; quote names with spaces")
    openers: list[Opener] = []
    skips: list[Skip] = []
    multi = len(paths) > 1
    for root in paths:
        prefix = root.name if multi else ""
        if root.is_dir() and not root.is_symlink():
            _walk(root, prefix, openers, skips)
        else:
            rel = prefix or root.name
            _add(root, rel, openers, skips)
    name = paths[0].resolve().name if not multi else f"{len(paths)} paths"
    subject = Subject(
        kind=SubjectKind.PATH,
        ref=" ".join(str(p) for p in paths),
        name=name or str(paths[0]),
    )
    return LocalInputs(subject=subject, openers=tuple(openers), skips=tuple(skips))


def _walk(root: Path, prefix: str, openers: list[Opener], skips: list[Skip]) -> None:
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=errors.append):
        here = Path(dirpath)
        for d in sorted(dirnames):
            if d in SKIPPED_DIRS:
                rel = _rel(here / d, root, prefix)
                skips.append(Skip(artifact=rel, reason="not-applicable", detail="version control"))
            elif (here / d).is_symlink():
                # NOTE: os.walk lists folder symlinks but does not enter them (no loops).
                rel = _rel(here / d, root, prefix)
                skips.append(
                    Skip(artifact=rel, reason="not-applicable", detail="symlink to a folder")
                )
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for fname in sorted(filenames):
            path = here / fname
            _add(path, _rel(path, root, prefix), openers, skips)
    skips.extend(
        Skip(artifact=str(err.filename), reason="unreadable", detail=str(err)) for err in errors
    )


def _rel(path: Path, root: Path, prefix: str) -> str:
    rel = path.relative_to(root).as_posix()
    return f"{prefix}/{rel}" if prefix else rel


def _add(path: Path, rel: str, openers: list[Opener], skips: list[Skip]) -> None:
    try:
        st = path.stat()  # follows file symlinks on purpose
    except OSError as exc:
        skips.append(Skip(artifact=rel, reason="unreadable", detail=exc.strerror or str(exc)))
        return
    if stat.S_ISDIR(st.st_mode):
        skips.append(Skip(artifact=rel, reason="not-applicable", detail="symlink to a folder"))
        return
    if not stat.S_ISREG(st.st_mode):
        skips.append(Skip(artifact=rel, reason="not-regular-file", detail="device, FIFO or socket"))
        return
    openers.append(Opener.local(rel, path))
