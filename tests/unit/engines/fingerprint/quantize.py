"""Reference quantizers written for the tests (simple, not llama.cpp's optimised searches).

Each one packs float32 weights into the ggml block layout its dequantizer reads, so a
round trip checks the layout, not only the arithmetic.
"""

from __future__ import annotations

import numpy as np


def _f16(x: np.ndarray) -> np.ndarray:
    return x.astype("<f2").view(np.uint8).reshape(-1, 2)


def _pack_nibbles(q: np.ndarray) -> np.ndarray:
    """(n, 32) values 0..15 → (n, 16) bytes: weight j low nibble, weight j+16 high nibble."""
    return (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)


def q8_0(x: np.ndarray) -> bytes:
    b = x.reshape(-1, 32).astype(np.float32)
    d = np.abs(b).max(axis=1) / 127
    inv = np.where(d > 0, 1 / np.where(d > 0, d, 1), 0)
    q = np.clip(np.rint(b * inv[:, None]), -127, 127).astype(np.int8)
    return np.concatenate([_f16(d), q.view(np.uint8)], axis=1).tobytes()


def _signed_max(b: np.ndarray) -> np.ndarray:
    idx = np.abs(b).argmax(axis=1)
    return b[np.arange(b.shape[0]), idx]


def q4_0(x: np.ndarray) -> bytes:
    b = x.reshape(-1, 32).astype(np.float32)
    d = _signed_max(b) / -8
    inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0)
    q = np.clip(np.floor(b * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    return np.concatenate([_f16(d), _pack_nibbles(q)], axis=1).tobytes()


def q4_1(x: np.ndarray) -> bytes:
    b = x.reshape(-1, 32).astype(np.float32)
    lo, hi = b.min(axis=1), b.max(axis=1)
    d = (hi - lo) / 15
    inv = np.where(d > 0, 1 / np.where(d > 0, d, 1), 0)
    q = np.clip(np.rint((b - lo[:, None]) * inv[:, None]), 0, 15).astype(np.uint8)
    return np.concatenate([_f16(d), _f16(lo), _pack_nibbles(q)], axis=1).tobytes()


def _q5_bits(q: np.ndarray) -> np.ndarray:
    """Fifth bits of 32 weights as a little-endian u32 (4 bytes)."""
    return np.packbits((q >> 4).astype(np.uint8), axis=1, bitorder="little")


def q5_0(x: np.ndarray) -> bytes:
    b = x.reshape(-1, 32).astype(np.float32)
    d = _signed_max(b) / -16
    inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0)
    q = np.clip(np.floor(b * inv[:, None] + 16.5), 0, 31).astype(np.uint8)
    return np.concatenate([_f16(d), _q5_bits(q), _pack_nibbles(q & 0xF)], axis=1).tobytes()


def q5_1(x: np.ndarray) -> bytes:
    b = x.reshape(-1, 32).astype(np.float32)
    lo, hi = b.min(axis=1), b.max(axis=1)
    d = (hi - lo) / 31
    inv = np.where(d > 0, 1 / np.where(d > 0, d, 1), 0)
    q = np.clip(np.rint((b - lo[:, None]) * inv[:, None]), 0, 31).astype(np.uint8)
    parts = [_f16(d), _f16(lo), _q5_bits(q), _pack_nibbles(q & 0xF)]
    return np.concatenate(parts, axis=1).tobytes()


def _pack_scales_k4(sc: np.ndarray, mn: np.ndarray) -> np.ndarray:
    """Eight 6-bit scales and mins → 12 bytes (inverse of get_scale_min_k4)."""
    out = np.empty((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = sc[:, :4] | ((sc[:, 4:] >> 4) << 6)
    out[:, 4:8] = mn[:, :4] | ((mn[:, 4:] >> 4) << 6)
    out[:, 8:12] = (sc[:, 4:] & 0xF) | ((mn[:, 4:] & 0xF) << 4)
    return out


def _k_affine(x: np.ndarray, levels: int):
    """Per 32-weight sub-block scale/min, quantized to 6 bits against super-block d/dmin."""
    b = x.reshape(-1, 8, 32).astype(np.float32)
    lo = np.minimum(b.min(axis=2), 0)
    hi = b.max(axis=2)
    scale = (hi - lo) / levels
    m = -lo
    d = scale.max(axis=1) / 63
    dmin = m.max(axis=1) / 63
    d16 = d.astype(np.float16).astype(np.float32)
    dm16 = dmin.astype(np.float16).astype(np.float32)
    sc = np.clip(np.rint(scale / np.where(d16 > 0, d16, 1)[:, None]), 0, 63).astype(np.uint8)
    mn = np.clip(np.rint(m / np.where(dm16 > 0, dm16, 1)[:, None]), 0, 63).astype(np.uint8)
    eff_s = d16[:, None] * sc
    eff_m = dm16[:, None] * mn
    inv = np.where(eff_s > 0, 1 / np.where(eff_s > 0, eff_s, 1), 0)
    q = np.clip(np.rint((b + eff_m[:, :, None]) * inv[:, :, None]), 0, levels).astype(np.uint8)
    return d, dmin, sc, mn, q


def q4_k(x: np.ndarray) -> bytes:
    d, dmin, sc, mn, q = _k_affine(x, 15)
    # chunk j of 32 bytes: low nibble sub-block 2j, high nibble sub-block 2j+1.
    qs = (q[:, 0::2] | (q[:, 1::2] << 4)).reshape(-1, 128)
    parts = [_f16(d), _f16(dmin), _pack_scales_k4(sc, mn), qs]
    return np.concatenate(parts, axis=1).tobytes()


def q5_k(x: np.ndarray) -> bytes:
    d, dmin, sc, mn, q = _k_affine(x, 31)
    low = q & 0xF
    qs = (low[:, 0::2] | (low[:, 1::2] << 4)).reshape(-1, 128)
    high = (q >> 4).astype(np.uint8)  # (n, 8, 32)
    qh = np.zeros((q.shape[0], 32), dtype=np.uint8)
    for s in range(8):
        qh |= high[:, s, :] << s
    parts = [_f16(d), _f16(dmin), _pack_scales_k4(sc, mn), qh, qs]
    return np.concatenate(parts, axis=1).tobytes()


def q6_k(x: np.ndarray) -> bytes:
    b = x.reshape(-1, 16, 16).astype(np.float32)  # 16 groups of 16
    amax = np.abs(b).max(axis=2)
    s = amax / 31
    d = s.max(axis=1) / 127
    d16 = d.astype(np.float16).astype(np.float32)
    sc = np.clip(np.rint(s / np.where(d16 > 0, d16, 1)[:, None]), -128, 127).astype(np.int8)
    eff = d16[:, None] * sc.astype(np.float32)
    inv = np.where(eff != 0, 1 / np.where(eff != 0, eff, 1), 0)
    q = np.clip(np.rint(b * inv[:, :, None]) + 32, 0, 63).astype(np.uint8).reshape(-1, 2, 4, 32)
    q1, q2, q3, q4 = q[:, :, 0], q[:, :, 1], q[:, :, 2], q[:, :, 3]
    ql = np.concatenate([(q1 & 0xF) | ((q3 & 0xF) << 4), (q2 & 0xF) | ((q4 & 0xF) << 4)], axis=2)
    qh = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)
    parts = [ql.reshape(-1, 128), qh.reshape(-1, 64), sc.view(np.uint8), _f16(d)]
    return np.concatenate(parts, axis=1).tobytes()


QUANTIZERS = {
    2: q4_0,
    3: q4_1,
    6: q5_0,
    7: q5_1,
    8: q8_0,
    12: q4_k,
    13: q5_k,
    14: q6_k,
}
"""ggml type id → test quantizer."""
