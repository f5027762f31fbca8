from __future__ import annotations

import pytest

from modelcustoms.render import OutputFormat
from tests.golden.regen import GOLDEN, render


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_golden_output(fmt):
    assert fmt in GOLDEN, "every format has a golden file"
    assert render(fmt) == GOLDEN[fmt].read_bytes(), "run: python scripts/regen.py"
