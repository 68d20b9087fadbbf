"""``InferenceComponentEndpoint``: many models on one endpoint, each with its own GPUs, memory and copies.

The endpoint owns the instances (one production variant without a model, with managed instance scaling) and the
execution role; ``add_model`` adds a component whose model is built by the same code as the endpoint constructs'
(``model``), sized on the endpoint's instance type (``resources``) and packed with the others (``packing``);
``add_adapter`` adds a LoRA adapter to a vLLM component (``adapters``). Components are added after the endpoint
exists, so what depends on all of them (the instance type packing picks, the instance count, the host AMI, each
reservation) is checked at each ``add_model`` and rendered when the template is synthesized, from the final plan,
which a synth info message shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, Names, Resource, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IValidation, Node

from .._core.errors import ConfigurationError, Problems, subject_of
from .._core.iam import Statement, grant_statements
from .._core.stack_facts import stack_facts
from .._core.tokens import deferred
from ..catalogue.instances import InstanceSpec, instance_spec
from ..contract.metrics import EndpointMetrics
from ..endpoints.checks import check_name_is_free, check_tags, claim_name
from ..endpoints.role import acknowledge_serving_wildcards, create_role, logs_and_metrics
from ..features.security.kms import check_key, grant_key, key_instance_problem
from ..features.security.network import Network, check_network_props, grant_network_interfaces, network_of
from ..images.base import InferenceImage
from ..model.profile import ModelProfile
from ..model_data.sources import ModelData
from ..serving.base import Serving, ServingStack
from .building import ComponentBuilder, ModelProps
from .checks import ENDPOINT_REFUSALS, check_endpoint_props, refuse_unsupported
from .component import InferenceComponent
from .deployment import ComponentDeployment
from .options import Routing, ScaleInPolicy
from .packing import ComponentDemand, PackingPlan, plan_packing
from .render import Fleet, host_ami, variant
from .report import plan_summary
from .scaling import ComponentScaling

_ENDPOINT_PROPS = (
    "instance_type", "min_instances", "max_instances", "role", "vpc", "vpc_subnets", "security_groups",
    "encryption_key", "routing", "scale_in", "endpoint_name", "tags",
)  # fmt: skip


@dataclass
class _State:
    """What the endpoint knows of its components, and the plan rendered from them once final."""

    components: list[InferenceComponent] = field(default_factory=list)
    demands: list[ComponentDemand] = field(default_factory=list)
    plan: PackingPlan | None = None
    granted: set[str] = field(default_factory=set)
    depends_on_policy: bool = False
    final: _Final | None = None


@dataclass(frozen=True)
class _Final:
    """The plan the template is rendered from, and each model component's container environment on it."""

    plan: PackingPlan | None
    environments: Mapping[str, Mapping[str, str]]
    errors: tuple[str, ...] = ()


