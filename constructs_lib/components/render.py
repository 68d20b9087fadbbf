"""The SageMaker L1 properties of a component endpoint: its production variant and each component's specification.

Both depend on every component of the endpoint (the instance type packing picks, the instance count, the host AMI
the images need, each reservation on that type), and components are added after the endpoint exists: they are
rendered when the template is synthesized (``_core.tokens.deferred``), from the endpoint's final plan.

The variant has no model: an endpoint whose variant names none is one for inference components, and it carries the
execution role (on the config), ``ManagedInstanceScaling`` (between ``min_instances`` and ``max_instances``; SageMaker
adds instances to place copies and releases them as they go) and ``RoutingConfig``. ``InitialInstanceCount`` is at
least 1 (SageMaker's rule), also with ``min_instances=0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._core.names import VARIANT_NAME
from ..catalogue.host_amis import HOST_AMIS, cuda_tuple, host_ami_for_gpus
from ..catalogue.instances import InstanceSpec, Processor
from ..endpoints.resolve import ResolvedModel
from .component import ComponentMetrics
from .deployment import DEFAULT_ROLLBACK_ERROR_RATE_PERCENT
from .options import Routing, ScaleInPolicy
from .resources import Reservation

DEFAULT_STARTUP_TIMEOUT_SECONDS = 600
"""The start-up health check timeout of a component whose stack needs no longer: copies start while the endpoint
serves (scaling out, waking from zero), and each downloads and loads the model."""
ROLLBACK_PERIOD_MINUTES = 1
ROLLBACK_EVALUATION_PERIODS = 3


@dataclass(frozen=True)
class Fleet:
    """The variant's instances: their type and how many, between the scaling bounds."""

    instance_type: str
    initial: int
    minimum: int
    maximum: int


def variant(
    fleet: Fleet, routing: Routing, scale_in: ScaleInPolicy | None, host_ami: str | None
) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    """The endpoint's one production variant: instances, no model."""
    config = sagemaker.CfnEndpointConfig
    return config.ProductionVariantProperty(
        variant_name=VARIANT_NAME,
        instance_type=fleet.instance_type,
        initial_instance_count=fleet.initial,
        managed_instance_scaling=config.ManagedInstanceScalingProperty(
            status="ENABLED",
            min_instance_count=fleet.minimum,
            max_instance_count=fleet.maximum,
            scale_in_policy=scale_in.render() if scale_in is not None else None,
        ),
        routing_config=config.RoutingConfigProperty(routing_strategy=routing.value),
        inference_ami_version=host_ami,
    )


def host_ami(spec: InstanceSpec, models: Iterable[ResolvedModel]) -> str | None:
    """The host AMI every component's image runs on: the one the newest CUDA among them needs (a driver runs the
    CUDA of its own major version and the older ones), the driver-580 one on Blackwell GPUs, or SageMaker's default
    host when none needs one."""
    needed = set()
    for model in models:
        cuda = model.image.facts_for(spec.processor).cuda_version
        ami = model.stack.host_ami(spec.processor, cuda) if spec.processor is not Processor.NEURONX else None
        if ami is not None:
            needed.add(ami)
    if not needed:
        return host_ami_for_gpus(None, spec)
    return max(needed, key=lambda name: (cuda_tuple(HOST_AMIS[name].cuda_version or "0"), name))


def specification(
    model_name: str, reservation: Reservation, startup_seconds: int | None, download_seconds: int | None
) -> sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty:
    """A model component's specification: its model, its reservation and how long it may take to start."""
    component = sagemaker.CfnInferenceComponent
    startup = startup_seconds or reservation.startup_timeout_seconds or DEFAULT_STARTUP_TIMEOUT_SECONDS
    return component.InferenceComponentSpecificationProperty(
        model_name=model_name,
        compute_resource_requirements=component.InferenceComponentComputeResourceRequirementsProperty(
            min_memory_required_in_mb=reservation.memory_mb,
            number_of_accelerator_devices_required=reservation.accelerators or None,
            number_of_cpu_cores_required=reservation.cpu_cores,
        ),
        startup_parameters=component.InferenceComponentStartupParametersProperty(
            container_startup_health_check_timeout_in_seconds=startup,
            model_data_download_timeout_in_seconds=download_seconds or startup,
        ),
    )


def adapter_specification(
    base_name: str, artifact_url: str
) -> sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty:
    """An adapter's specification: its base and its artifact, no reservation (it runs in the base's copies)."""
    component = sagemaker.CfnInferenceComponent
    return component.InferenceComponentSpecificationProperty(
        base_inference_component_name=base_name,
        container=component.InferenceComponentContainerSpecificationProperty(artifact_url=artifact_url),
    )


def rollback_alarm(scope: Construct, metrics: ComponentMetrics) -> cloudwatch.Alarm:
    """The default rollback alarm of a rolling update: the component's 5XX error rate above 1% for 3 minutes."""
    every = Duration.minutes(ROLLBACK_PERIOD_MINUTES)
    rate = cloudwatch.MathExpression(
        expression="100 * FILL(errors, 0) / invocations",
        using_metrics={
            "errors": metrics.metric_invocation_5xx_errors(period=every),
            "invocations": metrics.metric_invocations(period=every),
        },
        period=every,
        label="5XX error rate (%)",
    )
    return cloudwatch.Alarm(
        scope,
        "RollbackAlarm",
        metric=rate,
        threshold=DEFAULT_ROLLBACK_ERROR_RATE_PERCENT,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=ROLLBACK_EVALUATION_PERIODS,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=(
            f"More than {DEFAULT_ROLLBACK_ERROR_RATE_PERCENT:g}% of the invocations of inference component "
            f"{metrics.component_name} failed with 5XX errors: roll its update back"
        ),
    )
