"""Safe updates: a change to the model or its hosting replaces Model and EndpointConfig, never the
Endpoint, so CloudFormation switches the same endpoint to a new config in place."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import HubModelEndpoint, InferenceImage

from .support import SST2, synth

BASE: dict[str, Any] = {"model_id": SST2, "task": "text-classification", "instance_type": "ml.g5.xlarge"}


def template_with(**changes: Any) -> Template:
    return synth(lambda stack: HubModelEndpoint(stack, "Sentiment", **{**BASE, **changes}))


def by_type(template: Template) -> dict[str, dict[str, Any]]:
    """Logical id and properties of the three SageMaker resources, keyed by resource type."""
    found = {}
    for resource_type in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint"):
        ((logical_id, resource),) = template.find_resources(resource_type).items()
        found[resource_type] = {"id": logical_id, "properties": resource["Properties"]}
    return found


@pytest.mark.parametrize(
    ("change", "model_changes"),
    [
        ({"instance_type": "ml.g6.xlarge"}, False),
        ({"instance_count": 3}, False),
        ({"image": InferenceImage.huggingface(transformers_version="4.48.0")}, True),
        ({"environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "4"}}, True),
        ({"revision": "refs/pr/1"}, True),
    ],
)
def test_changes_update_the_same_endpoint_in_place(change: dict[str, Any], model_changes: bool) -> None:
    before, after = by_type(template_with()), by_type(template_with(**change))

    endpoint_before, endpoint_after = before["AWS::SageMaker::Endpoint"], after["AWS::SageMaker::Endpoint"]
    # Same logical id and same fixed name: CloudFormation updates the endpoint rather than replacing it...
    assert endpoint_before["id"] == endpoint_after["id"]
    assert endpoint_before["properties"]["EndpointName"] == endpoint_after["properties"]["EndpointName"]
    # ...pointing it at the endpoint config, which changes (create-only properties: replaced, new name).
    config_before, config_after = before["AWS::SageMaker::EndpointConfig"], after["AWS::SageMaker::EndpointConfig"]
    assert config_before["id"] == config_after["id"]
    assert "EndpointConfigName" not in config_after["properties"]
    model_before, model_after = before["AWS::SageMaker::Model"], after["AWS::SageMaker::Model"]
    assert model_before["id"] == model_after["id"]
    assert (model_before["properties"] != model_after["properties"]) is model_changes
    if not model_changes:
        assert config_before["properties"] != config_after["properties"]


def test_fine_tuned_model_data_change_replaces_only_the_model() -> None:
    from constructs_lib import FineTunedEndpoint

    def tuned(uri: str) -> dict[str, dict[str, Any]]:
        return by_type(
            synth(
                lambda s: FineTunedEndpoint(s, "Tuned", model_data=uri, task="fill-mask", instance_type="ml.g5.xlarge")
            )
        )

    before, after = tuned("s3://my-bucket/v1/model.tar.gz"), tuned("s3://my-bucket/v2/model.tar.gz")
    assert before["AWS::SageMaker::Model"]["properties"] != after["AWS::SageMaker::Model"]["properties"]
    assert before["AWS::SageMaker::Endpoint"] == after["AWS::SageMaker::Endpoint"]
