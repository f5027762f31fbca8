"""Renderers: pure functions from (Report, Verdict | None) to bytes. One module per format."""

from modelcustoms.render.base import OutputFormat, Renderer
from modelcustoms.render.registry import renderer_for

__all__ = ["OutputFormat", "Renderer", "renderer_for"]
