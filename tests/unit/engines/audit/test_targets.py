import asyncio
import json

import httpx
import pytest

from modelcustoms.engines.audit import (
    FakeTarget,
    HttpOptions,
    Message,
    OpenAITarget,
    Request,
    TargetOptions,
    TargetSpecError,
    open_target,
)
from modelcustoms.engines.audit.targets import FakeKind, TargetKind, target_kind

REQ = Request((Message("user", "hello"),), max_tokens=16)
FAST = HttpOptions(retries=3, backoff_s=0.001, max_backoff_s=0.01, timeout_s=5)


def _completion(text, finish="stop"):
    return {
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": finish}]
    }


def _run(target, request=REQ):
    async def go():
        try:
            return await target.complete(request)
        finally:
            await target.aclose()

    return asyncio.run(go())


def test_request_body_and_auth_header():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_completion("hi", "length"))

    t = OpenAITarget("http://x.test/v1/", "m", api_key="k", transport=httpx.MockTransport(handler))
    r = _run(t)
    assert r.text == "hi" and r.finish_reason == "length" and r.ok
    body = json.loads(seen[0].content)
    assert seen[0].url == "http://x.test/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer k"
    assert body["model"] == "m" and body["max_tokens"] == 16 and body["temperature"] == 0.0
    assert body["messages"] == [{"role": "user", "content": "hello"}]


def test_retries_transient_failures_then_succeeds():
    statuses = [503, 429, 200]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        s = statuses[len(calls)]
        calls.append(s)
        if s != 200:
            return httpx.Response(s, headers={"retry-after": "0"})
        return httpx.Response(200, json=_completion("ok"))

    r = _run(
        OpenAITarget("http://x.test/v1", "m", options=FAST, transport=httpx.MockTransport(handler))
    )
    assert r.text == "ok" and calls == [503, 429, 200]


def test_connect_errors_are_retried_and_then_reported_not_raised():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    r = _run(
        OpenAITarget("http://x.test/v1", "m", options=FAST, transport=httpx.MockTransport(handler))
    )
    assert not r.ok and "gave up after 4 tries" in r.error and "ConnectError" in r.error
    assert len(calls) == 4


def test_client_errors_are_not_retried():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401)

    r = _run(
        OpenAITarget("http://x.test/v1", "m", options=FAST, transport=httpx.MockTransport(handler))
    )
    assert r.error == "HTTP 401" and len(calls) == 1


def test_a_2xx_that_is_not_a_completion_is_retried():
    answers = [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json=_completion("ok")),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    r = _run(
        OpenAITarget("http://x.test/v1", "m", options=FAST, transport=httpx.MockTransport(handler))
    )
    assert r.text == "ok"


def test_streaming_reassembles_the_deltas():
    sse = (
        'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n'
        'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n'
        'data: {"choices": [{"delta": {"content": "lo"}, "finish_reason": "stop"}]}\n\n'
        "data: [DONE]\n\n"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    opts = HttpOptions(stream=True, retries=0)
    r = _run(
        OpenAITarget("http://x.test/v1", "m", options=opts, transport=httpx.MockTransport(handler))
    )
    assert r.text == "Hello" and r.finish_reason == "stop"


def test_timeouts_are_reported():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    opts = HttpOptions(retries=1, backoff_s=0.001)
    r = _run(
        OpenAITarget("http://x.test/v1", "m", options=opts, transport=httpx.MockTransport(handler))
    )
    assert not r.ok and "ReadTimeout" in r.error


def test_concurrency_is_bounded_per_target():
    inflight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await asyncio.sleep(0.01)
        inflight -= 1
        return httpx.Response(200, json=_completion("ok"))

    t = OpenAITarget(
        "http://x.test/v1",
        "m",
        options=HttpOptions(concurrency=3),
        transport=httpx.MockTransport(handler),
    )

    async def go():
        reqs = [Request((Message("user", str(i)),)) for i in range(12)]
        out = await asyncio.gather(*(t.complete(r) for r in reqs))
        await t.aclose()
        return out

    assert all(r.ok for r in asyncio.run(go()))
    assert peak == 3


@pytest.mark.parametrize("kind", list(TargetKind))
def test_every_target_kind_parses(kind, tmp_path):
    spec = {
        TargetKind.OPENAI: "openai:http://127.0.0.1:1/v1#m",
        TargetKind.GGUF: f"gguf:{tmp_path}/x.gguf",
        TargetKind.TRANSFORMERS: f"transformers:{tmp_path}",
        TargetKind.FAKE: "fake:echo",
    }[kind]
    assert target_kind(spec)[0] is kind


@pytest.mark.parametrize(
    "spec", ["nope", "ftp:x", "openai:http://x", "openai:x#m", "fake:unknown", "fake:"]
)
def test_bad_specs_are_usage_errors(spec):
    with pytest.raises(TargetSpecError):
        open_target(spec)


def test_bare_url_is_an_openai_target_and_key_comes_from_env(monkeypatch):
    monkeypatch.setenv("MY_KEY", "sekrit")
    t = open_target("http://127.0.0.1:9/v1#m", TargetOptions(api_key_env="MY_KEY"))
    assert t.id == "openai:http://127.0.0.1:9/v1#m"
    assert "sekrit" not in t.id


@pytest.mark.parametrize("kind", list(FakeKind))
def test_every_fake_answers(kind):
    t = FakeTarget(kind, "fixed text")
    r = _run(t, Request((Message("user", "写一首诗"),), max_tokens=8))
    assert r.ok and r.text
    assert t.calls == 1
