"""``vault verify`` and ``vault list``: what the vault holds, and whether it is intact.

Verify re-reads every blob of an artifact from the store and hashes it (nothing is written),
checks the passport against the layers and the report, and, given a local folder (a model
pulled earlier), re-hashes its files against the artifact so that a file changed after the
pull is caught. Problems are collected, not raised one by one, so a single run names them all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from modelcustoms.errors import CustomsError
from modelcustoms.passport import PublicKey
from modelcustoms.vault import oci
from modelcustoms.vault.errors import IntegrityError
from modelcustoms.vault.fetch import file_digests, resolve, stream_checked
from modelcustoms.vault.passport_check import check_passport
from modelcustoms.vault.push import collect_files
from modelcustoms.vault.store import Store, TagEntry


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Everything checked, and every problem found."""

    digest: str
    blobs: int
    bytes_checked: int
    passport: str
    problems: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class Holding:
    """One tagged artifact, for ``vault list``."""

    entry: TagEntry
    name: str
    files: int
    size: int
    passport: str
    verdict: str
    created: str
    problem: str | None = None


def verify(
    store: Store,
    reference: str,
    *,
    key: PublicKey | None,
    local: Path | None = None,
) -> VerifyResult:
    """Check an artifact in the store (and optionally a local copy of it)."""
    start = time.monotonic()
    resolved = resolve(store, reference)
    manifest = resolved.manifest
    problems: list[str] = []
    seen: set[str] = set()
    checked = 0
    for d in manifest.files():
        if d.digest in seen:
            continue
        seen.add(d.digest)
        try:
            stream_checked(store, d, None, d.path or d.digest)
            checked += d.size
        except IntegrityError as exc:
            problems.extend(exc.problems)
        except CustomsError as exc:
            problems.append(f"{d.path}: {exc.message}")
    check = check_passport(resolved.passport, resolved.report, key, file_digests(manifest))
    recorded = manifest.annotations.get(oci.PASSPORT_STATUS, "unknown")
    if not check.ok:
        problems.extend(f"passport: {r}" for r in check.reasons())
    if local is not None:
        problems.extend(local_problems(manifest, local))
    return VerifyResult(
        digest=resolved.digest,
        blobs=len(seen),
        bytes_checked=checked,
        passport=check.status().value if check.ok else f"{check.status().value} ({recorded})",
        problems=tuple(problems),
        seconds=time.monotonic() - start,
    )


def local_problems(manifest: oci.Manifest, folder: Path) -> list[str]:
    """Differences between a local folder and the artifact's files (changed, missing, added)."""
    want = file_digests(manifest)
    try:
        found = {f.relpath: f.sha256 for f in collect_files(folder)}
    except CustomsError as exc:
        return [f"local copy: {exc.message}"]
    problems = []
    for path, digest in sorted(want.items()):
        got = found.get(path)
        if got is None:
            problems.append(f"local copy: {path} is missing")
        elif got != digest:
            problems.append(
                f"local copy: {path} was modified after it left the vault "
                f"(sha256 {got[:16]}…, vault has {digest[:16]}…)"
            )
    problems += [
        f"local copy: {p} is not part of the artifact" for p in sorted(found) if p not in want
    ]
    return problems


def holdings(store: Store) -> list[Holding]:
    """Every tag with what its manifest says (a manifest that does not parse is listed too)."""
    out: list[Holding] = []
    for entry in store.list_tags():
        try:
            manifest = oci.parse_manifest(store.get_manifest(entry.digest or entry.tag))
        except CustomsError as exc:
            out.append(Holding(entry, "?", 0, 0, "?", "?", "?", exc.message))
            continue
        ann = manifest.annotations
        out.append(
            Holding(
                entry,
                ann.get(oci.NAME, "?"),
                len(manifest.files()),
                sum(d.size for d in manifest.files()),
                ann.get(oci.PASSPORT_STATUS, "unknown"),
                ann.get(oci.VERDICT, "-"),
                ann.get(oci.CREATED, "?"),
            )
        )
    return out
