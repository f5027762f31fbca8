"""The built-in HTTP/1.1 server, spoken to over raw sockets."""

from __future__ import annotations

import json
import socket

import pytest

from tests.unit.gateway.upstream import BuiltinServerThread


async def echo_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            await send({"type": msg["type"] + ".complete"})
            if msg["type"] == "lifespan.shutdown":
                return
    msg = await receive()
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"a", b"bc", b""):
            await send({"type": "http.response.body", "body": part, "more_body": bool(part)})
        return
    body = json.dumps(
        {"path": scope["path"], "query": scope["query_string"].decode(), "len": len(msg["body"])}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server():
    with BuiltinServerThread(echo_app) as s:
        yield s


def talk(server, data: bytes, until: int = 1) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        out = b""
        while out.count(b"HTTP/1.1 ") < until or not _complete(out):
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


def _complete(out: bytes) -> bool:
    if b"transfer-encoding: chunked" in out:
        return out.endswith(b"0\r\n\r\n")
    head, _, body = out.rpartition(b"\r\n\r\n")
    if b"content-length: " not in head:
        return True
    length = int(head.split(b"content-length: ")[-1].split(b"\r\n")[0])
    return len(body) >= length


def test_one_write_with_length_and_keep_alive(server):
    out = talk(server, b"POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK") and b"connection: close" not in head
    assert json.loads(body) == {"path": "/x", "query": "y=1", "len": 3}


def test_pipelined_requests_are_answered_in_order(server):
    req = b"GET /%d HTTP/1.1\r\nHost: a\r\n\r\n"
    out = talk(server, req % 1 + req % 2, until=2)
    assert out.index(b'"/1"') < out.index(b'"/2"')


def test_chunked_request_and_chunked_response(server):
    out = talk(
        server,
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
    )
    assert b'"len": 3' in out
    out = talk(server, b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
    assert out.endswith(b"1\r\na\r\n2\r\nbc\r\n0\r\n\r\n")


def test_expect_continue_and_connection_close(server):
    out = talk(
        server,
        b"POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
        b"Connection: close\r\nContent-Length: 2\r\n\r\nhi",
        until=2,
    )
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert b"connection: close" in out


def test_malformed_request_is_400(server):
    out = talk(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400")
