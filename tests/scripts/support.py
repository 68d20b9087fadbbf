"""Helpers shared by the inference script tests: write a ``code/`` directory and check it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError, ScriptReport, check_inference_script


def write_code(tmp_path: Path, source: str, *, name: str = "inference.py", requirements: str | None = None) -> Path:
    """Write ``code/<name>`` (and ``code/requirements.txt``) under tmp_path; return the relative ``code`` dir."""
    code = Path("code")
    assert (tmp_path / code).resolve() == code.resolve()
    code.mkdir(exist_ok=True)
    (code / name).write_text(textwrap.dedent(source), encoding="utf-8")
    if requirements is not None:
        (code / "requirements.txt").write_text(textwrap.dedent(requirements), encoding="utf-8")
    return code


def check(tmp_path: Path, source: str, **kwargs: str) -> ScriptReport:
    return check_inference_script(write_code(tmp_path, source, **kwargs))


def problems_of(tmp_path: Path, source: str, **kwargs: str) -> str:
    with pytest.raises(ConfigurationError) as caught:
        check(tmp_path, source, **kwargs)
    return str(caught.value)
