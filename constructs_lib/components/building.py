"""How ``add_model`` and ``add_adapter`` build a component: check, resolve, size, pack, then render.

Every check that can fail runs before the component's resources exist, and a component that fails leaves nothing
behind in the tree. Each addition re-plans the whole endpoint and re-checks every model's container environment on
the new plan, so the last ``add_model`` to succeed leaves a plan the template renders without error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aws_cdk import Annotations, Duration, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, Node

from .._core.errors import ConfigurationError, Problems
from .._core.iam import Statement
from .._core.nag import acknowledge_wildcard
from .._core.names import MODEL_ID_TAG, VARIANT_NAME
from .._core.stack_facts import stack_facts
from .._core.tags import safe_tag_value
from .._core.tokens import deferred, is_unresolved, whole_seconds
from ..endpoints.base import warn_about_source
from ..endpoints.checks import check_scalars
from ..endpoints.environment import Report
from ..endpoints.props import warn_archive_layout
from ..endpoints.resolve import resolve_model
from ..endpoints.role import log_statements
from ..features.security.network import Network, start_up_downloads, warn_isolated_subnets
from ..features.security.token import check_token_secret, token_environment
from ..images.base import InferenceImage
from ..model.profile import ModelProfile
from ..model_data.sources import ModelData
from ..serving.base import Serving, ServingStack
from .adapters import adapter_artifact, check_base, lora_environment
from .checks import MODEL_REFUSALS, check_copies, check_model_props, raise_for, refuse_unsupported
from .component import COMPONENT_LOG_GROUP_PREFIX, InferenceComponent
from .deployment import ComponentDeployment
from .model import ModelRequest, SourcedModel, component_environment, model_source, render_model
from .packing import ComponentDemand, PackingPlan
from .render import adapter_specification, rollback_alarm, specification
from .resources import ComponentSizing, GivenResources
from .scaling import ComponentScaling, build_scaling, default_scaling

GPU_IMAGE_INSTANCE_TYPE = "ml.g5.xlarge"
"""The instance type a packed endpoint's images are rendered for: packing picks GPU instances, and an image depends
on the processor only."""
_RESERVED_IDS = frozenset({"Role", "EndpointConfig", "Endpoint", "SecurityGroup"})
"""The endpoint's own children, which a component id must not name."""


@dataclass(frozen=True)
class ModelProps:
    """``add_model``'s arguments."""

    model_id: str | None
    model_data: str | Path | ModelData | None
    code_dir: str | Path | None
    entry_point: str | None
    task: str | None
    revision: str | None
    serving: Serving | ServingStack
    image: InferenceImage | None
    environment: Mapping[str, str] | None
    engine_args: Mapping[str, str | int | float | bool] | None
    hf_token_secret: Any
    model_profile: ModelProfile | None
    copies: int
    accelerators: int | None
    memory_mb: int | None
    cpu_cores: float | None
    autoscaling: ComponentScaling | None
    deployment: ComponentDeployment | None
    startup_health_check_timeout: Duration | None
    model_data_download_timeout: Duration | None

    def model_props(self, instance_type: str | None) -> dict[str, Any]:
        """What the endpoints' resolution reads: the model's props, on the endpoint's instance type."""
        return {
            "instance_type": instance_type,
            "serving": self.serving,
            "image": self.image,
            "environment": self.environment,
            "engine_args": self.engine_args,
            "hf_token_secret": self.hf_token_secret,
            "model_profile": self.model_profile,
        }

    def request(self) -> ModelRequest:
        return ModelRequest(self.model_id, self.model_data, self.code_dir, self.entry_point, self.task, self.revision)


_MODEL_ARGS = tuple(ModelProps.__dataclass_fields__)


