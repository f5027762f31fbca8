"""Where interrupted registry uploads are remembered between runs.

One small JSON file per (registry, repository, blob): the upload URL the registry handed back
after the last chunk it accepted. The URL is all a resume needs; the offset is asked of the
registry itself (``GET`` the upload URL), never trusted from disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def default_state_dir() -> Path:
    """``$XDG_CACHE_HOME/modelcustoms/vault-uploads`` (``~/.cache`` by default)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "modelcustoms" / "vault-uploads"


class UploadState:
    """The saved upload URLs of one repository (nothing is saved when ``folder`` is None)."""

    def __init__(self, folder: Path | None, host: str, repository: str) -> None:
        self.folder = folder
        self.prefix = f"{host}/{repository}@"

    def _file(self, digest: str) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.sha256((self.prefix + digest).encode()).hexdigest()
        return self.folder / f"{key[:32]}.json"

    def save(self, digest: str, location: str) -> None:
        """Remember the upload URL after a chunk (atomically)."""
        path = self._file(digest)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"digest": digest, "location": location}))
        tmp.replace(path)

    def load(self, digest: str) -> str | None:
        """The saved upload URL, or None (an unreadable file is dropped)."""
        path = self._file(digest)
        if path is None or not path.exists():
            return None
        try:
            location = json.loads(path.read_text())["location"]
        except (ValueError, KeyError, TypeError, OSError):
            self.forget(digest)
            return None
        return location if isinstance(location, str) else None

    def forget(self, digest: str) -> None:
        """Drop the saved URL (the blob is complete, or the session is gone)."""
        path = self._file(digest)
        if path is not None:
            path.unlink(missing_ok=True)
