"""The container environment (``endpoints.environment``): the user's entries, checked against what the props derive."""

from __future__ import annotations

from ..support import (
    SST2,
    container,
    hub,
    hub_error,
    synth,
)


def test_user_environment_is_merged() -> None:
    template = synth(lambda s: hub(s, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}))
    assert container(template)["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert container(template)["Environment"]["HF_MODEL_ID"] == SST2


def test_environment_contradicting_a_prop() -> None:
    message = hub_error(task="text-classification", environment={"HF_TASK": "fill-mask"})
    assert "environment['HF_TASK']: 'fill-mask' conflicts with the task prop" in message
