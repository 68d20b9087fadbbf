"""The app's shared endpoints (stacks/shared_settings.py, shared_stack.py): a config file with several models and
adapters, its validation, and an invoke command per component."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from app import build_app
from constructs_lib import ConfigurationError

from ..support import CDK_JSON_CONTEXT, SST2, resources
from .support import COMPONENT, QWEN7B, TARGET

SHARED: dict[str, Any] = {
    "stack_name": "Shared",
    "kind": "components",
    "instance_type": "ml.g5.12xlarge",
    "min_instances": 0,
    "max_instances": 2,
    "components": [
        {"name": "Chat", "model_id": QWEN7B, "task": "text-generation"},
        {"name": "Sentiment", "model_id": SST2, "task": "text-classification", "copies": 2},
    ],
    "adapters": [{"name": "Sql", "base": "Chat", "adapter_data": "s3://my-bucket/adapters/sql.tar.gz"}],
}


def stacks_from(tmp_path: Path, *endpoints: dict[str, Any]) -> dict[str, Stack]:
    config = tmp_path / "endpoints.json"
    config.write_text(json.dumps({"endpoints": list(endpoints)}))
    app = build_app(App(context={**CDK_JSON_CONTEXT, "config": str(config)}))
    return {child.node.id: child for child in app.node.children if isinstance(child, Stack)}


def test_a_config_file_describes_a_shared_endpoint_beside_an_ordinary_one(tmp_path: Path) -> None:
    stacks = stacks_from(tmp_path, SHARED, {"stack_name": "Alone", "model_id": SST2, "task": "text-classification"})
    assert sorted(stacks) == ["Alone", "Shared"]
    template = Template.from_stack(stacks["Shared"])
    components = resources(template, COMPONENT)
    assert len(components) == 3 and len(resources(template, TARGET)) == 2  # the adapter has no copies to scale
    variant = next(iter(resources(template, "AWS::SageMaker::EndpointConfig").values()))["Properties"][
        "ProductionVariants"
    ][0]
    assert variant["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    assert resources(Template.from_stack(stacks["Alone"]), COMPONENT) == {}


def test_the_outputs_give_each_component_its_name_and_an_invoke_command(tmp_path: Path) -> None:
    stack = stacks_from(tmp_path, SHARED)["Shared"]
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    assert {"EndpointName", "EndpointArn"} <= set(outputs)
    for name in ("Chat", "Sentiment", "Sql"):
        command = json.dumps(stack.resolve(outputs[f"{name}InvokeCommand"]["Value"]))
        component_name = stack.resolve(outputs[f"{name}ComponentName"]["Value"])
        assert f"--inference-component-name {component_name}" in command
        assert "aws sagemaker-runtime invoke-endpoint --endpoint-name" in command
    chat = json.dumps(outputs["ChatInvokeCommand"]["Value"])
    assert "messages" in chat  # vLLM's chat body; the classifier gets the toolkit's inputs
    assert "inputs" in json.dumps(outputs["SentimentInvokeCommand"]["Value"])


def test_autoscaling_deployment_and_scale_in_come_from_json(tmp_path: Path) -> None:
    shared = {
        **SHARED,
        "min_instances": 1,
        "scale_in": {"strategy": "consolidation", "cooldown_minutes": 30},
        "routing": "random",
        "components": [
            {
                "name": "Sentiment",
                "model_id": SST2,
                "task": "text-classification",
                "copies": 2,
                "autoscaling": {"max_copies": 4, "target_invocations_per_copy": 50, "scale_in_cooldown": 600},
                "deployment": {"batch_percent": 50},
            }
        ],
        "adapters": [],
    }
    template = Template.from_stack(stacks_from(tmp_path, shared)["Shared"])
    variant = next(iter(resources(template, "AWS::SageMaker::EndpointConfig").values()))["Properties"][
        "ProductionVariants"
    ][0]
    assert variant["ManagedInstanceScaling"]["ScaleInPolicy"] == {"Strategy": "CONSOLIDATION", "CooldownInMinutes": 30}
    assert variant["RoutingConfig"] == {"RoutingStrategy": "RANDOM"}
    (target,) = resources(template, TARGET).values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (1, 4)
    (component,) = resources(template, COMPONENT).values()
    assert component["Properties"]["DeploymentConfig"]["RollingUpdatePolicy"]["MaximumBatchSize"]["Value"] == 50


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"components": []}, "components [] must be a non-empty list of component objects"),
        ({"components": [{"model_id": SST2}]}, "components[0]: name is required"),
        ({"components": [{"name": "A", "modelid": SST2}]}, "components[0]"),
        ({"components": [{"name": "A", "model_id": SST2, "copies": "2"}]}, "copies '2' is not a whole number"),
        ({"components": [{"name": "a-b", "model_id": SST2}]}, "name 'a-b' is not a component name"),
        (
            {"components": [{"name": "A", "model_id": SST2}, {"name": "A", "model_id": SST2}]},
            "name ['A'] used by more than one component",
        ),
        ({"adapters": [{"name": "Sql", "base": "Nope", "adapter_data": "s3://b/a.tar.gz"}]}, "base 'Nope' is not a"),
        ({"adapters": [{"name": "Sql", "base": "Chat"}]}, "adapters[0]: adapter_data required"),
        ({"instance_count": 2}, "instance_count"),
        ({"routing": "fastest"}, "routing 'fastest' is not one of least_outstanding_requests, random, prefix_aware"),
        ({"max_instances": 1.5}, "max_instances 1.5 is not a whole number"),
    ],
)
def test_a_bad_shared_endpoint_is_a_clear_error(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        stacks_from(tmp_path, {**SHARED, **change})
    assert expected in str(error.value)


def test_context_keys_describe_a_shared_endpoint_too() -> None:
    context = {
        **CDK_JSON_CONTEXT,
        "kind": "components",
        "stack_name": "Ctx",
        "instance_type": "ml.g5.12xlarge",
        "components": json.dumps([{"name": "Sentiment", "model_id": SST2, "task": "text-classification"}]),
    }
    app = build_app(App(context=context))
    (stack,) = [child for child in app.node.children if isinstance(child, Stack)]
    assert len(resources(Template.from_stack(stack), COMPONENT)) == 1
