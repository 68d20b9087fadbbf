"""Tag rules (``_core.tags``): what AWS accepts in a tag, and model ids made into safe tag values."""

from __future__ import annotations

from constructs_lib._core.tags import safe_tag_value, tag_problem

from ..support import (
    SST2,
)


def test_model_ids_that_break_tag_rules_are_made_safe() -> None:
    assert safe_tag_value("org/model#v1!") == "org/model_v1_"
    assert safe_tag_value("x" * 300) == "x" * 256
    assert tag_problem(safe_tag_value("weird|id*" * 40), key=False) is None
    assert safe_tag_value(SST2) == SST2


def test_tag_problem_helper() -> None:
    assert tag_problem("team", key=True) is None
    assert tag_problem("", key=False) is None
    assert tag_problem("", key=True) == "must be 1 to 128 characters long (is 0)"
