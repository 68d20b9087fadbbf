"""Checks of what names a Hub model: its repository id, revision and task, before anything else uses them."""

from __future__ import annotations

import re

from .._core.errors import Problems
from .._core.tokens import is_unresolved
from ..catalogue.tasks import task_problem

# Git refs as the Hub accepts them: branch and tag names or a commit sha, no "..", no "//".
_PLAINLY_VALID_REPO_ID = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
)
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$")


def check_hub_reference(model_id: str, revision: str | None, problems: Problems) -> None:
    """Record problems with a Hub model id and revision (shared with ``CustomScriptEndpoint``)."""
    if not isinstance(model_id, str) or not model_id:
        problems.add("model_id", model_id, "must be a Hub repository id such as 'org/model-name'")
    elif not is_unresolved(model_id) and not _is_valid_repo_id(model_id):
        problems.add(
            "model_id",
            model_id,
            "is not a valid Hub repository id: 'name' or 'org/name' with letters, digits, '-', '_' and '.', "
            "at most 96 characters, not starting or ending with '-' or '.'",
        )
    if revision is not None and not is_unresolved(revision) and not _is_valid_revision(revision):
        problems.add(
            "revision",
            revision,
            "is not a valid revision: a branch, tag or commit sha as git names them (letters, digits, '.', '_', "
            "'-', '/'; no '..', no empty part, no part starting with '.' or ending in '.lock', no final '.')",
        )


def _is_valid_repo_id(model_id: str) -> bool:
    """huggingface_hub's own ``validate_repo_id`` decides, unless the id is plainly valid.

    Importing ``huggingface_hub.utils`` (requests, urllib3, ...) takes longer than building an
    endpoint; ids made of ASCII letters and digits with inner ``.``, ``_`` and ``-`` (a subset of
    what the Hub accepts) skip it.
    """
    plainly_valid = _PLAINLY_VALID_REPO_ID.fullmatch(model_id) and not model_id.endswith(".git")
    if plainly_valid and "--" not in model_id and ".." not in model_id:
        return True
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(model_id)
    except HFValidationError:
        return False
    return True


def _is_valid_revision(revision: object) -> bool:
    """A branch, tag or commit as git names them (``git check-ref-format``), e.g. ``refs/pr/1``."""
    if not isinstance(revision, str) or not _REVISION.match(revision) or ".." in revision:
        return False
    parts = revision.split("/")
    return revision[-1] != "." and all(part and part[0] != "." and not part.endswith(".lock") for part in parts)


def check_task(task: str | None, problems: Problems) -> None:
    """Record a problem when ``task`` is not a task the serving stacks know."""
    if task is None or (isinstance(task, str) and is_unresolved(task)):
        return
    problem = task_problem(task) if isinstance(task, str) else "must be a string"
    if problem:
        problems.add("task", task, problem)
