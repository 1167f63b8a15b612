"""Show a login QR code (a PNG) in a terminal, with the standard library only.

`decode_png` reads the PNGs GREEN-API sends (any colour type, bit depth 1-16,
not interlaced) into luminance rows; `render_qr` finds the code's modules and
draws two module rows per text line with Unicode half blocks.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Final

__all__ = ["decode_png", "render_qr"]

_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DARK: Final = 128  # luminance below this is a dark module
_FINDER: Final = 7  # a finder pattern is 7 modules wide
_QUIET: Final = 2  # modules of light border drawn around the code
_BLOCKS: Final = " \u2584\u2580\u2588"  # by 2 * top + bottom, True drawn


def decode_png(data: bytes) -> list[list[int]]:
    """Luminance (0-255, transparency over white) of every pixel, row by row.

    Raises:
        ValueError: Not a PNG, or one this reader does not handle (interlaced).
    """
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG image")
    header, palette, pixels = _chunks(data)
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if color not in _CHANNELS or interlace:
        raise ValueError(
            f"unsupported PNG (colour type {color}, interlace {interlace})"
        )
    bits = _CHANNELS[color] * depth
    stride = (width * bits + 7) // 8
    rows = _unfilter(zlib.decompress(pixels), stride, max(1, bits // 8), height)
    return [_luminance(row, width, depth, color, palette) for row in rows]


def _chunks(data: bytes) -> tuple[bytes, bytes, bytes]:
    header, palette, pixels = b"", b"", bytearray()
    offset = len(_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"PLTE":
            palette = body
        elif kind == b"IDAT":
            pixels += body
        elif kind == b"IEND":
            break
    if len(header) != 13 or not pixels:
        raise ValueError("PNG without a header or image data")
    return header, palette, bytes(pixels)


def _unfilter(raw: bytes, stride: int, bpp: int, height: int) -> list[bytearray]:
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if len(row) != stride:
            raise ValueError("PNG image data is truncated")
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(row)
        previous = row
    return rows


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    if kind == 4:
        p = left + up - corner
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
        if pa <= pb and pa <= pc:
            return left
        return up if pb <= pc else corner
    raise ValueError(f"unknown PNG filter {kind}")


def _samples(row: bytearray, count: int, depth: int) -> list[int]:
    """`count` samples of `depth` bits (of a 16-bit one, its high byte)."""
    if depth == 8:
        return list(row[:count])
    if depth == 16:
        return list(row[0 : 2 * count : 2])  # the high byte is enough here
    per_byte, top = 8 // depth, (1 << depth) - 1
    values = []
    for i in range(count):
        byte = row[i // per_byte]
        shift = 8 - depth * (i % per_byte + 1)
        values.append((byte >> shift) & top)
    return values


def _luminance(
    row: bytearray, width: int, depth: int, color: int, palette: bytes
) -> list[int]:
    channels = _CHANNELS[color]
    samples = _samples(row, width * channels, depth)
    if color == 3:
        return [_gray(*palette[3 * i : 3 * i + 3]) for i in samples]
    if depth < 8:
        top = (1 << depth) - 1
        samples = [value * 255 // top for value in samples]
    pixels = [samples[i : i + channels] for i in range(0, len(samples), channels)]
    gray = [p[0] if channels < 3 else _gray(*p[:3]) for p in pixels]
    if channels in (2, 4):  # the last sample is alpha
        return [_over_white(v, p[-1]) for v, p in zip(gray, pixels, strict=True)]
    return gray


def _gray(r: int, g: int, b: int) -> int:
    return (299 * r + 587 * g + 114 * b) // 1000


def _over_white(value: int, alpha: int) -> int:
    return (value * alpha + 255 * (255 - alpha)) // 255


def _modules(pixels: Sequence[Sequence[int]]) -> list[list[bool]]:
    """The QR modules (True = dark), sampled at each module's centre."""
    dark = [
        (x, y) for y, row in enumerate(pixels) for x, v in enumerate(row) if v < _DARK
    ]
    if not dark:
        raise ValueError("the image has no dark pixels; it is not a QR code")
    x0, y0 = min(x for x, _ in dark), min(y for _, y in dark)
    x1 = max(x for x, _ in dark)
    run = 0
    while x0 + run < len(pixels[y0]) and pixels[y0][x0 + run] < _DARK:
        run += 1
    size = max(run / _FINDER, 1.0)
    count = max(1, round((x1 - x0 + 1) / size))
    return [
        [
            _dark_at(pixels, x0 + (i + 0.5) * size, y0 + (j + 0.5) * size)
            for i in range(count)
        ]
        for j in range(count)
    ]


def _dark_at(pixels: Sequence[Sequence[int]], x: float, y: float) -> bool:
    row = pixels[min(int(y), len(pixels) - 1)]
    return row[min(int(x), len(row) - 1)] < _DARK


def render_qr(png: bytes, *, invert: bool = False) -> str:
    """The QR code in `png` as text, two module rows per line.

    Light modules are drawn as blocks, which reads right on a dark terminal;
    `invert=True` draws the dark ones instead (for light backgrounds).
    """
    modules = _modules(decode_png(png))
    light = [[not dark for dark in row] for row in modules]
    pad = [True] * (len(light) + 2 * _QUIET)
    grid = [pad] * _QUIET + [[True] * _QUIET + row + [True] * _QUIET for row in light]
    grid += [pad] * (_QUIET + (len(grid) + _QUIET) % 2)
    if invert:
        grid = [[not cell for cell in row] for row in grid]
    return "\n".join(
        "".join(_BLOCKS[2 * t + b] for t, b in zip(top, bottom, strict=True))
        for top, bottom in zip(grid[0::2], grid[1::2], strict=True)
    )
