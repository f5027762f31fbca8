"""Settings of ``customs serve``, built once by the CLI and passed to the app factory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """How the web service behaves."""

    public_read: bool = False
    """Let anyone read the inventory without a token (writes always need one)."""
    secure_cookie: bool = False
    """Mark the dashboard's login cookie ``Secure`` (set behind HTTPS)."""
    max_body_bytes: int = 32 * 1024 * 1024
    """Largest request body accepted (HTTP 413 above)."""
