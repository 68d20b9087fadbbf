"""``EndpointBase``: the shared base of the three endpoint constructs.

``HubModelEndpoint``, ``FineTunedEndpoint`` and ``CustomScriptEndpoint`` differ only in where the
model comes from; they describe that as a ``ModelSource`` and hand everything else to the base,
which checks the props, resolves the facts (profile, serving stack, instance, sizing), lets the
features check theirs, then builds the role, the model, the endpoint config and the endpoint, and
lets the features add what they own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Annotations, Duration, Names, Resource, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.interfaces import aws_sagemaker as sagemaker_refs
from constructs import Construct, Node

from .._core.errors import ConfigurationError, Problems, subject_of
from .._core.iam import grant_statements
from .._core.names import MODEL_ID_TAG
from .._core.stack_facts import construct_path, stack_facts
from .._core.tags import safe_tag_value
from .._core.tokens import is_unresolved, whole_seconds
from ..catalogue.instances import InstanceSpec, instance_spec
from ..contract.facts import EndpointFacts, EndpointResources, FeatureOutputs
from ..contract.metrics import EndpointMetrics
from ..features.base import EndpointFeature
from ..features.registry import features_for
from ..images.base import ImageConfig, check_image_processor
from ..model.profile import ModelProfile
from ..scripts.grammar import script_grammar_problem
from ..serving.base import Serving, ServingStack
from ..serving.facts import ModelFacts
from ..sizing.fit import DeploymentPlan
from . import checks, render, resolve
from .environment import EnvironmentInputs, Report, assemble
from .imported import EndpointAttributes, ImportedEndpoint, import_endpoint
from .props import ModelSource
from .role import acknowledge_serving_wildcards, create_role, logs_and_metrics

if TYPE_CHECKING:
    from aws_cdk import aws_applicationautoscaling as appscaling
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_s3 as s3

    from ..contract.facts import AsyncInferenceLocations
    from ..contract.interfaces import IHuggingFaceEndpoint


_INFO_METADATA = "aws:cdk:info"
"""The metadata type ``Annotations.add_info`` writes."""


@jsii.implements(sagemaker.IEndpoint, iam.IGrantable)
class EndpointBase(EndpointMetrics, Resource):
    """A SageMaker real-time endpoint serving a Hugging Face model.

    Not used directly: the concrete constructs decide where the model comes from. It is an
    ``aws_sagemaker.IEndpoint`` and an ``iam.IGrantable`` (its execution role), so it plugs into the
    rest of CDK: ``apigateway.SagemakerIntegration(endpoint)``, ``bucket.grant_read(endpoint)``.
    """

    def __init__(self, scope: Construct, id: str, *, source: ModelSource, props: Mapping[str, Any]) -> None:
        given_name = props.get("endpoint_name")
        super().__init__(scope, id, physical_name=given_name if isinstance(given_name, str) else None)
        # Every read of `self.node` is a jsii round trip; the node object itself never changes.
        self._node: Node = self.node
        # The stack's facts (region, partition) are read through the endpoint from here on: register
        # it under its scope's facts now, which costs no round trip when the scope's are known.
        self._stack_facts = stack_facts(scope, child=self)
        self._path = construct_path(self, scope, id)
        self._source = source
        self.hub_model_id: str | None = source.model_id
        """The Hub model the container downloads at start-up (``None`` when artifacts come from S3 or disk)."""
        subject = subject_of(type(self), scope, id)
        checks.check_prop_names(subject, props)
        problems = Problems(subject)
        checks.check_prop_types(props, problems)
        problems.raise_if_any()
        checks.check_requested_instance(props, problems)
        checks.check_scalars(props, problems)
        checks.check_host_ami(props, problems)
        problems.raise_if_any()
        self._facts, self._features = self._resolve(source, props, subject, problems)
        self._build(scope, source, props, problems)
        checks.claim_name(self, props.get("endpoint_name"))

    # ------------------------------------------------------------------------------ resolution
    def _resolve(
        self, source: ModelSource, props: Mapping[str, Any], subject: Any, problems: Problems
    ) -> tuple[EndpointFacts, tuple[EndpointFeature, ...]]:
        features = features_for(props)
        model = resolve.resolve_model(self, source, props, problems)
        self._model_facts: ModelFacts = model.facts
        self.model_profile: ModelProfile | None = model.profile.profile
        """Size and shape of the model (``None`` when neither given nor readable from the Hub or disk)."""
        self.task: str | None = model.task
        """The task (``HF_TASK``): given, or the model's pipeline tag on the Hub."""
        requested = model.requested
        self._image = model.image
        self._image_version = self._image.catalogue_version
        stack = model.stack
        self.serving_stack: ServingStack = stack
        """The serving stack that runs the model, with its container contract."""
        self.deployment_plan: DeploymentPlan | None = resolve.plan(
            self,
            stack,
            model.profile.profile,
            props,
            custom_script=source.script_loads_model,
            version=self._image_version,
        )
        """How the model fits the instance (memory math, server settings); ``None`` without a profile."""
        if self.deployment_plan is not None:
            # What Annotations.add_info writes, in one jsii round trip instead of two, on the node read once.
            self._node.add_metadata(_INFO_METADATA, self.deployment_plan.summary)
        self.instance_type: str | None = resolve.instance_type(props, self.deployment_plan)
        """The instance type the endpoint runs on (given or chosen); ``None`` for serverless inference."""
        checks.check_volume(props.get("volume_size_gb"), self.instance_spec, problems)
        check_image_processor(self, self._image, self.instance_type, problems)
        self.inference_ami_version: str | None = resolve.host_ami(
            stack, self._image, props, self.instance_type, self.instance_spec, problems
        )
        """The host AMI of the production variant (``None``: SageMaker's default host, or serverless)."""
        self.physical_endpoint_name: str = props.get("endpoint_name") or Names.unique_resource_name(
            self, max_length=63, separator="-"
        )
        """The endpoint's name as known at synth time (``endpoint_name`` is the deploy-time attribute)."""
        checks.check_name_is_free(self, props.get("endpoint_name"), problems)
        checks.check_tags(props.get("tags"), source.model_id, problems)
        facts = self._facts_of(source, props, stack, requested, subject)
        for feature in features:
            feature.validate(facts, problems)
        problems.raise_if_any()
        return facts, features

    def _facts_of(
        self,
        source: ModelSource,
        props: Mapping[str, Any],
        stack: ServingStack,
        requested: Serving | ServingStack,
        subject: Any,
    ) -> EndpointFacts:
        count = props.get("instance_count", 1)
        isolation = props.get("network_isolation", False)
        return EndpointFacts(
            scope=self,
            subject=subject,
            serving=stack,
            requested_serving=requested,
            model=self._model_facts,
            instance_type=self.instance_type,
            instance_spec=self.instance_spec,
            instance_count=count if isinstance(count, int) and not isinstance(count, bool) else 1,
            serverless=props.get("serverless") is not None,
            asynchronous=props.get("async_inference") is not None,
            multi_variant=bool(props.get("variants")),
            autoscaled=props.get("autoscaling") is not None,
            network_isolation=isolation is True,
            encryption_key=props.get("encryption_key") if hasattr(props.get("encryption_key"), "key_arn") else None,
            physical_endpoint_name=self.physical_endpoint_name,
            plan=self.deployment_plan,
            host_ami=self.inference_ami_version,
            given_startup_timeout_seconds=whole_seconds(props.get("startup_health_check_timeout")),
            download_timeout_seconds=whole_seconds(props.get("model_data_download_timeout")),
            shipped_requirements=source.shipped_requirements(),
            metrics=self,
        )

    # -------------------------------------------------------------------------------- building
    def _build(self, scope: Construct, source: ModelSource, props: Mapping[str, Any], problems: Problems) -> None:
        facts, features = self._facts, self._features
        image = self._image
        stack_facts_ = self._stack_facts
        rendered = image._render(self, instance_type=self.instance_type)
        serving_access = (rendered.pull if rendered else []) + logs_and_metrics(
            stack_facts_, self.physical_endpoint_name
        )
        self.role: iam.IRole = props.get("role") or create_role(self, serving_access, path=self._path)
        """The execution role SageMaker assumes."""
        if props.get("role") is not None:
            grant_statements(self.role, serving_access)
        if isinstance(self.role, iam.Role):  # a role of this app, ours or passed in: cdk-nag reads its policies
            acknowledge_serving_wildcards(self.role, stack_facts_, self.physical_endpoint_name)
        image_config: ImageConfig = (
            rendered.config if rendered else image.bind(self, self.role, instance_type=self.instance_type)
        )
        self.image_uri: str = image_config.image_uri
        """URI of the serving container image."""
        self._check_script_grammar(source, image_config, problems)
        model_data_config = source.model_data.bind(self, self.role) if source.model_data else None
        environment = self._environment(props, problems)
        problems.raise_if_any()

        # Only a grant made through jsii (artifacts, features, a role passed in, an image that only an
        # L2 grant can express) can have given the role a policy of its own that the model must wait for.
        may_have_policies = bool(model_data_config or features or props.get("role") or rendered is None)
        extra = [(type(f).__name__, f.model_properties(facts, self.role)) for f in features]
        container = render.container(self.image_uri, environment, model_data_config)
        self.cfn_model: sagemaker.CfnModel = render.build_model(
            self, self.role, container, extra, after_policies=may_have_policies
        )
        self.cfn_endpoint_config: sagemaker.CfnEndpointConfig = render.build_endpoint_config(
            self,
            facts,
            self.cfn_model,
            features,
            self.role,
            startup_timeout_seconds=self._startup_timeout_seconds(props),
            volume_size_gb=props.get("volume_size_gb"),
        )
        self.cfn_endpoint: sagemaker.CfnEndpoint = render.build_endpoint(
            self, facts, self.cfn_endpoint_config, features
        )
        self._node.default_child = self.cfn_endpoint
        self._resources = EndpointResources(
            role=self.role,
            model=self.cfn_model,
            endpoint_config=self.cfn_endpoint_config,
            endpoint=self.cfn_endpoint,
            renderer=render.VariantModels(facts, self.role, features),
        )
        self._outputs = FeatureOutputs()
        for feature in features:
            self._outputs = self._outputs.merged(feature.apply(facts, self._resources))
        self._add_tags(props)
        self._warn_about_source(source, props)

    def _environment(self, props: Mapping[str, Any], problems: Problems) -> dict[str, str]:
        stack = self.serving_stack
        plan = self.deployment_plan
        features_env: dict[str, str] = {}
        for feature in self._features:
            features_env.update(feature.environment(self._facts, stack))
        inputs = EnvironmentInputs(
            stack=stack,
            model=self._facts.model,
            sizing=dict(plan.environment) if plan is not None else stack.unsized_environment(self.instance_spec),
            sized=plan is not None and bool(plan.environment),
            features=features_env,
            user=props.get("environment") or {},
            engine_args=props.get("engine_args") or {},
            instance_type=self.instance_type,
            spec=self.instance_spec,
            image_version=self._image_version,
        )
        return assemble(inputs, Report(problems, self))

    def _check_script_grammar(self, source: ModelSource, image: ImageConfig, problems: Problems) -> None:
        check_script_grammar(source, image, self.serving_stack, problems)

    def _startup_timeout_seconds(self, props: Mapping[str, Any]) -> int | None:
        given: Duration | None = props.get("startup_health_check_timeout")
        if given is not None:
            return whole_seconds(given)
        if self.deployment_plan is not None:
            # Large models need longer than SageMaker's default to download and load.
            return self.deployment_plan.startup_health_check_timeout_seconds
        return self.serving_stack.startup_timeout_seconds(None)  # the model's size is unknown

    def _add_tags(self, props: Mapping[str, Any]) -> None:
        tags = dict(props.get("tags") or {})
        if self._source.model_id and not is_unresolved(self._source.model_id):
            tags.setdefault(MODEL_ID_TAG, safe_tag_value(self._source.model_id))
        for key, value in tags.items():
            Tags.of(self).add(key, value)

    def _warn_about_source(self, source: ModelSource, props: Mapping[str, Any]) -> None:
        warn_about_source(self, source, network_isolation=props.get("network_isolation") is True)

    # ------------------------------------------------------------------------------ attributes
    @property
    def serving(self) -> Serving | None:
        """The serving stack that runs the model (``None`` for a stack of your own: see ``serving_stack``)."""
        return self.serving_stack.serving

    @property
    def endpoint_name(self) -> str:
        """Name of the endpoint (a token that resolves at deploy time)."""
        return self._cached_attribute("endpoint_name", lambda: self.cfn_endpoint.attr_endpoint_name)

    @property
    def endpoint_arn(self) -> str:
        """ARN of the endpoint."""
        return self._cached_attribute("endpoint_arn", lambda: self.cfn_endpoint.ref)

    @property
    def endpoint_ref(self) -> sagemaker_refs.EndpointReference:
        """A reference to the endpoint, for CDK constructs that take an ``IEndpointRef``."""
        return sagemaker_refs.EndpointReference(endpoint_arn=self.endpoint_arn)

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The principal to grant permissions to (the execution role)."""
        return self.role

    @property
    def instance_spec(self) -> InstanceSpec | None:
        """The catalogued shape of the endpoint's instance type (``None`` for serverless)."""
        return instance_spec(self.instance_type) if self.instance_type else None

    @property
    def async_inference_locations(self) -> AsyncInferenceLocations | None:
        """The S3 locations of asynchronous inference (``None`` without ``async_inference``)."""
        return self._outputs.async_inference_locations

    @property
    def data_capture_bucket(self) -> s3.IBucket | None:
        """The bucket data capture writes to (``None`` without ``data_capture``)."""
        return self._outputs.data_capture_bucket

    @property
    def scalable_target(self) -> appscaling.ScalableTarget | None:
        """The Application Auto Scaling target of the instance count (``None`` without ``autoscaling``):
        add scaling policies of your own to it."""
        return self._outputs.scalable_target

    @property
    def alarms(self) -> Mapping[str, cloudwatch.Alarm]:
        """The alarms the construct created, by key (``errors_5xx``, ``errors_4xx``, ``model_latency``,
        ``gpu_memory``, ``disk``): from ``alarms=...`` and the default rollback alarms of ``deployment=...``.
        Empty when neither is set."""
        return self._facts.alarms.by_key()

    @property
    def dashboard(self) -> cloudwatch.Dashboard | None:
        """The dashboard created with ``dashboard=True`` (``None`` otherwise)."""
        return self._outputs.dashboard

    @property
    def connections(self) -> ec2.Connections:
        """The security groups of the model containers (only with ``vpc``), e.g. to let them reach a
        database: ``db.connections.allow_default_port_from(endpoint.connections)``.

        :raises ConfigurationError: when the endpoint runs outside a VPC.
        """
        if self._outputs.connections is None:
            raise ConfigurationError(
                f"{type(self).__name__} '{self._node.path}': connections: the endpoint has no network "
                "connections because it runs outside a VPC; pass vpc=... to run the containers in your VPC"
            )
        return self._outputs.connections

    def _cached_attribute(self, name: str, read: Any) -> str:
        # Read from jsii on first use only: most endpoints never ask.
        key = f"_constructs_lib_{name}"
        if key not in self.__dict__:
            self.__dict__[key] = read()
        value: str = self.__dict__[key]
        return value

    # ---------------------------------------------------------------------------------- grants
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke this endpoint: ``sagemaker:InvokeEndpoint`` and
        ``InvokeEndpointWithResponseStream``, plus what features add. An asynchronous endpoint serves only
        ``InvokeEndpointAsync``: it gets that and the async S3 locations instead. Returns one ``Grant``
        covering all of it."""
        grants: list[iam.Grant] = []
        if not self._facts.asynchronous:
            grants.append(
                iam.Grant.add_to_principal(
                    grantee=grantee,
                    actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                    resource_arns=[self.endpoint_arn],
                )
            )
        for feature in self._features:
            grants.extend(feature.grant_invoke(self._facts, self._resources, grantee))
        if not grants:
            return iam.Grant.drop(grantee, "invoke an endpoint that serves no invocation")
        grant, *more = grants
        for other in more:
            grant = grant.combine(other)
        return grant

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the execution role's policy (no effect on an immutable imported role)."""
        self.role.add_to_principal_policy(statement)

    # --------------------------------------------------------------------------------- imports
    @classmethod
    def from_endpoint_name(cls, scope: Construct, id: str, endpoint_name: str) -> ImportedEndpoint:
        """An endpoint deployed elsewhere, by name (in the stack's account and region): ``grant_invoke`` and
        ``metric_*`` work on it."""
        return import_endpoint(scope, id, EndpointAttributes(endpoint_name=endpoint_name), method="from_endpoint_name")

    @classmethod
    def from_endpoint_arn(cls, scope: Construct, id: str, endpoint_arn: str) -> ImportedEndpoint:
        """An endpoint deployed elsewhere, by ARN: ``grant_invoke`` and ``metric_*`` work on it."""
        return import_endpoint(scope, id, EndpointAttributes(endpoint_arn=endpoint_arn), method="from_endpoint_arn")

    @classmethod
    def from_endpoint_attributes(cls, scope: Construct, id: str, attributes: EndpointAttributes) -> ImportedEndpoint:
        """An endpoint deployed elsewhere, by its name or ARN and, optionally, the serving stack it runs."""
        return import_endpoint(scope, id, attributes)


