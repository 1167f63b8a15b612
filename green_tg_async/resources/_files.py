"""File arguments: `bytes`, a path, or a binary file object; paths opened by us."""

from __future__ import annotations

import io
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TypeAlias

from . import _validate as check

__all__ = ["FileInput", "guess_type", "open_file"]

FileInput: TypeAlias = bytes | os.PathLike[str] | IO[bytes]
"""File contents, a path to open, or a binary file object (left open)."""


@contextmanager
def open_file(
    file: FileInput, file_name: str | None, *, default_name: str
) -> Iterator[tuple[str, IO[bytes]]]:
    """Yield `(name, binary file)`; a path is opened here and closed on exit.

    The name is `file_name`, else the path's or file object's base name,
    else `default_name`. It travels in a header or a multipart part, so
    control characters and lone surrogates are refused (`ValueError`).
    """
    if file_name is not None:
        _safe_name(file_name)
    with _opened(file, default_name) as (found, handle):
        yield _safe_name(file_name or found), handle


def _safe_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"file_name must be a str, got {type(name).__name__}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValueError(f"file_name must not contain control characters: {name!r}")
    return check.unicode(name, "file_name")


@contextmanager
def _opened(file: FileInput, default_name: str) -> Iterator[tuple[str, IO[bytes]]]:
    if isinstance(file, str):
        raise TypeError(
            "file must be bytes, a path (pathlib.Path) or a binary file; "
            "wrap a path string in pathlib.Path"
        )
    if isinstance(file, bytes | bytearray | memoryview):
        yield default_name, io.BytesIO(bytes(file))
        return
    if isinstance(file, os.PathLike):
        path = Path(file)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        with path.open("rb") as handle:
            yield path.name, handle
        return
    given: object = file
    if not hasattr(given, "read") or isinstance(given, io.TextIOBase):
        raise TypeError(
            f"file must be opened in binary mode, got {type(file).__name__}"
        )
    name = getattr(file, "name", None)
    base = os.path.basename(name) if isinstance(name, str) else None
    yield base or default_name, file


def guess_type(file_name: str) -> str:
    """The MIME type the file name suggests, else `application/octet-stream`."""
    return mimetypes.guess_type(file_name)[0] or "application/octet-stream"
