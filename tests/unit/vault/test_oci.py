"""The manifest parser treats the registry as hostile: strict shapes, safe paths."""

from __future__ import annotations

import json

import pytest

from modelcustoms.vault import oci
from modelcustoms.vault.errors import IntegrityError

D = "sha256:" + "b" * 64


def _manifest(**over):
    doc = {
        "schemaVersion": 2,
        "mediaType": oci.MANIFEST_MEDIA_TYPE,
        "artifactType": oci.ARTIFACT_TYPE,
        "config": {"mediaType": oci.CONFIG_MEDIA_TYPE, "digest": D, "size": 2},
        "layers": [oci.file_descriptor("a/config.json", "c" * 64, 3).to_json()],
    }
    doc.update(over)
    return json.dumps(doc).encode()


def test_round_trip():
    cfg = oci.Descriptor(oci.CONFIG_MEDIA_TYPE, D, 2)
    layers = [oci.file_descriptor("model.safetensors", "d" * 64, 10)]
    raw = oci.build_manifest(cfg, layers, {oci.NAME: "m"})
    m = oci.parse_manifest(raw)
    assert m.files()[0].path == "model.safetensors"
    assert m.files()[0].media_type == oci.WEIGHT
    assert m.annotations[oci.NAME] == "m"
    assert m.raw == raw


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "/abs", "a/../../b", "a//b", "C:/x", "a\\b", "./a", ""]
)
def test_unsafe_paths_refused(path):
    layer = oci.file_descriptor("x", "c" * 64, 3).to_json()
    layer["annotations"][oci.FILEPATH] = path
    with pytest.raises(IntegrityError, match=r"file path|no org\.cncf"):
        oci.parse_manifest(_manifest(layers=[layer]))


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"artifactType": "application/vnd.oci.image.config.v1+json"}, "not a model artifact"),
        ({"schemaVersion": 1}, "schemaVersion"),
        ({"config": {"mediaType": "x", "digest": "md5:1", "size": 1}}, "sha256 digest"),
        ({"layers": "nope"}, "not a list"),
    ],
)
def test_malformed_manifests(over, match):
    with pytest.raises(IntegrityError, match=match):
        oci.parse_manifest(_manifest(**over))


def test_duplicate_paths_refused():
    layer = oci.file_descriptor("a", "c" * 64, 3).to_json()
    with pytest.raises(IntegrityError, match="twice"):
        oci.parse_manifest(_manifest(layers=[layer, layer]))


def test_not_json():
    with pytest.raises(IntegrityError, match="not JSON"):
        oci.parse_manifest(b"\xff{")


def test_media_types_by_role():
    assert oci.media_type_for("model-00001-of-00002.safetensors") == oci.WEIGHT
    assert oci.media_type_for("tokenizer.json") == oci.WEIGHT_CONFIG
    assert oci.media_type_for("README.md") == oci.DOC
    assert oci.media_type_for("modeling_x.py") == oci.CODE
