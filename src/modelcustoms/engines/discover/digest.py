"""sha256 of small in-memory data without starting OpenSSL.

``hashlib`` loads the OpenSSL binding on import, which costs more than a scan of a small
repository; CPython's own SHA-256 (the module ``hashlib`` falls back to) gives the same digest.
Source files are at most a few megabytes, where the speed of either does not matter.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_BUILTIN = ("_sha2", "_sha256")
"""CPython's built-in SHA-2 module: ``_sha2`` from 3.12, ``_sha256`` before."""


def _constructor() -> Callable[[bytes], Any]:
    for name in _BUILTIN:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        made: Callable[[bytes], Any] = module.sha256
        return made
    import hashlib

    return hashlib.sha256


_SHA256 = _constructor()


def sha256_hex(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    digest: str = _SHA256(data).hexdigest()
    return digest
