"""A vault in a plain folder or file share: an OCI image layout (``oci-layout``, ``index.json``,
``blobs/sha256/``), the format ORAS, skopeo and containerd read.

Every write lands in a temporary name and is renamed into place, the index last, under an
exclusive lock, so a reader never sees half a blob and a tag never names a partial artifact.
An interrupted copy leaves ``blobs/.partial/<hex>``, which the next push resumes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelcustoms.vault.errors import IntegrityError, NotFound, StoreError
from modelcustoms.vault.oci import MANIFEST_MEDIA_TYPE, MAX_MANIFEST_BYTES, canonical
from modelcustoms.vault.store import CHUNK, BlobUpload, Progress, Store, TagEntry, file_chunks

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
MAX_INDEX_BYTES = 64 * 1024 * 1024


class LayoutStore(Store):
    """An OCI image layout folder."""

    def __init__(self, root: Path, *, create: bool = False, chunk: int = CHUNK) -> None:
        self.root = root
        self.chunk = chunk
        self.description = f"OCI layout {root}"
        marker = root / "oci-layout"
        if not marker.exists():
            if not create:
                msg = f"{root} is not an OCI layout vault (no oci-layout file)"
                raise NotFound(msg, hint="push a model there first, or check the path")
            try:
                (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
                _atomic_write(marker, b'{"imageLayoutVersion":"1.0.0"}')
            except OSError as exc:
                msg = f"cannot create a vault in {root}: {exc.strerror or exc}"
                raise StoreError(msg) from exc

    def _blob(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest.split(":", 1)[1]

    def blob_size(self, digest: str) -> int | None:
        """Size of the blob file, if present."""
        try:
            return self._blob(digest).stat().st_size
        except FileNotFoundError:
            return None

    def push_blob(
        self, digest: str, size: int, path: Path, progress: Progress | None = None
    ) -> BlobUpload:
        """Copy a file in, resuming a partial copy, checking the digest before the rename."""
        if self.blob_size(digest) == size:
            return BlobUpload(sent=0)
        partial = self.root / "blobs" / ".partial" / digest.split(":", 1)[1]
        partial.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        start = 0
        if partial.exists() and partial.stat().st_size <= size:
            # NOTE: re-hash what is already there rather than trust it: it came from an
            # interrupted run, maybe of another version of the file.
            for data in file_chunks(partial, 0, self.chunk):
                h.update(data)
                start += len(data)
        else:
            partial.unlink(missing_ok=True)
        sent = 0
        with partial.open("ab") as out:
            for data in file_chunks(path, start, self.chunk):
                out.write(data)
                h.update(data)
                sent += len(data)
                if progress is not None:
                    progress(len(data))
            out.flush()
            os.fsync(out.fileno())
        if f"sha256:{h.hexdigest()}" != digest:
            partial.unlink(missing_ok=True)
            msg = f"{path}: changed while it was being stored (digest differs from {digest[:19]}…)"
            raise IntegrityError([msg])
        partial.replace(self._blob(digest))
        return BlobUpload(sent=sent, resumed_from=start)

    def push_bytes(self, digest: str, data: bytes) -> BlobUpload:
        """Write a small blob."""
        if self.blob_size(digest) == len(data):
            return BlobUpload(sent=0)
        if f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
            raise IntegrityError([f"blob bytes do not hash to {digest}"])
        _atomic_write(self._blob(digest), data)
        return BlobUpload(sent=len(data))

    @contextlib.contextmanager
    def read_blob(self, digest: str) -> Iterator[Iterator[bytes]]:
        """Stream a blob file."""
        path = self._blob(digest)
        if not path.exists():
            msg = f"blob {digest[:19]}… is missing from {self.description}"
            raise NotFound(msg)
        yield file_chunks(path, 0, self.chunk)

    def put_manifest(self, tag: str, data: bytes) -> str:
        """Write the manifest blob, then point the tag at it in ``index.json`` (under a lock)."""
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        self.push_bytes(digest, data)
        with self._locked():
            index = self._index()
            entries = [
                m
                for m in index["manifests"]
                if not (isinstance(m, dict) and m.get("annotations", {}).get(REF_NAME) == tag)
            ]
            entries.append(
                {
                    "mediaType": MANIFEST_MEDIA_TYPE,
                    "digest": digest,
                    "size": len(data),
                    "annotations": {REF_NAME: tag},
                }
            )
            index["manifests"] = entries
            _atomic_write(self.root / "index.json", canonical(index))
        return digest

    def get_manifest(self, reference: str) -> bytes:
        """Manifest bytes by tag or digest."""
        digest = reference if reference.startswith("sha256:") else self._resolve(reference)
        path = self._blob(digest)
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise IntegrityError([f"manifest {digest[:19]}… is too large"])
            return path.read_bytes()
        except FileNotFoundError as exc:
            msg = f"manifest {digest[:19]}… is missing from {self.description}"
            raise NotFound(msg) from exc

    def list_tags(self) -> list[TagEntry]:
        """Tags in ``index.json``."""
        out = []
        for m in self._index()["manifests"]:
            if not isinstance(m, dict):
                continue
            tag = (m.get("annotations") or {}).get(REF_NAME)
            if isinstance(tag, str) and isinstance(m.get("digest"), str):
                out.append(TagEntry("", tag, m["digest"]))
        return sorted(out, key=lambda e: e.tag)

    def append_audit(self, record: dict[str, Any]) -> None:
        """Append one line to the folder's audit log (who forced what, and when)."""
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._locked(), (self.root / "audit.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line)

    def _resolve(self, tag: str) -> str:
        for entry in self.list_tags():
            if entry.tag == tag:
                return entry.digest
        msg = f"no tag {tag!r} in {self.description}"
        raise NotFound(msg, hint="customs vault list shows what is held")

    def _index(self) -> dict[str, Any]:
        path = self.root / "index.json"
        try:
            if path.stat().st_size > MAX_INDEX_BYTES:
                msg = f"{path} is larger than {MAX_INDEX_BYTES} bytes"
                raise StoreError(msg)
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            return {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
        except ValueError as exc:
            msg = f"{path} is not valid JSON: {exc}"
            raise StoreError(msg) from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
            msg = f"{path} is not an OCI image index"
            raise StoreError(msg)
        return doc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.root / ".lock").open("a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
