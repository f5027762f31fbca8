"""OutputFormat → Renderer, exhaustive: a new format cannot be half-wired."""

from __future__ import annotations

from typing import assert_never

from modelcustoms.render.base import OutputFormat, Renderer


def renderer_for(fmt: OutputFormat, *, color: bool = False, width: int = 120) -> Renderer:
    """The renderer of ``fmt``."""
    if fmt is OutputFormat.JSON:
        from modelcustoms.render.json import JsonRenderer

        return JsonRenderer()
    if fmt is OutputFormat.SARIF:
        from modelcustoms.render.sarif import SarifRenderer

        return SarifRenderer()
    if fmt is OutputFormat.CYCLONEDX:
        from modelcustoms.render.cyclonedx import CycloneDxRenderer

        return CycloneDxRenderer()
    if fmt is OutputFormat.HTML:
        from modelcustoms.render.html import HtmlRenderer

        return HtmlRenderer()
    if fmt is OutputFormat.TERMINAL:
        from modelcustoms.render.terminal import TerminalRenderer

        return TerminalRenderer(color=color, width=width)
    assert_never(fmt)
