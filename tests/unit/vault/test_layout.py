"""Push, pull, verify and list against a folder vault (an OCI image layout)."""

from __future__ import annotations

import base64
import json

import pytest

from modelcustoms.passport import KeyAlgorithm, generate_key
from modelcustoms.vault import (
    IntegrityError,
    LayoutStore,
    PassportRefused,
    PassportStatus,
    holdings,
    oci,
    pull,
    push,
    verify,
)
from tests.unit.vault.helpers import sign_model, tokenizer_bytes, weights_bytes, write_model


@pytest.fixture
def signed(tmp_path):
    model = write_model(
        tmp_path / "model",
        {
            "config.json": b'{"model_type": "llama"}',
            "tokenizer.json": tokenizer_bytes(),
            "model.safetensors": weights_bytes(300_000, 0),
            "sub/notes.md": b"# notes\n",
        },
    )
    return sign_model(model)


@pytest.fixture
def store(tmp_path):
    return LayoutStore(tmp_path / "vault", create=True)


def _push(store, s, tag="v1", **kw):
    return push(store, s.model, tag, report=s.report, passport=s.passport, key=s.public, **kw)


def _tree(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_round_trip_bit_for_bit(signed, store, tmp_path):
    result = _push(store, signed)
    assert result.passport is PassportStatus.VERIFIED
    assert result.files == 4
    assert result.uploaded_bytes >= result.total_bytes
    out = tmp_path / "restored"
    pulled = pull(store, "v1", out, key=signed.public)
    assert pulled.digest == result.digest
    assert _tree(out) == _tree(signed.model)
    assert pulled.report_path is not None and pulled.report_path.read_bytes() == signed.report
    assert pulled.passport_path is not None
    assert pulled.passport_path.read_bytes() == signed.passport
    check = verify(store, "v1", key=signed.public, local=out)
    assert check.ok, check.problems
    assert check.passport == "verified"
    [held] = holdings(store)
    assert (held.entry.tag, held.passport, held.verdict, held.files) == (
        "v1",
        "verified",
        "allow",
        4,
    )


def test_layers_are_the_passport_digests(signed, store):
    result = _push(store, signed)
    manifest = oci.parse_manifest(store.get_manifest(result.digest))
    files = {d.path: d.hex for d in manifest.files()}
    statement = json.loads(base64.b64decode(json.loads(signed.passport)["payload"]))
    assert files == {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert manifest.one(oci.Role.REPORT) is not None
    assert manifest.one(oci.Role.PASSPORT) is not None


def test_refuses_without_passport_and_records_when_forced(signed, store, tmp_path):
    with pytest.raises(PassportRefused, match="no passport"):
        push(store, signed.model, "v1", report=None, passport=None, key=None)
    assert store.list_tags() == []
    forced = push(
        store, signed.model, "v1", report=None, passport=None, key=None, unsafe_no_passport=True
    )
    assert forced.passport is PassportStatus.UNSAFE_ABSENT
    manifest = oci.parse_manifest(store.get_manifest("v1"))
    assert manifest.annotations[oci.PASSPORT_STATUS] == "unsafe-absent"
    audit = [json.loads(x) for x in (store.root / "audit.jsonl").read_text().splitlines()]
    assert audit[0]["event"] == "push-without-valid-passport"
    assert audit[0]["tag"] == "v1"
    with pytest.raises(PassportRefused):
        pull(store, "v1", tmp_path / "out", key=signed.public)
    assert not (tmp_path / "out").exists()
    got = pull(store, "v1", tmp_path / "out", key=signed.public, unsafe_no_passport=True)
    assert got.recorded_status == "unsafe-absent"
    assert [h.passport for h in holdings(store)] == ["unsafe-absent"]


def test_refuses_a_passport_for_other_bytes(signed, store):
    (signed.model / "model.safetensors").write_bytes(b"changed after signing")
    with pytest.raises(PassportRefused, match=r"model\.safetensors: content differs"):
        _push(store, signed)
    (signed.model / "extra.bin").write_bytes(b"x")
    with pytest.raises(PassportRefused, match="a file was added"):
        _push(store, signed)


def test_refuses_the_wrong_key(signed, store):
    other = generate_key(KeyAlgorithm.ED25519).public_key()
    with pytest.raises(PassportRefused, match="wrong key"):
        push(store, signed.model, "v1", report=signed.report, passport=signed.passport, key=other)


def test_refuses_an_edited_report(signed, store):
    doc = json.loads(signed.report)
    doc["subject"]["name"] = "something else"
    with pytest.raises(PassportRefused, match="report"):
        push(
            store,
            signed.model,
            "v1",
            report=json.dumps(doc).encode(),
            passport=signed.passport,
            key=signed.public,
        )


def test_shared_files_are_stored_once(signed, store, tmp_path):
    first = _push(store, signed)
    files = _tree(signed.model)
    files["model.safetensors"] = new = weights_bytes(300_000, 5)
    second = sign_model(write_model(tmp_path / "adapter", files), signed.key)
    result = _push(store, second, "adapter")
    assert result.reused_blobs == 3  # config, tokenizer, notes
    assert result.uploaded_bytes < len(new) + len(second.report) + len(second.passport) + 2000
    layers = {
        d.hex: d.size
        for tag in ("v1", "adapter")
        for d in oci.parse_manifest(store.get_manifest(tag)).files()
    }
    on_disk = {p.name: p.stat().st_size for p in (store.root / "blobs" / "sha256").iterdir()}
    assert all(on_disk[h] == size for h, size in layers.items())
    # Eight file layers, five distinct blobs: only the new weights were added.
    assert len(layers) == 5
    assert sum(layers.values()) == first.total_bytes + len(new)


def test_corrupted_blob_is_detected(signed, store, tmp_path):
    result = _push(store, signed)
    manifest = oci.parse_manifest(store.get_manifest(result.digest))
    weight = next(d for d in manifest.files() if d.path == "model.safetensors")
    blob = store.root / "blobs" / "sha256" / weight.hex
    data = bytearray(blob.read_bytes())
    data[1000] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(
        IntegrityError, match=r"model\.safetensors: the vault's blob does not match"
    ):
        pull(store, "v1", tmp_path / "out", key=signed.public)
    assert not (tmp_path / "out").exists()
    assert not any(p.name.startswith(".out.partial") for p in tmp_path.iterdir())
    check = verify(store, "v1", key=signed.public)
    assert not check.ok
    assert any("model.safetensors" in p for p in check.problems)


def test_tampered_pulled_file_is_detected(signed, store, tmp_path):
    _push(store, signed)
    out = tmp_path / "out"
    pull(store, "v1", out, key=signed.public)
    (out / "config.json").write_text('{"model_type": "evil"}')
    (out / "added.py").write_text("import os")
    problems = verify(store, "v1", key=signed.public, local=out).problems
    assert any("config.json was modified after it left the vault" in p for p in problems)
    assert any("added.py is not part of the artifact" in p for p in problems)


def test_interrupted_push_leaves_no_tag_and_resumes(signed, store):
    seen = []

    def boom(n):
        seen.append(n)
        if sum(seen) > 100_000:
            raise KeyboardInterrupt

    store.chunk = 64 * 1024
    with pytest.raises(KeyboardInterrupt):
        _push(store, signed, progress=boom)
    assert store.list_tags() == []
    again = _push(store, signed)
    assert [t.tag for t in store.list_tags()] == ["v1"]
    assert again.resumed_bytes >= 100_000  # the partial copy was kept and continued
    assert again.uploaded_bytes < again.total_bytes


def test_pull_refuses_a_non_empty_destination(signed, store, tmp_path):
    _push(store, signed)
    out = tmp_path / "busy"
    out.mkdir()
    (out / "x").write_text("x")
    with pytest.raises(Exception, match="not an empty folder"):
        pull(store, "v1", out, key=signed.public)


def test_missing_tag(store, tmp_path):
    from modelcustoms.vault import NotFound

    with pytest.raises(NotFound, match="no tag"):
        pull(store, "nope", tmp_path / "o", key=None)


def test_hostile_manifest_paths_cannot_escape_or_clash(store, tmp_path):
    import hashlib

    from modelcustoms.vault import VaultError

    data = b"payload"
    digest = hashlib.sha256(data).hexdigest()
    store.push_bytes(f"sha256:{digest}", data)
    layers = [oci.file_descriptor("a", digest, len(data)), oci.file_descriptor("a/b", digest, 7)]
    config = oci.build_config("evil", "2026-11-28T00:00:00Z", layers)
    cfg = oci.Descriptor(
        oci.CONFIG_MEDIA_TYPE, f"sha256:{hashlib.sha256(config).hexdigest()}", len(config)
    )
    store.push_bytes(cfg.digest, config)
    store.put_manifest("evil", oci.build_manifest(cfg, layers, {}))
    with pytest.raises(VaultError, match="cannot restore"):
        pull(store, "evil", tmp_path / "out", key=None, unsafe_no_passport=True)
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.glob(".out.partial*")) == []
    escape = oci.file_descriptor("ok", digest, 7).to_json()
    escape["annotations"][oci.FILEPATH] = "../../outside"
    raw = json.loads(oci.build_manifest(cfg, layers[:1], {}))
    raw["layers"] = [escape]
    store.put_manifest("escape", json.dumps(raw).encode())
    with pytest.raises(IntegrityError, match="not a normalised relative path"):
        pull(store, "escape", tmp_path / "out2", key=None, unsafe_no_passport=True)
    assert not (tmp_path / "outside").exists()
