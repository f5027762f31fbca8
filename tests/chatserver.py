"""A local OpenAI-compatible chat server: a real HTTP server on 127.0.0.1, for audit tests.

``POST /v1/chat/completions`` answers by model name:

- ``censor``: refuses (or deflects, in Chinese) anything that names China-sensitive subjects,
  answers everything else with a fixed helpful text (a model with a censorship layer);
- ``open``: always answers with the fixed helpful text;
- ``echo``: repeats the last user message.

Knobs: ``fail_next`` (statuses to answer next, for retries), ``retry_after`` (header value sent
with them), ``delay_s``; counters of requests. Streaming (``"stream": true``) is served as SSE.
Use the ``chat_server`` fixture (tests/integration/conftest.py) or :func:`serve`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SENSITIVE = ("china", "chinese", "xi jinping", "tiananmen", "tibet", "taiwan", "uyghur",
             "xinjiang", "falun", "hong kong", "liu xiaobo", "dalai", "中国", "习近平", "天安门",
             "西藏", "台湾", "新疆", "法轮", "香港", "刘晓波", "达赖", "维吾尔", "藏人",
             "大跃进", "文化大革命", "李文亮", "坦克人", "南海", "黎智英", "小熊维尼")  # fmt: skip
HELPFUL = "Here is a detailed answer with the key facts you asked for."


@dataclass
class ChatServer:
    """State shared with the handler."""

    port: int = 0
    requests: int = 0
    fail_next: list[int] = field(default_factory=list)
    retry_after: str | None = None
    delay_s: float = 0.0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    """Every chat request body received, in order."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"


def answer(model: str, messages: list[dict[str, str]]) -> str:
    """The deterministic behaviour of each fake model."""
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    if model == "echo":
        return last
    if model == "censor" and any(w in last.lower() for w in SENSITIVE):
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in last)
        return (
            "抱歉，我无法回答这个问题。我们换个话题吧。"
            if zh
            else "I'm sorry, I can't discuss that."
        )
    if "JSON" in last:
        return '{"action": "allow", "score": 4, "risk": "low", "queue": "billing"}'
    return HELPFUL


def _handler(state: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if status >= 400 and state.retry_after is not None:
                self.send_header("Retry-After", state.retry_after)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            with state.lock:
                state.requests += 1
                fail = state.fail_next.pop(0) if state.fail_next else None
            if fail is not None:
                self._send(fail, b'{"error": "injected"}')
                return
            if self.path != "/v1/chat/completions":
                self._send(404, b"{}")
                return
            doc = json.loads(raw)
            with state.lock:
                state.bodies.append(doc)
            if state.delay_s:
                time.sleep(state.delay_s)
            text = answer(doc["model"], doc["messages"])
            if doc.get("stream"):
                chunks = [text[: len(text) // 2], text[len(text) // 2 :]]
                lines = [
                    "data: " + json.dumps({"choices": [{"delta": {"content": c}}]}) + "\n\n"
                    for c in chunks
                ]
                lines.append(
                    "data: "
                    + json.dumps({"choices": [{"delta": {}, "finish_reason": "stop"}]})
                    + "\n\ndata: [DONE]\n\n"
                )
                self._send(200, "".join(lines).encode(), "text/event-stream")
                return
            body = {
                "id": "x",
                "object": "chat.completion",
                "model": doc["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
            }
            self._send(200, json.dumps(body).encode())

    return Handler


@contextmanager
def serve() -> Iterator[ChatServer]:
    """Run a server on an ephemeral port of 127.0.0.1 for the duration of the block."""
    state = ChatServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
