"""Settings and errors of remote reads, without HTTP imports (cheap to import everywhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata

from modelcustoms.errors import SourceError


class RemoteError(SourceError, OSError):
    """A remote read failed. Also an ``OSError`` so that per-file readers treat it as I/O."""


class RemoteUnreachable(RemoteError):
    """The server could not be reached or stopped answering (after retries)."""


class RemoteProtocolError(RemoteError):
    """The server answered something we cannot trust (bad ``Content-Range``, truncated body)."""


class RangeNotHonoured(RemoteProtocolError):
    """The server ignored ``Range`` and the bytes asked for lie too far into the body."""


class TransferLimitExceeded(RemoteError):
    """Reading on would fetch more bytes than the blob is allowed without a full download."""

    skip_reason = "not-downloaded"
    """How the scan engine records the file it could not read."""


class RemoteStatusError(RemoteError):
    """The server answered with an error status."""

    def __init__(
        self, message: str, *, status: int, error_code: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.error_code = error_code
        """The server's machine-readable error code (the Hub's ``X-Error-Code``), cleaned."""


class RemoteNotFound(RemoteStatusError):
    """HTTP 404."""


class RemoteAccessDenied(RemoteStatusError):
    """HTTP 401 or 403: private, gated, or a token without access."""


class RemoteServerError(RemoteStatusError):
    """HTTP 429 or 5xx that did not clear after retries, or another unexpected status."""


def _user_agent() -> str:
    # NOTE: not ``modelcustoms.__version__``: the package root imports the pipeline, and
    # artifacts sit below it (import-linter's one-way data flow).
    try:
        return f"modelcustoms/{metadata.version('modelcustoms')}"
    except metadata.PackageNotFoundError:
        return "modelcustoms"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Timeouts, retries and transfer limits of remote reads."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 2
    """Extra attempts after a transient failure (connection, timeout, 429, 5xx)."""
    backoff: float = 0.25
    """Seconds before the first retry; doubled for each further one."""
    max_retry_after: float = 5.0
    """Ceiling on a server's ``Retry-After`` (a hostile server must not park us)."""
    max_redirects: int = 5
    block_size: int = 64 * 1024
    """Granularity of the read cache: the least a cache miss fetches."""
    max_readahead: int = 1024 * 1024
    """Reads longer than this bypass the cache; sequential misses grow read-ahead up to it."""
    cache_blocks: int = 64
    parallel_ranges: int = 8
    """Range requests in flight at once when scattered spans are read together."""
    max_blob_bytes: int = 64 * 1024 * 1024
    """Bytes one blob may fetch unless a full download was asked for (metadata, not weights)."""
    max_unranged_prefix: int = 1024 * 1024
    """When ``Range`` is ignored, the most bytes of the body read to serve a request."""
    max_json_bytes: int = 32 * 1024 * 1024
    trust_env: bool = True
    """Take proxies and CA bundles from the environment, as httpx does."""
    user_agent: str = field(default_factory=_user_agent)

    def __post_init__(self) -> None:
        if self.block_size <= 0 or self.cache_blocks * self.block_size < 2 * self.max_readahead:
            msg = "the block cache must hold at least two read-ahead windows"
            raise ValueError(msg)
