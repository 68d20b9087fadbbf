"""The ``hub.context.json`` cache: Hub answers, committed like ``cdk.context.json``, read before any network call."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._core.errors import ConfigurationError

CONTEXT_FILE_NAME = "hub.context.json"
CONTEXT_FILE_ENV = "CONSTRUCTS_LIB_HUB_CONTEXT"


def default_context_file(start: Path | None = None) -> Path:
    """``$CONSTRUCTS_LIB_HUB_CONTEXT``, else ``hub.context.json`` next to the nearest ``cdk.json``
    (searching from ``start``, default the working directory, upward), else in ``start``."""
    env = os.environ.get(CONTEXT_FILE_ENV)
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "cdk.json").is_file():
            return directory / CONTEXT_FILE_NAME
    return here / CONTEXT_FILE_NAME


def context_key(model_id: str, revision: str | None) -> str:
    """The ``hub.context.json`` key: ``hub:<model_id>@<revision or main>``."""
    return f"hub:{model_id}@{revision or 'main'}"


def read_context(path: Path) -> dict[str, Any]:
    """The cached answers in ``path`` (empty when the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{str(path)!r} is not valid JSON ({error}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{str(path)!r} must hold a JSON object")
    return data


def write_context_entry(path: Path, key: str, value: Mapping[str, Any]) -> None:
    """Merge one answer into ``path`` atomically (sorted, indented JSON, stable across runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = read_context(path)
    data[key] = value
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
