"""Where rendered bytes go: stdout, or a file written atomically (never half a report)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def write_output(data: bytes, path: Path | None) -> None:
    """Write ``data`` to ``path`` (atomically) or to stdout when ``path`` is None or ``-``."""
    if path is None or str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    directory = path.parent if str(path.parent) else Path()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    # NOTE: mkstemp creates the file 0600; a report is an ordinary file, so honour the umask.
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
