"""The package version (read by hatch)."""

from __future__ import annotations

__version__ = "0.1.0"
