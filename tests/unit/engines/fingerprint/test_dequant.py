"""Each dequantizer against a quantizer written here: round-trip error within the type's bound."""

from __future__ import annotations

import numpy as np
import pytest

from modelcustoms.engines.fingerprint.dequant import UnsupportedType, dequantize
from tests.unit.engines.fingerprint.quantize import QUANTIZERS

# Worst relative RMS error (error RMS / weight RMS) a correct layout gives on Gaussian weights;
# a wrong bit layout gives errors of order 1 or more.
BOUNDS = {8: 0.008, 2: 0.11, 3: 0.10, 6: 0.06, 7: 0.05, 12: 0.10, 13: 0.05, 14: 0.03}


@pytest.mark.parametrize("gtype", sorted(QUANTIZERS))
def test_round_trip(gtype):
    rng = np.random.default_rng(gtype)
    x = rng.standard_normal(256 * 16).astype(np.float32) * 0.05
    raw = QUANTIZERS[gtype](x)
    y = dequantize(gtype, raw)
    assert y.shape == x.shape
    rel = float(np.sqrt(np.mean((x - y) ** 2)) / np.sqrt(np.mean(x**2)))
    assert rel < BOUNDS[gtype], rel


def test_plain_float_types():
    x = np.linspace(-2, 2, 64, dtype=np.float32)
    assert np.array_equal(dequantize(0, x.tobytes()), x)
    assert np.allclose(dequantize(1, x.astype(np.float16).tobytes()), x, atol=1e-3)
    bf16 = (x.view(np.uint32) >> 16).astype(np.uint16).tobytes()
    assert np.allclose(dequantize(30, bf16), x, rtol=1e-2)


def test_unknown_type_and_partial_block():
    with pytest.raises(UnsupportedType):
        dequantize(16, b"\0" * 66)
    with pytest.raises(ValueError, match="whole number"):
        dequantize(8, b"\0" * 33)
