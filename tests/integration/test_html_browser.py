"""The HTML report in a real headless browser: it renders (screenshot) and its DOM is as built.

Needs Debian's ``chromium`` (apt: chromium, fonts-dejavu-core); skipped when it is absent.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from modelcustoms.render import OutputFormat, renderer_for
from tests.unit.render.provenance_report import deny_verdict, provenance_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

DENY_RED = (0xB9, 0x1C, 0x1C)
"""The deny banner's background (``--deny`` in the template)."""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert CHROMIUM is not None
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(argv, capture_output=True, timeout=120, check=False, env=env)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    report = provenance_report()
    path = tmp_path / "report.html"
    path.write_bytes(renderer_for(OutputFormat.HTML).render(report, deny_verdict(report)))
    return path


def _png_pixels(data: bytes, max_rows: int) -> tuple[int, int, int, list[bytes]]:
    """Width, height, channels and unfiltered rows of an 8-bit RGB/RGBA PNG (no imaging library)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = (
        zlib.decompress(idat),
        width * channels,
        [],
        bytearray(width * channels),
    )
    for y in range(min(height, max_rows)):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def test_screenshot_renders_the_verdict_banner(tmp_path: Path, page: Path):
    shot = tmp_path / "report.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    data = shot.read_bytes()
    width, height, channels, rows = _png_pixels(data, max_rows=500)
    assert (width, height) == (1280, 2000)
    red = sum(
        1
        for row in rows
        for x in range(0, width * channels, channels * 8)
        if tuple(row[x : x + 3]) == DENY_RED
    )
    assert red > 100, "the deny banner is drawn near the top of the page"


def test_dom_is_the_page_we_built(tmp_path: Path, page: Path):
    result = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    dom = result.stdout.decode("utf-8")
    assert 'class="banner deny"' in dom
    assert dom.index('id="verdict"') < dom.index('id="findings"')
    assert "pickle.dangerous-import" in dom
    assert "acme/demo-base" in dom and "qwen2.5" in dom
    assert "<script" not in dom
