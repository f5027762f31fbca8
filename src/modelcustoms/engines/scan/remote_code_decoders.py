"""Bounded decoders for the encoded blobs that remote code hides payloads in.

Decoding never runs the result: it only lets the analyzer read what ``exec(b64decode(...))``
would execute, and tell the reviewer what an encoded constant contains.
"""

from __future__ import annotations

import base64
import bz2
import lzma
import math
import re
import zlib
from collections import Counter

MAX_FOLDED = 4 * 1024 * 1024
"""Largest string the folder builds or a decoder produces."""
ENCODED_MIN = 512
"""Shortest constant reported as an encoded blob."""

_B64 = re.compile(r"[A-Za-z0-9+/=_-]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_WS = re.compile(r"\s+")


def decode(decoder: str, data: str | bytes, extra: str | None) -> str | bytes | None:
    """``data`` as ``decoder`` (a qualified name in DECODERS) returns it, bounded; None on error."""
    raw = data.encode("latin-1", errors="replace") if isinstance(data, str) else data
    try:
        if decoder == "codecs.decode":
            if isinstance(data, str) and extra in ("rot13", "rot_13"):
                return data.translate(_ROT13)
            decoder = {
                "base64": "base64.b64decode",
                "hex": "binascii.unhexlify",
                "zlib": "zlib.decompress",
                "bz2": "bz2.decompress",
            }.get(extra or "", "")
        if decoder in (
            "base64.b64decode",
            "base64.standard_b64decode",
            "base64.decodebytes",
            "binascii.a2b_base64",
        ):
            return base64.b64decode(raw)
        if decoder == "base64.urlsafe_b64decode":
            return base64.urlsafe_b64decode(raw)
        if decoder == "base64.b32decode":
            return base64.b32decode(raw)
        if decoder == "base64.b16decode":
            return base64.b16decode(raw)
        if decoder == "base64.b85decode":
            return base64.b85decode(raw)
        if decoder == "base64.a85decode":
            return base64.a85decode(raw)
        if decoder in ("binascii.unhexlify", "binascii.a2b_hex", "builtins.bytes.fromhex"):
            return bytes.fromhex(raw.decode("ascii"))
        if decoder == "zlib.decompress":
            return zlib.decompressobj().decompress(raw, MAX_FOLDED)
        if decoder == "gzip.decompress":
            return zlib.decompressobj(wbits=31).decompress(raw, MAX_FOLDED)
        if decoder == "bz2.decompress":
            return bz2.BZ2Decompressor().decompress(raw, MAX_FOLDED)
        if decoder == "lzma.decompress":
            return lzma.LZMADecompressor().decompress(raw, MAX_FOLDED)
    except (ValueError, zlib.error, OSError, EOFError, lzma.LZMAError, UnicodeError):
        return None
    return None


_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)


def blob_kind(v: str | bytes) -> str | None:
    """``base64``/``hex``/``binary`` when a long constant looks encoded, else None."""
    if isinstance(v, bytes):
        sample = v[:65536]
        binary = sum(1 for b in sample if b < 9 or 13 < b < 32 or b > 126)
        if binary > len(sample) * 0.3:
            return "binary"
        v = sample.decode("latin-1")
    compact = _WS.sub("", v[: 1 << 20])
    if len(compact) < ENCODED_MIN or len(compact) < len(v[: 1 << 20]) * 0.9:
        return None  # prose and code have many spaces; encodings have few line breaks
    if _entropy(compact[:65536]) < 3.0:
        return None
    if _HEX.fullmatch(compact):
        return "hex"
    if _B64.fullmatch(compact):
        return "base64"
    nonprint = sum(1 for c in compact[:65536] if not c.isprintable())
    return "binary" if nonprint > len(compact[:65536]) * 0.3 else None


_MAGICS = (
    (b"BZh", "bz2 data"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ", "xz data"),
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\x80", "a pickle"),
    (b"\xe3", "a marshalled code object"),
    (b"x\x9c", "zlib data"),
    (b"x\xda", "zlib data"),
    (b"x\x01", "zlib data"),
)


def blob_content(v: str | bytes, kind: str) -> str | None:
    """What the first bytes of an encoded constant decode to, for the reviewer."""
    head: bytes
    try:
        if kind == "base64":
            text = _WS.sub("", v[:4096] if isinstance(v, str) else v[:4096].decode("latin-1"))
            # urlsafe and standard alphabets alike; only the first bytes matter.
            text = text.replace("-", "+").replace("_", "/")
            head = base64.b64decode(text[: len(text) // 4 * 4])
        elif kind == "hex":
            text = _WS.sub("", v[:4096] if isinstance(v, str) else v[:4096].decode("latin-1"))
            head = bytes.fromhex(text[: len(text) // 2 * 2])
        else:
            head = v[:16] if isinstance(v, bytes) else v[:16].encode("latin-1", errors="replace")
    except (ValueError, UnicodeError):
        return None
    for magic, name in _MAGICS:
        if head.startswith(magic):
            return name
    sample = head[:256]
    if sample and all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
        return "text"
    return None


def _entropy(s: str) -> float:
    counts = Counter(s)
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0
