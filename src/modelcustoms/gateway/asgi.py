"""ASGI plumbing for the gateway: request headers and body, whole responses, OpenAI errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from modelcustoms.gateway.errors import UpstreamError
from modelcustoms.gateway.upstream import Response

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY = 16 * 1024 * 1024


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a (lowercase) request header."""
    for k, v in scope["headers"]:
        if k == name:
            return bytes(v)
    return None


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when it is over MAX_BODY."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    parts = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def drain(resp: Response) -> bytes:
    """An upstream error body, or nothing if that breaks off too."""
    try:
        return await resp.read()
    except UpstreamError:
        return b""


async def respond(
    send: Send,
    status: int,
    body: bytes,
    ctype: bytes = b"application/json",
    rid: str = "",
) -> None:
    """A whole response in two ASGI messages (one socket write with the built-in server)."""
    headers = [(b"content-type", ctype), (b"content-length", b"%d" % len(body))]
    if rid:
        headers.append((b"x-customs-request-id", rid.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def error(send: Send, status: int, code: str, message: str, rid: str) -> None:
    """An OpenAI-style error response."""
    kind = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
    err = {
        "error": {
            "message": message,
            "type": kind.get(status, "invalid_request_error"),
            "code": code,
            "param": None,
        }
    }
    await respond(send, status, json.dumps(err).encode(), rid=rid)
