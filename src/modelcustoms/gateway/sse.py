"""Server-sent events from a streaming upstream: forwarded event by event, usage picked out.

The gateway asks the upstream for a final usage event (``stream_options.include_usage``) so
streamed tokens are metered from the upstream's own count; that event is forwarded only when
the client asked for it too. Upstreams that send no usage are metered by an estimate (one
token per content event, prompt characters / 4) and the audit entry says so.
"""

from __future__ import annotations

import json
from typing import Any

from modelcustoms.gateway.metering import Usage


class EventStream:
    """Splits a byte stream into SSE events; remembers the usage event if one passes."""

    __slots__ = ("_buf", "content_events", "forward_usage", "usage")

    def __init__(self, *, forward_usage: bool) -> None:
        self._buf = b""
        self.forward_usage = forward_usage
        self.usage: Usage | None = None
        self.content_events = 0

    def feed(self, chunk: bytes) -> bytes:
        """The complete events in ``chunk`` (plus what was buffered), ready to forward."""
        buf = self._buf + chunk
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b""
        ready, self._buf = buf[: end + 2], buf[end + 2 :]
        if b'"usage"' not in ready:
            self.content_events += ready.count(b"data: {")
            return ready
        kept: list[bytes] = []
        for event in ready.split(b"\n\n")[:-1]:
            if not self._is_usage_only(event):
                self.content_events += 1 if event.startswith(b"data: {") else 0
                kept.append(event + b"\n\n")
            elif self.forward_usage:
                kept.append(event + b"\n\n")
        return b"".join(kept)

    def rest(self) -> bytes:
        """Whatever followed the last complete event."""
        buf, self._buf = self._buf, b""
        return buf

    def _is_usage_only(self, event: bytes) -> bool:
        if not event.startswith(b"data: {") or b'"usage"' not in event:
            return False
        try:
            obj: Any = json.loads(event[6:])
        except ValueError:
            return False
        usage = Usage.of(obj.get("usage")) if isinstance(obj, dict) else None
        if usage is None:
            return False
        self.usage = usage
        return bool(obj.get("choices") == [])
