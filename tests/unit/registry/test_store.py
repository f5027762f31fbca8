"""The store on both backends: record, inventory, history, diff, approvals, passports, tokens."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from modelcustoms.core import Decision
from modelcustoms.passport import KeyAlgorithm, PrivateKey, generate_key, issue_passport
from modelcustoms.registry.auth import Role
from modelcustoms.registry.errors import Conflict, InvalidSubmission, NotFound
from modelcustoms.registry.queries import ModelFilter
from modelcustoms.registry.store import RegistryStore
from tests.unit.registry.reports import T0, model_report, repo_report


def _passport(doc, key: PrivateKey) -> dict:
    return issue_passport(doc, key, now=datetime.now(UTC), tool_version="0.1.0")


def test_record_is_idempotent_and_indexed(store: RegistryStore) -> None:
    doc = model_report()
    first = store.record(doc, actor="ci")
    again = store.record(doc.model_dump_json(), actor="ci")
    assert first.created and not again.created
    assert first.report_id == again.report_id
    page = store.list_models()
    assert page.total == 1
    row = page.items[0]
    assert (row.key, row.family, row.publisher, row.country, row.decision) == (
        "hf:acme/chat-7b",
        "qwen2.5",
        "alibaba",
        "CN",
        "allow",
    )


def test_filters_and_chart_counts(store: RegistryStore) -> None:
    store.record(model_report("a/one", family="qwen2.5"), actor="ci")
    store.record(model_report("b/two", family="llama3", decision=Decision.DENY), actor="ci")
    store.record(model_report("c/three", family="mistral", decision=None), actor="ci")
    assert [m.key for m in store.list_models(ModelFilter(country="cn")).items] == ["hf:a/one"]
    assert [m.key for m in store.list_models(ModelFilter(decision="deny")).items] == ["hf:b/two"]
    assert [m.key for m in store.list_models(ModelFilter(family="mistral")).items] == ["hf:c/three"]
    assert store.list_models(ModelFilter(publisher="meta")).total == 1
    assert store.list_models(ModelFilter(text="TWO")).total == 1
    counts = {(c.country, c.decision): c.count for c in store.counts()}
    assert counts == {("CN", "allow"): 1, ("US", "deny"): 1, ("FR", "none"): 1}
    facets = store.facets()
    assert facets.countries == ["CN", "FR", "US"]
    assert facets.decisions == ["allow", "deny", "none"]


def test_history_diff_new_base_verdict_and_finding(store: RegistryStore) -> None:
    old = model_report(revision="r1")
    new = model_report(
        revision="r2",
        base="evil/other-base",
        decision=Decision.DENY,
        findings=("pickle.dangerous-import",),
        created=T0 + timedelta(days=1),
    )
    store.record(old, actor="ci")
    rec = store.record(new, actor="ci")
    detail = store.report(rec.report_id)
    diff = detail.diff_previous
    assert diff is not None and not diff.empty
    changed = {c.what: (c.before, c.after) for c in diff.changes}
    assert changed["verdict"] == ("allow", "deny")
    assert changed["revision"] == ("r1", "r2")
    assert changed["lineage bases"][1][0] == "evil/other-base"
    assert [f.rule_id for f in diff.new_findings] == ["pickle.dangerous-import"]
    assert diff.files_changed == ["config.json", "model.safetensors"]
    model = store.model(rec.model_id or 0)
    assert [r.revision for r in model.reports] == ["r2", "r1"]
    assert model.model.decision == "deny"
    assert [link.base for link in model.lineage] == ["evil/other-base", "qwen2.5"]
    assert model.origin["country"] == "CN"


def test_an_older_report_recorded_late_does_not_become_latest(store: RegistryStore) -> None:
    store.record(model_report(revision="new", created=T0 + timedelta(days=2)), actor="ci")
    store.record(model_report(revision="old", decision=Decision.DENY), actor="ci")
    row = store.list_models().items[0]
    assert row.decision == "allow"
    assert store.model(row.id).reports[0].revision == "new"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.update(report_digest="0" * 64), "digest does not match"),
        (lambda d: d.update(schema_version="9.0"), "unsupported report schema"),
        (lambda d: d.pop("subject"), "subject"),
        (lambda d: d.update(extra_field=1), "extra_field"),
        (lambda d: d["verdict"].update(report_digest="1" * 64), "verdict was made for"),
    ],
)
def test_invalid_reports_are_rejected_with_a_reason(store: RegistryStore, mutate, reason) -> None:
    doc = model_report().model_dump(mode="json")
    mutate(doc)
    with pytest.raises(InvalidSubmission, match=reason):
        store.record(doc, actor="ci")
    assert store.list_models().total == 0


def test_passport_lookup_by_digest_and_hosted_name(
    store: RegistryStore, signing_key: PrivateKey
) -> None:
    doc = model_report(weights="e" * 64)
    envelope = _passport(doc, signing_key)
    store.record(doc, envelope, actor="ci")
    match = store.passport_for_digest("E" * 64)
    assert match is not None
    stored = json.dumps(envelope, sort_keys=True).encode()
    assert match.passport_sha256 == hashlib.sha256(stored).hexdigest()
    assert (match.model_key, match.decision, match.country, match.publisher) == (
        "hf:acme/chat-7b",
        "allow",
        "CN",
        "alibaba",
    )
    assert match.chain_countries == ["CN"]
    assert store.passport_for_digest("f" * 64) is None
    assert store.passport_for_hosted("acme-vllm", "chat") is None
    store.bind_hosted("acme-vllm", "chat", "hf:acme/chat-7b", actor="admin")
    hosted = store.passport_for_hosted("acme-vllm", "chat")
    assert hosted is not None and hosted.report_digest == doc.report_digest
    # Another key set: the same passport no longer vouches.
    other = generate_key(KeyAlgorithm.ED25519).public_key()
    assert store.passport_for_digest("e" * 64, keys=[other]) is None


def test_passports_that_do_not_fit_are_rejected(
    store: RegistryStore, signing_key: PrivateKey
) -> None:
    doc, other = model_report(), model_report(revision="r9")
    with pytest.raises(InvalidSubmission, match="issued for report"):
        store.record(doc, _passport(other, signing_key), actor="ci")
    stranger = generate_key(KeyAlgorithm.ED25519)
    with pytest.raises(InvalidSubmission, match="any trusted key"):
        store.record(doc, _passport(doc, stranger), actor="ci")
    env = _passport(doc, signing_key)
    env["payload"] = env["payload"][:-8] + "AAAAAAA="
    with pytest.raises(InvalidSubmission, match="passport"):
        store.record(doc, env, actor="ci")
    with pytest.raises(InvalidSubmission, match="DSSE"):
        store.record(doc, {"payload": 1}, actor="ci")
    assert store.list_models().total == 0


def test_approve_and_waive_are_audit_events(store: RegistryStore) -> None:
    ok = store.record(model_report("a/ok"), actor="ci")
    bad = store.record(
        model_report("b/bad", decision=Decision.DENY, findings=("x.rule",)), actor="ci"
    )
    assert ok.model_id is not None and bad.model_id is not None
    store.approve(ok.model_id, actor="alice", reason="reviewed")
    with pytest.raises(Conflict, match="deny"):
        store.approve(bad.model_id, actor="alice", reason="looks fine")
    with pytest.raises(InvalidSubmission, match="reason"):
        store.approve(bad.model_id, actor="alice", reason=" ", waive_rules=["x.rule"])
    store.approve(bad.model_id, actor="alice", reason="sandboxed", waive_rules=["x.rule"])
    approvals = {m.key: m.approval for m in store.list_models().items}
    assert approvals == {"hf:a/ok": "approved", "hf:b/bad": "waived"}
    events = [(e.action, e.actor, e.reason) for e in store.events() if e.actor == "alice"]
    assert events == [("waive", "alice", "sandboxed"), ("approve", "alice", "reviewed")]
    waive = store.events(model_id=bad.model_id)[0]
    assert waive.detail == {"rules": ["x.rule"]}
    # A newer report is not approved until someone approves it.
    store.record(model_report("a/ok", revision="r2", created=T0 + timedelta(1)), actor="ci")
    assert store.list_models(ModelFilter(text="a/ok")).items[0].approval is None
    with pytest.raises(NotFound):
        store.approve(9999, actor="alice", reason="x")


def test_tokens_are_stored_hashed(store: RegistryStore) -> None:
    secret = store.create_token("ci", Role.AUDITOR)
    assert store.authenticate(secret) is not None
    assert store.authenticate(secret + "x") is None
    with pytest.raises(Conflict):
        store.create_token("ci", Role.VIEWER)
    with store.reading() as s:
        from sqlalchemy import text

        stored = s.execute(text("SELECT token_hash FROM tokens")).scalar_one()
    assert secret not in stored and len(stored) == 64
    store.revoke_token("ci")
    assert store.authenticate(secret) is None
    assert [t["revoked"] for t in store.tokens()] == [True]


def test_repositories_and_where_models_are_used(store: RegistryStore) -> None:
    rec = store.record(model_report("acme/chat-7b"), actor="ci")
    repo = store.record(repo_report("shop", ("acme/chat-7b", "other/thing")), actor="ci")
    assert repo.repository_id is not None
    detail = store.repository(repo.repository_id)
    assert [(r.model, r.model_id) for r in detail.references] == [
        ("acme/chat-7b", rec.model_id),
        ("other/thing", None),
    ]
    assert [r.name for r in store.repositories()] == ["shop"]
    used = store.model(rec.model_id or 0).used_by
    assert [(u.repository, u.line) for u in used] == [("shop", 10)]


def test_concurrent_writers_lose_nothing(store: RegistryStore) -> None:
    # Six threads record 15 reports each, on ten models that every thread shares.
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(15):
                doc = model_report(f"org/m{i % 10}", revision=f"t{t}-{i}")
                store.record(doc, actor=f"w{t}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert store.list_models().total == 10
    with store.reading() as s:
        from sqlalchemy import text

        assert s.execute(text("SELECT count(*) FROM reports")).scalar_one() == 90
    assert sum(len(store.model(m.id).reports) for m in store.list_models().items) == 90


def test_stored_document_round_trips(store: RegistryStore) -> None:
    doc = model_report()
    rec = store.record(doc, actor="ci")
    stored = store.report(rec.report_id).document
    assert stored == json.loads(doc.model_dump_json())
