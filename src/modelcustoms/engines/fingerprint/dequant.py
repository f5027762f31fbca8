"""Native numpy dequantization of ggml tensor blocks (no llama.cpp).

Block layouts follow ggml-common.h / ggml-quants.c (``dequantize_row_*``): each type stores
``block_size`` weights in ``type_size`` bytes, and a tensor row is a whole number of blocks.
Only the types real GGUF releases use for the tensors we fingerprint are implemented; any
other type is :class:`UnsupportedType` (the caller records a skip, never a guess).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

QK_K = 256


class UnsupportedType(Exception):
    """The tensor's element type has no dequantizer here."""


def _f16(col: U8) -> F32:
    """Little-endian half floats from an (n, 2) byte array, as float32 (n,)."""
    return np.ascontiguousarray(col).view("<f2").reshape(-1).astype(np.float32)


def _blocks(raw: bytes, type_size: int) -> U8:
    arr = np.frombuffer(raw, dtype=np.uint8)
    if arr.size % type_size:
        msg = f"{arr.size} bytes is not a whole number of {type_size}-byte blocks"
        raise ValueError(msg)
    return arr.reshape(-1, type_size)


def _f32(raw: bytes) -> F32:
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def _f16_plain(raw: bytes) -> F32:
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)


def _bf16(raw: bytes) -> F32:
    # bfloat16 is the top half of a float32.
    half = np.frombuffer(raw, dtype="<u2").astype(np.uint32)
    return (half << 16).view(np.float32)


def _q8_0(raw: bytes) -> F32:
    b = _blocks(raw, 34)
    d = _f16(b[:, :2])
    q = b[:, 2:].view(np.int8).astype(np.float32)
    return (q * d[:, None]).reshape(-1)


def _nibbles(qs: U8) -> U8:
    """Low nibbles give weights 0..15 of a 32-block, high nibbles 16..31."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


def _q4_0(raw: bytes) -> F32:
    b = _blocks(raw, 18)
    d = _f16(b[:, :2])
    q = _nibbles(b[:, 2:]).astype(np.float32) - 8.0
    return (q * d[:, None]).reshape(-1)


def _q4_1(raw: bytes) -> F32:
    b = _blocks(raw, 20)
    d = _f16(b[:, :2])
    m = _f16(b[:, 2:4])
    q = _nibbles(b[:, 4:]).astype(np.float32)
    return (q * d[:, None] + m[:, None]).reshape(-1)


def _high_bits(qh: U8) -> U8:
    """The 32 fifth bits of a Q5_0/Q5_1 block (a little-endian u32), weight j from bit j."""
    bits = np.unpackbits(qh, axis=1, bitorder="little")
    return bits.astype(np.uint8)


def _q5_0(raw: bytes) -> F32:
    b = _blocks(raw, 22)
    d = _f16(b[:, :2])
    q = _nibbles(b[:, 6:]) | (_high_bits(b[:, 2:6]) << 4)
    return ((q.astype(np.float32) - 16.0) * d[:, None]).reshape(-1)


def _q5_1(raw: bytes) -> F32:
    b = _blocks(raw, 24)
    d = _f16(b[:, :2])
    m = _f16(b[:, 2:4])
    q = _nibbles(b[:, 8:]) | (_high_bits(b[:, 4:8]) << 4)
    return (q.astype(np.float32) * d[:, None] + m[:, None]).reshape(-1)


def _scale_min_k4(scales: U8) -> tuple[U8, U8]:
    """The eight 6-bit scales and mins packed in 12 bytes (``get_scale_min_k4``)."""
    s = scales
    sc = np.empty((s.shape[0], 8), dtype=np.uint8)
    mn = np.empty((s.shape[0], 8), dtype=np.uint8)
    sc[:, :4] = s[:, 0:4] & 63
    mn[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)
    mn[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, mn


def _q4_k(raw: bytes) -> F32:
    b = _blocks(raw, 144)
    d = _f16(b[:, 0:2])
    dmin = _f16(b[:, 2:4])
    sc, mn = _scale_min_k4(b[:, 4:16])
    qs = b[:, 16:].reshape(-1, 4, 32)
    # Each 64-weight chunk: 32 low nibbles (sub-block 2j), then 32 high nibbles (2j+1).
    q = np.stack([qs & 0x0F, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
    scale = (d[:, None] * sc.astype(np.float32))[:, :, None]
    offset = (dmin[:, None] * mn.astype(np.float32))[:, :, None]
    return (q * scale - offset).reshape(-1)


def _q5_k(raw: bytes) -> F32:
    b = _blocks(raw, 176)
    d = _f16(b[:, 0:2])
    dmin = _f16(b[:, 2:4])
    sc, mn = _scale_min_k4(b[:, 4:16])
    qh = b[:, 16:48]  # (n, 32): bit 2j / 2j+1 of byte l is the fifth bit of sub-block 2j / 2j+1
    ql = b[:, 48:].reshape(-1, 4, 32)
    low = np.stack([ql & 0x0F, ql >> 4], axis=2).reshape(-1, 8, 32)
    shifts = np.arange(8, dtype=np.uint8)[None, :, None]
    high = (qh[:, None, :] >> shifts) & 1
    q: F32 = (low | (high << 4)).astype(np.float32)
    scale = (d[:, None] * sc.astype(np.float32))[:, :, None]
    offset = (dmin[:, None] * mn.astype(np.float32))[:, :, None]
    return (q * scale - offset).reshape(-1)


def _q6_k(raw: bytes) -> F32:
    b = _blocks(raw, 210)
    ql = b[:, 0:128].reshape(-1, 2, 64)
    qh = b[:, 128:192].reshape(-1, 2, 32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32).reshape(-1, 2, 8)
    d = _f16(b[:, 208:210])
    lo_a, lo_b = ql[:, :, :32], ql[:, :, 32:]
    q1 = (lo_a & 0x0F) | (((qh >> 0) & 3) << 4)
    q2 = (lo_b & 0x0F) | (((qh >> 2) & 3) << 4)
    q3 = (lo_a >> 4) | (((qh >> 4) & 3) << 4)
    q4 = (lo_b >> 4) | (((qh >> 6) & 3) << 4)
    # (n, 2 halves, 4 quarters, 32): quarter k of a 128-half holds weights 32k..32k+31.
    q = np.stack([q1, q2, q3, q4], axis=2).astype(np.float32) - 32.0
    # Scale index within a half: 16-weight groups, so quarter k, lane l uses sc[2k + l // 16].
    s = sc.reshape(-1, 2, 4, 2)
    s = np.repeat(s, 16, axis=3)
    return (q * s * d[:, None, None, None]).reshape(-1)


DEQUANTIZERS: dict[int, Callable[[bytes], F32]] = {
    0: _f32,
    1: _f16_plain,
    2: _q4_0,
    3: _q4_1,
    6: _q5_0,
    7: _q5_1,
    8: _q8_0,
    12: _q4_k,
    13: _q5_k,
    14: _q6_k,
    30: _bf16,
}
"""ggml type id → dequantizer of whole blocks."""

SAFETENSORS_DTYPES: dict[str, tuple[int, int]] = {"F32": (0, 4), "F16": (1, 2), "BF16": (30, 2)}
"""safetensors dtype → (ggml type id with the same encoding, bytes per element)."""


def dequantize(ggml_type: int, raw: bytes) -> F32:
    """Float32 weights from ``raw`` (a whole number of blocks of ``ggml_type``)."""
    fn = DEQUANTIZERS.get(ggml_type)
    if fn is None:
        msg = f"no dequantizer for ggml type {ggml_type}"
        raise UnsupportedType(msg)
    return fn(raw)
