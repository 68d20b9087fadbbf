"""``HubModelEndpoint`` (``endpoints.hub_model``): a model the container downloads from the Hub."""

from __future__ import annotations

from constructs_lib import (
    HubModelEndpoint,
)

from ..support import (
    SST2,
    container,
    synth,
)


def test_hub_model_sets_model_id_task_and_revision() -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s, "E", model_id=SST2, task="text-classification", revision="v1.0", instance_type="ml.g5.xlarge"
        )
    )

    assert container(template)["Environment"] == {
        "HF_MODEL_ID": SST2,
        "HF_TASK": "text-classification",
        "HF_MODEL_REVISION": "v1.0",
    }
    assert "ModelDataUrl" not in container(template)
    assert container(template)["Mode"] == "SingleModel"
