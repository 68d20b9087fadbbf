"""A stack holding a shared endpoint: its models and adapters as inference components, with outputs to call each."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib import (
    ComponentDeployment,
    ComponentScaling,
    ConfigurationError,
    InferenceComponent,
    InferenceComponentEndpoint,
    Routing,
    ScaleInPolicy,
)
from constructs_lib.features.security.token import secret_from_config

from .endpoint_stack import serving_of
from .outputs import invoke_command
from .shared_settings import ComponentSettings, SharedEndpointSettings


class SharedEndpointStack(Stack):
    """A shared endpoint: its components and adapters; outputs the endpoint's name and ARN, and each component's
    name and an invoke command."""

    def __init__(self, scope: Construct, id: str, *, settings: SharedEndpointSettings, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.endpoint = InferenceComponentEndpoint(
            self,
            "Endpoint",
            instance_type=settings.instance_type,
            min_instances=settings.min_instances,
            max_instances=settings.max_instances,
            routing=_routing(settings.routing),
            scale_in=ScaleInPolicy.from_config(settings.scale_in) if settings.scale_in is not None else None,
            endpoint_name=settings.endpoint_name,
            tags=settings.tags,
            encryption_key=_key(self, settings.encryption_key_arn),
        )
        models = {c.name: self._add_model(c) for c in settings.components}
        for adapter in settings.adapters:
            base = models[adapter.base]
            added = self.endpoint.add_adapter(adapter.name, base=base, adapter_data=adapter.adapter_data)
            self._outputs(added, base.task)
        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name, description="Name of the SageMaker endpoint")
        CfnOutput(self, "EndpointArn", value=self.endpoint.endpoint_arn, description="ARN of the SageMaker endpoint")

    def _add_model(self, settings: ComponentSettings) -> InferenceComponent:
        component = self.endpoint.add_model(
            settings.name,
            model_id=settings.model_id,
            model_data=settings.model_data,
            code_dir=settings.code_dir,
            entry_point=settings.entry_point,
            task=settings.task,
            revision=settings.revision,
            serving=serving_of(settings.serving),
            environment=settings.environment,
            engine_args=settings.engine_args,
            hf_token_secret=secret_from_config(self, settings.hf_token_secret, id=f"{settings.name}HfToken")
            if settings.hf_token_secret
            else None,
            copies=settings.copies,
            accelerators=settings.accelerators,
            memory_mb=settings.memory_mb,
            cpu_cores=settings.cpu_cores,
            autoscaling=ComponentScaling.from_config(settings.autoscaling) if settings.autoscaling else None,
            deployment=ComponentDeployment.from_config(settings.deployment) if settings.deployment else None,
        )
        self._outputs(component, component.task)
        return component

    def _outputs(self, component: InferenceComponent, task: str | None) -> None:
        name = component.node.id
        CfnOutput(self, f"{name}ComponentName", value=component.component_name, description=f"{name}'s component")
        body = component.serving_stack.invoke_example(task)
        command = invoke_command(self, self.endpoint.endpoint_name, body, component_name=component.component_name)
        CfnOutput(self, f"{name}InvokeCommand", value=command, description=f"Example request to {name}")


def _routing(value: str) -> Routing:
    try:
        return Routing(str(value).upper())
    except ValueError:
        allowed = ", ".join(member.value.lower() for member in Routing)
        raise ConfigurationError(f"context: routing {value!r} is not one of {allowed}") from None


def _key(scope: Construct, arn: str | None) -> kms.IKey | None:
    return kms.Key.from_key_arn(scope, "EncryptionKey", arn) if arn else None
