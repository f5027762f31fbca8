"""Assemble the gateway from its configuration file, serve it, and reload it in place.

Reload (SIGHUP, or a change to the configuration file or the passport folder, polled every
second) builds a whole new :class:`Runtime` and swaps it in; an invalid configuration or an
unreadable passport folder keeps the running one and logs why. The listen address, the audit
backend and the shared store are fixed for the life of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from modelcustoms.gateway.app import Gateway
from modelcustoms.gateway.config import GatewayConfig, load_config
from modelcustoms.gateway.errors import GatewayError
from modelcustoms.gateway.ledger import FileLedger, Ledger
from modelcustoms.gateway.limits import Limits, MemoryLimits
from modelcustoms.gateway.passports import FolderPassportSource, PassportSource
from modelcustoms.gateway.runtime import Runtime, build_runtime
from modelcustoms.gateway.upstream import Pool
from modelcustoms.kb import KnowledgeBase, default_kb

_log = logging.getLogger("modelcustoms.gateway")


def passport_source(cfg: GatewayConfig) -> PassportSource:
    """The source the configuration names."""
    if cfg.passports.folder is not None:
        return FolderPassportSource.from_paths(cfg.passports.folder, cfg.passports.public_keys)
    from modelcustoms.gateway.registry_source import RegistrySource

    assert cfg.passports.registry is not None
    return RegistrySource.from_config(cfg.passports.registry, cfg.passports.public_keys)


class Reloader:
    """Rebuilds the runtime when the configuration or the passports change."""

    def __init__(
        self,
        path: Path,
        gateway: Gateway,
        pools: dict[tuple[str, str, int, str], Pool],
        kb: KnowledgeBase,
        source: PassportSource,
    ) -> None:
        self.path = path
        self.gateway = gateway
        self.pools = pools
        self.kb = kb
        self.source = source
        self._stamp = self.stamp()

    def stamp(self) -> tuple[object, ...]:
        """What, when it changes, means a reload."""
        parts: list[object] = []
        with contextlib.suppress(OSError):
            st = self.path.stat()
            parts.append((st.st_mtime_ns, st.st_size))
        folder = self.gateway.runtime.config.passports.folder
        if folder is not None:
            with contextlib.suppress(OSError):
                parts.extend(
                    (p.name, p.stat().st_mtime_ns, p.stat().st_size)
                    for p in sorted(folder.glob("*.json"))
                )
        return tuple(parts)

    def reload(self) -> bool:
        """Swap in a new runtime; False (and the old one kept) when the new one is invalid."""
        self._stamp = self.stamp()
        old = self.gateway.runtime.config
        try:
            cfg = load_config(self.path)
            if (cfg.listen, cfg.audit, cfg.shared) != (old.listen, old.audit, old.shared):
                _log.warning("listen, audit and shared settings change only on restart")
                cfg = cfg.model_copy(
                    update={"listen": old.listen, "audit": old.audit, "shared": old.shared}
                )
            if cfg.passports != old.passports or cfg.passports.folder is not None:
                self.source = passport_source(cfg)
            runtime = build_runtime(cfg, self.source, self.kb, self.pools)
        except GatewayError as exc:
            _log.error("reload refused, still serving the previous configuration: %s", exc.message)
            return False
        self.gateway.runtime = runtime
        for problem in runtime.problems:
            _log.warning("%s", problem)
        _log.info(
            "reloaded %s: %d models, %d upstreams",
            self.path,
            len(runtime.models),
            len(runtime.routes),
        )
        return True

    async def watch(self, interval: float = 1.0) -> None:
        """Poll for changes; runs until cancelled."""
        last = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            passports = self.gateway.runtime.config.passports
            due = passports.registry is not None and time.monotonic() - last >= passports.refresh_s
            if due or self.stamp() != self._stamp:
                last = time.monotonic()
                # NOTE: registry lookups are blocking database calls; keep them off the loop.
                await asyncio.to_thread(self.reload)


def stderr_lines(line: str) -> None:
    """The structured request log: one JSON line per request on stderr, unbuffered."""
    os.write(2, line.encode() + b"\n")


def build(path: Path, request_log: Callable[[str], None] | None = None) -> tuple[Gateway, Reloader]:
    """The gateway for a configuration file (shared stores connect at start-up)."""
    cfg = load_config(path)
    kb = default_kb()
    pools: dict[tuple[str, str, int, str], Pool] = {}
    source = passport_source(cfg)
    runtime = build_runtime(cfg, source, kb, pools)
    ledger, limits, opens = _stores(cfg)
    tasks: list[asyncio.Task[None]] = []

    async def startup() -> None:
        if cfg.shared.postgres_url is not None:
            from modelcustoms.gateway.shared import ensure_schema

            await ensure_schema(cfg.shared.postgres_url)
        for open_ in opens:
            await open_()
        tasks.append(asyncio.create_task(reloader.watch()))
        loop = asyncio.get_running_loop()
        # NOTE: signals can only be handled on the main thread (asyncio raises RuntimeError
        # elsewhere, uvloop ValueError); off it the file watcher still reloads.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, reloader.reload)

    async def shutdown() -> None:
        for task in tasks:
            task.cancel()
        for pool in pools.values():
            pool.close()

    gateway = Gateway(
        runtime,
        ledger,
        limits,
        on_startup=startup,
        on_shutdown=shutdown,
        request_log=request_log,
    )
    reloader = Reloader(path, gateway, pools, kb, source)
    for problem in runtime.problems:
        _log.warning("%s", problem)
    return gateway, reloader


def _stores(
    cfg: GatewayConfig,
) -> tuple[Ledger, Limits, list[Callable[[], Awaitable[None]]]]:
    opens: list[Callable[[], Awaitable[None]]] = []
    url = cfg.shared.postgres_url
    if url is not None:
        from modelcustoms.gateway.shared import PostgresLimits

        pg_limits = PostgresLimits(url, charged_by_ledger=cfg.audit.postgres)
        opens.append(pg_limits.open)
        limits: Limits = pg_limits
    else:
        limits = MemoryLimits()
    if cfg.audit.postgres:
        from modelcustoms.gateway.shared import PostgresLedger

        assert url is not None
        pg_ledger = PostgresLedger(url)
        opens.append(pg_ledger.open)
        ledger: Ledger = pg_ledger
    else:
        assert cfg.audit.path is not None
        ledger = FileLedger(cfg.audit.path, fsync=cfg.audit.fsync)
    return ledger, limits, opens


def serve(
    path: Path,
    host: str | None = None,
    port: int | None = None,
    *,
    log_requests: bool = True,
    http: str = "builtin",
) -> None:
    """Run the gateway until interrupted: the built-in server, or uvicorn (``http="uvicorn"``)."""
    gateway, _ = build(path, stderr_lines if log_requests else None)
    listen = gateway.runtime.config.listen
    host = host or listen.host
    port = port if port is not None else listen.port
    if http == "builtin":
        from modelcustoms.gateway.httpserver import run

        run(gateway, host, port)
        return
    try:
        import uvicorn
    except ImportError as exc:
        msg = "--http uvicorn needs uvicorn installed"
        raise GatewayError(msg) from exc
    config = uvicorn.Config(
        gateway,
        host=host,
        port=port,
        http="httptools",
        loop="uvloop" if _has("uvloop") else "asyncio",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
    )
    uvicorn.Server(config).run()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


__all__ = ["Reloader", "Runtime", "build", "passport_source", "serve"]
