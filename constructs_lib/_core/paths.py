"""Local paths as users give them: what is there, without an ``OSError`` for names no file system holds."""

from __future__ import annotations

from pathlib import Path
from typing import Literal


def path_kind(path: Path) -> Literal["directory", "file"] | None:
    """``"directory"``, ``"file"``, or ``None`` when nothing is there or the name cannot be one (too long for the
    file system, a NUL byte): ``Path.is_dir`` raises for those instead of answering ``False``."""
    try:
        if path.is_dir():
            return "directory"
        return "file" if path.is_file() else None
    except (OSError, ValueError):
        return None
