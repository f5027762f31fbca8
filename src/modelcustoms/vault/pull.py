"""``vault pull``: restore a model bit for bit, or nothing at all.

The passport is checked against the manifest before any large blob moves. Files are written
into a staging folder beside the destination while they are hashed, and the staging folder is
renamed into place only when every file matched; any mismatch removes it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from modelcustoms.passport import PublicKey
from modelcustoms.vault import oci
from modelcustoms.vault.errors import IntegrityError, VaultError
from modelcustoms.vault.fetch import admit, resolve, stream_checked
from modelcustoms.vault.passport_check import PassportStatus
from modelcustoms.vault.store import Store


@dataclass(frozen=True, slots=True)
class PullResult:
    """What a pull restored."""

    digest: str
    files: int
    total_bytes: int
    passport: PassportStatus
    recorded_status: str
    """The passport status written into the artifact at push time."""
    problems: tuple[str, ...]
    report_path: Path | None
    passport_path: Path | None
    seconds: float


def pull(
    store: Store,
    reference: str,
    dest: Path,
    *,
    key: PublicKey | None,
    unsafe_no_passport: bool = False,
    evidence: Path | None = None,
) -> PullResult:
    """Restore the artifact into ``dest`` (new or empty); report and passport into ``evidence``."""
    start = time.monotonic()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise VaultError(f"{dest} exists and is not an empty folder", hint="pull into a new folder")
    resolved = resolve(store, reference)
    check = admit(resolved, key, unsafe_no_passport=unsafe_no_passport)
    files = resolved.manifest.files()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for d in files:
            assert d.path is not None  # parse_manifest guarantees it
            target = staging / d.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as fh:
                stream_checked(store, d, fh.write, d.path)
        if dest.exists():
            dest.rmdir()
        staging.replace(dest)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        msg = f"cannot restore into {dest}: {exc.strerror or exc}"
        raise VaultError(msg) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    evidence = evidence or dest.parent / f"{dest.name}.customs"
    report_path = _write(evidence, "report.json", resolved.report)
    passport_path = _write(evidence, "passport.json", resolved.passport)
    return PullResult(
        digest=resolved.digest,
        files=len(files),
        total_bytes=sum(d.size for d in files),
        passport=check.status(),
        recorded_status=resolved.manifest.annotations.get(oci.PASSPORT_STATUS, "unknown"),
        problems=tuple(check.reasons()) if not check.ok else (),
        report_path=report_path,
        passport_path=passport_path,
        seconds=time.monotonic() - start,
    )


def _write(folder: Path, name: str, data: bytes | None) -> Path | None:
    if data is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    tmp = folder / f".{name}.tmp"
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise IntegrityError([f"cannot write {path}: {exc.strerror or exc}"]) from exc
    return path
