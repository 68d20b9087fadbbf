"""Hub model ids and revisions (``model.hub_reference``), checked as huggingface_hub and git do."""

from __future__ import annotations

import pytest

from constructs_lib._core.errors import Problems
from constructs_lib.model.hub_reference import check_hub_reference

from ..support import (
    hub_error,
)


@pytest.mark.parametrize(
    "model_id",
    [
        "gpt2",
        "org/model",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "a",
        "x" * 96,
        "x" * 97,
        "org/" + "x" * 96,
        "org/" + "x" * 97,
        "org/model.git",
        "org/a--b",
        "org/a..b",
        "_org/_model_",
        "org/model-",
        ".org/model",
        "org/mödel",
        "org//model",
        "org/model\n",
        "org/model name",
    ],
)
def test_repo_id_check_agrees_with_huggingface_hub(model_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from constructs_lib.model.hub_reference import _is_valid_repo_id

    try:
        validate_repo_id(model_id)
        hub_says_valid = True
    except HFValidationError:
        hub_says_valid = False
    assert _is_valid_repo_id(model_id) is hub_says_valid


@pytest.mark.parametrize("model_id", ["not a repo", "org/name/extra", "-bad/name", ""])
def test_malformed_model_id(model_id: str) -> None:
    message = hub_error(model_id=model_id)
    assert f"model_id: {model_id!r}" in message


@pytest.mark.parametrize(
    "revision", ["bad revision", "../main", "a//b", "main/", "v1.", "feature/.hidden", "release.lock", "a..b"]
)
def test_malformed_revision(revision: str) -> None:
    message = hub_error(revision=revision)
    assert f"revision: {revision!r} is not a valid revision" in message


@pytest.mark.parametrize("revision", ["main", "v1.0.2", "refs/pr/12", "release/2024_10", "a" * 40, "my.lock-branch"])
def test_git_ref_revisions_are_accepted(revision: str) -> None:
    problems = Problems("test")
    check_hub_reference("org/model", revision, problems)
    assert not problems
