"""Orchestration: every (target, request) pair answered once, cached as it arrives, resumable.

Requests are de-duplicated by content hash, answered from the cache when present, and otherwise
sent by a fixed pool of workers per target (so a 10,000-request suite does not create 10,000
tasks). Both targets run at the same time. Progress is reported through a callback: the engine
never prints (the CLI draws the bar).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from modelcustoms.engines.audit.cache import ResponseCache
from modelcustoms.engines.audit.interface import Request, Response, Target

Progress = Callable[[str, int, int], None]
"""``(target display name, done, total)``; called from the event loop."""


@dataclass(frozen=True, slots=True)
class HarnessStats:
    """What one target cost."""

    requests: int
    cached: int
    sent: int
    errors: int
    seconds: float


async def answer_all(
    target: Target,
    requests: Sequence[Request],
    cache: ResponseCache,
    *,
    workers: int = 4,
    progress: Progress | None = None,
) -> tuple[dict[str, Response], HarnessStats]:
    """Answers keyed by ``request.key(target.id)``; never raises for a failed request."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    unique: dict[str, Request] = {}
    for r in requests:
        unique.setdefault(r.key(target.id), r)
    answers: dict[str, Response] = {}
    todo: asyncio.Queue[tuple[str, Request]] = asyncio.Queue()
    for key, req in unique.items():
        hit = cache.get(key)
        if hit is not None:
            answers[key] = hit
        else:
            todo.put_nowait((key, req))
    cached = len(answers)
    total = len(unique)
    if progress is not None:
        progress(target.display, cached, total)

    async def worker() -> None:
        while True:
            try:
                key, req = todo.get_nowait()
            except asyncio.QueueEmpty:
                return
            resp = await target.complete(req)
            cache.put(key, target.id, resp)
            answers[key] = resp
            if progress is not None:
                progress(target.display, len(answers), total)

    n = max(1, min(workers, todo.qsize()))
    try:
        await asyncio.gather(*(worker() for _ in range(n)))
    finally:
        cache.flush()
    errors = sum(1 for a in answers.values() if not a.ok)
    stats = HarnessStats(
        requests=total,
        cached=cached,
        sent=total - cached,
        errors=errors,
        seconds=loop.time() - start,
    )
    return answers, stats


async def answer_both(
    pairs: Sequence[tuple[Target, Sequence[Request]]],
    cache: ResponseCache,
    *,
    workers: int = 4,
    progress: Progress | None = None,
) -> list[tuple[dict[str, Response], HarnessStats]]:
    """Run several targets at once (subject and reference)."""
    return list(
        await asyncio.gather(
            *(answer_all(t, reqs, cache, workers=workers, progress=progress) for t, reqs in pairs)
        )
    )
