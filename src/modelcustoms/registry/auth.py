"""API tokens and roles.

A token is 32 random bytes shown once; the registry stores only its sha256 (a token has full
entropy, so a fast hash is enough: there is nothing to brute-force as with a password). Roles
are ordered: a viewer reads, an auditor also records reports, an approver also approves and
waives.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

TOKEN_PREFIX = "mct_"  # noqa: S105 - a prefix that makes leaked tokens greppable, not a secret


class Role(StrEnum):
    """What a token may do; each role includes the ones before it."""

    VIEWER = "viewer"
    AUDITOR = "auditor"
    APPROVER = "approver"

    @property
    def rank(self) -> int:
        """0 for viewer, 2 for approver."""
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role may do what ``needed`` may."""
        return self.rank >= needed.rank


def new_token() -> str:
    """A fresh secret token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored and looked up: sha256 of the token, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hashes."""
    return hmac.compare_digest(a.encode(), b.encode())
