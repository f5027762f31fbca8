"""GGUF files on disk: identity and base models from the header's ``general.*`` keys."""

from __future__ import annotations

from modelcustoms.artifacts.blob import Blob
from modelcustoms.artifacts.gguf import GGUFLimits, read_gguf
from modelcustoms.engines.discover.hits import Hit
from modelcustoms.engines.discover.kinds import ReferenceKind, Via

LIMITS = GGUFLimits(max_kv=100_000, keep_items=4, max_digest_bytes=0)
"""Header only: arrays are walked, not kept, and never hashed."""
MAX_BASES = 8


def scan_gguf(blob: Blob) -> tuple[list[Hit], str | None]:
    """One hit for the file's model and one per declared base model."""
    gguf = read_gguf(blob, LIMITS)
    if not gguf.kvs:
        return [], gguf.error.message if gguf.error else "no metadata"

    def text(key: str) -> str | None:
        value = gguf.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    hits: list[Hit] = []
    org = text("general.organization")
    name = text("general.basename") or text("general.name")
    if name:
        model = f"{org}/{name}" if org and "/" not in name else name
        hits.append(Hit(ReferenceKind.GGUF_FILE, 0, Via.FILE_HEADER, 0.9, model=model))
    count = gguf.get("general.base_model.count")
    for i in range(min(count, MAX_BASES) if isinstance(count, int) else 0):
        base_org = text(f"general.base_model.{i}.organization")
        base = text(f"general.base_model.{i}.name")
        repo = text(f"general.base_model.{i}.repo_url") or ""
        if repo.startswith("https://huggingface.co/"):
            model = repo.removeprefix("https://huggingface.co/")
        elif base:
            model = f"{base_org}/{base}" if base_org else base
        else:
            continue
        hits.append(Hit(ReferenceKind.GGUF_FILE, 0, Via.FILE_HEADER, 0.8, model=model))
    error = gguf.error.message if gguf.error and not hits else None
    return hits, error
