"""What a production feature is given, and what it gives back.

A feature (async inference, autoscaling, data capture, ...) never sees the endpoint construct. It is
given ``EndpointFacts``, the endpoint's resolved, read-only facts (serving stack, instance, model,
names, and the cross-cutting choices other features depend on), then ``EndpointResources`` once
the SageMaker resources exist; what it creates that users need comes back as ``FeatureOutputs``,
which the endpoint exposes as typed attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from constructs import Construct

if TYPE_CHECKING:
    from aws_cdk import aws_applicationautoscaling as appscaling
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sagemaker as sagemaker

    from ..catalogue.instances import InstanceSpec
    from ..images.base import InferenceImage
    from ..model_data.sources import ModelData
    from ..serving.base import Serving, ServingStack
    from ..serving.facts import ModelFacts
    from ..sizing.fit import DeploymentPlan
    from .metrics import EndpointMetrics


class AlarmRegistry:
    """The alarms of one endpoint by key (``errors_5xx``, ``model_latency``, ...): whichever feature asks first
    creates one, every later one gets the same (the rollback alarms of ``deployment`` are those of ``alarms``)."""

    def __init__(self) -> None:
        self._alarms: dict[str, cloudwatch.Alarm] = {}

    def get_or_create(self, key: str, create: Callable[[], cloudwatch.Alarm]) -> cloudwatch.Alarm:
        """The alarm ``key``, created with ``create`` on first use."""
        alarm = self._alarms.get(key)
        if alarm is None:
            alarm = self._alarms[key] = create()
        return alarm

    def by_key(self) -> dict[str, cloudwatch.Alarm]:
        """A copy of the alarms created so far, by key, in the order they were created."""
        return dict(self._alarms)


@dataclass(frozen=True)
class EndpointFacts:
    """The resolved facts of an endpoint, as its features see them."""

    scope: Construct
    """Where a feature creates its constructs (the endpoint; features add children, they do not read it)."""
    subject: Callable[[], str]
    """How errors name the endpoint (``HubModelEndpoint 'Stack/Llm'``), read only for an error."""
    serving: ServingStack
    """The serving stack that runs the model."""
    requested_serving: Serving | ServingStack
    """The ``serving`` prop as given (``Serving.AUTO`` by default): what other models of the endpoint resolve."""
    model: ModelFacts
    """The model: where it comes from, its task and profile."""
    instance_type: str | None
    """The instance type (given or chosen); ``None`` for serverless inference."""
    instance_spec: InstanceSpec | None
    """Its catalogued shape (``None``: serverless, or a deploy-time instance type)."""
    instance_count: int
    """Instances behind the endpoint."""
    serverless: bool
    """Whether the endpoint runs on SageMaker Serverless Inference."""
    asynchronous: bool
    """Whether the endpoint queues requests (asynchronous inference)."""
    multi_variant: bool
    """Whether the endpoint has production variants besides its own (the ``variants`` prop)."""
    autoscaled: bool
    """Whether the instance count scales (the ``autoscaling`` prop): ``instance_count`` is where it starts."""
    network_isolation: bool
    """Whether the containers run without network access."""
    encryption_key: kms.IKey | None
    """The KMS key of the storage volume, async outputs and data capture."""
    physical_endpoint_name: str
    """The endpoint's name as known at synth time."""
    plan: DeploymentPlan | None
    """How the model fits the instance (``None`` without a model profile, or serverless)."""
    host_ami: str | None
    """The production variant's ``InferenceAmiVersion`` (``None``: SageMaker's default host, or serverless)."""
    given_startup_timeout_seconds: int | None
    """The ``startup_health_check_timeout`` prop in seconds (``None``: not given)."""
    download_timeout_seconds: int | None
    """``ModelDataDownloadTimeoutInSeconds`` (``None``: SageMaker's default)."""
    shipped_requirements: Path | None
    """The ``code/requirements.txt`` the toolkit pip-installs at start-up, as messages name it."""
    metrics: EndpointMetrics
    """The endpoint's CloudWatch metrics."""
    alarms: AlarmRegistry = field(default_factory=AlarmRegistry)
    """The endpoint's alarms, by key: one alarm per metric, shared by the features that ask for it (the one
    thing features share that is built as they run, not resolved before)."""


@dataclass(frozen=True)
class RenderedModel:
    """Another model of the endpoint, and the host it needs."""

    model: sagemaker.CfnModel
    """The model."""
    host_ami: str | None
    """The ``InferenceAmiVersion`` its image needs (``None``: SageMaker's default host)."""


class ModelRenderer(Protocol):
    """Builds another model like the endpoint's own (same role, environment rules, network and features)."""

    def render_model(
        self,
        scope: Construct,
        *,
        model: ModelFacts,
        stack: ServingStack,
        image: InferenceImage | None,
        instance_type: str | None,
        model_data: ModelData | None,
        environment: Mapping[str, str] | None,
        prop: str,
    ) -> RenderedModel:
        """A ``CfnModel`` under ``scope``, and its host; ``prop`` prefixes error messages (``variants['b']``)."""
        ...


@dataclass(frozen=True)
class EndpointResources:
    """The endpoint's SageMaker resources, once they exist."""

    role: iam.IRole
    """The execution role."""
    model: sagemaker.CfnModel
    """The endpoint's own model."""
    endpoint_config: sagemaker.CfnEndpointConfig
    """The endpoint config (features may add variants to it)."""
    endpoint: sagemaker.CfnEndpoint
    """The endpoint."""
    renderer: ModelRenderer
    """Builds further models like the endpoint's own."""


@dataclass(frozen=True)
class AsyncInferenceLocations:
    """Where an async endpoint's payloads, responses and failures live (``endpoint.async_inference_locations``)."""

    output_uri: str
    """``S3OutputPath``: responses."""
    failure_uri: str | None
    """``S3FailurePath``: error responses (``None``: SageMaker's default)."""
    input_uri: str
    """Where callers upload payloads (pass ``<input_uri><key>`` as ``InputLocation``)."""
    output_bucket: s3.IBucket
    """The bucket of the responses."""
    input_bucket: s3.IBucket
    """The bucket of the payloads."""
    created_bucket: s3.IBucket | None
    """The bucket created for the endpoint, when one was (e.g. to add lifecycle rules or notifications)."""


@dataclass(frozen=True)
class FeatureOutputs:
    """What features created that users need: each becomes a typed attribute of the endpoint."""

    async_inference_locations: AsyncInferenceLocations | None = None
    """The S3 locations of asynchronous inference.

    :default: - none (no ``async_inference``)
    """
    data_capture_bucket: s3.IBucket | None = None
    """The bucket data capture writes to.

    :default: - none (no ``data_capture``)
    """
    connections: ec2.Connections | None = None
    """The security groups of the model containers.

    :default: - none (no ``vpc``)
    """
    scalable_target: appscaling.ScalableTarget | None = None
    """The Application Auto Scaling target of the variant's instance count.

    :default: - none (no ``autoscaling``)
    """
    dashboard: cloudwatch.Dashboard | None = None
    """The CloudWatch dashboard.

    :default: - none (no ``dashboard``)
    """

    def merged(self, other: FeatureOutputs) -> FeatureOutputs:
        """Both outputs in one (a field set by both features is a bug in one of them)."""
        values = {}
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if mine is not None and theirs is not None:
                raise AssertionError(f"two features set the endpoint's {item.name}")
            values[item.name] = mine if mine is not None else theirs
        return FeatureOutputs(**values)
