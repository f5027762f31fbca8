"""Inline SVG for the dashboard (no JavaScript, no build step): the inventory chart and the
lineage chain. Every text is escaped; sizes are computed, not guessed by a browser script."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from modelcustoms.registry.schemas import InventoryCount, LineageLink

COLORS = {"allow": "#15803d", "warn": "#b45309", "deny": "#b91c1c", "none": "#6b7280"}
ORDER = ("deny", "warn", "allow", "none")
UNKNOWN = "unknown"


def inventory_chart(counts: Sequence[InventoryCount], width: int = 640) -> Markup:
    """Horizontal stacked bars: one per origin country, segments per verdict."""
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in counts:
        per[c.country or UNKNOWN][c.decision] += c.count
    rows = sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:20]
    if not rows:
        return Markup('<p class="muted">No models recorded yet.</p>')
    top = max(sum(v.values()) for _, v in rows)
    label_w, bar_h, gap, legend_h = 80, 22, 8, 28
    plot_w = width - label_w - 60
    height = legend_h + len(rows) * (bar_h + gap)
    parts = [
        f'<svg class="chart" role="img" aria-label="Models by origin country and verdict" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for k, decision in enumerate(ORDER):
        lx = label_w + 70 * k
        parts.append(
            f'<rect x="{lx}" y="4" width="12" height="12" fill="{COLORS[decision]}"/>'
            f'<text x="{lx + 16}" y="14" font-size="12">{decision}</text>'
        )
    for i, (country, by) in enumerate(rows):
        y = legend_h + i * (bar_h + gap)
        total = sum(by.values())
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="13" text-anchor="end">'
            f"{escape(country)}</text>"
        )
        x = float(label_w)
        for decision in ORDER:
            n = by.get(decision, 0)
            if not n:
                continue
            w = plot_w * n / top
            parts.append(
                f'<rect class="bar" data-country="{escape(country)}" data-verdict="{decision}" '
                f'x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{COLORS.get(decision, "#999")}"><title>{escape(country)}, {decision}: '
                f"{n}</title></rect>"
            )
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" font-size="12">{total}</text>')
    parts.append("</svg>")
    # Every interpolated text above went through html.escape; the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704


def lineage_chain(model_name: str, links: Sequence[LineageLink], width: int = 900) -> Markup:
    """The chain model → base → … as boxes joined by arrows labelled with the relation."""
    if not links:
        return Markup('<p class="muted">No lineage claim in the newest report.</p>')
    nodes: list[tuple[str, str | None, str | None]] = [(model_name, None, None)]
    edges: list[LineageLink] = []
    for link in links[:8]:
        nodes.append((link.base, link.publisher, link.country))
        edges.append(link)
    box_w, box_h, gap = 180, 56, 70
    total_w = max(width, len(nodes) * (box_w + gap))
    height = box_h + 40
    parts = [
        f'<svg class="lineage" role="img" aria-label="Lineage chain" width="{total_w}" '
        f'height="{height}" viewBox="0 0 {total_w} {height}" xmlns="http://www.w3.org/2000/svg">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker>'
        "</defs>"
    ]
    for i, (name, publisher, country) in enumerate(nodes):
        x = 10 + i * (box_w + gap)
        fill = "#eef2ff" if i == 0 else "#f9fafb"
        sub = " · ".join(p for p in (publisher, country) if p) or "origin unknown"
        parts.append(
            f'<g class="node" data-name="{escape(name)}">'
            f'<rect x="{x}" y="10" width="{box_w}" height="{box_h}" rx="8" fill="{fill}" '
            f'stroke="#374151"/>'
            f'<text x="{x + box_w / 2}" y="34" font-size="13" text-anchor="middle" '
            f'font-weight="bold">{escape(_short(name))}<title>{escape(name)}</title></text>'
            f'<text x="{x + box_w / 2}" y="52" font-size="11" text-anchor="middle" '
            f'fill="#4b5563">{escape(_short(sub))}</text></g>'
        )
        if i < len(edges):
            e = edges[i]
            x1, x2 = x + box_w, x + box_w + gap
            parts.append(
                f'<line x1="{x1}" y1="38" x2="{x2 - 2}" y2="38" stroke="#374151" '
                f'stroke-width="1.5" marker-end="url(#arrow)"/>'
                f'<text x="{(x1 + x2) / 2}" y="30" font-size="10" text-anchor="middle">'
                f"{escape(e.relation)}</text>"
                f'<text x="{(x1 + x2) / 2}" y="54" font-size="9" text-anchor="middle" '
                f'fill="#6b7280">{escape(e.level)}</text>'
            )
    parts.append("</svg>")
    # Every interpolated text above went through html.escape; the rest is our own markup.
    return Markup("".join(parts))  # noqa: S704


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
