"""The errors of the gateway: configuration problems (exit 2) and refused requests (HTTP)."""

from __future__ import annotations

from modelcustoms.errors import CustomsError


class GatewayError(CustomsError):
    """The gateway configuration, a key file or an audit log could not be used."""


class RedactionError(Exception):
    """The redactor could not make a prompt safe; the request must be blocked (fail closed)."""


class UpstreamError(Exception):
    """An upstream failed before answering (connection, timeout, 5xx): a fallback may follow."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
