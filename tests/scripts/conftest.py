"""Fixtures of the inference script tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in tmp_path so that messages name the script as ``code/inference.py``, as a user's app would."""
    monkeypatch.chdir(tmp_path)
