import asyncio
import contextlib

from modelcustoms.engines.audit import FakeTarget, Message, Request, Response, ResponseCache
from modelcustoms.engines.audit.harness import answer_all
from modelcustoms.engines.audit.targets import FakeKind


class Interrupting:
    """A target that answers ``limit`` requests, then the run is interrupted (Ctrl-C)."""

    def __init__(self, limit):
        self.limit = limit
        self.seen = []

    id = "test:interrupting"
    display = "interrupting"
    family = None

    async def complete(self, request):
        if len(self.seen) >= self.limit:
            raise KeyboardInterrupt
        self.seen.append(request)
        await asyncio.sleep(0)
        return Response(text=f"answer {len(self.seen)}", finish_reason="stop")

    async def aclose(self):
        return None


def _reqs(n):
    return [Request((Message("user", f"q{i}"),), max_tokens=8) for i in range(n)]


def test_duplicates_are_sent_once_and_cache_hits_cost_nothing():
    cache = ResponseCache()
    t = FakeTarget(FakeKind.ECHO)
    reqs = _reqs(5) + _reqs(5)
    answers, stats = asyncio.run(answer_all(t, reqs, cache, workers=3))
    assert t.calls == 5 and stats.requests == 5 and stats.sent == 5
    answers2, stats2 = asyncio.run(answer_all(t, reqs, cache))
    assert t.calls == 5 and stats2.cached == 5 and stats2.sent == 0
    assert {k: a.text for k, a in answers.items()} == {k: a.text for k, a in answers2.items()}
    assert all(a.cached for a in answers2.values())


def test_an_interrupted_run_resumes_without_repeating_a_request(tmp_path):
    path = tmp_path / "cache.sqlite"
    reqs = _reqs(20)
    first = Interrupting(limit=7)
    cache = ResponseCache(path)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(answer_all(first, reqs, cache, workers=1))
    cache.close()
    assert len(first.seen) == 7

    second = Interrupting(limit=10**6)
    cache = ResponseCache(path)  # a new process would open the same file
    answers, stats = asyncio.run(answer_all(second, reqs, cache, workers=4))
    cache.close()
    assert stats.cached == 7 and stats.sent == 13
    sent_twice = {r.key(first.id) for r in first.seen} & {r.key(second.id) for r in second.seen}
    assert not sent_twice
    assert len(answers) == 20 and all(a.ok for a in answers.values())


def test_failures_are_not_cached_and_are_retried_on_the_next_run():
    class Flaky(Interrupting):
        async def complete(self, request):
            self.seen.append(request)
            if len(self.seen) == 1:
                return Response(text="", error="HTTP 503")
            return Response(text="ok")

    cache = ResponseCache()
    t = Flaky(limit=0)
    _, s1 = asyncio.run(answer_all(t, _reqs(1), cache))
    _, s2 = asyncio.run(answer_all(t, _reqs(1), cache))
    assert s1.errors == 1 and s2.errors == 0 and s2.sent == 1 and len(cache) == 1


def test_progress_reaches_the_total():
    seen = []
    asyncio.run(
        answer_all(
            FakeTarget(FakeKind.LIPSUM),
            _reqs(4),
            ResponseCache(),
            progress=lambda *a: seen.append(a),
        )
    )
    assert seen[0] == ("fake:lipsum", 0, 4) and seen[-1] == ("fake:lipsum", 4, 4)
