"""``vault push``: a model folder, its report and its passport → one OCI artifact.

Order matters: hash the files, check the passport against those hashes, send every blob the
store lacks, and put the manifest last. Until that final ``PUT`` the tag does not move, so an
interrupted push leaves the previous artifact (or nothing) under the tag, never half of one;
running the same push again sends only what is still missing.
"""

from __future__ import annotations

import getpass
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from modelcustoms.core.load import load_report
from modelcustoms.errors import ReportError
from modelcustoms.passport import PublicKey
from modelcustoms.passport.verify import Passport
from modelcustoms.sources.local import local_inputs
from modelcustoms.vault import oci
from modelcustoms.vault.errors import ModelFolderError, PassportRefused
from modelcustoms.vault.layout import LayoutStore
from modelcustoms.vault.passport_check import PassportCheck, PassportStatus, check_passport
from modelcustoms.vault.store import Progress, Store, sha256_file
from modelcustoms.version import __version__


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A model file to store: its model-relative path, where it is, and its digest."""

    relpath: str
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push did."""

    tag: str
    digest: str
    """The manifest digest: ``REPO@<digest>`` names this exact artifact forever."""
    files: int
    total_bytes: int
    uploaded_bytes: int
    """Bytes actually sent; files the store already had cost nothing."""
    reused_blobs: int
    resumed_bytes: int
    """Bytes an interrupted upload did not have to send again."""
    passport: PassportStatus
    problems: tuple[str, ...]
    seconds: float


def collect_files(model: Path) -> list[LocalFile]:
    """Every file of the model, named as the scan and the passport name them, hashed once."""
    inputs = local_inputs([model])
    bad = [s for s in inputs.skips if s.reason in ("unreadable", "not-regular-file")]
    if bad:
        listed = ", ".join(f"{s.artifact} ({s.detail or s.reason})" for s in bad[:5])
        msg = f"cannot store {model}: some files cannot be read: {listed}"
        raise ModelFolderError(msg)
    out: list[LocalFile] = []
    for opener in inputs.openers:
        path = model / opener.path if model.is_dir() else model
        problem = oci.unsafe_path(opener.path)
        if problem:
            raise ModelFolderError(f"{opener.path!r}: file path {problem}")
        try:
            digest, size = sha256_file(path)
        except OSError as exc:
            raise ModelFolderError(f"cannot read {path}: {exc.strerror or exc}") from exc
        out.append(LocalFile(opener.path, path, digest, size))
    if not out:
        raise ModelFolderError(f"{model}: no files to store")
    return out


def push(
    store: Store,
    model: Path,
    tag: str,
    *,
    report: bytes | None,
    passport: bytes | None,
    key: PublicKey | None,
    unsafe_no_passport: bool = False,
    name: str | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PushResult:
    """Store ``model`` under ``tag``; refuse it without a valid passport unless told otherwise."""
    start = time.monotonic()
    files = collect_files(model)
    check = check_passport(passport, report, key, {f.relpath: f.sha256 for f in files})
    if not check.ok and not unsafe_no_passport:
        msg = f"refusing to store {model}: " + "; ".join(check.reasons())
        raise PassportRefused(msg)
    if report is not None and check.passport is None:
        # Forced in without a passport: still say whether the report carried along is intact.
        try:
            load_report(report)
        except ReportError as exc:
            check = PassportCheck(None, (*check.problems, f"report: {exc.message}"))
    status = check.status()
    uploaded = reused = resumed = 0
    layers: list[oci.Descriptor] = []
    done: set[str] = set()
    for f in files:
        desc = oci.file_descriptor(f.relpath, f.sha256, f.size)
        layers.append(desc)
        if desc.digest in done:
            continue  # the same bytes twice in one model: one blob
        done.add(desc.digest)
        result = store.push_blob(desc.digest, f.size, f.path, progress)
        uploaded += result.sent
        resumed += result.resumed_from
        reused += result.sent == 0 and f.size > 0
    for data, media_type in ((report, oci.REPORT_MEDIA_TYPE), (passport, oci.PASSPORT_MEDIA_TYPE)):
        if data is not None:
            desc = _bytes_descriptor(media_type, data)
            uploaded += store.push_bytes(desc.digest, data).sent
            layers.append(desc)
    created = now().strftime("%Y-%m-%dT%H:%M:%SZ")
    title = name or (model.resolve().name or str(model))
    config_bytes = oci.build_config(title, created, [d for d in layers if d.role is oci.Role.FILE])
    config = _bytes_descriptor(oci.CONFIG_MEDIA_TYPE, config_bytes)
    uploaded += store.push_bytes(config.digest, config_bytes).sent
    annotations = _annotations(title, created, status, check.reasons(), check.passport)
    manifest = oci.build_manifest(config, layers, annotations)
    if status is not PassportStatus.VERIFIED and isinstance(store, LayoutStore):
        store.append_audit(_audit(created, tag, model, status, check.reasons()))
    digest = store.put_manifest(tag, manifest)
    return PushResult(
        tag=tag,
        digest=digest,
        files=len(files),
        total_bytes=sum(f.size for f in files),
        uploaded_bytes=uploaded,
        reused_blobs=reused,
        resumed_bytes=resumed,
        passport=status,
        problems=tuple(check.reasons()) if status is not PassportStatus.VERIFIED else (),
        seconds=time.monotonic() - start,
    )


def _bytes_descriptor(media_type: str, data: bytes) -> oci.Descriptor:
    return oci.Descriptor(media_type, f"sha256:{hashlib.sha256(data).hexdigest()}", len(data))


def _annotations(
    title: str,
    created: str,
    status: PassportStatus,
    reasons: list[str],
    passport: Passport | None,
) -> dict[str, str]:
    out = {oci.NAME: title, oci.CREATED: created, oci.PASSPORT_STATUS: status.value}
    if status is not PassportStatus.VERIFIED:
        # NOTE: the audit trail travels with the artifact: whoever pulls it sees it was forced.
        out[oci.PASSPORT_PROBLEMS] = "; ".join(reasons)[:4000]
    if passport is not None:
        out[oci.VERDICT] = str(passport.verdict.get("decision"))
        out[oci.REPORT_DIGEST] = passport.report_digest
        out[oci.SIGNER] = passport.key_id
    return out


def _audit(
    created: str, tag: str, model: Path, status: PassportStatus, reasons: list[str]
) -> dict[str, object]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "time": created,
        "event": "push-without-valid-passport",
        "tag": tag,
        "model": str(model),
        "passport": status.value,
        "reasons": reasons,
        "user": user,
        "tool": f"modelcustoms {__version__}",
    }