def check_script_grammar(source: ModelSource, image: ImageConfig, stack: ServingStack, problems: Problems) -> None:
    """The script was parsed with the synth's Python; the toolkit imports it with the image's."""
    if source.script is None or image.python_version is None or not stack.runs_custom_scripts:
        return
    problem = script_grammar_problem(source.script, image.python_version)
    if problem is not None:
        problems.add_message(problem)


def warn_about_source(scope: Construct, source: ModelSource, *, network_isolation: bool) -> None:
    """The script check's warnings, and requirements an isolated container cannot install, on ``scope``."""
    for warning in source.script_warnings:
        Annotations.of(scope).add_warning_v2("constructs-lib:script", warning)
    requirements = source.shipped_requirements() if network_isolation else None
    if requirements is not None:
        # Warned, not refused: requirements already in the image, or wheels shipped in code/, still install.
        Annotations.of(scope).add_warning_v2(
            "constructs-lib:isolated-requirements",
            f"{requirements}: the toolkit runs pip install -r on it at start-up, and with network_isolation the "
            "container has no network: the endpoint fails to start unless every requirement is already in the "
            "image or shipped in code/ (pip --no-index --find-links)",
        )


def async_inference_locations(endpoint: EndpointBase) -> AsyncInferenceLocations | None:
    """The S3 locations of an endpoint's asynchronous inference (``None`` without ``async_inference``):
    the same as ``endpoint.async_inference_locations``."""
    return endpoint.async_inference_locations


if TYPE_CHECKING:

    def _implements_the_interface(built: EndpointBase, imported: ImportedEndpoint) -> list[IHuggingFaceEndpoint]:
        """Never called: mypy proves here that built and imported endpoints are ``IHuggingFaceEndpoint``."""
        return [built, imported]