class Host(Protocol):
    """What a builder needs of its endpoint."""

    role: iam.IRole
    cfn_endpoint: sagemaker.CfnEndpoint
    min_instances: int
    _network: Network | None
    _given_instance_type: str | None

    @property
    def node(self) -> Node: ...
    @property
    def endpoint_arn(self) -> str: ...
    def _subject(self) -> str: ...
    def _admit(self, demand: ComponentDemand) -> PackingPlan: ...
    def _keep(
        self, component: InferenceComponent, demand: ComponentDemand | None, plan: PackingPlan | None
    ) -> None: ...
    def _grant(self, statements: Sequence[Statement]) -> None: ...
    def _environment_of(self, component: InferenceComponent) -> Mapping[str, str]: ...
    def _reservation_of(self, component: InferenceComponent) -> Any: ...
    @property
    def components(self) -> tuple[InferenceComponent, ...]: ...
    @property
    def plan(self) -> PackingPlan | None: ...


class QuietReport(Report):
    """Errors only: the checks that run at every ``add_model`` leave their warnings to the final plan's."""

    def warning(self, id: str, message: str) -> None:
        return None


@dataclass
class _ModelState:
    """What a model component's environment is rendered from, besides its reservation."""

    props: Mapping[str, Any]
    token_environment: Mapping[str, str]
    startup_seconds: int | None
    download_seconds: int | None
    adapter_ranks: list[int | None] = field(default_factory=list)


