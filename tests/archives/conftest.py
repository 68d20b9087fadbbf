"""Fixtures shared by the archive tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    """Every archive joins its checksum thread, whether it was written to the end or abandoned."""
    yield
    import threading

    from constructs_lib.archives.stored_gzip import CHECKSUM_THREAD_NAME

    assert not [t for t in threading.enumerate() if t.name == CHECKSUM_THREAD_NAME]
