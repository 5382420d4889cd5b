"""Storyreel's headless core. Never imports Qt (see tests/engine/test_no_qt.py)."""

from __future__ import annotations

__version__ = "0.1.0"
