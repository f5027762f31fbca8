"""Prometheus metrics in the text exposition format, kept in plain dictionaries.

Counters keyed by label tuples cost a dictionary update per request; a client library would
add locks and objects the single-threaded event loop does not need.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_P = "customs_gateway_"


class Metrics:
    """Requests, latency, tokens, cost, blocks by rule, upstream failures."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.blocks: defaultdict[str, int] = defaultdict(int)
        self.tokens: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.cost: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.failures: defaultdict[str, int] = defaultdict(int)
        self.redactions: defaultdict[str, int] = defaultdict(int)
        self._hist: defaultdict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self._sum: defaultdict[str, float] = defaultdict(float)

    def observe(self, model: str, seconds: float) -> None:
        """Record one request's latency."""
        self._hist[model][bisect_left(BUCKETS, seconds)] += 1
        self._sum[model] += seconds

    def render(self) -> bytes:
        """The exposition text."""
        out: list[str] = []

        def family(name: str, kind: str, help_: str) -> None:
            out.append(f"# HELP {_P}{name} {help_}\n# TYPE {_P}{name} {kind}\n")

        family("requests_total", "counter", "Requests by public model, route and HTTP status.")
        for (model, route, status), n in sorted(self.requests.items()):
            out.append(
                f'{_P}requests_total{{model="{_q(model)}",route="{_q(route)}",'
                f'status="{status}"}} {n}\n'
            )
        family("blocks_total", "counter", "Requests refused, by rule or reason.")
        for rule, n in sorted(self.blocks.items()):
            out.append(f'{_P}blocks_total{{rule="{_q(rule)}"}} {n}\n')
        family("tokens_total", "counter", "Tokens metered from upstream usage.")
        for (model, route, direction), n in sorted(self.tokens.items()):
            out.append(
                f'{_P}tokens_total{{model="{_q(model)}",route="{_q(route)}",'
                f'direction="{direction}"}} {n}\n'
            )
        family("cost_usd_total", "counter", "Cost in USD from the price table.")
        for (model, route), nano in sorted(self.cost.items()):
            out.append(
                f'{_P}cost_usd_total{{model="{_q(model)}",route="{_q(route)}"}} {nano / 1e9:.9f}\n'
            )
        family("upstream_failures_total", "counter", "Upstream attempts that failed (fallback).")
        for route, n in sorted(self.failures.items()):
            out.append(f'{_P}upstream_failures_total{{route="{_q(route)}"}} {n}\n')
        family("redactions_total", "counter", "Spans redacted from prompts, by kind.")
        for kind, n in sorted(self.redactions.items()):
            out.append(f'{_P}redactions_total{{kind="{_q(kind)}"}} {n}\n')
        family("request_seconds", "histogram", "Time in the gateway, request to last byte.")
        for model, counts in sorted(self._hist.items()):
            acc = 0
            m = _q(model)
            for bound, n in zip((*BUCKETS, "+Inf"), counts, strict=True):
                acc += n
                out.append(f'{_P}request_seconds_bucket{{model="{m}",le="{bound}"}} {acc}\n')
            out.append(f'{_P}request_seconds_sum{{model="{m}"}} {self._sum[model]:.6f}\n')
            out.append(f'{_P}request_seconds_count{{model="{m}"}} {acc}\n')
        return "".join(out).encode()


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
