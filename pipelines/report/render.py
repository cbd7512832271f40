"""A render check: the page screenshotted by a real headless chromium, and the PNG judged.

Chromium runs with networking features off and a throwaway profile; the page needs nothing
else (its charts are inline SVG). `pixel_values` decodes the PNG with zlib from the standard
library, so a blank or failed render is caught without an imaging package.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
import zlib
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
    html = page.read_text(encoding="utf-8")
    at = html.rfind("</body>")
    measured = (html[:at] + _MEASURE + html[at:]) if at >= 0 else html + _MEASURE
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(measured, encoding="utf-8")
        result = subprocess.run(
            [_binary(), *_FLAGS, f"--user-data-dir={folder}/profile",
             f"--window-size={width},800", "--dump-dom", copy.as_uri()],
            capture_output=True, text=True, timeout=timeout, check=False)
    found = re.search(r'data-page-size="(\d+)x(\d+)"', result.stdout)
    if found is None:
        raise RuntimeError(f"chromium did not measure {page} (exit {result.returncode}): "
                           f"{result.stderr[-2000:]}")
    return int(found.group(1)), int(found.group(2))


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 4000,
               timeout: float = 120.0) -> Path:
    """Screenshot `page` into `png` with headless chromium; raises when it cannot."""
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


def pixel_values(png: Path) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct pixel values of an 8-bit RGB/RGBA PNG."""
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
