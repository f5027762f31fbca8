"""Remote files as Blobs: byte ranges over HTTP, through a small block cache.

:class:`RemoteBlob` reads a remote file by ``Range`` requests through a small block cache, so
a parser doing many small reads of a header costs a few requests, never the whole file. Every
blob has a cap on the bytes it may fetch unless the caller opted into a full download, and a
server that ignores ``Range`` (``200`` with the whole body) is read only as far as the bytes
asked for, never to the end.

This module is the public face of remote byte access: it re-exports the session, settings,
counters and errors of :mod:`~modelcustoms.artifacts.httpclient`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from modelcustoms.artifacts.blob import Blob
from modelcustoms.artifacts.httpclient import (
    RETRY_STATUSES,
    HttpSession,
    HttpSettings,
    RangeNotHonoured,
    RemoteAccessDenied,
    RemoteError,
    RemoteNotFound,
    RemoteProtocolError,
    RemoteServerError,
    RemoteStatusError,
    RemoteUnreachable,
    TransferLimitExceeded,
    TransferStats,
    check_status,
    read_bounded,
)

__all__ = [
    "RETRY_STATUSES",
    "HttpSession",
    "HttpSettings",
    "RangeNotHonoured",
    "RemoteAccessDenied",
    "RemoteBlob",
    "RemoteError",
    "RemoteNotFound",
    "RemoteProtocolError",
    "RemoteServerError",
    "RemoteStatusError",
    "RemoteUnreachable",
    "TransferLimitExceeded",
    "TransferStats",
]

_CONTENT_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19}|\*)")
_UNSATISFIED = re.compile(r"bytes \*/(\d{1,19})")


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int  # exclusive
    total: int | None


def _content_range(resp: httpx.Response) -> _Span | None:
    m = _CONTENT_RANGE.fullmatch(resp.headers.get("content-range", "").strip())
    if m is None or int(m[2]) < int(m[1]):
        return None
    return _Span(int(m[1]), int(m[2]) + 1, None if m[3] == "*" else int(m[3]))


class RemoteBlob(Blob):
    """A remote file read by byte ranges through a small LRU block cache.

    ``max_bytes`` caps what this blob may fetch in total (``None``: full download allowed).
    """

    def __init__(
        self,
        session: HttpSession,
        url: str,
        size: int,
        *,
        name: str,
        max_bytes: int | None,
    ) -> None:
        self.size = size
        self.url = url
        self.name = name
        self.fetched = 0
        """Body bytes this blob fetched."""
        self.requests = 0
        self._session = session
        self._max = max_bytes
        self._lock = threading.Lock()
        # NOTE: guards the counters only; concurrent exact reads run outside ``_lock``.
        self._count = threading.Lock()
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._ahead = session.settings.block_size
        self._last_end = -1

    @classmethod
    def probe(
        cls, session: HttpSession, url: str, *, name: str, max_bytes: int | None
    ) -> RemoteBlob:
        """Open a file of unknown size: one ranged request learns the size and fills the cache."""
        blob = cls(session, url, 0, name=name, max_bytes=max_bytes)
        first = blob._fetch(0, session.settings.block_size, probing=True)
        blob._store(0, first)
        blob._last_end = len(first)
        return blob

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            msg = "negative offset or length"
            raise ValueError(msg)
        end = min(self.size, offset + length)
        if offset >= end:
            return b""
        settings = self._session.settings
        if end - offset > settings.max_readahead:
            with self._lock:
                return self._fetch(offset, end)
        bs = settings.block_size
        with self._lock:
            first, last = offset // bs, (end - 1) // bs
            have = {i: self._blocks[i] for i in range(first, last + 1) if i in self._blocks}
            missing = [i for i in range(first, last + 1) if i not in have]
            if missing:
                start = missing[0] * bs
                # NOTE: growing read-ahead on sequential misses keeps a parser walking a
                # header block by block at a logarithmic number of requests.
                sequential = start == self._last_end
                self._ahead = min(settings.max_readahead, self._ahead * 2) if sequential else bs
                stop = min(self.size, max((missing[-1] + 1) * bs, start + self._ahead))
                data = self._fetch(start, stop)
                have.update(self._store(start, data))
                self._last_end = stop
            for i in have:
                if i in self._blocks:
                    self._blocks.move_to_end(i)
            joined = b"".join(have[i] for i in range(first, last + 1))
        return joined[offset - first * bs : end - first * bs]

    def read_exact(self, offset: int, length: int) -> bytes:
        """One ranged request for exactly these bytes, outside the block cache."""
        if offset < 0 or length < 0:
            msg = "negative offset or length"
            raise ValueError(msg)
        end = min(self.size, offset + length)
        if offset >= end:
            return b""
        with self._lock:
            return self._fetch(offset, end)

    def read_many(self, spans: Sequence[tuple[int, int]]) -> list[bytes]:
        """Exact ranged requests for each span, up to ``parallel_ranges`` of them in flight."""
        workers = min(self._session.settings.parallel_ranges, len(spans))
        if workers <= 1:
            return [self.read_exact(offset, length) for offset, length in spans]
        for offset, length in spans:
            if offset < 0 or length < 0:
                msg = "negative offset or length"
                raise ValueError(msg)

        def one(span: tuple[int, int]) -> bytes:
            end = min(self.size, span[0] + span[1])
            return self._fetch(span[0], end) if span[0] < end else b""

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="range") as pool:
            return list(pool.map(one, spans))

    def _store(self, start: int, data: bytes) -> dict[int, bytes]:
        bs = self._session.settings.block_size
        got = {(start + k) // bs: data[k : k + bs] for k in range(0, len(data), bs)}
        self._blocks.update(got)
        while len(self._blocks) > self._session.settings.cache_blocks:
            self._blocks.popitem(last=False)
        return got

    def _fetch(self, start: int, end: int, *, probing: bool = False) -> bytes:
        with self._count:
            over = self._max is not None and self.fetched + (end - start) > self._max
            self.requests += 0 if over else 1
        if over:
            msg = (
                f"{self.name}: reading {end - start} more bytes would pass the limit of "
                f"{self._max} bytes fetched per remote file"
            )
            raise TransferLimitExceeded(msg, hint="ask for a full download to read whole files")
        headers = {"Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        return self._session.fetch(
            self.url, lambda r: self._consume(r, start, end, probing), headers=headers
        )

    def _consume(self, resp: httpx.Response, start: int, end: int, probing: bool) -> bytes:
        if resp.status_code == 416 and probing:
            m = _UNSATISFIED.fullmatch(resp.headers.get("content-range", "").strip())
            if m is not None and int(m[1]) == 0:
                self.size = 0
                return b""
        check_status(resp, self.name)
        if resp.headers.get("content-encoding", "identity").lower() != "identity":
            msg = f"{self.name}: the server compressed a byte range; offsets would be wrong"
            raise RemoteProtocolError(msg)
        if resp.status_code == 206:
            return self._ranged(resp, start, end, probing)
        if resp.status_code == 200:
            return self._unranged(resp, start, end, probing)
        msg = f"{self.name}: unexpected HTTP {resp.status_code} for a byte range"
        raise RemoteProtocolError(msg)

    def _ranged(self, resp: httpx.Response, start: int, end: int, probing: bool) -> bytes:
        span = _content_range(resp)
        if span is None or span.start != start or span.end > end:
            msg = f"{self.name}: Content-Range does not match the range asked for"
            raise RemoteProtocolError(msg)
        if probing:
            if span.total is None:
                msg = f"{self.name}: the server did not say how large the file is"
                raise RemoteProtocolError(msg)
            self.size = span.total
        elif span.total is not None and span.total != self.size:
            msg = f"{self.name}: size changed on the server ({self.size} → {span.total} bytes)"
            raise RemoteProtocolError(msg, hint="the file changed while it was read; try again")
        if span.end < end and span.end != self.size:
            msg = f"{self.name}: the server returned a shorter range than asked for"
            raise RemoteProtocolError(msg)
        data = self._read(resp, span.end - span.start)
        if len(data) != span.end - span.start:
            msg = f"{self.name}: byte range truncated ({len(data)} of {span.end - span.start})"
            raise RemoteProtocolError(msg)
        return data

    def _unranged(self, resp: httpx.Response, start: int, end: int, probing: bool) -> bytes:
        # NOTE: a 200 carries the whole file. Bytes [0, end) are its prefix, so read only
        # those when they are few, and refuse instead of streaming a weight file to the end.
        limit = self._session.settings.max_unranged_prefix
        declared = resp.headers.get("content-length", "")
        if probing:
            if not declared.isdigit():
                msg = f"{self.name}: the server ignores Range and does not give a length"
                raise RangeNotHonoured(msg)
            self.size = int(declared)
            end = min(end, self.size)
        if end > limit:
            msg = (
                f"{self.name}: the server ignores Range requests; reading bytes {start}-{end} "
                f"would mean downloading the file from its start"
            )
            raise RangeNotHonoured(msg, hint="use a server or mirror that supports Range")
        data = self._read(resp, end)
        if len(data) < min(end, self.size):
            msg = f"{self.name}: body shorter than the file size"
            raise RemoteProtocolError(msg)
        return data[start:]

    def _read(self, resp: httpx.Response, limit: int) -> bytes:
        try:
            return read_bounded(resp, limit)
        finally:
            # NOTE: what crossed the wire, which may exceed ``limit`` by one network chunk.
            with self._count:
                self.fetched += resp.num_bytes_downloaded
