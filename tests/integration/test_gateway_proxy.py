"""The gateway end to end: real upstream servers and the real gateway on 127.0.0.1.

One gateway serves a model with three routes: ``cn-cheap`` (operator and model origin CN, the
cheapest), ``us-down`` (answers 500) and ``us-main`` (redacts personal data). Each test reads
the audit log the gateway wrote.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from modelcustoms.cli import main
from modelcustoms.gateway.keys import new_key
from modelcustoms.gateway.server import build
from tests.unit.gateway.helpers import keypair, passport_for, upstream, write_config
from tests.unit.gateway.upstream import BuiltinServerThread, ServerThread, UpstreamApp

RULE = "no-sensitive-data-to-cn"


@pytest.fixture(scope="module", params=["builtin", "uvicorn"])
def env(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("gw")
    key, _pub = keypair(root / "keys")
    folder = root / "passports"
    sha_cn = passport_for(folder, key, "cn", origin="CN")
    sha_down = passport_for(folder, key, "down", origin="US")
    sha_us = passport_for(folder, key, "us", origin="US")
    apps = {
        "cn": UpstreamApp(name="cn"),
        "down": UpstreamApp("fail", "down"),
        "us": UpstreamApp(name="us"),
    }
    servers = {k: ServerThread(a).__enter__() for k, a in apps.items()}
    user_key, user_hash = new_key()
    small_key, small_hash = new_key()
    cfg = write_config(
        root / "gateway.yaml",
        passports={"folder": "passports", "public_keys": ["keys/passport.pub"]},
        upstreams=[
            upstream(
                "cn-cheap",
                servers["cn"].url,
                sha_cn,
                operator_country="CN",
                price={"input_per_mtok": 0.1, "output_per_mtok": 0.2},
            ),
            upstream(
                "us-down",
                servers["down"].url,
                sha_down,
                operator_country="US",
                redact=True,
                price={"input_per_mtok": 1, "output_per_mtok": 2},
            ),
            upstream(
                "us-main",
                servers["us"].url,
                sha_us,
                operator_country="US",
                redact=True,
                price={"input_per_mtok": 3, "output_per_mtok": 6},
            ),
            upstream("no-passport", servers["us"].url, "f" * 64, operator_country="US"),
        ],
        models=[
            {"name": "chat", "routes": ["cn-cheap", "us-down", "us-main"]},
            {"name": "cn-only", "routes": ["cn-cheap"]},
            {"name": "unpassported", "routes": ["no-passport"]},
            {"name": "embed", "kind": "embeddings", "routes": ["us-main"]},
        ],
        rules=[
            {
                "id": RULE,
                "data_classes": ["pii", "customer-data", "source-code"],
                "deny_operator_countries": ["CN"],
                "deny_origin_countries": ["CN"],
            }
        ],
        keys=[
            {
                "id": "team",
                "sha256": user_hash,
                "models": ["chat", "cn-only", "unpassported", "embed"],
            },
            {
                "id": "small",
                "sha256": small_hash,
                "models": ["chat"],
                "budget_usd": "0.000001",
                "rpm": 1000,
            },
        ],
        audit={"path": "audit.jsonl"},
    )
    gateway, reloader = build(cfg)
    runner = BuiltinServerThread if request.param == "builtin" else ServerThread
    server = runner(gateway).__enter__()
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {user_key}"})
    yield {
        "client": client,
        "apps": apps,
        "root": root,
        "cfg": cfg,
        "reloader": reloader,
        "small": small_key,
        "url": server.url,
        "gateway": gateway,
    }
    client.close()
    server.__exit__()
    for s in servers.values():
        s.__exit__()


def chat(content, model="chat", **extra):
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def audit(env, rid: str) -> dict:
    path = env["root"] / "audit.jsonl"
    for _ in range(100):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry["req"] == rid:
                return entry
        time.sleep(0.02)
    raise AssertionError(f"no audit entry for {rid}")


def test_untagged_request_takes_the_cheapest_route(env):
    r = env["client"].post("/v1/chat/completions", json=chat("hello there"))
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "echo hello there"
    entry = audit(env, r.headers["x-customs-request-id"])
    assert entry["decision"] == "allow" and entry["route"] == "cn-cheap"
    assert entry["subject"].startswith("sha256:") and len(entry["passport"]) == 64
    assert entry["usage"] == {"prompt": 2, "completion": 3}
    assert entry["cost_nano_usd"] == 2 * 100 + 3 * 200
    assert "prompt" not in entry and len(entry["prompt_sha256"]) == 64


def test_tagged_data_skips_the_cn_route_and_falls_back(env):
    r = env["client"].post(
        "/v1/chat/completions",
        json=chat("def f(): pass"),
        headers={"X-Customs-Data-Class": "source-code"},
    )
    assert r.status_code == 200, r.text
    entry = audit(env, r.headers["x-customs-request-id"])
    assert entry["route"] == "us-main"
    assert (
        entry["skipped"][0]["rule"] == RULE and "origin CN" in entry["skipped"][0]["reason"]
    ) or "operator in CN" in entry["skipped"][0]["reason"]
    assert entry["fallback"][0]["route"] == "us-down"
    assert "HTTP 500" in entry["fallback"][0]["error"]


def test_blocked_by_origin_when_no_route_remains(env):
    r = env["client"].post(
        "/v1/chat/completions",
        json=chat("customer list", model="cn-only"),
        headers={"X-Customs-Data-Class": "customer-data"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "blocked_by_policy"
    entry = audit(env, r.headers["x-customs-request-id"])
    assert entry["decision"] == "block" and entry["rule"] == RULE
    assert entry["classes"] == ["customer-data"]
    metrics = env["client"].get("/metrics").text
    assert f'customs_gateway_blocks_total{{rule="{RULE}"}}' in metrics


def test_personal_data_is_detected_and_redacted_before_it_leaves(env):
    before = len(env["apps"]["us"].received)
    text = "mail jane.doe@example.com or call +44 20 7946 0958, card 4111 1111 1111 1111"
    r = env["client"].post("/v1/chat/completions", json=chat(text))
    assert r.status_code == 200, r.text
    sent = env["apps"]["us"].received[before]["messages"][0]["content"]
    assert "jane.doe" not in sent and "4111" not in sent and "7946" not in sent
    assert "[REDACTED:EMAIL]" in sent and "[REDACTED:CARD]" in sent
    entry = audit(env, r.headers["x-customs-request-id"])
    assert entry["classes"] == ["pii"]  # found by the detectors, not declared
    assert entry["route"] == "us-main"  # the CN route may not see PII
    assert entry["redacted"] == {"email": 1, "card": 1, "phone": 1}


@pytest.mark.parametrize("stream", [False, True])
def test_redactor_failure_blocks_on_every_route(env, stream):
    content = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    before = len(env["apps"]["us"].received)
    r = env["client"].post("/v1/chat/completions", json=chat(content, stream=stream))
    assert r.status_code == 403
    entry = audit(env, r.headers["x-customs-request-id"])
    reasons = {b["rule"] for b in entry["blocked"]}
    assert reasons == {RULE, "redactor-failed"}
    assert len(env["apps"]["us"].received) == before


def test_streaming_is_forwarded_and_metered(env):
    with env["client"].stream(
        "POST", "/v1/chat/completions", json=chat("one two three", stream=True)
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
        rid = r.headers["x-customs-request-id"]
    assert events[-1] == "data: [DONE]"
    words = "".join(json.loads(e[6:])["choices"][0]["delta"]["content"] for e in events[:-1])
    assert words.split() == ["echo", "one", "two", "three"]  # no usage event: not asked for
    entry = audit(env, rid)
    assert entry["stream"] is True and entry["usage"] == {"prompt": 3, "completion": 4}


def test_streaming_usage_is_forwarded_when_asked(env):
    body = chat("a b", stream=True, stream_options={"include_usage": True})
    with env["client"].stream("POST", "/v1/chat/completions", json=body) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: {")]
    assert json.loads(events[-1][6:])["usage"]["completion_tokens"] == 3


def test_embeddings_are_redacted_and_served(env):
    r = env["client"].post("/v1/embeddings", json={"model": "embed", "input": ["x@y.org", "hi"]})
    assert r.status_code == 200, r.text
    assert env["apps"]["us"].received[-1]["input"] == ["[REDACTED:EMAIL]", "hi"]
    assert len(r.json()["data"]) == 2


def test_model_without_passport_is_never_served(env):
    r = env["client"].post("/v1/chat/completions", json=chat("hi", model="unpassported"))
    assert r.status_code == 403
    assert audit(env, r.headers["x-customs-request-id"])["rule"] == "no-valid-passport"
    listed = {m["id"] for m in env["client"].get("/v1/models").json()["data"]}
    assert listed == {"chat", "cn-only", "embed"}


@pytest.mark.parametrize(
    ("auth", "status", "code"),
    [
        (None, 401, "missing_api_key"),
        ("Bearer nope", 401, "invalid_api_key"),
        ("Basic abc", 401, "missing_api_key"),
        ("Bearer \u00e9".encode("latin-1"), 401, "invalid_api_key"),
    ],
)
def test_missing_or_wrong_keys_are_401(env, auth, status, code):
    headers = {"Authorization": auth} if auth else {}
    r = httpx.post(env["url"] + "/v1/chat/completions", json=chat("hi"), headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert httpx.get(env["url"] + "/v1/models", headers=headers).status_code == 401


def test_allow_list_and_budget(env):
    headers = {"Authorization": f"Bearer {env['small']}"}
    r = httpx.post(
        env["url"] + "/v1/chat/completions", json=chat("hi", model="cn-only"), headers=headers
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "model_not_allowed")
    first = httpx.post(env["url"] + "/v1/chat/completions", json=chat("hi"), headers=headers)
    assert first.status_code == 200  # 1 + 2 tokens at 0.1/0.2 per Mtok: 500 nano-USD
    codes = [
        httpx.post(
            env["url"] + "/v1/chat/completions", json=chat("hi"), headers=headers
        ).status_code
        for _ in range(2)
    ]
    assert codes == [200, 429]  # 1000 nano-USD spent: the budget of 0.000001 USD is used up


def test_bad_bodies_are_400_not_500(env):
    for body in (b"not json", b"[]", b'{"messages": []}'):
        r = env["client"].post("/v1/chat/completions", content=body)
        assert r.status_code == 400
    assert (
        env["client"].post("/v1/chat/completions", json=chat("x", model="nope")).status_code == 404
    )


def test_audit_chain_verifies_and_detects_an_edit(env, capsys, tmp_path):
    env["client"].post("/v1/chat/completions", json=chat("hello"))
    log = env["root"] / "audit.jsonl"
    assert main(["gateway", "verify-log", str(log)]) == 0
    assert "chain verified" in capsys.readouterr().out
    lines = log.read_text().splitlines()
    copy = tmp_path / "edited.jsonl"
    entry = json.loads(lines[1])
    entry["status"] = 299 if entry["status"] != 299 else 200  # the hash is left as it was
    lines[1] = json.dumps(entry)
    copy.write_text("\n".join(lines) + "\n")
    assert main(["gateway", "verify-log", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "line 2: content does not match its hash" in out


def test_reload_picks_up_a_new_key_and_refuses_a_broken_config(env):
    key, digest = new_key()
    cfg: Path = env["cfg"]
    original = cfg.read_text()
    import yaml

    data = yaml.safe_load(original)
    data["keys"].append({"id": "late", "sha256": digest})
    cfg.write_text(yaml.safe_dump(data))
    assert env["reloader"].reload()
    r = httpx.post(
        env["url"] + "/v1/chat/completions",
        json=chat("hi"),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200
    cfg.write_text(original.replace("deny_operator_countries", "deny_operator_countrys"))
    assert not env["reloader"].reload()  # the running configuration stays
    assert (
        httpx.post(
            env["url"] + "/v1/chat/completions",
            json=chat("hi"),
            headers={"Authorization": f"Bearer {key}"},
        ).status_code
        == 200
    )
    cfg.write_text(original)
    assert env["reloader"].reload()


class _BrokenLedger:
    def append(self, fields) -> str | None:
        raise OSError(28, "No space left on device")

    async def aclose(self):
        return None


def test_a_gateway_that_cannot_audit_stops_serving(env):
    gateway = env["gateway"]
    ledger = gateway.ledger
    gateway.ledger = _BrokenLedger()
    try:
        assert env["client"].post("/v1/chat/completions", json=chat("hi")).status_code == 200
        r = env["client"].post("/v1/chat/completions", json=chat("hi"))
        assert (r.status_code, r.json()["error"]["code"]) == (503, "audit_unavailable")
    finally:
        gateway.ledger = ledger
        gateway.audit_failed = False


def test_check_and_keys_commands(env, capsys):
    assert main(["gateway", "check", str(env["cfg"])]) == 0
    out = capsys.readouterr().out
    assert "cn-cheap: approved" in out and "origin CN" in out
    assert "no-passport: REFUSED  no valid passport" in out
    assert "model chat: cn-cheap → us-down → us-main" in out
    assert main(["gateway", "keys", "new", "--id", "ci", "--budget-usd", "5", "--rpm", "60"]) == 0
    captured = capsys.readouterr()
    key = captured.err.split(": ")[-1].strip()
    entry = json.loads(captured.out.splitlines()[-1][2:])
    from modelcustoms.gateway.keys import hash_key

    assert entry == {
        "id": "ci",
        "sha256": hash_key(key),
        "models": ["*"],
        "budget_usd": "5",
        "rpm": 60,
    }


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["gateway", "check", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the gateway configuration" in capsys.readouterr().err
    assert main(["gateway", "verify-log"]) == 2
    assert main(["gateway", "verify-log", str(tmp_path / "none.jsonl")]) == 2


def test_removing_a_passport_withdraws_the_route_without_restart(tmp_path):
    key, _ = keypair(tmp_path / "keys")
    sha = passport_for(tmp_path / "passports", key, "m")
    user, digest = new_key()
    with ServerThread(UpstreamApp()) as up:
        cfg = write_config(
            tmp_path / "gw.yaml",
            passports={"folder": "passports", "public_keys": ["keys/passport.pub"]},
            upstreams=[upstream("u", up.url, sha)],
            models=[{"name": "chat", "routes": ["u"]}],
            keys=[{"id": "k", "sha256": digest}],
            audit={"path": "audit.jsonl", "prompts": True},
        )
        gateway, _ = build(cfg)
        with BuiltinServerThread(gateway) as gw:
            h = {"Authorization": f"Bearer {user}"}
            url = gw.url + "/v1/chat/completions"
            assert httpx.post(url, json=chat("a@b.org"), headers=h).status_code == 200
            (tmp_path / "passports" / "m.passport.json").unlink()
            for _ in range(100):  # the watcher polls every second
                r = httpx.post(url, json=chat("hi"), headers=h)
                if r.status_code != 200:
                    break
                time.sleep(0.1)
            assert r.status_code == 403
    first = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[0])
    assert first["prompt"] == [{"role": "user", "content": "a@b.org"}]  # audit.prompts: true
    last = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert last["rule"] == "no-valid-passport"
