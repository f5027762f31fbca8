"""The reference library: compact fingerprints of base models in one versioned JSON file.

An entry holds the probe token strings and, per component, the int8 upper triangle of its
Gram matrix (base64) and the shape of the tensor it came from: about 11 KB per component at
128 probes, never weights. Loading validates every field and bounds every size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelcustoms.engines.fingerprint.signature import Component, Signature

SHIPPED = Path(__file__).with_name("data") / "library.json"
"""The reference library shipped with the tool (fingerprints of the real bases readable when
it was built; benchmarks/fingerprint_real.py --ship rebuilds it)."""
FORMAT = "modelcustoms-fingerprints"
VERSION = 1
MAX_LIBRARY_BYTES = 64 * 1024**2
MAX_PROBES = 1024
MAX_COMPONENTS = 64


class LibraryError(Exception):
    """The library file is missing, malformed or of an unknown version."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One reference model."""

    name: str
    signature: Signature
    source: str = ""
    """Where the fingerprint was built from (file name)."""
    sha256: str | None = None
    bytes_read: int = 0


@dataclass(slots=True)
class Library:
    """An ordered set of reference entries, by name."""

    entries: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        """Add ``entry``, replacing one of the same name."""
        self.entries = [e for e in self.entries if e.name != entry.name] + [entry]

    def to_json(self) -> dict[str, Any]:
        """The JSON document."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "entries": [
                {
                    "name": e.name,
                    "source": e.source,
                    "sha256": e.sha256,
                    "bytes_read": e.bytes_read,
                    "layers": e.signature.n_layers,
                    "probes": list(e.signature.tokens),
                    "probe_ids": list(e.signature.ids),
                    "components": [
                        {"name": c.name, "shape": list(c.shape), "gram": c.encode()}
                        for c in e.signature.components
                    ],
                }
                for e in self.entries
            ],
        }

    def save(self, path: Path) -> None:
        """Write the library as compact JSON."""
        data = json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)
        path.write_text(data + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Library:
        """Read and validate a library file."""
        try:
            size = path.stat().st_size
            if size > MAX_LIBRARY_BYTES:
                msg = f"{path}: {size} bytes exceeds {MAX_LIBRARY_BYTES}"
                raise LibraryError(msg)
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise LibraryError(f"{path}: {exc}") from exc
        return cls.from_json(doc, str(path))

    @classmethod
    def from_json(cls, doc: object, where: str = "library") -> Library:
        """Validate a parsed document."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            msg = f"{where}: not a {FORMAT} document"
            raise LibraryError(msg)
        if doc.get("version") != VERSION:
            msg = f"{where}: unsupported version {doc.get('version')!r} (this tool reads {VERSION})"
            raise LibraryError(msg)
        entries = doc.get("entries")
        if not isinstance(entries, list):
            msg = f"{where}: entries must be a list"
            raise LibraryError(msg)
        lib = cls()
        for i, raw in enumerate(entries):
            try:
                lib.add(_entry(raw))
            except (KeyError, TypeError, ValueError) as exc:
                raise LibraryError(f"{where}: entry {i}: {exc}") from exc
        return lib


def _entry(raw: object) -> Entry:
    if not isinstance(raw, dict):
        msg = "not an object"
        raise TypeError(msg)
    probes = raw["probes"]
    comps = raw["components"]
    if not isinstance(probes, list) or not all(isinstance(t, str) for t in probes):
        msg = "probes must be a list of strings"
        raise TypeError(msg)
    if not 2 <= len(probes) <= MAX_PROBES or len(set(probes)) != len(probes):
        msg = f"probes must be 2..{MAX_PROBES} distinct strings"
        raise ValueError(msg)
    if not isinstance(comps, list) or not 1 <= len(comps) <= MAX_COMPONENTS:
        msg = f"components must be a list of 1..{MAX_COMPONENTS}"
        raise ValueError(msg)
    out: list[Component] = []
    for c in comps:
        shape = c["shape"]
        if not (
            isinstance(shape, list)
            and len(shape) == 2
            and all(isinstance(d, int) and d > 0 for d in shape)
        ):
            msg = "component shape must be two positive integers"
            raise ValueError(msg)
        dims = (int(shape[0]), int(shape[1]))
        out.append(Component.decode(str(c["name"]), len(probes), str(c["gram"]), dims))
    if out[0].name != "token_embd":
        msg = "the first component must be token_embd"
        raise ValueError(msg)
    layers = raw.get("layers", 0)
    if not isinstance(layers, int) or isinstance(layers, bool) or not 0 <= layers <= 100_000:
        msg = "layers must be a non-negative integer"
        raise ValueError(msg)
    ids = raw.get("probe_ids", [])
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids
    ):
        msg = "probe_ids must be a list of non-negative integers"
        raise ValueError(msg)
    if ids and len(ids) != len(probes):
        msg = "probe_ids and probes differ in length"
        raise ValueError(msg)
    sha = raw.get("sha256")
    return Entry(
        name=str(raw["name"]),
        signature=Signature(tuple(probes), tuple(out), layers, tuple(ids)),
        source=str(raw.get("source", "")),
        sha256=sha if isinstance(sha, str) else None,
        bytes_read=int(raw.get("bytes_read", 0)),
    )
