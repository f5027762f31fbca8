"""Fixtures for source tests: the local hub server and options that point at it."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from modelcustoms.artifacts.http import HttpSettings
from modelcustoms.sources.base import Source
from modelcustoms.sources.resolve import SourceOptions, resolve
from tests.hubserver import HubServer, hub_server

__all__ = ["hub_server"]

# NOTE: trust_env off so that a proxy set in the developer's environment cannot capture
# requests meant for 127.0.0.1; tiny backoff keeps retry tests fast.
FAST = HttpSettings(trust_env=False, backoff=0.01, connect_timeout=2.0, read_timeout=5.0)


@pytest.fixture
def hf_cache(tmp_path: Path) -> Path:
    """An empty Hugging Face cache folder."""
    path = tmp_path / "hf-cache"
    path.mkdir()
    return path


@pytest.fixture
def hub_options(hub_server: HubServer, hf_cache: Path) -> SourceOptions:
    """Source options reading from the local hub server, with an empty cache."""
    env = {"HF_ENDPOINT": hub_server.url, "HF_HUB_CACHE": str(hf_cache)}
    return SourceOptions(env=env, http=FAST)


OpenSource = Callable[[str, SourceOptions], Source]


@pytest.fixture
def open_source() -> Iterator[OpenSource]:
    """``resolve`` whose sources are closed at teardown (unclosed sockets fail the run)."""
    opened: list[Source] = []

    def _open(ref: str, options: SourceOptions) -> Source:
        source = resolve(ref, options)
        opened.append(source)
        return source

    yield _open
    for source in opened:
        source.close()


class Chunks(httpx.SyncByteStream):
    """A body that arrives as a network stream (a plain bytes body is pre-read by httpx)."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
