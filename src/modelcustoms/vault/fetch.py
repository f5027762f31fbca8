"""Reading an artifact back without trusting the store: every byte is hashed as it arrives.

Shared by pull, verify and list. A manifest fetched by digest must hash to it; a blob must
hash to its descriptor's digest and have its size; the config's ``diffIds`` must list exactly
the file layers. Anything else is an :class:`IntegrityError` naming the file and the blob.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from modelcustoms.passport import PublicKey
from modelcustoms.vault import oci
from modelcustoms.vault.errors import IntegrityError, PassportRefused
from modelcustoms.vault.passport_check import PassportCheck, check_passport
from modelcustoms.vault.store import Store

MAX_SIDE_BLOB = 64 * 1024 * 1024
"""Largest report or passport read into memory."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """A manifest, its digest, and the small blobs beside the files."""

    manifest: oci.Manifest
    digest: str
    report: bytes | None
    passport: bytes | None


def resolve(store: Store, reference: str) -> Resolved:
    """Fetch and validate the manifest, its config, the report and the passport."""
    raw = store.get_manifest(reference)
    digest = f"sha256:{hashlib.sha256(raw).hexdigest()}"
    if reference.startswith("sha256:") and digest != reference:
        raise IntegrityError([f"manifest bytes hash to {digest}, not the requested {reference}"])
    manifest = oci.parse_manifest(raw)
    if manifest.config.media_type != oci.CONFIG_MEDIA_TYPE:
        raise IntegrityError(
            [f"config media type {manifest.config.media_type!r} is not ModelPack's"]
        )
    config = read_small(store, manifest.config, oci.MAX_CONFIG_BYTES, "config")
    _check_config(config, manifest)
    report = passport = None
    if (d := manifest.one(oci.Role.REPORT)) is not None:
        report = read_small(store, d, MAX_SIDE_BLOB, "report")
    if (d := manifest.one(oci.Role.PASSPORT)) is not None:
        passport = read_small(store, d, MAX_SIDE_BLOB, "passport")
    return Resolved(manifest, digest, report, passport)


def read_small(store: Store, desc: oci.Descriptor, limit: int, what: str) -> bytes:
    """A small blob, read whole, checked against its descriptor."""
    if desc.size > limit:
        raise IntegrityError([f"{what}: {desc.size} bytes is over the {limit}-byte limit"])
    buf = bytearray()

    def sink(data: bytes) -> None:
        buf.extend(data)

    stream_checked(store, desc, sink, what)
    return bytes(buf)


def stream_checked(
    store: Store, desc: oci.Descriptor, sink: Callable[[bytes], object] | None, what: str
) -> None:
    """Stream a blob through ``sink`` while hashing; raise if digest or size differ."""
    h = hashlib.sha256()
    size = 0
    with store.read_blob(desc.digest) as chunks:
        for data in chunks:
            size += len(data)
            if size > desc.size:
                raise IntegrityError(
                    [f"{what}: blob {desc.digest[:19]}… is longer than its {desc.size} bytes"],
                    hint="the vault's copy is corrupt; push the model again from a good copy",
                )
            h.update(data)
            if sink is not None:
                sink(data)
    got = f"sha256:{h.hexdigest()}"
    if size != desc.size or got != desc.digest:
        raise IntegrityError(
            [
                f"{what}: the vault's blob does not match its digest "
                f"(expected {desc.digest[:23]}…, {desc.size} bytes; "
                f"got {got[:23]}…, {size} bytes): the stored copy is corrupt or was tampered with"
            ],
            hint="push the model again from a good copy; do not use these bytes",
        )


def file_digests(manifest: oci.Manifest) -> dict[str, str]:
    """Model path → sha256 hex, as the manifest's layers name them."""
    return {d.path: d.hex for d in manifest.files() if d.path is not None}


def admit(resolved: Resolved, key: PublicKey | None, *, unsafe_no_passport: bool) -> PassportCheck:
    """Check the carried passport against the layers; refuse unless told to take it anyway."""
    check = check_passport(resolved.passport, resolved.report, key, file_digests(resolved.manifest))
    if not check.ok and not unsafe_no_passport:
        msg = "the artifact has no valid passport: " + "; ".join(check.reasons())
        raise PassportRefused(msg)
    return check


def _check_config(data: bytes, manifest: oci.Manifest) -> None:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise IntegrityError([f"config is not JSON: {exc}"]) from exc
    ids = doc.get("modelfs", {}).get("diffIds") if isinstance(doc, dict) else None
    want = [d.digest for d in manifest.files()]
    if ids != want:
        raise IntegrityError(["config modelfs.diffIds do not list the manifest's file layers"])
