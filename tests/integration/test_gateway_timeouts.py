"""Upstream timeouts are silences: a silent upstream falls back, a slow stream is never cut."""

from __future__ import annotations

import json

import httpx

from modelcustoms.gateway.keys import new_key
from modelcustoms.gateway.server import build
from tests.unit.gateway.helpers import keypair, passport_for, upstream, write_config
from tests.unit.gateway.upstream import BuiltinServerThread, ServerThread, UpstreamApp


def test_silence_falls_back_and_a_slow_stream_completes(tmp_path):
    key, _ = keypair(tmp_path / "keys")
    sha = passport_for(tmp_path / "passports", key, "m")
    user, digest = new_key()
    with (
        ServerThread(UpstreamApp("hang")) as hang,
        ServerThread(UpstreamApp("slow")) as slow,
        ServerThread(UpstreamApp("no-usage")) as plain,
    ):
        cfg = write_config(
            tmp_path / "gw.yaml",
            passports={"folder": "passports", "public_keys": ["keys/passport.pub"]},
            upstreams=[
                upstream("hang", hang.url, sha, timeout_s=1.0),
                upstream("slow", slow.url, sha, timeout_s=1.0),
                upstream("plain", plain.url, sha, price={"input_per_mtok": 1}),
            ],
            models=[
                {"name": "chat", "routes": ["hang", "slow"]},
                {"name": "plain", "routes": ["plain"]},
            ],
            keys=[{"id": "k", "sha256": digest}],
            audit={"path": "audit.jsonl"},
        )
        gateway, _ = build(cfg)
        with BuiltinServerThread(gateway) as gw:
            h = {"Authorization": f"Bearer {user}"}
            body = {
                "model": "chat",
                "stream": True,
                "messages": [{"role": "user", "content": "one two three four"}],
            }
            with httpx.stream(
                "POST", gw.url + "/v1/chat/completions", json=body, headers=h, timeout=30
            ) as r:
                events = [x for x in r.iter_lines() if x.startswith("data: ")]
            assert r.status_code == 200 and events[-1] == "data: [DONE]"
            assert len(events) == 6  # 5 words over ~1.25 s, each gap well under the 1 s timeout
            plain_body = {"model": "plain", "messages": [{"role": "user", "content": "a b c d"}]}
            assert (
                httpx.post(
                    gw.url + "/v1/chat/completions", json=plain_body, headers=h, timeout=30
                ).status_code
                == 200
            )
    entries = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert entries[0]["route"] == "slow"
    assert entries[0]["fallback"] == [{"route": "hang", "error": "upstream silent for 1 s"}]
    assert entries[1]["usage"]["estimated"] is True  # the upstream reported no usage
