"""Virtual API keys: issued once, stored only as their sha256, looked up per request.

A key is 256 random bits, so a plain sha256 is enough to store it: there is nothing to
brute-force, and a slow password hash would cost milliseconds on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from modelcustoms.gateway.config import Key

PREFIX = "sk-customs-"


def new_key() -> tuple[str, str]:
    """A fresh key and the sha256 to put in the configuration."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, hash_key(key)


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request was refused before routing: HTTP status, error code, message."""

    status: int
    code: str
    message: str


MISSING = Refusal(401, "missing_api_key", "no API key: send Authorization: Bearer <key>")
WRONG = Refusal(401, "invalid_api_key", "the API key is not valid")


class KeyRing:
    """The configured keys, by hash."""

    def __init__(self, keys: Iterable[Key]) -> None:
        self._by_hash = {k.sha256: k for k in keys}

    def __len__(self) -> int:
        return len(self._by_hash)

    def authenticate(self, authorization: bytes | None) -> Key | Refusal:
        """The key named by an ``Authorization: Bearer`` header value, or why not."""
        if not authorization:
            return MISSING
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return MISSING
        try:
            text = token.strip().decode("ascii")
        except UnicodeDecodeError:
            return WRONG
        key = self._by_hash.get(hash_key(text))
        return key if key is not None else WRONG


def may_use(key: Key, model: str) -> Refusal | None:
    """None when the key's allow-list admits ``model``."""
    if "*" in key.models or model in key.models:
        return None
    return Refusal(403, "model_not_allowed", f"key {key.id} may not use model {model!r}")
