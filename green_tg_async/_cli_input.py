"""`green-tg check-file`'s input: decode FILE, find its delimiter, read it line by line.

Each physical line is parsed on its own, so a quote left open costs that one
line, not the rest of the file.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["DELIMITERS", "Line", "neutralise", "read_lines"]

DELIMITERS: Final = (",", ";", "\t", "|")  # what a sniff may pick, in tie order
_HEADERS: Final = ("phone", "phone_number", "number")
_UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# OWASP CSV injection: a spreadsheet runs a cell that starts with one of these.
_FORMULA: Final = re.compile(r"[=+\-@\x00-\x1f\x7f]")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of FILE that is not the header."""

    number: int
    """Its line number in FILE, from 1."""

    phone: str
    """The first cell, stripped; the whole line when it could not be parsed."""

    problem: str = ""
    """Why it holds no number to check ("" when it does); "blank" for a blank line."""

    parsed: bool = True
    """False when the line is not valid CSV (a quote left open, say)."""


def read_lines(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None
) -> list[Line]:
    """Every line of FILE but a header row, blank and unparseable ones included.

    Raises:
        ValueError: FILE is not text in `encoding` (naming the line and a hint).
        OSError: FILE cannot be read.
    """
    texts = _split(_decode(path, path.read_bytes(), encoding))
    sep = delimiter or sniff(texts)
    lines = [_parse(number, text, sep) for number, text in enumerate(texts, 1)]
    if lines and lines[0].phone.lower() in _HEADERS and not lines[0].problem:
        return lines[1:]
    return lines


def _decode(path: Path, data: bytes, encoding: str | None) -> str:
    if encoding is None:
        encoding = "utf-16" if data.startswith(_UTF16_BOMS) else "utf-8"
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        raise ValueError(f"--encoding {encoding}: no such encoding") from None
    try:
        return data.decode("utf-8-sig" if utf8 else encoding)  # a UTF-8 BOM is no text
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode(encoding, errors="replace")
        line = before.count("\n") + 1
        raise ValueError(
            f"{path}: line {line} is not {encoding} text (byte"
            f" 0x{data[exc.start]:02x}); name the file's encoding with --encoding,"
            " e.g. --encoding cp1251 (Excel's Cyrillic) or --encoding utf-16"
        ) from None


def _split(text: str) -> list[str]:
    """Physical lines; a final line ending does not start another line."""
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def sniff(lines: list[str]) -> str:
    """The delimiter found on the most of the first 50 lines (a comma if none)."""
    sample = [line for line in lines[:50] if line.strip()]
    seen = Counter(d for line in sample for d in DELIMITERS if d in line)
    if not seen:
        return ","
    return max(DELIMITERS, key=lambda d: (seen[d], -DELIMITERS.index(d)))


def _parse(number: int, text: str, delimiter: str) -> Line:
    if not text.strip():
        return Line(number, "", "blank")
    try:
        cells = next(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        problem = f"line {number} is not valid CSV: {exc}"
        return Line(number, text.strip(), problem, parsed=False)
    phone = cells[0].strip() if cells else ""
    if not phone:
        return Line(number, "", f"line {number} has no number in its first column")
    return Line(number, phone)


def neutralise(cell: str) -> str:
    """`cell` made safe to echo into a CSV a spreadsheet will open.

    Control characters (NUL included) are dropped, and a cell that would
    start a formula (= + - @, tab, CR) gets a leading apostrophe, as the
    OWASP CSV-injection advice says. A leading + of a phone number is kept
    as text this way too.
    """
    if _FORMULA.match(cell):
        cell = "'" + cell
    return _CONTROL.sub("", cell)