@jsii.implements(iam.IGrantable)
class InferenceComponentEndpoint(EndpointMetrics, Resource):
    """A SageMaker real-time endpoint whose instances host several models, each an inference component.

    Each component reserves GPUs, host memory and CPU cores (derived from its model unless given) and runs a number
    of copies; the endpoint holds them on one instance type, between ``min_instances`` (0 lets it scale to zero) and
    ``max_instances`` instances.

    Example::

        shared = InferenceComponentEndpoint(stack, "Shared", instance_type="ml.g5.12xlarge", min_instances=0,
            max_instances=2)
        chat = shared.add_model("Chat", model_id="Qwen/Qwen2.5-7B-Instruct", task="text-generation")
        sql = shared.add_adapter("Sql", base=chat, adapter_data="s3://bucket/adapters/sql.tar.gz")
        chat.grant_invoke(my_function)
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        instance_type: str | None = None,
        min_instances: int = 1,
        max_instances: int | None = None,
        role: iam.IRole | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        encryption_key: kms.IKey | None = None,
        routing: Routing = Routing.LEAST_OUTSTANDING_REQUESTS,
        scale_in: ScaleInPolicy | None = None,
        endpoint_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        **unsupported: Any,
    ) -> None:
        """
        :param instance_type: the instance type every component shares, e.g. ``ml.g5.12xlarge``.
        :default instance_type: the GPU instance type (and count) with the lowest hourly price that holds every
            component's copies
        :param min_instances: the fewest instances; 0 lets the endpoint scale to zero when every component is at zero
            copies, and wake on the next request.
        :default min_instances: 1
        :param max_instances: the most instances managed instance scaling runs; the copies must fit them.
        :default max_instances: the instances every component's largest copy count needs
        :param role: the execution role SageMaker assumes.
        :default role: a role that may pull exactly the components' images, read exactly their artifacts and write
            their logs
        :param vpc: the VPC the containers run in.
        :default vpc: no VPC
        :param vpc_subnets: the subnets of ``vpc``.
        :default vpc_subnets: its private subnets
        :param security_groups: security groups of the containers (with ``vpc``).
        :default security_groups: one created for the endpoint
        :param encryption_key: KMS key of the instances' storage volumes (not on instances with local NVMe storage).
        :default encryption_key: AWS managed encryption
        :param routing: how requests are spread over instances and copies.
        :default routing: Routing.LEAST_OUTSTANDING_REQUESTS
        :param scale_in: how managed instance scaling releases instances.
        :default scale_in: SageMaker's default
        :param endpoint_name: physical name of the endpoint (1-63 letters, digits and hyphens).
        :default endpoint_name: a name derived from the construct path, stable across deployments
        :param tags: tags of every resource of the endpoint and its components (Hub models add their model id).
        :default tags: none but the model id tags
        """
        super().__init__(scope, id, physical_name=endpoint_name if isinstance(endpoint_name, str) else None)
        self._node: Node = self.node
        self._subject = subject_of(type(self), scope, id)
        refuse_unsupported(self._subject, unsupported, ENDPOINT_REFUSALS, _ENDPOINT_PROPS)
        props: dict[str, Any] = {
            "instance_type": instance_type,
            "min_instances": min_instances,
            "max_instances": max_instances,
            "role": role,
            "vpc": vpc,
            "vpc_subnets": vpc_subnets,
            "security_groups": security_groups,
            "routing": routing,
            "scale_in": scale_in,
            "endpoint_name": endpoint_name,
        }
        self._check(props, encryption_key, tags)
        self.min_instances: int = min_instances
        """The fewest instances the endpoint runs (0: it scales to zero)."""
        self.max_instances: int | None = max_instances
        """The most instances, as given (``None``: derived from the copies, see ``plan``)."""
        self.routing: Routing = routing
        """How requests are spread over instances and copies."""
        self._given_instance_type = instance_type
        self._scale_in = scale_in
        self._encryption_key = encryption_key
        self._state = _State()
        self.physical_endpoint_name: str = endpoint_name or Names.unique_resource_name(
            self, max_length=63, separator="-"
        )
        """The endpoint's name as known at synth time (``endpoint_name`` is the deploy-time attribute)."""
        problems = Problems(self._subject)
        check_name_is_free(self, endpoint_name, problems)
        problems.raise_if_any()
        self.role: iam.IRole = self._execution_role(role)
        """The execution role SageMaker assumes for every component."""
        self._network = self._attach_network(props)
        self.cfn_endpoint_config: sagemaker.CfnEndpointConfig = self._endpoint_config()
        self.cfn_endpoint: sagemaker.CfnEndpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
            endpoint_name=self.physical_endpoint_name,
        )
        self._node.default_child = self.cfn_endpoint
        self._builder = ComponentBuilder(self, self)
        for key, value in (tags or {}).items():
            Tags.of(self).add(key, value)
        self._node.add_validation(_Finalize(self))
        claim_name(self, endpoint_name)

    # ------------------------------------------------------------------------------ construction
    def _check(self, props: Mapping[str, Any], key: kms.IKey | None, tags: Mapping[str, str] | None) -> None:
        problems = Problems(self._subject)
        check_endpoint_props(props, problems)
        check_network_props(props, problems)
        requested = props.get("instance_type")
        spec = instance_spec(requested) if isinstance(requested, str) else None
        check_key(key, problems, stack_region=stack_facts(self).region, spec=spec)
        # Every component adds its model id tag to its own resources.
        check_tags(tags, "model" if tags else None, problems)
        problems.raise_if_any()

    def _execution_role(self, given: iam.IRole | None) -> iam.IRole:
        facts = stack_facts(self)
        statements = logs_and_metrics(facts, self.physical_endpoint_name)
        role = given or create_role(self, statements, path=self._node.path)
        if given is not None:
            grant_statements(given, statements)
        if isinstance(role, iam.Role):  # a role of this app: cdk-nag reads its policies
            acknowledge_serving_wildcards(role, facts, self.physical_endpoint_name)
        return role

    def _attach_network(self, props: Mapping[str, Any]) -> Network | None:
        if props.get("vpc") is None:
            return None
        network = network_of(self, props)
        grant_network_interfaces(self.role, network)
        return network

    def _endpoint_config(self) -> sagemaker.CfnEndpointConfig:
        key, network = self._encryption_key, self._network
        if key is not None:
            grant_key(self.role, key)
        config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            execution_role_arn=self.role.role_arn,
            production_variants=[deferred(self._variant)],
            kms_key_id=key.key_arn if key is not None else None,
            vpc_config=_vpc_config(network) if network is not None else None,
        )
        return config

    # ------------------------------------------------------------------------------ components
    def add_model(
        self,
        id: str,
        *,
        model_id: str | None = None,
        model_data: str | Path | ModelData | None = None,
        code_dir: str | Path | None = None,
        entry_point: str | None = None,
        task: str | None = None,
        revision: str | None = None,
        serving: Serving | ServingStack = Serving.AUTO,
        image: InferenceImage | None = None,
        environment: Mapping[str, str] | None = None,
        engine_args: Mapping[str, str | int | float | bool] | None = None,
        hf_token_secret: Any = None,
        model_profile: ModelProfile | None = None,
        copies: int = 1,
        accelerators: int | None = None,
        memory_mb: int | None = None,
        cpu_cores: float | None = None,
        autoscaling: ComponentScaling | None = None,
        deployment: ComponentDeployment | None = None,
        startup_health_check_timeout: Duration | None = None,
        model_data_download_timeout: Duration | None = None,
        **unsupported: Any,
    ) -> InferenceComponent:
        """Add a model as an inference component: sized, packed with the others, and served with its own copies.

        :param id: the component's construct id; its name (``InferenceComponentName``) is derived from its path.
        :param model_id: a Hub model the container downloads at start-up. Exactly one of ``model_id`` and
            ``model_data``.
        :default model_id: none
        :param model_data: your artifacts, as for ``FineTunedEndpoint`` (an S3 ``.tar.gz`` or prefix, a local archive
            or directory).
        :default model_data: none
        :param code_dir: your ``inference.py`` directory, as for ``CustomScriptEndpoint`` (inference toolkit).
        :default code_dir: no script
        :param entry_point: the script in ``code_dir``.
        :default entry_point: ``"inference.py"``
        :param task: the pipeline task (``HF_TASK``).
        :default task: the model's pipeline tag
        :param revision: Hub revision (with ``model_id``).
        :default revision: the default branch
        :param serving: the serving stack.
        :default serving: Serving.AUTO
        :param image: the container image.
        :default image: the serving stack's newest catalogued image
        :param environment: extra container variables.
        :default environment: only what the library sets
        :param engine_args: server flags (vLLM).
        :default engine_args: only what the sizing decides
        :param hf_token_secret: Secrets Manager secret with a Hub token, for gated or private models.
        :default hf_token_secret: none
        :param model_profile: the model's size and shape, for artifacts in S3.
        :default model_profile: read from the Hub or disk
        :param copies: copies the component starts with.
        :default copies: 1
        :param accelerators: GPUs per copy; 0 serves the model on the host's CPUs (inference toolkit).
        :default accelerators: the fewest GPUs of the instance type that hold the model
        :param memory_mb: host memory per copy (MB).
        :default memory_mb: what the serving stack needs on its share of the host
        :param cpu_cores: CPU cores per copy.
        :default cpu_cores: half of its GPUs' share of the vCPUs (2 on CPUs)
        :param autoscaling: scale the copies.
        :default autoscaling: between 0 and ``copies`` on an endpoint with ``min_instances=0`` (concurrent requests
            per copy, target 5), else a fixed copy count
        :param deployment: how updates replace the copies.
        :default deployment: SageMaker's default
        :param startup_health_check_timeout: how long a copy may take to pass its health check (60 s to 3600 s).
        :default startup_health_check_timeout: the serving stack's for the model's size, at least 600 s
        :param model_data_download_timeout: how long a copy may take to download the model (60 s to 3600 s).
        :default model_data_download_timeout: the start-up health check timeout
        """
        request = ModelProps(
            model_id=model_id, model_data=model_data, code_dir=code_dir, entry_point=entry_point, task=task,
            revision=revision, serving=serving, image=image, environment=environment, engine_args=engine_args,
            hf_token_secret=hf_token_secret, model_profile=model_profile, copies=copies, accelerators=accelerators,
            memory_mb=memory_mb, cpu_cores=cpu_cores, autoscaling=autoscaling, deployment=deployment,
            startup_health_check_timeout=startup_health_check_timeout,
            model_data_download_timeout=model_data_download_timeout,
        )  # fmt: skip
        return self._builder.add_model(id, request, unsupported)

    def add_adapter(
        self, id: str, *, base: InferenceComponent, adapter_data: str | Path | ModelData
    ) -> InferenceComponent:
        """Add a LoRA adapter of ``base``, a component served by vLLM: it runs in the base's copies, which get the
        settings adapters need.

        :param id: the adapter's construct id; its name is derived from its path.
        :param base: the component whose model the adapter adapts.
        :param adapter_data: an S3 ``.tar.gz`` with the adapter's files at the archive root, or a local adapter
            directory (``adapter_config.json`` and the weights), packaged for you.
        """
        return self._builder.add_adapter(id, base, adapter_data)

    # ------------------------------------------------------------------------ plan and rendering
    def _admit(self, demand: ComponentDemand) -> PackingPlan:
        """The plan with ``demand`` added (not kept: the builder keeps it once the component exists)."""
        if self._state.final is not None:
            raise ConfigurationError(
                "the endpoint's template was already rendered: add every component before the app is synthesized"
            )
        return plan_packing(
            [*self._state.demands, demand],
            instance_type=self._given_instance_type,
            max_instances=self.max_instances,
            exclude=self._exclusion,
        )

    def _exclusion(self, spec: InstanceSpec) -> str | None:
        return key_instance_problem(spec) if self._encryption_key is not None else None

    def _keep(self, component: InferenceComponent, demand: ComponentDemand | None, plan: PackingPlan | None) -> None:
        self._state.components.append(component)
        if demand is not None:
            self._state.demands.append(demand)
        if plan is not None:
            self._state.plan = plan

    def _grant(self, statements: Sequence[Statement]) -> None:
        """Add each statement to the role once (components that share an image share its pull statement)."""
        new = [s for s in statements if repr(s) not in self._state.granted]
        self._state.granted.update(repr(s) for s in new)
        grant_statements(self.role, new)
        policy = next((c for c in self.role.node.children if isinstance(c, iam.Policy)), None)
        if policy is not None and not self._state.depends_on_policy:
            # The config references the role by its ARN already, not the policy that holds the grants, which the
            # instances need before the first component starts (and which later grants extend).
            self.cfn_endpoint_config.node.add_dependency(policy)
            self._state.depends_on_policy = True

    def _finalize(self) -> _Final:
        """The final plan and environments, rendered once (on the first validation or token resolution)."""
        if self._state.final is None:
            try:
                self._state.final = self._render_final()
            except ConfigurationError as error:
                self._state.final = _Final(None, {}, (str(error),))
        return self._state.final

    def _render_final(self) -> _Final:
        if not self._state.demands:
            if self._given_instance_type is None:
                raise ConfigurationError(
                    f"{self._subject()}: instance_type: cannot be chosen: the endpoint has no model; add one with "
                    "add_model(...), or pass instance_type"
                )
            Annotations.of(self).add_warning_v2(
                "constructs-lib:no-components",
                "The endpoint has no model: its instances run idle; add models with add_model(...)",
            )
            return _Final(None, {})
        plan = self._state.plan
        assert plan is not None  # kept with the first model
        problems = Problems(self._subject)
        environments = {
            c.node.id: self._builder.environment(c, plan, problems) for c in self._state.components if c.model
        }
        problems.raise_if_any()
        Annotations.of(self).add_info(plan_summary(plan, min_instances=self.min_instances))
        self._builder.warn_about_plan(plan)
        return _Final(plan, environments)

    def _variant(self) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        plan = self._finalize().plan
        if plan is None:
            assert self._given_instance_type is not None  # else validation failed
            count = max(1, self.min_instances)
            fleet = Fleet(self._given_instance_type, count, self.min_instances, self.max_instances or count)
            return variant(fleet, self.routing, self._scale_in, None)
        # The config starts at the floor and managed instance scaling launches what the copies need: endpoint config
        # properties are create-only, so a count that followed the plan would make every added or resized component
        # a new config and an UpdateEndpoint of a live component endpoint.
        count = max(1, self.min_instances)
        maximum = self.max_instances if self.max_instances is not None else max(plan.max_instances, count)
        fleet = Fleet(plan.spec.name, count, self.min_instances, maximum)
        models = [c.model for c in self._state.components if c.model is not None]
        return variant(fleet, self.routing, self._scale_in, host_ami(plan.spec, models))

    def _environment_of(self, component: InferenceComponent) -> Mapping[str, str]:
        return self._finalize().environments.get(component.node.id, {})

    def _reservation_of(self, component: InferenceComponent) -> Any:
        plan = self._finalize().plan
        assert plan is not None
        return plan.reservations[component.node.id]

    # ------------------------------------------------------------------------------ attributes
    @property
    def endpoint_name(self) -> str:
        """Name of the endpoint (a token that resolves at deploy time)."""
        return self.cfn_endpoint.attr_endpoint_name

    @property
    def endpoint_arn(self) -> str:
        """ARN of the endpoint."""
        return self.cfn_endpoint.ref

    @property
    def components(self) -> tuple[InferenceComponent, ...]:
        """The models and adapters added, in order."""
        return tuple(self._state.components)

    @property
    def plan(self) -> PackingPlan | None:
        """Where the copies of the components added so far run: instance type, instances, reservations (``None``
        before the first model)."""
        return self._state.plan

    @property
    def instance_type(self) -> str | None:
        """The instance type: given, or what packing picks for the components added so far (``None`` before the
        first model, when not given)."""
        plan = self._state.plan
        return plan.spec.name if plan is not None else self._given_instance_type

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role."""
        return self.role.grant_principal

    @property
    def connections(self) -> ec2.Connections:
        """The security groups of the containers (only with ``vpc``).

        :raises ConfigurationError: when the endpoint runs outside a VPC.
        """
        if self._network is None:
            raise ConfigurationError(
                f"{self._subject()}: connections: the endpoint has no network connections because it runs outside a "
                "VPC; pass vpc=... to run the containers in your VPC"
            )
        return self._network.connections

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the execution role's policy (no effect on an immutable imported role)."""
        self.role.add_to_principal_policy(statement)


def _vpc_config(network: Network) -> sagemaker.CfnEndpointConfig.VpcConfigProperty:
    return sagemaker.CfnEndpointConfig.VpcConfigProperty(
        security_group_ids=[group.security_group_id for group in network.security_groups],
        subnets=list(network.subnet_ids),
    )


@jsii.implements(IValidation)
class _Finalize:
    """Renders the endpoint's final plan when the app is synthesized, and reports what keeps it from rendering."""

    def __init__(self, endpoint: InferenceComponentEndpoint) -> None:
        self._endpoint = endpoint

    def validate(self) -> list[str]:
        return list(self._endpoint._finalize().errors)
