"""Helpers for testing code that uses green_tg_async: an in-memory GREEN-API."""

from __future__ import annotations

from ._fake import FAKE_API_URL, FakeGreenAPI

__all__ = ["FAKE_API_URL", "FakeGreenAPI"]
