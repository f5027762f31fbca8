"""Vault references: registry and layout forms, and the ones refused."""

from __future__ import annotations

import pytest

from modelcustoms.vault.errors import ReferenceError_
from modelcustoms.vault.reference import VaultKind, parse_ref

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "location", "repo", "tag", "digest"),
    [
        ("127.0.0.1:5000/models/qwen:1.0", "127.0.0.1:5000", "models/qwen", "1.0", None),
        ("oci://registry.example.com/m", "registry.example.com", "m", None, None),
        (f"localhost:5000/a/b@{DIGEST}", "localhost:5000", "a/b", None, DIGEST),
    ],
)
def test_registry_refs(text, location, repo, tag, digest):
    ref = parse_ref(text)
    assert (ref.kind, ref.location, ref.repository, ref.tag, ref.digest) == (
        VaultKind.REGISTRY,
        location,
        repo,
        tag,
        digest,
    )
    assert ref.reference == (digest or tag or "latest")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "models/qwen:1.0",  # no host
        "127.0.0.1:5000/Models/Qwen",  # uppercase repository
        "127.0.0.1:5000/m:bad/tag",
        "127.0.0.1:5000/m@sha256:short",
        "127.0.0.1:5000",  # no repository where one is needed
    ],
)
def test_bad_registry_refs(text):
    with pytest.raises(ReferenceError_):
        parse_ref(text)


def test_catalog_ref_without_repository():
    assert parse_ref("127.0.0.1:5000", need_name=False).repository == ""


def test_layout_refs(tmp_path):
    ref = parse_ref(f"{tmp_path}/vault:v1", layout=True)
    assert (ref.kind, ref.location, ref.tag) == (VaultKind.LAYOUT, f"{tmp_path}/vault", "v1")
    assert parse_ref(f"{tmp_path}/vault", layout=True).tag is None
    with pytest.raises(ReferenceError_):
        parse_ref(f"{tmp_path}/vault:bad tag", layout=True)
