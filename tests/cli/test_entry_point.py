"""``python -m constructs_lib``: the entry point users run, in a process of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..fake_hub import BERT_ID, FakeHub

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("hermetic_hf")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "constructs_lib", *argv], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_help_lists_the_three_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m constructs_lib" in result.stdout
    for command in ("invoke-local", "recommend", "pack"):
        assert command in result.stdout


def test_recommend_runs_through_the_entry_point(fake_hub: FakeHub, tmp_path: Path) -> None:
    context = tmp_path / "hub.context.json"
    result = _run("recommend", BERT_ID, "--endpoint", fake_hub.url, "--context-file", str(context))
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("ml.") for line in result.stdout.splitlines())
    assert BERT_ID in context.read_text()  # the lookup was cached where it was told to be


def test_an_unknown_command_exits_2_with_usage() -> None:
    result = _run("deploy")
    assert result.returncode == 2
    assert "invalid choice: 'deploy'" in result.stderr
