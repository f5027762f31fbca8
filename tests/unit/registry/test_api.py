"""The HTTP API on a real server (uvicorn on 127.0.0.1), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from modelcustoms.core import Decision
from modelcustoms.passport import PrivateKey, issue_passport
from modelcustoms.registry.auth import Role
from modelcustoms.registry.store import RegistryStore
from modelcustoms.registry.web.settings import ServeSettings
from tests.unit.registry.live import LiveRegistry
from tests.unit.registry.reports import T0, model_report, repo_report


@pytest.fixture
def live(store: RegistryStore) -> Iterator[LiveRegistry]:
    with LiveRegistry(store, ServeSettings(max_body_bytes=2_000_000)) as server:
        yield server


@pytest.fixture
def tokens(store: RegistryStore) -> dict[str, str]:
    return {role.value: store.create_token(f"t-{role.value}", role) for role in Role}


def _client(live: LiveRegistry, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=live.url + "/api/v1", headers=headers, timeout=30)


def _body(doc, passport=None) -> dict:
    return {"report": doc.model_dump(mode="json"), "passport": passport}


def test_roles_and_tokens(live: LiveRegistry, tokens: dict[str, str]) -> None:
    doc = model_report()
    with _client(live) as anon:
        r = anon.post("/reports", json=_body(doc))
        assert r.status_code == 401 and "token" in r.json()["detail"]
        assert anon.get("/models").status_code == 401
        assert anon.get("/health").json()["status"] == "ok"
    with _client(live, "mct_not-a-token") as bad:
        assert bad.get("/models").status_code == 401
    with _client(live, tokens["viewer"]) as viewer:
        r = viewer.post("/reports", json=_body(doc))
        assert r.status_code == 403 and "auditor" in r.json()["detail"]
        assert viewer.get("/models").json()["total"] == 0
    with _client(live, tokens["auditor"]) as auditor:
        r = auditor.post("/reports", json=_body(doc))
        assert r.status_code == 201, r.text
        mid = r.json()["model_id"]
        assert auditor.post(f"/models/{mid}/approve", json={"reason": "x"}).status_code == 403
    with _client(live, tokens["approver"]) as approver:
        r = approver.post(f"/models/{mid}/approve", json={"reason": "reviewed"})
        assert r.status_code == 201 and r.json()["actor"] == "t-approver"
        events = approver.get("/events").json()
        assert [e["action"] for e in events][:2] == ["approve", "record"]


def test_invalid_submissions_are_4xx_with_a_reason(
    live: LiveRegistry, tokens: dict[str, str], signing_key: PrivateKey
) -> None:
    doc = model_report()
    tampered = doc.model_dump(mode="json")
    tampered["subject"]["name"] = "someone/else"
    other = model_report(revision="r2")
    foreign = issue_passport(other, signing_key, now=datetime.now(UTC), tool_version="0")
    with _client(live, tokens["auditor"]) as c:
        cases = [
            ({"report": tampered}, 422, "digest does not match"),
            ({"report": {"schema_version": "2.0"}}, 422, "unsupported report schema"),
            ({"report": doc.model_dump(mode="json"), "passport": foreign}, 422, "issued for"),
            ({"nothing": 1}, 422, "report"),
        ]
        for body, status, reason in cases:
            r = c.post("/reports", json=body)
            assert r.status_code == status, r.text
            assert reason in str(r.json()["detail"])
        r = c.post("/reports", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422
        r = c.post(
            "/reports", content=b"x" * 2_000_001, headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        assert c.get("/models").json()["total"] == 0


def test_reads_history_diff_and_passport_lookup(
    live: LiveRegistry, tokens: dict[str, str], signing_key: PrivateKey
) -> None:
    old = model_report(weights="1" * 64)
    new = model_report(
        revision="r2",
        decision=Decision.DENY,
        findings=("pickle.dangerous-import",),
        created=T0 + timedelta(days=1),
        weights="2" * 64,
    )
    passport = issue_passport(old, signing_key, now=datetime.now(UTC), tool_version="0")
    with _client(live, tokens["approver"]) as c:
        assert c.post("/reports", json=_body(old, passport)).json()["passport"] is True
        rec = c.post("/reports", json=_body(new)).json()
        c.post("/reports", json=_body(repo_report()))
        detail = c.get("/models/by-key", params={"key": "hf:acme/chat-7b"}).json()
        assert [r["revision"] for r in detail["reports"]] == ["r2", "r1"]
        report = c.get(f"/reports/{rec['report_id']}").json()
        changes = {x["what"]: x["after"] for x in report["diff_previous"]["changes"]}
        assert changes["verdict"] == "deny"
        old_id = detail["reports"][1]["id"]
        d = c.get("/diff", params={"old": old_id, "new": rec["report_id"]}).json()
        assert d["new_findings"][0]["rule_id"] == "pickle.dangerous-import"
        hit = c.get("/passports/by-digest", params={"sha256": "1" * 64}).json()
        assert hit["decision"] == "allow" and hit["country"] == "CN"
        assert c.get("/passports/by-digest", params={"sha256": "2" * 64}).json() is None
        r = c.post(
            "/hosted/bind",
            json={"operator": "acme", "model_name": "chat", "model_key": "hf:acme/chat-7b"},
        )
        assert r.status_code == 201
        hosted = c.get("/passports/hosted", params={"operator": "acme", "model": "chat"}).json()
        assert hosted["report_digest"] == old.report_digest
        assert c.get("/models", params={"verdict": "deny"}).json()["total"] == 1
        assert c.get("/models/999").status_code == 404
        repos = c.get("/repositories").json()
        assert c.get(f"/repositories/{repos[0]['id']}").json()["references"][0]["model_id"]
        mid = detail["model"]["id"]
        r = c.post(f"/models/{mid}/approve", json={"reason": "fine"})
        assert r.status_code == 409 and "waive" in r.json()["detail"]
        r = c.post(
            f"/models/{mid}/waive",
            json={"reason": "sandboxed", "rules": ["pickle.dangerous-import"]},
        )
        assert r.status_code == 201


def test_the_login_cookie_reads_but_never_writes(
    live: LiveRegistry, tokens: dict[str, str]
) -> None:
    with httpx.Client(base_url=live.url, timeout=30) as browser:
        assert browser.get("/", follow_redirects=False).headers["location"] == "/login"
        r = browser.post("/login", data={"token": tokens["approver"]}, follow_redirects=False)
        assert r.status_code == 303
        assert "httponly" in r.headers["set-cookie"].lower()
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        assert browser.get("/").status_code == 200
        assert browser.get("/api/v1/models").status_code == 200
        r = browser.post("/api/v1/reports", json=_body(model_report()))
        assert r.status_code == 401
        r = browser.post("/login", data={"token": "wrong"}, follow_redirects=False)
        assert "error" in r.headers["location"]


def test_public_read(store: RegistryStore) -> None:
    with LiveRegistry(store, ServeSettings(public_read=True)) as server, _client(server) as c:
        assert c.get("/models").status_code == 200
        assert c.post("/reports", json=_body(model_report())).status_code == 401


def test_a_restarted_server_keeps_everything(db_url: str, signing_key: PrivateKey) -> None:
    store = RegistryStore(db_url, trusted_keys=[signing_key.public_key()])
    token = store.create_token("ci", Role.APPROVER)
    with LiveRegistry(store) as server, _client(server, token) as c:
        for i in range(5):
            c.post("/reports", json=_body(model_report(f"org/m{i}")))
        c.post("/models/1/approve", json={"reason": "ok"})
    store.close()
    again = RegistryStore(db_url, trusted_keys=[signing_key.public_key()])
    with LiveRegistry(again) as server, _client(server, token) as c:
        page = c.get("/models").json()
        assert page["total"] == 5
        assert {m["approval"] for m in page["items"]} == {"approved", None}
        assert [e["action"] for e in c.get("/events").json()].count("record") == 5
    again.close()


def test_concurrent_http_writers_lose_nothing(live: LiveRegistry, tokens: dict[str, str]) -> None:
    errors: list[str] = []

    def client_thread(t: int) -> None:
        with _client(live, tokens["auditor"]) as c:
            for i in range(15):
                r = c.post(
                    "/reports", json=_body(model_report(f"org/m{i % 5}", revision=f"{t}.{i}"))
                )
                if r.status_code != 201:
                    errors.append(r.text)

    threads = [threading.Thread(target=client_thread, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    with _client(live, tokens["viewer"]) as c:
        items = c.get("/models").json()["items"]
        assert len(items) == 5
        assert sum(len(c.get(f"/models/{m['id']}").json()["reports"]) for m in items) == 120


def test_dashboard_escapes_hostile_names(live: LiveRegistry, tokens: dict[str, str]) -> None:
    evil = '<script>alert(1)</script>"/><svg onload=x>'
    with _client(live, tokens["auditor"]) as c:
        rec = c.post("/reports", json=_body(model_report(evil, base=evil))).json()
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as browser:
        for path in ("/", f"/models/{rec['model_id']}", f"/reports/{rec['report_id']}"):
            html = browser.get(path).text
            assert "<script>alert" not in html and "<svg onload" not in html, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
