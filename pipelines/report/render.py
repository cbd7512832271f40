"""A render check: the page screenshotted by a real headless chromium, and the PNG judged.

Chromium runs with networking features off and a throwaway profile; the page needs nothing
else (its charts are inline SVG). `pixel_values` decodes the PNG with zlib from the standard
library, so a blank or failed render is caught without an imaging package.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from html import unescape as html_unescape
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def chromium() -> str | None:
    """The chromium binary: Debian's, or the first one on PATH."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Added to a copy of the page only (the page itself has no script): once laid out, the page's
# full size is written into the DOM, which `--dump-dom` prints.
_MEASURE = ("<script>document.body.setAttribute('data-page-size', "
            "document.documentElement.scrollWidth + 'x' + document.documentElement.scrollHeight)"
            "</script>")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def _binary() -> str:
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
    return binary


def page_size(page: Path, width: int = 1280, timeout: float = 120.0) -> tuple[int, int]:
    """The laid-out page's full width and height in CSS pixels, in a `width`-wide window: a
    page wider than its window has something that does not wrap; the height is what a whole
    screenshot needs."""
    return _measure(page, _MEASURE, width, timeout)


def text_boxes(page: Path, selector: str, width: int = 1280,
               timeout: float = 120.0) -> list[dict[str, float | str]]:
    """The boxes (left, top, right, bottom, text) chromium lays out for the non-empty elements
    `selector` matches: what a reader sees, to check that labels do not overlap."""
    script = ("<script>document.body.setAttribute('data-page-size', '0x0');"
              "document.body.setAttribute('data-boxes', JSON.stringify(Array.from("
              f"document.querySelectorAll({json.dumps(selector)}))"
              ".filter(e => e.textContent.trim()).map(e => {const r = "
              "e.getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, "
              "bottom: r.bottom, text: e.textContent};})))</script>")
    return json.loads(html_unescape(_dump(page, script, width, timeout,
                                          r'data-boxes="([^"]*)"')))


def _measure(page: Path, script: str, width: int, timeout: float) -> tuple[int, int]:
    found = _dump(page, script, width, timeout, r'data-page-size="(\d+x\d+)"')
    w, h = found.split("x")
    return int(w), int(h)


def _dump(page: Path, script: str, width: int, timeout: float, pattern: str) -> str:
    """`script` run in a copy of `page` laid out in chromium; what `pattern` finds in the DOM."""
    html = page.read_text(encoding="utf-8")
    at = html.rfind("</body>")
    measured = (html[:at] + script + html[at:]) if at >= 0 else html + script
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(measured, encoding="utf-8")
        result = subprocess.run(
            [_binary(), *_FLAGS, f"--user-data-dir={folder}/profile",
             f"--window-size={width},800", "--dump-dom", copy.as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False)
    found = re.search(pattern, result.stdout)
    if found is None:
        raise RuntimeError(f"chromium did not measure {page} (exit {result.returncode}): "
                           f"{result.stderr[-2000:]}")
    return found.group(1)


MAX_HEIGHT = 30_000  # px: a page taller than this is screenshotted to here, and reported cut


def screenshot(page: Path, png: Path, width: int = 1280, height: int | None = None,
               timeout: float = 120.0) -> Path:
    """Screenshot `page` into `png` with headless chromium; raises when it cannot. Without a
    `height`, the whole page: its laid-out height is measured first (`page_size`)."""
    if height is None:
        height = min(page_size(page, width, timeout)[1], MAX_HEIGHT)
    binary = _binary()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        result = subprocess.run(
            [binary, *_FLAGS, f"--user-data-dir={profile}",
             f"--screenshot={png}", f"--window-size={width},{height}",
             page.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False)
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot (exit {result.returncode}): "
                           f"{result.stderr[-2000:]}")
    return png


MIN_DISTINCT_PIXELS = 50  # a blank or failed render has one or two
BOTTOM_ROWS = 400  # px: the page's last rows (the footer) must render too


def check_render(page: Path, png: Path, width: int = 1280) -> tuple[str | None, str]:
    """Screenshot the whole page and judge it: what is wrong (blank, cut) or None, and a
    summary. Cut: the screenshot is shorter than the laid-out page, or its last rows (where the
    footer is) are blank."""
    page_width, page_height = page_size(page, width)
    screenshot(page, png, width, min(page_height, MAX_HEIGHT))
    shot_width, shot_height, values = pixel_values(png)
    summary = (f"{shot_width}x{shot_height} of a {page_width}x{page_height} page, "
               f"{len(values)} distinct pixel values sampled")
    if len(values) < MIN_DISTINCT_PIXELS:
        return f"looks blank ({len(values)} distinct pixel values)", summary
    if page_width > width:
        return f"the page is {page_width} px wide in a {width} px window", summary
    if shot_height < page_height:
        return f"cut: the screenshot is {shot_height} px of a {page_height} px page", summary
    _, _, bottom = pixel_values(png, range(max(0, shot_height - BOTTOM_ROWS), shot_height))
    if len(bottom) < 3:
        return f"cut: the last {BOTTOM_ROWS} px are blank", summary
    return None, summary


def pixel_values(png: Path, rows: range | None = None) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct pixel values of an 8-bit RGB/RGBA PNG (of `rows` only,
    when given: a band of the page)."""
    data = png.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or header[12] != 0:
        raise ValueError(f"{png}: only 8-bit non-interlaced RGB(A) PNGs are decoded here")
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    values: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        _unfilter(kind, line, previous, channels)
        if rows is None or y in rows:
            values.update(bytes(line[i:i + channels]) for i in range(0, stride, channels * 7))
        previous = line
    return width, height, values


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    """Undo one scanline's PNG filter in place (RFC 2083, 6)."""
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            corner = previous[i - bpp] if i >= bpp else 0
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc
                                  else corner)) & 0xFF
