from __future__ import annotations

import base64
import json

import pytest

from modelcustoms.core import Decision, ReportDocument, Verdict
from modelcustoms.passport import (
    KeyAlgorithm,
    PassportError,
    VerificationFailed,
    generate_key,
    issue_passport,
    key_id,
    pae,
    sign_envelope,
    verify_passport,
)
from modelcustoms.passport.verify import read_envelope, verify_signature
from modelcustoms.render import OutputFormat, renderer_for
from tests.unit.passport.conftest import NOW


def _issue(doc, key, verdict=None) -> bytes:
    env = issue_passport(doc, key, now=NOW, tool_version="0.1.0", verdict=verdict)
    return json.dumps(env).encode()


def _failure(excinfo) -> str:
    return "\n".join(excinfo.value.problems)


def test_pae_matches_the_dsse_spec_example():
    # https://github.com/secure-systems-lab/dsse/blob/master/protocol.md (test vector)
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


@pytest.mark.parametrize("alg", list(KeyAlgorithm))
def test_issue_then_verify(alg, model_dir, report_doc):
    key = generate_key(alg)
    envelope = _issue(report_doc, key)
    env = json.loads(envelope)
    assert env["payloadType"] == "application/vnd.in-toto+json"
    assert env["signatures"][0]["keyid"] == key_id(key.public_key())
    report = renderer_for(OutputFormat.JSON).render(report_doc.report())
    passport = verify_passport(envelope, key.public_key(), [model_dir], report)
    assert set(passport.files) == {"config.json", "weights.bin", "sub/notes.txt"}
    assert passport.verdict["decision"] == "allow"
    assert passport.verdict["policy"] == "scan-default"
    assert passport.report_digest == report_doc.report_digest


def test_report_verdict_is_signed_when_present(model_dir, report_doc):
    v = Verdict(
        decision=Decision.WARN,
        report_digest=report_doc.report_digest,
        policy="enterprise",
        fired_rules=("x.y",),
    )
    doc = ReportDocument.of(report_doc.report(), v)
    key = generate_key(KeyAlgorithm.ED25519)
    passport = verify_passport(_issue(doc, key), key.public_key(), [model_dir])
    assert passport.verdict == {
        "decision": "warn",
        "policy": "enterprise",
        "firedRules": ["x.y"],
        "reasons": [],
    }


def test_changed_missing_and_added_files_are_each_named(model_dir, report_doc):
    key = generate_key(KeyAlgorithm.ED25519)
    envelope = _issue(report_doc, key)
    (model_dir / "weights.bin").write_bytes(b"tampered")
    (model_dir / "config.json").unlink()
    (model_dir / "extra.py").write_text("import os")
    with pytest.raises(VerificationFailed) as exc:
        verify_passport(envelope, key.public_key(), [model_dir])
    assert exc.value.problems == (
        "config.json: missing (the passport lists it)",
        exc.value.problems[1],
        "extra.py: not in the passport (a file was added)",
    )
    assert exc.value.problems[1].startswith("weights.bin: content changed since the passport")


def test_wrong_key(model_dir, report_doc):
    envelope = _issue(report_doc, generate_key(KeyAlgorithm.ED25519))
    other = generate_key(KeyAlgorithm.ECDSA_P256).public_key()
    with pytest.raises(VerificationFailed) as exc:
        verify_passport(envelope, other, [model_dir])
    assert _failure(exc).startswith("wrong key: the passport was signed by key ")


def test_altered_payload(model_dir, report_doc):
    key = generate_key(KeyAlgorithm.ED25519)
    env = json.loads(_issue(report_doc, key))
    st = json.loads(base64.b64decode(env["payload"]))
    st["predicate"]["verdict"]["decision"] = "allow"
    st["subject"][0]["digest"]["sha256"] = "0" * 64
    env["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
    with pytest.raises(VerificationFailed) as exc:
        verify_passport(json.dumps(env).encode(), key.public_key(), [model_dir])
    assert (
        _failure(exc) == "signature does not verify: the passport was altered after it was signed"
    )


def test_edited_report(model_dir, report_doc):
    key = generate_key(KeyAlgorithm.ED25519)
    envelope = _issue(report_doc, key)
    raw = json.loads(renderer_for(OutputFormat.JSON).render(report_doc.report()))
    raw["runs"][0]["status"] = "ok" if raw["runs"][0]["status"] != "ok" else "partial"
    with pytest.raises(VerificationFailed) as exc:
        verify_passport(envelope, key.public_key(), [model_dir], json.dumps(raw).encode())
    assert _failure(exc).startswith("report: report digest does not match its content")


def test_another_report(model_dir, report_doc):
    key = generate_key(KeyAlgorithm.ED25519)
    envelope = _issue(report_doc, key)
    other = report_doc.report().model_copy(update={"created_at": NOW.replace(hour=1)})
    with pytest.raises(VerificationFailed) as exc:
        verify_passport(
            envelope, key.public_key(), [model_dir], renderer_for(OutputFormat.JSON).render(other)
        )
    assert "this is not the report the passport was issued for" in _failure(exc)


def test_edited_verdict_in_report(model_dir, report_doc):
    key = generate_key(KeyAlgorithm.ED25519)
    deny = Verdict(decision=Decision.DENY, report_digest=report_doc.report_digest, policy="p")
    envelope = _issue(report_doc, key, deny)
    allow = deny.model_copy(update={"decision": Decision.ALLOW})
    edited = renderer_for(OutputFormat.JSON).render(report_doc.report(), allow)
    with pytest.raises(VerificationFailed) as exc:
        verify_passport(envelope, key.public_key(), [model_dir], edited)
    assert "the verdict was edited" in _failure(exc)


def test_signed_but_not_a_passport(model_dir):
    key = generate_key(KeyAlgorithm.ED25519)
    env = sign_envelope(json.dumps({"_type": "https://in-toto.io/Statement/v1"}).encode(), key)
    with pytest.raises(VerificationFailed) as exc:
        verify_signature(env, key.public_key())
    assert "predicate type None" in _failure(exc)
    assert "binds no file" in _failure(exc)


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"payload": "x", "payloadType": "t", "signatures": []}', b"{}"],
)
def test_malformed_envelope_is_an_input_error(data):
    with pytest.raises(PassportError):
        read_envelope(data)


def test_bad_base64_signature_is_a_failure(report_doc):
    key = generate_key(KeyAlgorithm.ED25519)
    env = json.loads(_issue(report_doc, key))
    env["signatures"][0]["sig"] = "!!!"
    with pytest.raises(VerificationFailed, match="altered"):
        verify_signature(env, key.public_key())
