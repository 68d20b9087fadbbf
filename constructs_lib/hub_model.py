"""``HubModelEndpoint``: a pre-trained model straight from the Hugging Face Hub."""

from __future__ import annotations

import re
from typing import Unpack

from constructs import Construct

from ._core.errors import Problems
from ._core.tokens import is_unresolved
from .catalogue.tasks import task_problem
from .endpoint import EndpointBase, EndpointProps, ModelSource, subject_of

# Git refs as the Hub accepts them: branch and tag names or a commit sha, no "..", no "//".
_PLAINLY_VALID_REPO_ID = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
)
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$")


class HubModelEndpoint(EndpointBase):
    """A real-time endpoint serving a model that the container downloads from the Hub at start-up.

    Example::

        HubModelEndpoint(stack, "Sentiment",
            model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            task="text-classification", instance_type="ml.g5.xlarge")
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_id: str,
        task: str | None = None,
        revision: str | None = None,
        **props: Unpack[EndpointProps],
    ) -> None:
        """
        :param model_id: Hub repository id, e.g. ``distilbert/distilbert-base-uncased-finetuned-sst-2-english``.
        :param task: pipeline task (``HF_TASK``), e.g. ``text-classification``.
        :param revision: branch, tag or commit of the repository (``HF_MODEL_REVISION``).
        :param props: the props shared by all endpoints (``EndpointProps``).
        :default task: - the model's pipeline tag, inferred by the container
        :default revision: - the default branch (``main``)
        """
        problems = Problems(subject_of(type(self), scope, id))
        check_hub_reference(model_id, revision, problems)
        check_task(task, problems)
        problems.raise_if_any()
        super().__init__(scope, id, source=ModelSource(model_id=model_id, revision=revision, task=task), props=props)

    @property
    def model_id(self) -> str:
        """The Hub repository served."""
        assert self.hub_model_id is not None  # always set for a Hub model
        return self.hub_model_id


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
    if task is None or is_unresolved(task):
        return
    problem = task_problem(task) if isinstance(task, str) else "must be a string"
    if problem:
        problems.add("task", task, problem)
