"""The terminal QR renderer: the PNG reader on every colour type and filter."""

from __future__ import annotations

import struct
import zlib

import pytest

from green_tg_async._qr import decode_png, render_qr
from green_tg_async.testing._qr_image import qr_png

GRAYS = [[0, 255, 128, 64], [255, 0, 32, 200], [10, 20, 250, 0]]


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    out = bytearray()
    for i, value in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        guess = [0, a, b, (a + b) // 2, _paeth(a, b, c)][kind]
        out.append((value - guess) & 0xFF)
    return bytes([kind]) + bytes(out)


def _png(
    rows: list[bytes],
    width: int,
    *,
    depth: int = 8,
    color: int = 0,
    bpp: int = 1,
    palette: bytes = b"",
    interlace: int = 0,
) -> bytes:
    raw, prev = b"", bytes(len(rows[0]))
    for y, row in enumerate(rows):
        raw += _filter(y % 5, row, prev, bpp)  # every filter type in turn
        prev = row
    header = struct.pack(">IIBBBBB", width, len(rows), depth, color, 0, 0, interlace)
    chunks = [(b"IHDR", header)]
    if palette:
        chunks.append((b"PLTE", palette))
    chunks += [(b"IDAT", zlib.compress(raw)), (b"IEND", b"")]
    body = b"".join(
        struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
        for k, d in chunks
    )
    return b"\x89PNG\r\n\x1a\n" + body


def test_gray_8_bit_with_every_filter() -> None:
    rows = [bytes(r) for r in GRAYS * 2]  # 6 rows: filters 0-4 and 0 again
    assert decode_png(_png(rows, 4)) == GRAYS * 2


def test_gray_16_bit_rgb_and_rgba() -> None:
    wide = [b"".join(struct.pack(">H", v * 257) for v in r) for r in GRAYS]
    assert decode_png(_png(wide, 4, depth=16, bpp=2)) == GRAYS
    rgb = [bytes(c for v in r for c in (v, v, v)) for r in GRAYS]
    assert decode_png(_png(rgb, 4, color=2, bpp=3)) == GRAYS
    # Fully transparent pixels read as white (the QR's light background).
    rgba = [bytes(c for v in r for c in (v, v, v, 255 if v else 0)) for r in GRAYS]
    expected = [[v if v else 255 for v in r] for r in GRAYS]
    assert decode_png(_png(rgba, 4, color=6, bpp=4)) == expected
    gray_alpha = [bytes(c for v in r for c in (v, 255)) for r in GRAYS]
    assert decode_png(_png(gray_alpha, 4, color=4, bpp=2)) == GRAYS


def test_one_bit_gray_and_a_palette() -> None:
    bits = [bytes([0b10110000]), bytes([0b01000000])]
    assert decode_png(_png(bits, 4, depth=1)) == [[255, 0, 255, 255], [0, 255, 0, 0]]
    palette = bytes([0, 0, 0, 255, 255, 255])
    # 2-bit indexes 0 then 1, most significant bits first: black, white.
    two_bit = _png([bytes([0b00010000])], 2, depth=2, color=3, palette=palette)
    assert decode_png(two_bit) == [[0, 255]]


def test_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        decode_png(b"GIF89a")
    with pytest.raises(ValueError, match="interlace"):
        decode_png(_png([b"\x00"], 1, interlace=1))
    with pytest.raises(ValueError, match="without a header"):
        decode_png(b"\x89PNG\r\n\x1a\n")
    blank = _png([b"\xff\xff"] * 2, 2)
    with pytest.raises(ValueError, match="no dark pixels"):
        render_qr(blank)


def test_render_draws_two_module_rows_per_line_with_a_quiet_zone() -> None:
    picture = render_qr(qr_png(7)).splitlines()
    side = 21 + 2 * 2  # modules plus the 2-module quiet zone each side
    assert len(picture) == (side + 1) // 2
    assert {len(line) for line in picture} == {side}
    assert picture[0] == "\u2588" * side  # quiet zone: light on top and bottom
    # The top-left finder: a row of 7 dark modules over dark, light x5, dark.
    assert picture[1][2:9] == " " + "\u2584" * 5 + " "
    inverted = render_qr(qr_png(7), invert=True).splitlines()
    assert inverted[0] == " " * side
