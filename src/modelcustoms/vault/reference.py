"""Parse vault references: ``[oci://]HOST[:PORT]/REPO[:TAG|@DIGEST]`` or an OCI layout folder.

The registry form is the one Docker, ORAS and KitOps use. A folder (or file share) holds an
OCI image layout; its reference is ``PATH[:TAG]`` as ORAS's ``--oci-layout`` writes it, the
tag being whatever follows the last ``:`` when that part has no ``/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from modelcustoms.vault.errors import ReferenceError_

DEFAULT_TAG = "latest"
# Grammar from the OCI distribution spec (repository names, tags, digests).
_REPO = re.compile(
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$")


class VaultKind(StrEnum):
    """Where a vault lives."""

    REGISTRY = "registry"
    LAYOUT = "layout"


@dataclass(frozen=True, slots=True)
class VaultRef:
    """A parsed reference: where the vault is, which repository, which tag or digest."""

    kind: VaultKind
    location: str
    """``host:port`` of a registry, or the layout folder's path."""
    repository: str
    """Repository inside a registry; the layout's tags are flat, so ``""`` there."""
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """The tag or digest to resolve (the digest wins)."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> VaultRef:
        """The same vault and repository, another tag."""
        return VaultRef(self.kind, self.location, self.repository, tag, None)

    def __str__(self) -> str:
        base = self.location + (f"/{self.repository}" if self.repository else "")
        if self.digest:
            return f"{base}@{self.digest}"
        return f"{base}:{self.tag}" if self.tag else base


def parse_ref(text: str, *, layout: bool = False, need_name: bool = True) -> VaultRef:
    """Parse a reference; ``layout`` says it names an OCI layout folder."""
    if not text.strip():
        msg = "empty vault reference"
        raise ReferenceError_(msg)
    if layout:
        return _parse_layout(text)
    body = text.removeprefix("oci://")
    body, digest = _split_digest(body)
    host, _, rest = body.partition("/")
    if not _HOST.match(host) or ("." not in host and ":" not in host and host != "localhost"):
        msg = f"{text!r}: expected HOST[:PORT]/REPOSITORY[:TAG] (a registry host comes first)"
        raise ReferenceError_(msg, hint="for a folder vault pass --oci-layout PATH[:TAG]")
    tag = None
    if rest and ":" in rest.rsplit("/", 1)[-1]:
        rest, tag = rest.rsplit(":", 1)
        _check_tag(text, tag)
    if rest and not _REPO.match(rest):
        msg = f"{text!r}: repository {rest!r} is not a valid name (lowercase, digits, . _ - /)"
        raise ReferenceError_(msg)
    if need_name and not rest:
        msg = f"{text!r}: no repository named (HOST/REPOSITORY[:TAG])"
        raise ReferenceError_(msg)
    return VaultRef(VaultKind.REGISTRY, host, rest, tag, digest)


def _parse_layout(text: str) -> VaultRef:
    body, digest = _split_digest(text)
    tag = None
    head, sep, tail = body.rpartition(":")
    if sep and head and "/" not in tail and not re.match(r"^[A-Za-z]:$", head + sep):
        body, tag = head, tail
        _check_tag(text, tag)
    return VaultRef(VaultKind.LAYOUT, str(Path(body)), "", tag, digest)


def _split_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    body, digest = text.rsplit("@", 1)
    if not _DIGEST.match(digest):
        msg = f"{text!r}: {digest!r} is not a sha256 digest (sha256:<64 hex>)"
        raise ReferenceError_(msg)
    return body, digest


def _check_tag(text: str, tag: str) -> None:
    if not _TAG.match(tag):
        msg = f"{text!r}: {tag!r} is not a valid tag (letters, digits, . _ -; at most 128)"
        raise ReferenceError_(msg)
