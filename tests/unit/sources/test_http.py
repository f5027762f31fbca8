"""RemoteBlob and HttpSession: the local hub server, and MockTransport for hostile replies."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from modelcustoms.artifacts.http import (
    HttpSession,
    HttpSettings,
    RangeNotHonoured,
    RemoteBlob,
    RemoteError,
    RemoteNotFound,
    RemoteProtocolError,
    RemoteServerError,
    RemoteUnreachable,
    TransferLimitExceeded,
)
from modelcustoms.errors import SourceError
from tests.hubserver import HubServer, SparseFile
from tests.unit.sources.conftest import FAST, Chunks, closed_port

DATA = bytes(range(256)) * 4096  # 1 MiB, every offset distinguishable modulo 256


@pytest.fixture
def session() -> Iterator[HttpSession]:
    s = HttpSession(FAST)
    yield s
    s.close()


@pytest.fixture
def served(hub_server: HubServer) -> HubServer:
    hub_server.add_repo(
        "org/files",
        {
            "data.txt": DATA,
            "data.safetensors": DATA,  # an LFS file: served by the CDN (where latency applies)
            "empty.txt": b"",
            "big.safetensors": SparseFile(5 * 1024**3, b"HEAD" * 10),
        },
    )
    hub_server.reset_counters()
    return hub_server


def url(hub: HubServer, path: str) -> str:
    return f"{hub.url}/org/files/resolve/main/{path}"


def test_reads_exact_ranges(served: HubServer, session: HttpSession) -> None:
    blob = RemoteBlob(session, url(served, "data.txt"), len(DATA), name="data.txt", max_bytes=None)
    assert blob.read(1000, 50) == DATA[1000:1050]
    assert blob.read(len(DATA) - 10, 100) == DATA[-10:]
    assert blob.read(len(DATA) + 5, 10) == b""
    assert blob.tail(300) == DATA[-300:]
    assert blob.read(0, 0) == b""
    with pytest.raises(ValueError, match="negative"):
        blob.read(-1, 1)


def test_scattered_spans_are_read_concurrently_and_in_order(
    served: HubServer, session: HttpSession
) -> None:
    name = "data.safetensors"
    blob = RemoteBlob(session, url(served, name), len(DATA), name=name, max_bytes=None)
    spans = [(offset, 37) for offset in range(900_000, 0, -29_999)] + [(len(DATA) - 5, 50)]
    served.latency = 0.05
    start = time.monotonic()
    got = blob.read_many(spans)
    elapsed = time.monotonic() - start
    served.latency = 0.0
    assert got == [DATA[o : o + n] for o, n in spans]
    assert blob.requests == len(spans)
    # NOTE: 31 requests of 50 ms each; one at a time they could not finish under 1.5 s.
    assert elapsed < 0.05 * len(spans) / 2, elapsed
    with pytest.raises(ValueError, match="negative"):
        blob.read_many([(0, 1), (-1, 1)])


def test_small_header_reads_cost_one_request(served: HubServer, session: HttpSession) -> None:
    blob = RemoteBlob(session, url(served, "data.txt"), len(DATA), name="data.txt", max_bytes=None)
    for off in range(0, 60_000, 97):
        assert blob.read(off, 8) == DATA[off : off + 8]
    assert blob.requests == 1
    assert blob.fetched <= 80 * 1024


def test_sequential_misses_grow_readahead(served: HubServer, session: HttpSession) -> None:
    blob = RemoteBlob(session, url(served, "data.txt"), len(DATA), name="data.txt", max_bytes=None)
    for off in range(0, len(DATA), 4096):
        assert blob.read(off, 4096) == DATA[off : off + 4096]
    # 64 KiB, 128 KiB, 256 KiB, 512 KiB, then the rest: logarithmic, not 16 block requests.
    assert blob.requests <= 5
    assert blob.fetched <= len(DATA) + 64 * 1024


def test_large_read_is_one_request(served: HubServer, session: HttpSession) -> None:
    blob = RemoteBlob(session, url(served, "data.txt"), len(DATA), name="data.txt", max_bytes=None)
    assert blob.all(len(DATA)) == DATA
    assert blob.requests == 1


def test_probe_learns_the_size_and_fills_the_cache(served: HubServer, session: HttpSession) -> None:
    blob = RemoteBlob.probe(session, url(served, "data.txt"), name="data.txt", max_bytes=None)
    assert blob.size == len(DATA)
    assert blob.head(1000) == DATA[:1000]
    assert blob.requests == 1


def test_probe_of_an_empty_file(served: HubServer, session: HttpSession) -> None:
    blob = RemoteBlob.probe(session, url(served, "empty.txt"), name="empty.txt", max_bytes=None)
    assert blob.size == 0
    assert blob.read(0, 10) == b""


def test_byte_cap_refuses_a_download(served: HubServer, session: HttpSession) -> None:
    blob = RemoteBlob(
        session, url(served, "data.txt"), len(DATA), name="data.txt", max_bytes=100_000
    )
    assert blob.read(0, 10) == DATA[:10]
    with pytest.raises(TransferLimitExceeded) as info:
        blob.all(len(DATA))
    assert isinstance(info.value, OSError)  # the scan engine turns it into a skip
    assert isinstance(info.value, SourceError)  # the CLI explains it
    assert "full download" in info.value.diagnostics()


def test_lfs_redirect_keeps_range_and_drops_the_token(served: HubServer) -> None:
    with HttpSession(FAST, headers={"Authorization": "Bearer tok-123"}) as s:
        blob = RemoteBlob(
            s, url(served, "big.safetensors"), 5 * 1024**3, name="big", max_bytes=None
        )
        assert blob.head(8) == b"HEADHEAD"
        assert s.stats.requests == 2  # the redirect hop counts
    hub_hit, cdn_hit = served.hits
    assert (hub_hit.listener, hub_hit.status, hub_hit.authorized) == ("hub", 302, True)
    assert (cdn_hit.listener, cdn_hit.status) == ("cdn", 206)
    assert cdn_hit.range == "bytes=0-65535"
    assert not cdn_hit.authorized  # another origin: httpx drops Authorization


def test_server_ignoring_range_is_read_only_as_far_as_needed(served: HubServer) -> None:
    served.honour_range = False
    with HttpSession(FAST) as s:
        blob = RemoteBlob(
            s, url(served, "big.safetensors"), 5 * 1024**3, name="big", max_bytes=None
        )
        assert blob.head(4) == b"HEAD"
        assert blob.fetched < 1024 * 1024  # not 5 GiB
        started = time.monotonic()
        with pytest.raises(RangeNotHonoured, match="ignores Range"):
            blob.read(3 * 1024**3, 16)
        assert time.monotonic() - started < 5
        assert s.stats.bytes < 2 * 1024 * 1024


def test_probe_through_a_server_ignoring_range(served: HubServer, session: HttpSession) -> None:
    served.honour_range = False
    blob = RemoteBlob.probe(session, url(served, "data.txt"), name="data.txt", max_bytes=None)
    assert blob.size == len(DATA)
    assert blob.read(100, 10) == DATA[100:110]


def test_unreachable_endpoint_fails_quickly_with_a_clear_error() -> None:
    port = closed_port()
    started = time.monotonic()
    with HttpSession(FAST) as s, pytest.raises(RemoteUnreachable) as info:
        RemoteBlob.probe(s, f"http://127.0.0.1:{port}/x", name="x", max_bytes=None)
    assert time.monotonic() - started < 5
    assert "could not connect" in info.value.diagnostics()
    assert f"127.0.0.1:{port}" in str(info.value)
    assert s.stats.requests == 3  # the first attempt and two retries


def test_transient_errors_are_retried(served: HubServer, session: HttpSession) -> None:
    served.fail_next = [503, 502]
    blob = RemoteBlob(session, url(served, "data.txt"), len(DATA), name="data.txt", max_bytes=None)
    assert blob.read(0, 4) == DATA[:4]
    assert [h.status for h in served.hits] == [503, 502, 206]


def test_persistent_server_errors_surface(served: HubServer, session: HttpSession) -> None:
    served.fail_next = [500, 500, 500]
    blob = RemoteBlob(session, url(served, "data.txt"), len(DATA), name="data.txt", max_bytes=None)
    with pytest.raises(RemoteServerError, match="HTTP 500"):
        blob.read(0, 4)


def test_missing_file_is_not_found(served: HubServer, session: HttpSession) -> None:
    with pytest.raises(RemoteNotFound, match="EntryNotFound"):
        RemoteBlob.probe(session, url(served, "nope.bin"), name="nope.bin", max_bytes=None)


# --- hostile or broken servers, through MockTransport ----------------------------------------


def body(status: int, data: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, stream=Chunks(data))


def mock_session(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float] | None = None
) -> HttpSession:
    record = sleeps if sleeps is not None else []
    return HttpSession(FAST, transport=httpx.MockTransport(handler), sleep=record.append)


def ranged(
    status: int = 206,
    content_range: str | None = "bytes 0-99/1000",
    body: bytes = b"x" * 100,
    headers: dict[str, str] | None = None,
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        h = dict(headers or {})
        if content_range is not None:
            h["Content-Range"] = content_range
        return httpx.Response(status, headers=h, stream=Chunks(body))

    return handler


@pytest.mark.parametrize(
    ("handler", "match"),
    [
        (ranged(content_range="bytes 5-104/1000"), "does not match"),
        (ranged(content_range=None), "does not match"),
        (ranged(content_range="bytes 0-99/2000"), "size changed"),
        (ranged(content_range="bytes 0-9/1000", body=b"x" * 10), "shorter range"),
        (ranged(headers={"Content-Encoding": "gzip"}), "compressed"),
        (ranged(status=302, content_range=None), "HTTP 302"),
    ],
)
def test_untrustworthy_range_replies_are_errors(
    handler: Callable[[httpx.Request], httpx.Response], match: str
) -> None:
    with mock_session(handler) as s:
        blob = RemoteBlob(s, "http://hub.test/f", 1000, name="f", max_bytes=None)
        with pytest.raises(RemoteProtocolError, match=match):
            blob.read(0, 100)


def test_truncated_body_is_an_error() -> None:
    handler = ranged(content_range="bytes 0-99/100", body=b"x" * 10)
    with mock_session(handler) as s:
        blob = RemoteBlob(s, "http://hub.test/f", 100, name="f", max_bytes=None)
        with pytest.raises(RemoteProtocolError, match="truncated"):
            blob.read(0, 100)


def test_retry_after_is_capped() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "86400"})
        return body(206, b"abcd", **{"Content-Range": "bytes 0-3/4"})

    sleeps: list[float] = []
    with mock_session(handler, sleeps) as s:
        blob = RemoteBlob(s, "http://hub.test/f", 4, name="f", max_bytes=None)
        assert blob.read(0, 4) == b"abcd"
    assert sleeps == [FAST.max_retry_after]


def test_timeouts_become_unreachable_after_retries() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    sleeps: list[float] = []
    with mock_session(handler, sleeps) as s, pytest.raises(RemoteUnreachable, match="timed out"):
        s.get_json("http://hub.test/api?token=abc", what="info")
    assert len(attempts) == 3
    assert sleeps == [0.01, 0.02]


def test_error_messages_hide_query_strings_and_control_characters() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, headers={"X-Error-Message": "gone\x1b[31m red"})

    with mock_session(handler) as s, pytest.raises(RemoteError) as info:
        s.get_json("http://hub.test/api?sig=secret", what="info")
    text = info.value.diagnostics()
    assert "secret" not in text
    assert "\x1b" not in text


def test_oversized_and_invalid_json_are_refused() -> None:
    settings = HttpSettings(trust_env=False, max_json_bytes=10)
    transport = httpx.MockTransport(lambda r: body(200, b"[" * 50))
    with (
        HttpSession(settings, transport=transport) as s,
        pytest.raises(RemoteProtocolError, match="exceeds"),
    ):
        s.get_json("http://hub.test/api", what="info")
    deep = b"[" * 100_000 + b"]" * 100_000
    with (
        mock_session(lambda r: body(200, deep)) as s,
        pytest.raises(RemoteProtocolError, match="not valid JSON"),
    ):
        s.get_json("http://hub.test/api", what="info")


def test_settings_refuse_a_cache_smaller_than_readahead() -> None:
    with pytest.raises(ValueError, match="block cache"):
        HttpSettings(cache_blocks=2)


def test_hub_server_speaks_range_like_the_hub(served: HubServer) -> None:
    """The test server itself: 206 with Content-Range, suffix ranges, 416 past the end."""
    with httpx.Client() as c:
        u = url(served, "data.txt")
        r = c.get(u, headers={"Range": "bytes=10-19"})
        assert (r.status_code, r.headers["content-range"]) == (206, f"bytes 10-19/{len(DATA)}")
        assert r.content == DATA[10:20]
        r = c.get(u, headers={"Range": "bytes=-5"})
        assert r.content == DATA[-5:]
        r = c.get(u, headers={"Range": f"bytes={len(DATA)}-"})
        assert (r.status_code, r.headers["content-range"]) == (416, f"bytes */{len(DATA)}")
        r = c.get(f"{served.url}/org/files/resolve/main/big.safetensors")
        assert r.status_code == 302 and r.headers["location"].startswith(served.cdn_url)
