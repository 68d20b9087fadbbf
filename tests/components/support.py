"""Helpers of the inference component tests: a shared endpoint in a fresh stack, its template and its parts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from constructs_lib import InferenceComponentEndpoint

from ..support import ACCOUNT, SST2, resources

QWEN7B = "Qwen/Qwen2.5-7B-Instruct"
"""An LLM whose profile is in the app's hub.context.json (7.6B parameters, 32k context): vLLM serves it."""
COMPONENT = "AWS::SageMaker::InferenceComponent"
TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
ALARM = "AWS::CloudWatch::Alarm"


def shared_stack(region: str = "us-east-1") -> Stack:
    """A fresh stack in a fresh app, in an account and region."""
    return Stack(App(), "TestStack", env=Environment(account=ACCOUNT, region=region))


def shared_endpoint(stack: Stack | None = None, **props: Any) -> InferenceComponentEndpoint:
    """``InferenceComponentEndpoint(stack, "Shared", ...)`` on ml.g5.12xlarge unless ``props`` say otherwise."""
    props.setdefault("instance_type", "ml.g5.12xlarge")
    return InferenceComponentEndpoint(stack or shared_stack(), "Shared", **props)


def with_classifier(**props: Any) -> InferenceComponentEndpoint:
    """A shared endpoint with the SST-2 classifier as component ``Sentiment``."""
    endpoint = shared_endpoint(**props)
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")
    return endpoint


def template_of(endpoint: InferenceComponentEndpoint) -> Template:
    """The template of the endpoint's stack."""
    return Template.from_stack(Stack.of(endpoint))


def synthesize(build: Callable[[InferenceComponentEndpoint], Any], **props: Any) -> Template:
    """The template of a shared endpoint (``props``) after ``build(endpoint)`` added its components."""
    endpoint = shared_endpoint(**props)
    build(endpoint)
    return template_of(endpoint)


def component_named(template: Template, fragment: str) -> dict[str, Any]:
    """The properties of the one inference component whose logical id contains ``fragment``."""
    found = [r["Properties"] for key, r in resources(template, COMPONENT).items() if fragment in key]
    assert len(found) == 1, found
    return found[0]


def logical_id(template: Template, resource_type: str, fragment: str) -> str:
    """The logical id of the one resource of ``resource_type`` whose id contains ``fragment``."""
    found = [key for key in resources(template, resource_type) if fragment in key]
    assert len(found) == 1, found
    return found[0]


def depends_on(template: Template, key: str) -> list[str]:
    """The ``DependsOn`` of the resource ``key``."""
    value = template.to_json()["Resources"][key].get("DependsOn", [])
    return [value] if isinstance(value, str) else list(value)


def info_messages(endpoint: InferenceComponentEndpoint) -> list[str]:
    """The info annotations of the endpoint's stack, synthesized."""
    stack = Stack.of(endpoint)
    assembly = stack.node.root.synth()  # type: ignore[attr-defined]
    return [str(m.entry.data) for m in assembly.get_stack_by_name(stack.stack_name).messages if m.level.value == "INFO"]


def environment_of(component: Any) -> dict[str, str]:
    """The container environment of a model component's ``CfnModel``, resolved."""
    resolved = Stack.of(component).resolve(component.cfn_model.primary_container)
    return resolved["environment"]  # type: ignore[no-any-return]
