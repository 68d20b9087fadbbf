"""Fixtures of the model tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """Where a test's Hub lookups cache their answers (a ``hub.context.json`` not yet written)."""
    return tmp_path / "app" / "hub.context.json"