class ComponentBuilder:
    """Adds the components of one endpoint."""

    def __init__(self, host: Host, scope: Construct) -> None:
        """:param scope: the endpoint, as the construct its components go under (``host`` is the same object)."""
        self._host = host
        self._scope = scope
        self._states: dict[str, _ModelState] = {}

    def _subject(self, verb: str, id: str) -> Callable[[], str]:
        return lambda: f"{self._host._subject()}: {verb} {id!r}"

    # ------------------------------------------------------------------------------------ models
    def add_model(self, id: str, request: ModelProps, unsupported: Mapping[str, Any]) -> InferenceComponent:
        subject = self._subject("add_model", id)
        refuse_unsupported(subject, unsupported, MODEL_REFUSALS, _MODEL_ARGS)
        problems = Problems(subject)
        self._check_id(id, problems)
        check_model_props({**request.model_props(None), **_resource_props(request)}, problems)
        check_scalars(_timeouts(request), problems)
        check_token_secret(request.hf_token_secret, problems)
        problems.raise_if_any()
        component = self._component(id)
        try:
            props = request.model_props(self._host._given_instance_type)
            with model_source(request.request(), props, problems) as sourced:
                self._build_model(component, request, sourced, props, problems)
        except ConfigurationError:
            self._host.node.try_remove_child(id)  # nothing of a component that failed stays in the tree
            raise
        return component

    def _component(self, id: str) -> InferenceComponent:
        return InferenceComponent(self._scope, id, endpoint_arn=self._host.endpoint_arn, role=self._host.role)

    def _check_id(self, id: str, problems: Problems) -> None:
        if not isinstance(id, str) or not id:
            problems.add("id", id, "must be a non-empty string")
        elif id in _RESERVED_IDS:
            problems.add("id", id, f"is the id of the endpoint's own {id}; choose another")
        elif self._host.node.try_find_child(id) is not None:
            problems.add("id", id, "is already the id of a component of this endpoint; ids must differ")

    def _build_model(
        self,
        component: InferenceComponent,
        request: ModelProps,
        sourced: SourcedModel,
        props: Mapping[str, Any],
        problems: Problems,
    ) -> None:
        model = resolve_model(component, sourced.source, props, problems)
        scaling = request.autoscaling or (default_scaling(request.copies) if self._host.min_instances == 0 else None)
        min_copies = scaling.effective_min_copies(self._host.min_instances) if scaling is not None else request.copies
        problems.extend(check_copies(request.copies, scaling, min_copies, request.deployment))
        problems.raise_if_any()
        sizing = ComponentSizing(
            component.node.id,
            model.stack,
            model.profile.profile,
            GivenResources(request.accelerators, request.memory_mb, request.cpu_cores),
            custom_script=sourced.source.script_loads_model,
        )
        demand = ComponentDemand(sizing, request.copies, scaling.max_copies if scaling is not None else request.copies)
        plan = self._admit(component, demand)
        component.model, component.base, component.copies = model, None, request.copies
        state = _ModelState(
            props,
            token_environment(request.hf_token_secret, model.stack),
            whole_seconds(request.startup_health_check_timeout),
            whole_seconds(request.model_data_download_timeout),
        )
        self._states[component.node.id] = state
        self._check_environments(plan, pending=component)
        self._render_model(component, sourced, problems)
        self._render_component(component, request, scaling, min_copies)
        self._finish(component, sourced)
        self._host._keep(component, demand, plan)

    def _admit(self, component: InferenceComponent, demand: ComponentDemand) -> PackingPlan:
        try:
            return self._host._admit(demand)
        except ConfigurationError as error:
            raise ConfigurationError(f"{self._subject('add_model', component.node.id)()}: {error}") from None

    def _render_model(self, component: InferenceComponent, sourced: SourcedModel, problems: Problems) -> None:
        assert component.model is not None
        network = self._host._network
        rendered = render_model(
            component,
            self._host.role,
            component.model,
            sourced.source,
            image_instance_type=self._host._given_instance_type or GPU_IMAGE_INSTANCE_TYPE,
            grant=self._host._grant,
            environment=deferred(lambda: dict(self._host._environment_of(component))),
            model_properties={"vpc_config": _model_vpc(network)} if network is not None else {},
            problems=problems,
        )
        component.cfn_model = rendered.cfn_model

    def _render_component(
        self,
        component: InferenceComponent,
        request: ModelProps,
        scaling: ComponentScaling | None,
        min_copies: int,
    ) -> None:
        state, model = self._states[component.node.id], component.cfn_model
        assert model is not None
        cfn = self._component_resource(
            component,
            deferred(
                lambda: specification(
                    model.attr_model_name,
                    self._host._reservation_of(component),
                    state.startup_seconds,
                    state.download_seconds,
                )
            ),
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=request.copies
            ),
            deployment_config=_deployment_config(component, request.deployment),
        )
        component.cfn_inference_component = cfn
        component.node.default_child = cfn
        component.scaling = None
        if scaling is not None:
            component.scaling = build_scaling(
                component,
                component=cfn,
                component_name=component.component_name,
                scaling=scaling,
                min_copies=min_copies,
                no_capacity=component.metric_no_capacity_invocation_failures(),
            )

    def _component_resource(
        self, component: InferenceComponent, specification: Any, **properties: Any
    ) -> sagemaker.CfnInferenceComponent:
        """The ``AWS::SageMaker::InferenceComponent`` of a model or adapter: on the endpoint's variant, by name."""
        cfn = sagemaker.CfnInferenceComponent(
            component,
            "Resource",
            endpoint_name=self._host.cfn_endpoint.attr_endpoint_name,
            inference_component_name=component.component_name,
            variant_name=VARIANT_NAME,
            specification=specification,
            **properties,
        )
        # After the role's policy, whichever grants it holds at synth: a component added by an update reads its
        # artifact (an adapter's) with grants that the config, created long before, did not wait for.
        cfn.node.add_dependency(self._host.role)
        return cfn

    def _finish(self, component: InferenceComponent, sourced: SourcedModel) -> None:
        """Logs, tags and the warnings about the model's source and network."""
        self._grant_logs(component)
        source = sourced.source
        if source.model_id is not None and not is_unresolved(source.model_id):
            Tags.of(component).add(MODEL_ID_TAG, safe_tag_value(source.model_id))
        warn_about_source(component, source, network_isolation=False)
        if sourced.layout is not None:
            warn_archive_layout(component, sourced.layout, sourced.layout_note)
        network = self._host._network
        assert component.model is not None
        if network is not None:
            downloads = start_up_downloads(source.model_id, source.shipped_requirements(), component.model.stack)
            warn_isolated_subnets(component, network.vpc, list(network.subnet_ids), downloads)
        if component.model.profile.profile is None:
            Annotations.of(component).add_warning_v2(
                "constructs-lib:component-unsized",
                "The reservation of this component is not derived: the model's size is unknown (no model profile). It "
                "reserves the GPUs given (1 by default) and their share of the host memory and vCPUs; pass "
                "model_profile=ModelProfile(...), or accelerators=, memory_mb= and cpu_cores=",
            )

    def _grant_logs(self, component: InferenceComponent) -> None:
        facts = stack_facts(component)
        log_group = facts.arn("logs", f"log-group:{COMPONENT_LOG_GROUP_PREFIX}{component.component_name}")
        self._host._grant(log_statements(log_group))
        if isinstance(self._host.role, iam.Role):
            acknowledge_wildcard(
                self._host.role,
                f"{log_group}:log-stream:*",
                "SageMaker names the log streams of the inference component's own log group at run time.",
            )

    # ----------------------------------------------------------------------------------- adapters
    def add_adapter(self, id: str, base: Any, adapter_data: Any) -> InferenceComponent:
        subject = self._subject("add_adapter", id)
        problems = Problems(subject)
        self._check_id(id, problems)
        state = self._check_adapter_base(base, problems)
        artifact = adapter_artifact(adapter_data, problems)
        problems.raise_if_any()
        assert state is not None and artifact is not None
        try:
            lora_environment(
                base.serving_stack, [*state.adapter_ranks, artifact.rank], state.props.get("engine_args") or {}
            )
        except ConfigurationError as error:
            raise_for(subject, [str(error)])
        component = self._component(id)
        try:
            self._build_adapter(component, base, artifact, state, problems)
        except ConfigurationError:
            self._host.node.try_remove_child(id)
            raise
        return component

    def _check_adapter_base(self, base: Any, problems: Problems) -> _ModelState | None:
        if not isinstance(base, InferenceComponent) or base not in self._host.components:
            problems.add("base", base, "must be a component of this endpoint, as add_model returned it")
            return None
        if base.base is not None or base.node.id not in self._states:
            problems.add("base", base.node.id, "is an adapter; an adapter's base is a model component")
            return None
        state = self._states[base.node.id]
        check_base(base.node.id, base.serving_stack, state.props.get("engine_args") or {}, problems)
        return state

    def _build_adapter(
        self,
        component: InferenceComponent,
        base: InferenceComponent,
        artifact: Any,
        state: _ModelState,
        problems: Problems,
    ) -> None:
        data = artifact.data.bind(component, self._host.role)
        if not data.compressed:
            problems.add(
                "adapter_data",
                data.s3_uri,
                "is an S3 prefix; an adapter's ArtifactUrl must be a .tar.gz with its files at the archive root",
            )
            problems.raise_if_any()
        cfn = self._component_resource(component, adapter_specification(base.component_name, data.s3_uri))
        # BaseInferenceComponentName is a plain string: without this the adapter may be created before its base.
        cfn.node.add_dependency(base.cfn_inference_component)
        component.cfn_inference_component, component.cfn_model = cfn, None
        component.model, component.base, component.copies, component.scaling = None, base, None, None
        component.node.default_child = cfn
        state.adapter_ranks.append(artifact.rank)
        plan = self._host.plan
        if plan is not None:
            self._check_environments(plan)
        if artifact.rank is None:
            Annotations.of(component).add_warning_v2(
                "constructs-lib:adapter-rank",
                "The adapter's LoRA rank is not read from an archive: the base keeps vLLM's max_lora_rank (16), and an "
                "adapter of a higher rank fails to load; pass the local adapter directory, or set engine_args="
                "{'max_lora_rank': ...} on the base",
            )
        self._host._keep(component, None, None)

    # ------------------------------------------------------------------------------- environments
    def environment(
        self, component: InferenceComponent, plan: PackingPlan, problems: Problems, *, quiet: bool = False
    ) -> dict[str, str]:
        """``component``'s container environment on ``plan`` (its warnings on the component, unless ``quiet``)."""
        state, model = self._states[component.node.id], component.model
        assert model is not None
        engine_args = state.props.get("engine_args") or {}
        extra = {**state.token_environment, **lora_environment(model.stack, state.adapter_ranks, engine_args)}
        report = (QuietReport if quiet else Report)(problems, component)
        return component_environment(
            model,
            plan.reservations[component.node.id],
            instance_type=plan.spec.name,
            props=state.props,
            extra=extra,
            report=report,
        )

    def _check_environments(self, plan: PackingPlan, pending: InferenceComponent | None = None) -> None:
        components = [c for c in (*self._host.components, pending) if c is not None and c.model is not None]
        for component in components:
            problems = Problems(self._subject("component", component.node.id))
            self.environment(component, plan, problems, quiet=True)
            problems.raise_if_any()

    def warn_about_plan(self, plan: PackingPlan) -> None:
        """What the final plan leaves worth knowing: reservations below need, copies beyond ``max_instances``, and an
        endpoint that cannot reach zero instances."""
        for component in self._host.components:
            reservation = plan.reservations.get(component.node.id)
            if reservation is not None and reservation.derived_memory_mb:
                Annotations.of(component).add_warning_v2(
                    "constructs-lib:component-memory",
                    f"memory_mb={reservation.memory_mb} is below the {reservation.derived_memory_mb} MB the model "
                    f"needs on {reservation.share.name}: copies packed beside others may run out of memory",
                )
        if plan.peak_instances > plan.max_instances:
            Annotations.of(self._scope).add_warning_v2(
                "constructs-lib:max-copies",
                f"Every component at its max_copies needs {plan.peak_instances} x {plan.spec.name}, and max_instances "
                f"is {plan.max_instances}: copies beyond what {plan.max_instances} instance(s) hold cannot be placed",
            )
        if self._host.min_instances == 0:
            self._warn_zero_blocked()

    def _warn_zero_blocked(self) -> None:
        for component in self._host.components:
            if component.model is not None and not _may_reach_zero(component):
                Annotations.of(component).add_warning_v2(
                    "constructs-lib:scale-to-zero-blocked",
                    "min_instances=0, and this component keeps at least one copy (its autoscaling's min_copies): the "
                    "endpoint never scales to zero instances while it exists",
                )


