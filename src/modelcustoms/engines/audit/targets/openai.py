"""Any OpenAI-compatible chat endpoint (``/chat/completions``), through httpx.

Concurrency is bounded per target (a semaphore), transient failures (connect errors, timeouts,
429 and 5xx) are retried with exponential backoff and jitter (honouring ``Retry-After``), and
the answer is read whole or streamed (server-sent events). Tests inject an ``httpx`` transport.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from modelcustoms.engines.audit.interface import Request, Response

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """How an HTTP target behaves."""

    concurrency: int = 4
    retries: int = 4
    backoff_s: float = 0.5
    """First retry delay; doubled each time, with up to 50% jitter, capped at ``max_backoff_s``."""
    max_backoff_s: float = 20.0
    timeout_s: float = 120.0
    stream: bool = False


class OpenAITarget:
    """An OpenAI-compatible endpoint: base URL (``.../v1``), model name, optional API key."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        options: HttpOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        family: str | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._model = model
        self._opts = options or HttpOptions()
        self._family = family
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self._base,
            headers=headers,
            timeout=httpx.Timeout(self._opts.timeout_s, connect=min(10.0, self._opts.timeout_s)),
            transport=transport,
            limits=httpx.Limits(max_connections=max(1, self._opts.concurrency)),
        )
        self._sem = asyncio.Semaphore(max(1, self._opts.concurrency))
        self._jitter = random.Random(0)  # noqa: S311 - backoff jitter, not security

    @property
    def id(self) -> str:
        """``openai:<base>#<model>`` (the key is not part of the identity)."""
        return f"openai:{self._base}#{self._model}"

    @property
    def display(self) -> str:
        """The model name."""
        return self._model

    @property
    def family(self) -> str | None:
        """As declared by the caller."""
        return self._family

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": self._opts.stream,
        }
        if request.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body

    async def complete(self, request: Request) -> Response:
        """POST the request; retry transient failures; never raise for transport problems."""
        body = self._body(request)
        last = "no attempt"
        async with self._sem:
            for attempt in range(self._opts.retries + 1):
                start = time.perf_counter()
                delay: float | None = None
                try:
                    text, finish = await self._send(body)
                    return Response(
                        text=text, finish_reason=finish, latency_s=time.perf_counter() - start
                    )
                except httpx.HTTPStatusError as exc:
                    status = exc.response.status_code
                    last = f"HTTP {status}"
                    if status not in RETRY_STATUS:
                        return Response(text="", error=last)
                    delay = _retry_after(exc.response)
                except (httpx.TransportError, _BadAnswer) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if attempt < self._opts.retries:
                    await asyncio.sleep(delay if delay is not None else self._backoff(attempt))
        return Response(text="", error=f"gave up after {self._opts.retries + 1} tries: {last}")

    def _backoff(self, attempt: int) -> float:
        base = min(self._opts.max_backoff_s, self._opts.backoff_s * (2.0**attempt))
        return base * (1.0 + 0.5 * self._jitter.random())

    async def _send(self, body: dict[str, Any]) -> tuple[str, str | None]:
        if not self._opts.stream:
            r = await self._client.post("/chat/completions", json=body)
            r.raise_for_status()
            return _parse_whole(r)
        parts: list[str] = []
        finish: str | None = None
        async with self._client.stream("POST", "/chat/completions", json=body) as r:
            if r.is_error:
                await r.aread()
                r.raise_for_status()
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                delta, done = _parse_chunk(data)
                parts.append(delta)
                finish = done or finish
        return "".join(parts), finish

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


class _BadAnswer(Exception):
    """The endpoint answered 2xx with something that is not a chat completion (retried)."""


def _parse_whole(r: httpx.Response) -> tuple[str, str | None]:
    try:
        doc = r.json()
        choice = doc["choices"][0]
        content = choice["message"].get("content") or ""
        finish = choice.get("finish_reason")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        msg = f"not a chat completion: {r.text[:120]!r}"
        raise _BadAnswer(msg) from exc
    if not isinstance(content, str):
        raise _BadAnswer("message content is not a string")
    return content, finish if isinstance(finish, str) else None


def _parse_chunk(data: str) -> tuple[str, str | None]:
    try:
        doc = json.loads(data)
        choice = doc["choices"][0] if doc.get("choices") else {}
        delta = (choice.get("delta") or {}).get("content") or ""
        finish = choice.get("finish_reason")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        msg = f"bad stream chunk: {data[:120]!r}"
        raise _BadAnswer(msg) from exc
    return str(delta), finish if isinstance(finish, str) else None


def _retry_after(r: httpx.Response) -> float | None:
    value = r.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, min(60.0, seconds))
