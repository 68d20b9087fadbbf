"""Syntax errors in inference scripts, and syntax the image's Python cannot parse."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from constructs_lib import check_inference_script
from constructs_lib.scripts.grammar import script_grammar_problem

from .support import problems_of, write_code


def test_syntax_error_with_line(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "def model_fn(model_dir):\n    return model_dir\n\ndef predict_fn(data, model)\n")
    assert message.startswith("code/inference.py: syntax error at line 4")


MATCH_STATEMENT = """\
def predict_fn(data, model):
    match data:
        case {"inputs": text}:
            return model(text)
    return None
"""


EXCEPT_STAR = """\
def predict_fn(data, model):
    try:
        return model(data)
    except* ValueError:
        return None
"""


@pytest.mark.parametrize(
    ("source", "python_version", "feature"),
    [(MATCH_STATEMENT, (3, 9), "Pattern matching is"), (EXCEPT_STAR, (3, 10), "Exception groups are")],
    ids=["match-on-py39", "except-star-on-py310"],
)
def test_syntax_newer_than_the_image_python_is_reported(
    tmp_path: Path, source: str, python_version: tuple[int, int], feature: str
) -> None:
    script = write_code(tmp_path, source) / "inference.py"
    check_inference_script(script.parent)  # the synth's own grammar accepts it
    problem = script_grammar_problem(script, python_version)
    assert problem is not None
    image = ".".join(map(str, python_version))
    assert problem.startswith(f"{script}: {feature} only supported in Python")
    assert f"but the image runs Python {image} (the syntax is near line " in problem
    assert f"rewrite it for Python {image} or pick an image with a newer Python" in problem


def test_syntax_the_image_python_accepts_is_not_reported(tmp_path: Path) -> None:
    script = write_code(tmp_path, MATCH_STATEMENT) / "inference.py"
    assert script_grammar_problem(script, (3, 10)) is None
    assert script_grammar_problem(script, (3, 12)) is None


def test_syntax_error_names_the_synth_python_when_images_run_a_newer_one(tmp_path: Path) -> None:
    from constructs_lib.catalogue.dlc import newest_toolkit_python

    message = problems_of(tmp_path, "def predict_fn(data, model)\n")
    synth = sys.version_info[:2]
    note = f"(parsed as Python {synth[0]}.{synth[1]}, which runs this synth;"
    # A line the newest image's Python accepts may be rejected by an older synth Python: say so.
    assert (note in message) == (synth < newest_toolkit_python())
