"""A stack holding one Hugging Face endpoint, with outputs to find and call it."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    EndpointBase,
    FineTunedEndpoint,
    HubModelEndpoint,
    Serving,
)

from .features import feature_props
from .outputs import invoke_command
from .settings import EndpointSettings


class HuggingFaceEndpointStack(Stack):
    """One endpoint described by ``EndpointSettings``; outputs its name, ARN and an invoke command."""

    def __init__(self, scope: Construct, id: str, *, settings: EndpointSettings, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.endpoint = build_endpoint(self, "Endpoint", settings)
        add_endpoint_outputs(self, self.endpoint, task=settings.task)


def build_endpoint(scope: Construct, id: str, settings: EndpointSettings) -> EndpointBase:
    """The construct ``settings`` asks for."""
    shared: dict[str, Any] = {
        "instance_type": settings.instance_type,
        "instance_count": settings.instance_count,
        "serving": serving_of(settings.serving),
        "endpoint_name": settings.endpoint_name,
        "environment": dict(settings.environment) or None,
        "engine_args": dict(settings.engine_args) if settings.engine_args is not None else None,
        "inference_ami_version": settings.inference_ami_version,
        "gguf_file": settings.gguf_file,
        **feature_props(scope, settings),
    }
    if settings.kind == "custom-script":
        return CustomScriptEndpoint(
            scope,
            id,
            code_dir=settings.code_dir or "",
            entry_point=settings.entry_point,
            model_data=settings.model_data,
            model_id=settings.model_id,
            task=settings.task,
            revision=settings.revision,
            **shared,
        )
    if settings.kind == "fine-tuned":
        return FineTunedEndpoint(scope, id, model_data=settings.model_data or "", task=settings.task, **shared)
    return HubModelEndpoint(
        scope, id, model_id=settings.model_id or "", task=settings.task, revision=settings.revision, **shared
    )


def add_endpoint_outputs(stack: Stack, endpoint: EndpointBase, *, task: str | None) -> None:
    """Endpoint name, ARN and a ready-to-run ``aws sagemaker-runtime invoke-endpoint`` command."""
    CfnOutput(stack, "EndpointName", value=endpoint.endpoint_name, description="Name of the SageMaker endpoint")
    CfnOutput(stack, "EndpointArn", value=endpoint.endpoint_arn, description="ARN of the SageMaker endpoint")
    command = invoke_command(stack, endpoint.endpoint_name, endpoint.serving_stack.invoke_example(task))
    CfnOutput(stack, "InvokeCommand", value=command, description="Example request with the AWS CLI")


def serving_of(value: str) -> Serving:
    """The ``serving`` key's value as a ``Serving``."""
    try:
        return Serving(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Serving)
        raise ConfigurationError(f"context: serving {value!r} is not one of {allowed}") from None
