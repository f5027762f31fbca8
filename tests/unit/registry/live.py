"""A real registry server for tests: uvicorn on 127.0.0.1 (a free port), in a thread.

``LiveRegistry`` starts ``create_app(store)`` and stops it; ``url`` is its base URL. The store
can be closed and a new server started on the same database (a restart).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from modelcustoms.registry.store import RegistryStore
from modelcustoms.registry.web.app import create_app
from modelcustoms.registry.web.settings import ServeSettings


class LiveRegistry:
    """uvicorn serving a registry store until ``stop()``."""

    def __init__(self, store: RegistryStore, settings: ServeSettings | None = None) -> None:
        self.store = store
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(store, settings),
            log_level="warning",
            lifespan="off",
            timeout_keep_alive=30,
            limit_concurrency=1000,
            backlog=2048,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> LiveRegistry:
        """Start serving; returns when the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                msg = "the registry server did not start"
                raise RuntimeError(msg)
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()

    def __enter__(self) -> LiveRegistry:
        return self.start()

    def __exit__(
        self,
        _t: type[BaseException] | None,
        _e: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()