def _may_reach_zero(component: InferenceComponent) -> bool:
    return component.scaling is not None and component.scaling.wake_alarm is not None


def _resource_props(request: ModelProps) -> dict[str, Any]:
    return {
        "copies": request.copies,
        "accelerators": request.accelerators,
        "memory_mb": request.memory_mb,
        "cpu_cores": request.cpu_cores,
        "autoscaling": request.autoscaling,
        "deployment": request.deployment,
        "code_dir": request.code_dir,
        "entry_point": request.entry_point,
    }


def _timeouts(request: ModelProps) -> dict[str, Any]:
    return {
        "startup_health_check_timeout": request.startup_health_check_timeout,
        "model_data_download_timeout": request.model_data_download_timeout,
    }


def _model_vpc(network: Network) -> sagemaker.CfnModel.VpcConfigProperty:
    return sagemaker.CfnModel.VpcConfigProperty(
        security_group_ids=[group.security_group_id for group in network.security_groups],
        subnets=list(network.subnet_ids),
    )


def _deployment_config(
    component: InferenceComponent, deployment: ComponentDeployment | None
) -> sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty | None:
    if deployment is None:
        return None
    alarms = deployment.auto_rollback_alarms
    return deployment.render(alarms if alarms is not None else [rollback_alarm(component, component)])
