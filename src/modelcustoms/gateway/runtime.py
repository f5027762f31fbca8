"""One immutable snapshot of what the gateway serves, rebuilt on every reload.

Everything a request needs is resolved here, once: each upstream's passport approval (or why
it has none), its operator's country, its price per token, its connection pool and redactor,
and each public model's routes sorted cheapest first. A request reads one snapshot from start
to end, so a reload never changes the rules under a request in flight.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from modelcustoms.gateway.config import ALL_DETECTORS, GatewayConfig, Model, Rule, Upstream
from modelcustoms.gateway.errors import GatewayError
from modelcustoms.gateway.keys import KeyRing
from modelcustoms.gateway.metering import Rate
from modelcustoms.gateway.passports import Approval, PassportSource
from modelcustoms.gateway.redact import Redactor
from modelcustoms.gateway.upstream import Pool, split_url
from modelcustoms.kb import KnowledgeBase


@dataclass(frozen=True, slots=True)
class Route:
    """An upstream as the router sees it."""

    upstream: Upstream
    approval: Approval | None
    refusal: str | None
    """Why this upstream may not serve (no valid passport), when it may not."""
    operator_country: str | None
    rate: Rate
    pool: Pool
    headers: bytes
    redactor: Redactor | None

    @property
    def id(self) -> str:
        """The upstream id."""
        return self.upstream.id


@dataclass(frozen=True, slots=True)
class Served:
    """A public model name and its routes, cheapest first, at or above the quality floor."""

    model: Model
    routes: tuple[Route, ...]
    below_floor: tuple[str, ...] = ()


@dataclass(frozen=True)
class Runtime:
    """The snapshot."""

    config: GatewayConfig
    models: Mapping[str, Served]
    routes: Mapping[str, Route]
    rules: tuple[Rule, ...]
    keys: KeyRing
    classifier: Redactor
    problems: tuple[str, ...] = field(default_factory=tuple)


def build_runtime(
    cfg: GatewayConfig,
    source: PassportSource,
    kb: KnowledgeBase,
    pools: dict[tuple[str, str, int, str], Pool],
) -> Runtime:
    """Resolve a configuration against the passports and the knowledge base."""
    providers = {p.id: p for p in kb.providers}
    problems = list(source.problems())
    routes: dict[str, Route] = {}
    for up in cfg.upstreams:
        if up.hosted is not None:
            provider = providers.get(up.hosted.operator)
            if provider is None:
                msg = (
                    f"upstream {up.id}: operator {up.hosted.operator!r} is not a provider "
                    "in the knowledge base (kb/data/providers.json)"
                )
                raise GatewayError(msg)
            country = up.operator_country or provider.country
            approval = source.by_hosted(up.hosted.model, up.hosted.operator)
            wanted = f"hosted model {up.hosted.model} at {up.hosted.operator}"
        else:
            country = up.operator_country
            assert up.weights_sha256 is not None
            approval = source.by_weights(up.weights_sha256)
            wanted = f"weights sha256:{up.weights_sha256[:16]}…"
        refusal = None if approval else f"no valid passport for {wanted}"
        if refusal:
            problems.append(f"upstream {up.id}: {refusal}")
        scheme, host, port = split_url(up.url)
        where = (scheme, host, port, str(up.ca_file or ""))
        pool = pools.get(where)
        if pool is None:
            tls = _tls(up) if scheme == "https" else None
            pool = pools[where] = Pool(host, port, tls=tls)
        headers = b""
        if up.api_key_env:
            secret = os.environ.get(up.api_key_env)
            if not secret:
                msg = f"upstream {up.id}: the environment variable {up.api_key_env} is not set"
                raise GatewayError(msg)
            headers = b"Authorization: Bearer %b\r\n" % secret.encode("latin-1")
        detectors = up.detectors()
        redactor = Redactor(detectors, cfg.max_prompt_chars) if detectors else None
        routes[up.id] = Route(
            up, approval, refusal, country, Rate.of(up.price), pool, headers, redactor
        )
    models: dict[str, Served] = {}
    for m in cfg.models:
        mine = [routes[r] for r in m.routes]
        ok = [r for r in mine if r.upstream.quality >= m.quality_floor]
        # NOTE: sorted() is stable, so equal prices keep the configured order.
        ok = sorted(ok, key=lambda r: r.rate.input + r.rate.output)
        low = tuple(r.id for r in mine if r.upstream.quality < m.quality_floor)
        models[m.name] = Served(m, tuple(ok), low)
    return Runtime(
        config=cfg,
        models=models,
        routes=routes,
        rules=cfg.rules,
        keys=KeyRing(cfg.keys),
        classifier=Redactor(ALL_DETECTORS, cfg.max_prompt_chars),
        problems=tuple(problems),
    )


def _tls(up: Upstream) -> ssl.SSLContext:
    """Certificate and hostname verification on, against the system CAs or ``ca_file``."""
    try:
        return ssl.create_default_context(cafile=str(up.ca_file) if up.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        msg = f"upstream {up.id}: cannot load the CA file {up.ca_file}: {exc}"
        raise GatewayError(msg) from exc
