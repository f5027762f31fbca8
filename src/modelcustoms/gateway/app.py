"""The ASGI application: key → limits → data classes → route choice → upstream → audit.

A raw ASGI callable, no framework: at the sub-millisecond budget a router and request objects
per call are measurable. Every decision (refused, blocked, served, failed) writes one audit
entry and one structured log line; prompts are recorded only as a sha256 unless the
configuration says otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from modelcustoms.gateway.asgi import (
    Receive,
    Scope,
    Send,
    drain,
    error,
    header,
    read_body,
    respond,
)
from modelcustoms.gateway.errors import UpstreamError
from modelcustoms.gateway.keys import Refusal, may_use
from modelcustoms.gateway.ledger import Ledger
from modelcustoms.gateway.limits import Limits
from modelcustoms.gateway.metering import Usage
from modelcustoms.gateway.metrics import Metrics
from modelcustoms.gateway.plan import classify, plan_routes
from modelcustoms.gateway.rules import HEADER, parse_classes
from modelcustoms.gateway.runtime import Route, Runtime
from modelcustoms.gateway.sse import EventStream
from modelcustoms.gateway.upstream import Response, json_error_message

_PATHS = {b"chat": b"/v1/chat/completions", b"embeddings": b"/v1/embeddings"}
_log = logging.getLogger("modelcustoms.gateway")


class Gateway:
    """The proxy. ``runtime`` is replaced whole on reload."""

    def __init__(
        self,
        runtime: Runtime,
        ledger: Ledger,
        limits: Limits,
        metrics: Metrics | None = None,
        *,
        on_startup: Callable[[], Awaitable[None]] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        request_log: Callable[[str], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.ledger = ledger
        self.limits = limits
        self.metrics = metrics or Metrics()
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown
        self.request_log = request_log
        self.audit_failed = False
        """Receives one JSON line per request (the structured log); None: no request lines."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/v1/chat/completions" and method == "POST":
            await self._proxy(scope, receive, send, b"chat")
        elif path == "/v1/embeddings" and method == "POST":
            await self._proxy(scope, receive, send, b"embeddings")
        elif path == "/v1/models" and method == "GET":
            await self._models(scope, send)
        elif path == "/metrics" and method == "GET":
            await respond(send, 200, self.metrics.render(), b"text/plain; version=0.0.4")
        elif path == "/healthz":
            await respond(send, 200, b'{"status":"ok"}')
        else:
            await error(send, 404, "not_found", f"no route {method} {path}", "")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._on_startup is not None:
                    await self._on_startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown is not None:
                    await self._on_shutdown()
                await self.ledger.aclose()
                await self.limits.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _models(self, scope: Scope, send: Send) -> None:
        rt = self.runtime
        key = rt.keys.authenticate(header(scope, b"authorization"))
        if isinstance(key, Refusal):
            await error(send, key.status, key.code, key.message, "")
            return
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "modelcustoms"}
            for name, served in rt.models.items()
            if may_use(key, name) is None and any(r.approval for r in served.routes)
        ]
        await respond(send, 200, json.dumps({"object": "list", "data": data}).encode())

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, kind: bytes) -> None:
        t0 = time.perf_counter()
        rt = self.runtime
        rid = os.urandom(8).hex()
        rec: dict[str, Any] = {"ts": round(time.time(), 3), "req": rid, "endpoint": kind.decode()}
        try:
            status = await self._handle(scope, receive, send, kind, rt, rec)
        except Exception as exc:  # fail closed and keep serving; the entry says what broke
            _log.exception("request %s failed inside the gateway", rid)
            rec.update(decision="error", reason=f"internal error: {type(exc).__name__}")
            status = 500
            # NOTE: the response may have started already; then there is nothing more to say.
            with contextlib.suppress(Exception):
                await error(send, 500, "internal_error", "the gateway failed", rid)
        rec["status"] = status
        seconds = time.perf_counter() - t0
        rec["ms"] = round(seconds * 1000, 3)
        line = None
        try:
            line = self.ledger.append(rec)
        except Exception:
            # NOTE: fail closed: a gateway that cannot write its audit log stops serving.
            _log.exception("the audit log cannot be written: refusing requests from now on")
            self.audit_failed = True
        m = self.metrics
        model = str(rec.get("model", ""))
        m.requests[(model, str(rec.get("route", "")), str(status))] += 1
        m.observe(model, seconds)
        if rec.get("decision") in ("block", "refuse"):
            m.blocks[str(rec.get("rule") or rec.get("code") or "unknown")] += 1
        if self.request_log is not None:
            # NOTE: the audit line is the log line when the ledger wrote it at once.
            self.request_log(line or json.dumps(rec, separators=(",", ":")))

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        kind: bytes,
        rt: Runtime,
        rec: dict[str, Any],
    ) -> int:
        rid = rec["req"]
        if self.audit_failed:
            return await self._refuse(
                send, rec, Refusal(503, "audit_unavailable", "the audit log cannot be written")
            )
        key = rt.keys.authenticate(header(scope, b"authorization"))
        if isinstance(key, Refusal):
            return await self._refuse(send, rec, key)
        rec["key"] = key.id
        raw = await read_body(receive)
        if raw is None:
            return await self._refuse(send, rec, Refusal(413, "body_too_large", "body over 16 MiB"))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            return await self._refuse(
                send, rec, Refusal(400, "invalid_request", "a JSON object with a model name")
            )
        name = body["model"]
        rec["model"] = name
        rec["prompt_sha256"] = hashlib.sha256(raw).hexdigest()
        served = rt.models.get(name)
        want = "chat" if kind == b"chat" else "embeddings"
        if served is None or served.model.kind != want:
            return await self._refuse(
                send, rec, Refusal(404, "model_not_found", f"no {want} model {name!r}")
            )
        refusal = may_use(key, name) or await self.limits.admit(key, time.time())
        if refusal is not None:
            return await self._refuse(send, rec, refusal)
        classes, redactions = classify(
            parse_classes(header(scope, HEADER)), body, kind, rt.classifier
        )
        rec["classes"] = sorted(classes)
        plan, blocks = plan_routes(served, body, kind, classes, redactions, rt)
        if not plan:
            first = blocks[0] if blocks else ("no-route", "no route")
            rec.update(decision="block", rule=first[0], reason=first[1])
            rec["blocked"] = [{"rule": r, "reason": why} for r, why in blocks]
            await error(send, 403, "blocked_by_policy", f"{first[0]}: {first[1]}", rid)
            return 403
        if blocks:
            rec["skipped"] = [{"rule": r, "reason": why} for r, why in blocks]
        stream = kind == b"chat" and body.get("stream") is True
        rec["stream"] = stream
        attempts: list[dict[str, str]] = []
        for route, out_body, found in plan:
            try:
                status = await self._forward(send, rec, route, out_body, kind, stream, body, rt)
            except UpstreamError as exc:
                attempts.append({"route": route.id, "error": str(exc)})
                self.metrics.failures[route.id] += 1
                continue
            rec.update(decision="allow", route=route.id)
            _approval(rec, route)
            if found is not None and found.total:
                rec["redacted"] = dict(found.counts)
                for k, n in found.counts.items():
                    self.metrics.redactions[k] += n
            if attempts:
                rec["fallback"] = attempts
            if rt.config.audit.prompts:
                rec["prompt"] = out_body.get("messages", out_body.get("input"))
            return status
        rec.update(decision="error", reason="every approved route failed", fallback=attempts)
        await error(send, 502, "upstream_failed", "every approved route failed", rid)
        return 502

    async def _refuse(self, send: Send, rec: dict[str, Any], r: Refusal) -> int:
        rec.update(decision="refuse", code=r.code, reason=r.message)
        await error(send, r.status, r.code, r.message, rec["req"])
        return r.status

    async def _forward(
        self,
        send: Send,
        rec: dict[str, Any],
        route: Route,
        out_body: dict[str, Any],
        kind: bytes,
        stream: bool,
        body: dict[str, Any],
        rt: Runtime,
    ) -> int:
        """Send to one upstream. Raises UpstreamError (→ fallback) only before any byte went out."""
        up = route.upstream
        payload: dict[str, Any] = {**out_body, "model": up.model}
        wants_usage = False
        if stream:
            opts = body.get("stream_options")
            wants_usage = isinstance(opts, dict) and opts.get("include_usage") is True
            payload["stream_options"] = {**(opts or {}), "include_usage": True}
        data = json.dumps(payload, separators=(",", ":")).encode()
        t_up = time.perf_counter()
        resp = await route.pool.request(
            b"POST",
            _PATHS[kind],
            data,
            extra_headers=route.headers,
            timeout=up.timeout_s,
            connect_timeout=up.connect_timeout_s,
        )
        if resp.status >= 500 or resp.status == 429:
            text = json_error_message(await drain(resp))
            raise UpstreamError(f"HTTP {resp.status}: {text}", resp.status)
        if resp.status != 200 or not stream:
            content = await resp.read()
            # NOTE: time spent waiting on the upstream; "ms" minus this is the gateway's own.
            rec["upstream_ms"] = round((time.perf_counter() - t_up) * 1000, 3)
            if resp.status == 200:
                usage = _usage_of(content)
                self._meter(rec, route, usage or _estimate(data, 0), usage is None)
                if rec.get("key"):
                    await self._charge(rec)
            else:
                rec["upstream_status"] = resp.status
            ctype = resp.header(b"content-type") or b"application/json"
            await respond(send, resp.status, content, ctype, rec["req"])
            return resp.status
        return await self._stream(send, rec, route, resp, data, wants_usage)

    async def _stream(
        self,
        send: Send,
        rec: dict[str, Any],
        route: Route,
        resp: Response,
        data: bytes,
        wants_usage: bool,
    ) -> int:
        events = EventStream(forward_usage=wants_usage)
        headers = [
            (b"content-type", b"text/event-stream"),
            (b"cache-control", b"no-cache"),
            (b"x-customs-request-id", rec["req"].encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            async for chunk in resp.iter_chunks():
                out = events.feed(chunk)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
        except UpstreamError as exc:
            rec["stream_error"] = str(exc)
        except OSError:  # the client went away: stop the upstream's generation
            resp.abort()
            rec["stream_error"] = "client disconnected"
        rest = events.rest()
        usage = events.usage
        self._meter(rec, route, usage or _estimate(data, events.content_events), usage is None)
        await self._charge(rec)
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": rest, "more_body": False})
        return 200

    def _meter(self, rec: dict[str, Any], route: Route, usage: Usage, estimated: bool) -> None:
        cost = route.rate.cost(usage)
        rec["usage"] = {"prompt": usage.prompt, "completion": usage.completion}
        if estimated:
            rec["usage"]["estimated"] = True
        rec["cost_nano_usd"] = cost
        model = str(rec.get("model", ""))
        m = self.metrics
        m.tokens[(model, route.id, "input")] += usage.prompt
        m.tokens[(model, route.id, "output")] += usage.completion
        m.cost[(model, route.id)] += cost

    async def _charge(self, rec: dict[str, Any]) -> None:
        cost = rec.get("cost_nano_usd", 0)
        if cost:
            spent = await self.limits.charge(rec["key"], cost)
            if spent is not None:
                rec["key_spent_nano_usd"] = spent


def _approval(rec: dict[str, Any], route: Route) -> None:
    a = route.approval
    assert a is not None
    rec["subject"] = a.subject
    rec["passport"] = a.passport_digest
    rec["report"] = a.report_digest


def _usage_of(content: bytes) -> Usage | None:
    try:
        obj = json.loads(content)
    except ValueError:
        return None
    return Usage.of(obj.get("usage")) if isinstance(obj, dict) else None


def _estimate(sent: bytes, events: int) -> Usage:
    return Usage(prompt=len(sent) // 4, completion=events, estimated=True)
