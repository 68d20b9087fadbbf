"""``HubModelEndpoint``: a pre-trained model straight from the Hugging Face Hub."""

from __future__ import annotations

from typing import Unpack

from constructs import Construct

from .._core.errors import Problems, subject_of
from ..model.hub_reference import check_hub_reference, check_task
from .base import EndpointBase
from .props import EndpointProps, ModelSource


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
        :default task: the model's pipeline tag, inferred by the container
        :param revision: branch, tag or commit of the repository (``HF_MODEL_REVISION``).
        :default revision: the default branch (``main``)
        :param props: the props shared by all endpoints (``EndpointProps``).
        """
        source = hub_model_source(model_id, task, revision, Problems(subject_of(type(self), scope, id)))
        super().__init__(scope, id, source=source, props=props)

    @property
    def model_id(self) -> str:
        """The Hub repository served."""
        assert self.hub_model_id is not None  # always set for a Hub model
        return self.hub_model_id


def hub_model_source(model_id: str, task: str | None, revision: str | None, problems: Problems) -> ModelSource:
    """A Hub model the container downloads at start-up, its id, task and revision checked.

    :raises ConfigurationError: with every problem, prefixed with ``problems``' subject.
    """
    check_hub_reference(model_id, revision, problems)
    check_task(task, problems)
    problems.raise_if_any()
    return ModelSource(model_id=model_id, revision=revision, task=task)
