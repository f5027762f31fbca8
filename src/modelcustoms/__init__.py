"""modelcustoms: inspect open-weight AI models at the border of your software."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
