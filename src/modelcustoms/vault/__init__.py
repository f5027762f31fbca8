"""The vault: approved models kept as content-addressed OCI artifacts the company controls.

A model's files, its report and its passport become one OCI artifact (CNCF ModelPack media
types, one raw layer per file) in a registry (distribution HTTP API, token or Basic auth) or
in an OCI image layout folder. ``push`` refuses a model without a valid passport unless told
otherwise and records it when told; ``pull`` restores bit for bit; ``verify`` and ``list``
show what is held and check it. The vault is never a second source of truth for verdicts:
those live in the report and passport it carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import assert_never

from modelcustoms.vault.auth import Credentials
from modelcustoms.vault.errors import (
    IntegrityError,
    NotFound,
    PassportRefused,
    StoreError,
    VaultError,
)
from modelcustoms.vault.fetch import resolve
from modelcustoms.vault.layout import LayoutStore
from modelcustoms.vault.passport_check import PassportStatus
from modelcustoms.vault.pull import PullResult, pull
from modelcustoms.vault.push import PushResult, push
from modelcustoms.vault.reference import VaultKind, VaultRef, parse_ref
from modelcustoms.vault.registry import RegistryStore
from modelcustoms.vault.resume import default_state_dir
from modelcustoms.vault.store import CHUNK, Store
from modelcustoms.vault.verify import Holding, VerifyResult, holdings, verify

__all__ = [
    "Credentials",
    "Holding",
    "IntegrityError",
    "LayoutStore",
    "NotFound",
    "PassportRefused",
    "PassportStatus",
    "PullResult",
    "PushResult",
    "RegistryStore",
    "StoreError",
    "StoreOptions",
    "VaultError",
    "VaultKind",
    "VaultRef",
    "VerifyResult",
    "holdings",
    "open_store",
    "parse_ref",
    "pull",
    "push",
    "resolve",
    "verify",
]


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """How to reach a vault."""

    credentials: Credentials = field(default_factory=Credentials)
    plain_http: bool = False
    ca_file: Path | None = None
    state_dir: Path | None = None
    chunk: int = CHUNK
    mount_from: tuple[str, ...] = ()
    """Registry repositories whose blobs a push may mount instead of uploading."""


def open_store(ref: VaultRef, options: StoreOptions | None = None, *, push: bool = False) -> Store:
    """The store a reference names (a layout folder is created on push)."""
    opts = options or StoreOptions()
    if ref.kind is VaultKind.LAYOUT:
        return LayoutStore(Path(ref.location), create=push, chunk=opts.chunk)
    if ref.kind is VaultKind.REGISTRY:
        return RegistryStore(
            ref.location,
            ref.repository,
            credentials=opts.credentials,
            plain_http=opts.plain_http,
            ca_file=opts.ca_file,
            state_dir=opts.state_dir if opts.state_dir is not None else default_state_dir(),
            chunk=opts.chunk,
            push=push,
            mount_from=opts.mount_from,
        )
    assert_never(ref.kind)
