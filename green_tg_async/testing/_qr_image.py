"""A QR-like PNG for the fake's `qr` answers (standard library only).

It has the three finder patterns and changing data modules, so renderers can
be tested on it; it is not a scannable code.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Final

__all__ = ["qr_png"]

_SIZE: Final = 21  # modules: a version 1 code
_SCALE: Final = 4  # pixels per module
_BORDER: Final = 4  # modules of quiet zone


def qr_png(seed: int) -> bytes:
    """A grayscale PNG whose data modules depend on `seed`."""
    modules = _matrix(seed)
    side = (_SIZE + 2 * _BORDER) * _SCALE
    rows = []
    for y in range(side):
        j = y // _SCALE - _BORDER
        row = bytearray([0])  # filter: none
        for x in range(side):
            i = x // _SCALE - _BORDER
            inside = 0 <= i < _SIZE and 0 <= j < _SIZE
            row.append(0 if inside and modules[j][i] else 255)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _chunk(b"IEND", b"")
    )


def _matrix(seed: int) -> list[list[bool]]:
    bits = hashlib.sha256(str(seed).encode()).digest() * 2
    grid = [
        [bool(bits[(j * _SIZE + i) // 8] >> (i % 8) & 1) for i in range(_SIZE)]
        for j in range(_SIZE)
    ]
    for left, top in ((0, 0), (_SIZE - 7, 0), (0, _SIZE - 7)):
        for j in range(-1, 8):
            for i in range(-1, 8):
                # rings 0-1: the dark centre, 2: light, 3: dark, 4: light separator
                ring = max(abs(i - 3), abs(j - 3))
                if 0 <= left + i < _SIZE and 0 <= top + j < _SIZE:
                    grid[top + j][left + i] = ring not in (2, 4)
    return grid


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
