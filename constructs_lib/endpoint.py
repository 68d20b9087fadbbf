"""The shared base of the three endpoint constructs: role, model, endpoint config, endpoint.

``HubModelEndpoint``, ``FineTunedEndpoint`` and ``CustomScriptEndpoint`` differ only in where the
model comes from; they describe that as a ``ModelSource`` and hand everything else to
``EndpointBase``, which validates the props, resolves the serving stack, the instance and the
image, and wires the SageMaker resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from aws_cdk import Annotations, Aws, Duration, Names, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct, Node

from ._core.errors import ConfigurationError, Problems, allowed_list, describe
from ._core.iam import Statement, allow, grant_statements, policy_document
from ._core.nag import acknowledge_wildcards, nag_name
from ._core.stack_facts import StackFacts, stack_facts
from ._core.tokens import duration_seconds, is_unresolved
from .catalogue.instances import InstanceSpec, Processor, instance_spec, instance_type_problem, processor_for
from .catalogue.tasks import (
    default_serving,
    serving_task_problem,
    task_architecture_problem,
    task_problem,
    tei_architecture_warning,
    toolkit_task_problem,
    untrained_head_warning,
)
from .features import EndpointFeature, features_for, merge_properties
from .images import (
    ImageConfig,
    InferenceImage,
    Serving,
    catalogued_tgi_version,
    resolve_serving,
    tgi_reads_max_input_length,
)
from .model.hub_lookup import HubAccessError, HubLookup, HubModelNotFoundError, HubRevisionNotFoundError
from .model.local import profile_from_directory
from .model.profile import ModelProfile
from .model_data.sources import ModelData, ModelDataConfig
from .monitoring import EndpointMetrics, safe_tag_value
from .scripts.grammar import script_grammar_problem
from .sizing import TGI_MIN_STARTUP_TIMEOUT_SECONDS, DeploymentPlan, SizingOptions, plan_deployment, selection_conflicts

if TYPE_CHECKING:
    # Types of props only: importing these modules (and registering them with jsii) is left to
    # the endpoints that use them.
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_secretsmanager as secretsmanager

    from .autoscaling import AutoScaling
    from .data_capture import DataCapture
    from .deployment import DeploymentGuardrails
    from .inference_modes import AsyncInference, ServerlessInference
    from .monitoring import EndpointAlarms
    from .variants import ModelVariant

DEFAULT_INSTANCE_TYPE = "ml.g5.xlarge"
"""Instance used when ``instance_type`` is omitted and no model profile is available."""

VARIANT_NAME = "AllTraffic"
"""The production variant name SageMaker's own SDK uses for single-model endpoints."""

MODEL_ID_TAG = "huggingface:model-id"
"""Tag with the Hub model id, on every resource of a Hub-model endpoint."""

# 1-63 characters in all (the lookahead), alphanumerics and hyphens, no hyphen at either end.
_ENDPOINT_NAME = re.compile(r"^(?=.{1,63}$)[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
_ENV_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MAX_ENV_ENTRIES = 100
_MAX_ENV_BYTES = 1024
_TIMEOUT_RANGE = (60, 3600)
_VOLUME_RANGE = (1, 512)

# Environment variables that hold a Hugging Face token: writing one in plain text puts the secret
# in the template, the console and every `DescribeModel` response.
TOKEN_VARIABLES = frozenset({"HF_TOKEN", "HF_API_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN"})


class EndpointProps(TypedDict, total=False):
    """Props shared by ``HubModelEndpoint``, ``FineTunedEndpoint`` and ``CustomScriptEndpoint``."""

    instance_type: str | None
    """Instance type of the endpoint, e.g. ``ml.g5.xlarge`` (see ``InstanceType``).

    :default: - ``ml.g5.xlarge``
    """
    instance_count: int
    """Number of instances behind the endpoint.

    :default: 1
    """
    image: InferenceImage | None
    """The serving container image.

    :default: - the newest catalogued image of the resolved ``serving`` stack, with the GPU, CPU or
      neuronx tag that matches the instance type
    """
    serving: Serving
    """Which serving stack runs the model. ``AUTO`` picks TGI for ``text-generation``, TEI for
    ``feature-extraction`` and ``sentence-similarity``, and the inference toolkit otherwise (and
    for every custom script).

    :default: Serving.AUTO
    """
    role: iam.IRole | None
    """Execution role SageMaker assumes. A role passed in is used as is; grants are added to it
    only where it is mutable.

    :default: - a role trusted by ``sagemaker.amazonaws.com`` that may pull only the image's
      repository, read only the model artifact and write only the endpoint's logs and metrics
    """
    environment: Mapping[str, str] | None
    """Extra container environment variables (server knobs such as ``SAGEMAKER_MODEL_SERVER_WORKERS``).
    They override the library's own settings, except the ones that have a dedicated prop.

    :default: - only what the library sets
    """
    endpoint_name: str | None
    """Physical name of the endpoint (1-63 alphanumerics and hyphens). Changing it replaces the
    endpoint.

    :default: - a name derived from the construct path, stable across deployments
    """
    startup_health_check_timeout: Duration | None
    """How long SageMaker waits for the container to pass its health check (60 s to 3600 s).

    :default: - SageMaker's default
    """
    model_data_download_timeout: Duration | None
    """How long SageMaker may take to download the model artifacts (60 s to 3600 s).

    :default: - SageMaker's default
    """
    volume_size_gb: int | None
    """Size of the storage volume in GB (1-512). Not allowed on instances with local NVMe
    storage (g4dn, g5, g6, g6e, p4d, p5, ...), which SageMaker would reject after a deploy.

    :default: - SageMaker's default
    """
    model_profile: ModelProfile | None
    """Size and shape of the model, for instance selection and the fit check. Give it for S3
    artifacts, or to override what the Hub or the local directory says.

    :default: - read from the Hub (cached in ``hub.context.json``) or from the local model directory
    """
    instance_selection: SizingOptions | None
    """How to pick the instance when ``instance_type`` is omitted: allowed families, a price cap,
    prices, TGI token limits, quantization.

    :default: - the cheapest catalogued GPU instance that fits
    """
    serverless: ServerlessInference | None
    """Serve on SageMaker Serverless Inference instead of instances (CPU images only).

    :default: - a real-time endpoint on instances
    """
    async_inference: AsyncInference | None
    """Queue requests and write responses to S3 (asynchronous inference).

    :default: - synchronous real-time inference
    """
    autoscaling: AutoScaling | None
    """Scale the instance count with the load, on a schedule, or (async) to zero.

    :default: - a fixed ``instance_count``
    """
    variants: Sequence[ModelVariant] | None
    """More models on the same endpoint: weighted production variants (A/B) or shadow variants.

    :default: - one production variant serving this model
    """
    hf_token_secret: secretsmanager.ISecret | None
    """Secrets Manager secret holding a Hugging Face token, for gated or private models. Passed to
    the container through a CloudFormation dynamic reference, never in plain text.

    :default: - no token (public models only)
    """
    vpc: ec2.IVpc | None
    """VPC for the model containers.

    :default: - no VPC
    """
    vpc_subnets: ec2.SubnetSelection | None
    """Subnets of ``vpc`` for the model containers.

    :default: - the VPC's private subnets
    """
    security_groups: Sequence[ec2.ISecurityGroup] | None
    """Security groups of the model containers (with ``vpc``).

    :default: - one security group created for the endpoint
    """
    network_isolation: bool
    """Run the container without any network access. Not possible with a Hub download.

    :default: False
    """
    encryption_key: kms.IKey | None
    """KMS key for the storage volume, async outputs and data capture. Not allowed on instances
    with local NVMe storage.

    :default: - AWS managed encryption
    """
    data_capture: DataCapture | None
    """Capture requests and responses to S3.

    :default: - no capture
    """
    deployment: DeploymentGuardrails | None
    """How updates shift traffic (blue/green all-at-once, canary, linear, or rolling) and which
    alarms roll them back.

    :default: - SageMaker's default blue/green all-at-once update without alarms
    """
    alarms: bool | EndpointAlarms | None
    """Create CloudWatch alarms on errors and latency (``True`` for sensible thresholds).

    :default: - no alarms
    """
    dashboard: bool
    """Create a CloudWatch dashboard for the endpoint.

    :default: False
    """
    tags: Mapping[str, str] | None
    """Tags for every resource of the endpoint (the model id is tagged as well).

    :default: - only the model id tag
    """


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: what each concrete construct tells the base."""

    model_id: str | None = None
    """Hub model the container downloads at start-up."""
    revision: str | None = None
    """Hub revision (branch, tag or commit)."""
    task: str | None = None
    """``HF_TASK``; ``None`` lets the container infer it."""
    model_data: ModelData | None = None
    """Artifacts in S3 or on disk."""
    entry_point: str | None = None
    """Custom inference script under ``code/`` (``SAGEMAKER_PROGRAM``)."""
    script_warnings: tuple[str, ...] = ()
    """Findings of the script check that are worth a warning but not an error."""
    local_directory: Path | None = None
    """Local model directory, when there is one."""
    script_loads_model: bool = False
    """The custom script defines ``model_fn`` (it, not the toolkit's float32 loader, decides the dtype)."""
    script: Path | None = None
    """The inference script shipped under ``code/``, checked against the image's Python once it is known."""
    script_shown_as: Path | None = None
    """How messages name ``script`` when it was extracted from an archive (``model.tar.gz/code/inference.py``)."""

    def shipped_requirements(self) -> Path | None:
        """The ``requirements.txt`` next to the script, which the toolkit pip-installs at start-up, as messages
        name it (``None`` without one). Read while the endpoint is built: an archive's is extracted until then."""
        if self.script is None or not (self.script.parent / "requirements.txt").is_file():
            return None
        return (self.script_shown_as or self.script).parent / "requirements.txt"


_HF_TOKEN_VALUE = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
"""What a Hugging Face access token looks like, whatever it is put in."""


def looks_like_hf_token(value: object) -> bool:
    """Whether ``value`` is (or contains) a Hugging Face access token (``hf_`` and 30+ letters/digits)."""
    return isinstance(value, str) and _HF_TOKEN_VALUE.search(value) is not None


def holds_hf_token(key: str, value: object) -> bool:
    """Whether an environment entry would put a token in plain text: by its name or by its value."""
    return key in TOKEN_VARIABLES or looks_like_hf_token(value)


def tgi_gpu_environment(serving: Serving, instance_type: str | None) -> dict[str, str]:
    """``SM_NUM_GPUS`` for TGI on a catalogued GPU instance: without it TGI runs one shard, on one
    GPU, and a model sized for all of them runs out of memory."""
    spec = instance_spec(instance_type) if serving is Serving.TGI and instance_type else None
    if spec is None or spec.processor is not Processor.GPU:
        return {}
    return {"SM_NUM_GPUS": str(spec.accelerators)}


def gpu_count_problem(value: Any, spec: InstanceSpec) -> str | None:
    """Why ``SM_NUM_GPUS=value`` cannot run on ``spec`` (``None`` when it can, or for non-GPU instances)."""
    if spec.processor is not Processor.GPU:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and 1 <= int(value) <= spec.accelerators:
        return None
    if spec.accelerators == 1:
        return f"must be '1': {spec.name} has one GPU"
    return f"must be a whole number from 1 to {spec.accelerators}, the GPUs of {spec.name}"


def serving_environment(source: ModelSource, serving: Serving, task: str | None) -> dict[str, str]:
    """The container environment that tells the serving stack where the model is (shared with variants)."""
    env: dict[str, str] = {}
    if serving is Serving.INFERENCE_TOOLKIT:
        if source.model_id:
            env["HF_MODEL_ID"] = source.model_id
        if task:
            env["HF_TASK"] = task
    else:
        # TGI and TEI load from HF_MODEL_ID, which is /opt/ml/model for artifacts from S3.
        env["HF_MODEL_ID"] = source.model_id or "/opt/ml/model"
    if source.model_id and source.revision:
        env["HF_MODEL_REVISION"] = source.revision
    if source.entry_point:
        # What the SageMaker Python SDK sets when it repacks a script into model.tar.gz.
        env.update(
            {
                "SAGEMAKER_PROGRAM": source.entry_point,
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                "SAGEMAKER_REGION": Aws.REGION,
            }
        )
    return env


def subject_of(construct_class: type, scope: IConstruct | None, id: str) -> Callable[[], str]:
    """How error messages name a construct: its class and path (``HubModelEndpoint 'Stack/Llm'``).

    Returned as a function for :class:`Problems`, so that the path is read only for an error.
    """

    def subject() -> str:
        scope_path = scope.node.path if scope is not None else ""
        return f"{construct_class.__name__} '{f'{scope_path}/{id}' if scope_path else id}'"

    return subject


def _known_props() -> frozenset[str]:
    return frozenset(EndpointProps.__annotations__)


class EndpointBase(EndpointMetrics, Construct):
    """A SageMaker real-time endpoint serving a Hugging Face model.

    Not used directly: the concrete constructs decide where the model comes from.
    """

    def __init__(self, scope: Construct, id: str, *, source: ModelSource, props: Mapping[str, Any]) -> None:
        super().__init__(scope, id)
        # Every read of `self.node` is a jsii round trip; the node object itself never changes.
        self._node: Node = self.node
        self._source = source
        self.hub_model_id: str | None = source.model_id
        """The Hub model the container downloads at start-up (``None`` when artifacts come from S3 or disk)."""
        self._check_prop_names(props)
        self._profile_unavailable: str | None = None
        self._features: tuple[EndpointFeature, ...] = features_for(props)
        problems = Problems(subject_of(type(self), scope, id))
        _check_prop_types(props, problems)
        problems.raise_if_any()

        self._check_requested_instance(props, problems)
        self._check_scalars(props, problems)
        problems.raise_if_any()

        self.model_profile: ModelProfile | None = self._load_profile(props)
        """Size and shape of the model (``None`` when neither given nor readable from the Hub or disk)."""
        self.task: str | None = source.task or (self.model_profile.task if self.model_profile else None)
        """The task (``HF_TASK``): given, or the model's pipeline tag on the Hub."""
        self.serving: Serving = self._resolve_serving(props, problems)
        """The serving stack that runs the model."""
        self._check_serving_hardware(props, problems)
        problems.raise_if_any()

        self.deployment_plan: DeploymentPlan | None = self._plan(props)
        """How the model fits the instance (memory math, TGI settings); ``None`` without a profile."""
        self.instance_type: str | None = self._resolve_instance_type(props)
        """The instance type the endpoint runs on (given or chosen); ``None`` for serverless inference."""
        self._check_volume(props, problems)
        self.physical_endpoint_name: str = props.get("endpoint_name") or Names.unique_resource_name(
            self, max_length=63, separator="-"
        )
        """The endpoint's name as known at synth time (``endpoint_name`` is the deploy-time attribute)."""
        self._check_name_is_free(props.get("endpoint_name"), problems)
        for feature in self._features:
            feature.validate(self, props, problems)
        problems.raise_if_any()

        facts = stack_facts(scope, child=self)
        image = props.get("image") or InferenceImage.for_serving(self.serving)
        rendered = image._render(self, instance_type=self.instance_type)
        serving_access = (rendered[1] if rendered else []) + self._logs_and_metrics(facts)
        self.role: iam.IRole = props.get("role") or self._create_role(serving_access)
        """The execution role SageMaker assumes."""
        if props.get("role") is not None:
            grant_statements(self.role, serving_access)
        if isinstance(self.role, iam.Role):  # a role of this app, ours or passed in: cdk-nag reads its policies
            self._acknowledge_wildcards(facts)
        self.grant_principal: iam.IPrincipal = self.role
        """The principal to grant permissions to (the execution role)."""

        image_config: ImageConfig = (
            rendered[0] if rendered else image.bind(self, self.role, instance_type=self.instance_type)
        )
        self.image_uri: str = image_config.image_uri
        """URI of the serving container image."""
        self._check_script_grammar(source.script, image_config, problems)
        model_data_config = source.model_data.bind(self, self.role) if source.model_data else None
        environment = self._environment(props, problems)
        self._check_neuron_input_shapes(environment, problems)
        problems.raise_if_any()

        # Only a grant made through jsii (artifacts, features, a role passed in, an image that only an
        # L2 grant can express) can have given the role a policy of its own that the model must wait for.
        may_have_policies = bool(model_data_config or self._features or props.get("role") or rendered is None)
        self.cfn_model = self._build_model(props, environment, model_data_config, may_have_policies)
        self.cfn_endpoint_config = self._build_endpoint_config(props)
        self.cfn_endpoint = self._build_endpoint(props)
        self._node.default_child = self.cfn_endpoint

        for feature in self._features:
            feature.apply(self, props)
        self._add_tags(props)
        for warning in source.script_warnings:
            Annotations.of(self).add_warning_v2("constructs-lib:script", warning)
        requirements = source.shipped_requirements() if props.get("network_isolation") is True else None
        if requirements is not None:
            # Warned, not refused: requirements already in the image, or wheels shipped in code/, still install.
            Annotations.of(self).add_warning_v2(
                "constructs-lib:isolated-requirements",
                f"{requirements}: the toolkit runs pip install -r on it at start-up, and with network_isolation the "
                "container has no network: the endpoint fails to start unless every requirement is already in the "
                "image or shipped in code/ (pip --no-index --find-links)",
            )

    @staticmethod
    def _check_script_grammar(script: Path | None, image: ImageConfig, problems: Problems) -> None:
        """The script was parsed with the synth's Python; the toolkit imports it with the image's."""
        if script is None or image.python_version is None or image.serving is not Serving.INFERENCE_TOOLKIT:
            return
        problem = script_grammar_problem(script, image.python_version)
        if problem is not None:
            problems.add_message(problem)

    # ----------------------------------------------------------------------------------- props
    def _check_prop_names(self, props: Mapping[str, Any]) -> None:
        unknown = sorted(set(props) - _known_props())
        if unknown:
            raise ConfigurationError(
                f"{type(self).__name__} '{self.node.path}': unknown prop(s) {', '.join(unknown)}; "
                f"allowed: {allowed_list(_known_props(), 100)}"
            )

    def _resolve_serving(self, props: Mapping[str, Any], problems: Problems) -> Serving:
        requested = props.get("serving", Serving.AUTO)
        if not isinstance(requested, Serving):
            problems.add("serving", requested, f"is not a Serving; allowed: {allowed_list(s.name for s in Serving)}")
            requested = Serving.AUTO
        image = props.get("image")
        image_serving = image.serving if image is not None else None
        custom_script = self._source.entry_point is not None
        if image_serving is not None and requested not in (Serving.AUTO, image_serving):
            problems.add("serving", requested.name, f"does not match the image, which runs {image_serving.name}")
        if (
            requested is Serving.AUTO
            and image_serving is None
            and not custom_script
            and self.task is None
            and self._profile_unavailable is not None
        ):
            # AUTO picks by task; guessing without it would make the template depend on whether
            # the lookup worked (TGI online, the toolkit offline).
            problems.add(
                "task",
                None,
                "is required when the model's profile cannot be read: serving=Serving.AUTO picks the serving "
                "stack from the task (TGI for 'text-generation', TEI for embeddings, the toolkit otherwise); "
                "pass task=... or serving=...",
            )
        architecture = self.model_profile.architecture if self.model_profile else None
        serving = image_serving or resolve_serving(
            requested, task=self.task, custom_script=custom_script, architecture=architecture
        )
        self._check_task_fits_architecture(serving, architecture, problems)
        if requested is Serving.AUTO and image_serving is None:
            self._note_embeddings_fallback(serving, architecture)
        # Only a task the user gave: a Hub pipeline tag (e.g. 'translation' on a decoder LLM) says
        # less about what TGI can serve than the model's architecture does.
        mismatch = serving_task_problem(serving.value, self._source.task)
        if mismatch:
            problems.add("serving" if image_serving is None else "image", serving.name, mismatch)
        if serving is Serving.INFERENCE_TOOLKIT and not self._source.script_loads_model:
            self._check_toolkit_task(problems)
        if custom_script and serving is not Serving.INFERENCE_TOOLKIT:
            problems.add(
                "serving",
                serving.name,
                "cannot run a custom inference script: only the inference toolkit (Serving.INFERENCE_TOOLKIT) "
                "loads code/inference.py",
            )
        return serving

    def _check_task_fits_architecture(self, serving: Serving, architecture: str | None, problems: Problems) -> None:
        """A task the user gave that the model's architecture cannot serve, and TEI on a family it does not load.

        Only a given task is held against the architecture: a Hub pipeline tag describes the model.
        """
        given = self._source.task
        if not self._source.script_loads_model:
            if (problem := task_architecture_problem(given, architecture)) is not None:
                problems.add("task", given, problem)
            elif (warning := untrained_head_warning(given, architecture)) is not None:
                Annotations.of(self).add_warning_v2("constructs-lib:task-architecture", warning)
        if serving is Serving.TEI and (tei_warning := tei_architecture_warning(architecture)) is not None:
            Annotations.of(self).add_warning_v2("constructs-lib:tei-architecture", tei_warning)

    def _note_embeddings_fallback(self, serving: Serving, architecture: str | None) -> None:
        """Say so when AUTO sent embeddings to the toolkit because TEI does not load the architecture."""
        if (
            serving is Serving.INFERENCE_TOOLKIT
            and self._source.entry_point is None
            and Serving(default_serving(self.task)) is Serving.TEI
        ):
            Annotations.of(self).add_info(
                f"Serving.AUTO serves {self.task!r} with the inference toolkit, not Text Embeddings Inference: TEI "
                f"does not load {architecture} models. The toolkit's feature-extraction pipeline returns one vector "
                "per token, not a pooled sentence embedding."
            )

    def _check_toolkit_task(self, problems: Problems) -> None:
        problem = toolkit_task_problem(self.task)
        if problem is None:
            return
        origin = "" if self._source.task else " (the model's pipeline tag on the Hub)"
        problems.add_message(f"task: {describe(self.task)}{origin} {problem}")

    def _check_scalars(self, props: Mapping[str, Any], problems: Problems) -> None:
        count = props.get("instance_count", 1)
        if not is_unresolved(count) and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            problems.add("instance_count", count, "must be a whole number of at least 1")
        for prop in ("startup_health_check_timeout", "model_data_download_timeout"):
            _check_timeout(prop, props.get(prop), problems)
        name = props.get("endpoint_name")
        if name is not None and not is_unresolved(name) and not _ENDPOINT_NAME.match(name):
            problems.add(
                "endpoint_name",
                name,
                "is not a valid endpoint name: 1-63 characters, letters, digits and hyphens, "
                "starting and ending with a letter or digit",
            )

    def _check_name_is_free(self, name: str | None, problems: Problems) -> None:
        """A name given twice in one app and environment: the second CreateEndpoint fails mid-deploy."""
        if name is None or is_unresolved(name):
            return
        stack = Stack.of(self)
        for other in self._node.root.node.find_all():
            if (
                other is not self
                and isinstance(other, EndpointBase)
                and getattr(other, "physical_endpoint_name", None) == name
                and _same_environment(Stack.of(other), stack)
            ):
                problems.add(
                    "endpoint_name",
                    name,
                    f"is also the name of {other.node.path}: endpoint names are unique per account and region",
                )
                return

    def _check_volume(self, props: Mapping[str, Any], problems: Problems) -> None:
        volume = props.get("volume_size_gb")
        if volume is None or is_unresolved(volume):
            return
        low, high = _VOLUME_RANGE
        if not isinstance(volume, int) or isinstance(volume, bool) or not low <= volume <= high:
            problems.add("volume_size_gb", volume, f"must be a whole number from {low} to {high}")
        spec = self.instance_spec
        if spec is not None and spec.local_nvme:
            problems.add(
                "volume_size_gb",
                volume,
                f"cannot be set on {spec.name}: its storage is local NVMe, and SageMaker rejects "
                "VolumeSizeInGB there; leave it unset or use an instance without local storage (e.g. ml.p3.*)",
            )

    def _check_requested_instance(self, props: Mapping[str, Any], problems: Problems) -> None:
        requested = props.get("instance_type")
        if requested is None:
            return
        problem = instance_type_problem(requested)
        if problem:
            problems.add("instance_type", requested, problem)
        elif props.get("serverless") is not None:
            problems.add(
                "instance_type", requested, "cannot be combined with serverless: serverless endpoints have no instances"
            )
        elif props.get("instance_selection") is not None:
            count = props.get("instance_count", 1)
            for problem in selection_conflicts(
                requested, props["instance_selection"], count if isinstance(count, int) else 1
            ):
                problems.add("instance_type", requested, problem)

    def _check_serving_hardware(self, props: Mapping[str, Any], problems: Problems) -> None:
        requested = props.get("instance_type")
        if (
            self.serving is Serving.TGI
            and requested
            and not is_unresolved(requested)  # a deploy-time instance type is taken to be a GPU one
            and processor_for(requested) is not Processor.GPU
        ):
            problems.add(
                "instance_type",
                requested,
                "cannot run TGI: the TGI images are GPU-only; use a GPU instance (ml.g5.*, ml.g6.*, ml.p4d.*, ...) "
                "or serving=Serving.INFERENCE_TOOLKIT",
            )
        profile = self.model_profile
        if profile is not None and (profile.gated or profile.private) and props.get("hf_token_secret") is None:
            kind = "gated" if profile.gated else "private"
            problems.add(
                "hf_token_secret",
                None,
                f"is required: {profile.model_id or 'the model'} is {kind} on the Hugging Face Hub, so the container "
                "needs a token to download it; store one in Secrets Manager and pass hf_token_secret=...",
            )

    def _load_profile(self, props: Mapping[str, Any]) -> ModelProfile | None:
        """The model profile: given, read from a local directory, or looked up on the Hub (cached).

        A failed lookup is an error only when the instance must be chosen; when ``instance_type``
        is given, the endpoint is still built and a warning says the fit was not checked.
        """
        explicit: ModelProfile | None = props.get("model_profile")
        if explicit is not None:
            return explicit
        source = self._source
        try:
            if source.local_directory is not None:
                return profile_from_directory(source.local_directory)
            if source.model_id is None or is_unresolved(source.model_id):
                return None
            return HubLookup().profile(source.model_id, source.revision)
        except ConfigurationError as error:
            if not self._can_build_without_profile(props, error):
                raise
            if source.local_directory is None:
                # Unlike a directory, a Hub lookup can fail today and work tomorrow.
                self._profile_unavailable = str(error)
            Annotations.of(self).add_warning_v2(
                "constructs-lib:profile-unavailable", f"The model's fit on the instance was not checked: {error}"
            )
            return None

    @staticmethod
    def _can_build_without_profile(props: Mapping[str, Any], error: ConfigurationError) -> bool:
        """Whether a failed profile lookup may be a warning: only when nothing needs the profile and
        the failure says nothing about whether the container can download the model."""
        if props.get("instance_type") is None and props.get("serverless") is None:
            return False  # the instance must be chosen from the profile
        if isinstance(error, HubRevisionNotFoundError):
            return False  # the container would fail to download it too
        if isinstance(error, (HubModelNotFoundError, HubAccessError)):
            # Not found, gated or private: only a token can let the container download it.
            return props.get("hf_token_secret") is not None
        return True

    def _plan(self, props: Mapping[str, Any]) -> DeploymentPlan | None:
        if props.get("serverless") is not None:
            return None
        requested: str | None = props.get("instance_type")
        if self.model_profile is None:
            if requested is None:
                Annotations.of(self).add_warning_v2(
                    "constructs-lib:default-instance",
                    f"instance_type defaults to {DEFAULT_INSTANCE_TYPE} without a check: the model's size is unknown "
                    "for artifacts in S3. Pass instance_type=... or model_profile=ModelProfile(...).",
                )
            return None
        options: SizingOptions = props.get("instance_selection") or SizingOptions()
        count = props.get("instance_count", 1)
        if isinstance(count, int) and count > options.min_instance_count:
            # Prices (and the price cap) are for every instance the endpoint runs.
            options = replace(options, min_instance_count=count)
        plan = plan_deployment(
            self.model_profile,
            serving=self.serving.value,
            instance_type=requested,
            options=options,
            custom_script=self._source.script_loads_model,
        )
        if self.serving is Serving.TGI and _INPUT_TOKENS in plan.environment:
            tgi_version = catalogued_tgi_version(props.get("image"))
            if tgi_reads_max_input_length(tgi_version):  # TGI 1.x: the plan says what the template will hold
                environment = {
                    (_LEGACY_INPUT_TOKENS if k == _INPUT_TOKENS else k): v for k, v in plan.environment.items()
                }
                plan = replace(plan, environment=environment)
        # What Annotations.of(self).add_info does, in one round trip instead of two.
        self._node.add_metadata(_INFO_METADATA, plan.summary)
        return plan

    def _resolve_instance_type(self, props: Mapping[str, Any]) -> str | None:
        if props.get("serverless") is not None:
            return None
        if self.deployment_plan is not None:
            return self.deployment_plan.instance_type
        requested: str | None = props.get("instance_type")
        return requested or DEFAULT_INSTANCE_TYPE

    @property
    def instance_spec(self) -> InstanceSpec | None:
        """The catalogued shape of the endpoint's instance type (``None`` for serverless)."""
        return instance_spec(self.instance_type) if self.instance_type else None

    @property
    def connections(self) -> ec2.Connections:
        """The security groups of the model containers (only with ``vpc``), e.g. to let them reach a
        database: ``db.connections.allow_default_port_from(endpoint.connections)``.

        :raises ConfigurationError: when the endpoint runs outside a VPC.
        """
        from .security import connections_of

        return connections_of(self)

    # ----------------------------------------------------------------------------- environment
    def _environment(self, props: Mapping[str, Any], problems: Problems) -> dict[str, str]:
        environment = serving_environment(self._source, self.serving, self.task)
        sizing = self._sizing_environment()
        tgi_version = catalogued_tgi_version(props.get("image")) if self.serving is Serving.TGI else None
        environment.update(sizing)
        for feature in self._features:
            environment.update(feature.environment(self, props))
        user = props.get("environment") or {}
        for key, value in user.items():
            owner = _PROP_OWNED_VARIABLES.get(key)
            if holds_hf_token(key, value):
                problems.add(
                    f"environment[{key!r}]",
                    "***",
                    "puts a Hugging Face token in plain text in the template; store it in Secrets Manager "
                    "and pass it with hf_token_secret",
                )
            elif owner and key in environment and environment[key] != value:
                problems.add(f"environment[{key!r}]", value, f"conflicts with the {owner} prop; set it there")
            elif name_problem := self._tgi_variable_problem(key, tgi_version, {**sizing, **user}):
                problems.add(f"environment[{key!r}]", value, name_problem)
            elif key == "HF_TASK" and (task_error := self._environment_task_problem(value)):
                problems.add(f"environment[{key!r}]", value, task_error)
            elif key in _TOOLKIT_INTEGER_SETTINGS and self.serving is Serving.INFERENCE_TOOLKIT:
                if not is_unresolved(value) and not _is_positive_integer_text(value):
                    problems.add(
                        f"environment[{key!r}]",
                        value,
                        f"must be a whole number above 0 ({_TOOLKIT_INTEGER_SETTINGS[key]}): the toolkit reads it "
                        "with int() when the container starts, and any other value stops the model server",
                    )
            elif not is_unresolved(value):
                self._check_sizing_override(key, value, sizing, problems)
        environment.update(user)
        _check_environment(environment, problems)
        return environment

    def _check_neuron_input_shapes(self, environment: Mapping[str, Any], problems: Problems) -> None:
        """On Inferentia the toolkit compiles the model at start-up, for fixed input shapes.

        It takes them from ``config.json`` (``neuron.static_batch_size``/``static_sequence_length``, in
        models exported with optimum-neuron) or from ``HF_OPTIMUM_SEQUENCE_LENGTH`` (and
        ``HF_OPTIMUM_BATCH_SIZE``, default 1), and raises ``ValueError`` at start-up without either.
        """
        spec = self.instance_spec
        if (
            self.serving is not Serving.INFERENCE_TOOLKIT
            or spec is None
            or spec.processor is not Processor.NEURONX
            or self._source.script_loads_model
        ):
            return
        for key in _NEURON_SHAPE_VARIABLES:
            value = environment.get(key)
            if value is not None and not is_unresolved(value) and not _is_positive_integer_text(value):
                problems.add(f"environment[{key!r}]", value, "must be a positive whole number, e.g. '128'")
        if "HF_OPTIMUM_SEQUENCE_LENGTH" in environment:
            return
        needed = (
            f"the inference toolkit compiles the model for {spec.name} at start-up and fails without input shapes: "
            "set environment HF_OPTIMUM_SEQUENCE_LENGTH (and HF_OPTIMUM_BATCH_SIZE, default 1), or serve a model "
            "exported with optimum-neuron, whose config.json carries them"
        )
        directory = self._source.local_directory
        if directory is not None:
            if not _has_neuron_static_shapes(directory / "config.json"):
                problems.add("model_data", str(directory), f"has no neuron input shapes in config.json; {needed}")
            return
        Annotations.of(self).add_warning_v2(
            "constructs-lib:neuron-input-shapes", f"Unless config.json has neuron input shapes, {needed}."
        )

    def _environment_task_problem(self, value: Any) -> str | None:
        """``HF_TASK`` as a variable (the SageMaker SDK's way) gets the ``task`` prop's checks."""
        if not isinstance(value, str) or is_unresolved(value) or self.serving is not Serving.INFERENCE_TOOLKIT:
            return None
        problem = task_problem(value)
        if problem is None and not self._source.script_loads_model:
            architecture = self.model_profile.architecture if self.model_profile else None
            problem = toolkit_task_problem(value) or task_architecture_problem(value, architecture)
            if problem is None and (warning := untrained_head_warning(value, architecture)) is not None:
                Annotations.of(self).add_warning_v2("constructs-lib:task-architecture", warning)
        return problem

    def _tgi_variable_problem(self, key: str, tgi_version: str | None, environment: Mapping[str, Any]) -> str | None:
        """Variables TGI's SageMaker entrypoint or launcher would ignore, overwrite or refuse."""
        if self.serving is not Serving.TGI:
            return None
        if key == "NUM_SHARD" and "SM_NUM_GPUS" in environment:
            return (
                f"is overwritten by the SageMaker entrypoint with SM_NUM_GPUS ({environment['SM_NUM_GPUS']}); "
                "TGI shards over SM_NUM_GPUS GPUs"
            )
        if key not in (_INPUT_TOKENS, _LEGACY_INPUT_TOKENS):
            return None
        fix = "set instance_selection=SizingOptions(max_input_tokens=...), which writes the name the image reads"
        if tgi_reads_max_input_length(tgi_version):
            if key == _INPUT_TOKENS:
                return f"is not read by TGI {tgi_version}: before 2.0 the variable is {_LEGACY_INPUT_TOKENS}; {fix}"
            return None
        if key == _LEGACY_INPUT_TOKENS and _INPUT_TOKENS in environment:
            consequence = (
                f"TGI {tgi_version} refuses to start with both"
                if tgi_version
                else f"TGI 2.0 and later refuse to start with both, and earlier versions ignore {_INPUT_TOKENS}"
            )
            return f"is the name TGI read before 2.0, and {_INPUT_TOKENS} is set as well: {consequence}; {fix}"
        return None

    def _sizing_environment(self) -> dict[str, str]:
        """The TGI settings the sizing decided; without a profile, at least the instance's GPU count."""
        if self.deployment_plan is not None:
            return dict(self.deployment_plan.environment)
        return tgi_gpu_environment(self.serving, self.instance_type)

    def _check_sizing_override(self, key: str, value: Any, sizing: Mapping[str, str], problems: Problems) -> None:
        """A TGI setting in ``environment`` must not contradict the memory math the instance was checked with.

        Without a plan (no profile) there is no memory math: the user's settings are all there is,
        and only an impossible GPU count is refused.
        """
        checked = self.deployment_plan is not None and bool(self.deployment_plan.environment)
        spec = self.instance_spec
        if key == "SM_NUM_GPUS" and checked and value != sizing.get(key):
            problems.add(
                f"environment[{key!r}]",
                value,
                f"conflicts with the instance: TGI shards over all {sizing.get(key)} GPUs of {self.instance_type}, "
                "and the memory check assumed that; choose an instance with fewer GPUs instead",
            )
        elif key == "SM_NUM_GPUS" and spec is not None:
            problem = gpu_count_problem(value, spec)
            if problem:
                problems.add(f"environment[{key!r}]", value, problem)
        elif key in _SIZING_VARIABLES and self.serving is Serving.TGI and checked and sizing.get(key) != value:
            option = _SIZING_VARIABLES[key]
            problems.add(
                f"environment[{key!r}]",
                value,
                f"bypasses the instance sizing, which budgets GPU memory for it; set "
                f"instance_selection=SizingOptions({option}=...) instead, so that the fit is checked with it",
            )

    # ------------------------------------------------------------------------------- resources
    def _log_group_arn(self, facts: StackFacts) -> str:
        return facts.arn("logs", f"log-group:{_LOG_GROUP_PREFIX}{self.physical_endpoint_name}")

    def _logs_and_metrics(self, facts: StackFacts) -> list[Statement]:
        """What the container needs besides the image and the model: its own log group and metrics."""
        log_group = self._log_group_arn(facts)
        return [
            allow(["logs:CreateLogGroup", "logs:DescribeLogStreams"], log_group),
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group}:log-stream:*"),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            allow(["cloudwatch:PutMetricData"], "*", {"StringEquals": {"cloudwatch:namespace": _METRICS_NAMESPACE}}),
        ]

    def _create_role(self, serving_access: list[Statement]) -> iam.Role:
        """The execution role, with what the container needs in one inline policy.

        Built as one policy document rather than grant by grant: a handful of jsii round trips
        instead of several per statement, which is most of an endpoint's synth time.
        """
        return iam.Role(
            self,
            "Role",
            assumed_by=_sagemaker_principal(),
            description=f"Execution role of the SageMaker endpoint {self._node.path}",
            inline_policies={"ServingAccess": policy_document(serving_access)},
        )

    def _acknowledge_wildcards(self, facts: StackFacts) -> None:
        """Acknowledge cdk-nag's IAM5 for the two wildcards the serving access needs, on the role."""
        name = self.physical_endpoint_name
        log_streams = (
            nag_name(facts, f"{self._log_group_arn(facts)}:log-stream:*")
            if is_unresolved(name)
            # The same rendering, with the stack's part resolved once for all its endpoints.
            else f"{nag_name(facts, facts.arn('logs', 'log-group:'))}{_LOG_GROUP_PREFIX}{name}:log-stream:*"
        )
        acknowledge_wildcards(
            self.role,
            [
                (
                    "*",
                    "Only actions without resource-level permissions use '*': ecr:GetAuthorizationToken, "
                    "cloudwatch:PutMetricData (namespace-scoped) and, with a VPC, the ec2:Describe* calls "
                    "SageMaker makes to attach the model to the VPC.",
                ),
                (log_streams, "SageMaker names the log streams of the endpoint's own log group at run time."),
            ],
        )

    def _build_model(
        self,
        props: Mapping[str, Any],
        environment: Mapping[str, str],
        model_data: ModelDataConfig | None,
        may_have_policies: bool,
    ) -> sagemaker.CfnModel:
        container = sagemaker.CfnModel.ContainerDefinitionProperty(
            image=self.image_uri,
            mode="SingleModel",
            environment=dict(environment),
            model_data_url=model_data.s3_uri if model_data and model_data.compressed else None,
            model_data_source=_uncompressed_source(model_data) if model_data and not model_data.compressed else None,
        )
        properties: dict[str, Any] = {"execution_role_arn": self.role.role_arn, "primary_container": container}
        for feature in self._features:
            merge_properties(properties, feature.model_properties(self, props), owner=type(feature).__name__)
        # No model_name: every property of a Model is create-only, so a fixed name would block updates.
        model = sagemaker.CfnModel(self, "Model", **properties)
        # SageMaker reads the artifacts and the image with the role while creating the model: the
        # role's policies must exist first (the role itself, with its inline policy, is already a
        # GetAtt dependency).
        if may_have_policies:
            for policy in self.role.node.find_all():
                if isinstance(policy, iam.CfnPolicy):
                    model.node.add_dependency(policy)
        return model

    def _build_endpoint_config(self, props: Mapping[str, Any]) -> sagemaker.CfnEndpointConfig:
        variant: dict[str, Any] = {
            "variant_name": VARIANT_NAME,
            "model_name": self.cfn_model.attr_model_name,
            "initial_variant_weight": 1.0,
        }
        if self.instance_type is not None:
            variant.update(
                instance_type=self.instance_type,
                initial_instance_count=props.get("instance_count", 1),
                container_startup_health_check_timeout_in_seconds=self._startup_timeout_seconds(props),
                model_data_download_timeout_in_seconds=_seconds(props.get("model_data_download_timeout")),
                volume_size_in_gb=props.get("volume_size_gb"),
            )
        for feature in self._features:
            merge_properties(variant, feature.variant_properties(self, props), owner=type(feature).__name__)
        properties: dict[str, Any] = {
            "production_variants": [sagemaker.CfnEndpointConfig.ProductionVariantProperty(**variant)]
        }
        for feature in self._features:
            merge_properties(properties, feature.config_properties(self, props), owner=type(feature).__name__)
        # No endpoint_config_name either: a new config replaces the old one and the endpoint
        # switches to it in place (blue/green).
        config = sagemaker.CfnEndpointConfig(self, "EndpointConfig", **properties)
        # The containers start with every permission the role will have, including grants that
        # features and users add after this point (data capture, async outputs, KMS, a bucket the
        # script reads), and lose none of them while the endpoint still runs: a dependency on the
        # role construct covers the policies it holds at synth time. The config, unlike the model,
        # does not reference the role, so the DependsOn is not redundant (cfn-lint W3005).
        config.node.add_dependency(self.role)
        return config

    def _startup_timeout_seconds(self, props: Mapping[str, Any]) -> int | None:
        given = props.get("startup_health_check_timeout")
        if given is not None:
            return _seconds(given)
        if self.deployment_plan is not None:
            # Large models need longer than SageMaker's default to download and load.
            return self.deployment_plan.startup_health_check_timeout_seconds
        if self.serving is Serving.TGI:
            return TGI_MIN_STARTUP_TIMEOUT_SECONDS  # the model's size is unknown: at least what any LLM needs
        return None

    def _build_endpoint(self, props: Mapping[str, Any]) -> sagemaker.CfnEndpoint:
        properties: dict[str, Any] = {
            "endpoint_config_name": self.cfn_endpoint_config.attr_endpoint_config_name,
            "endpoint_name": self.physical_endpoint_name,
        }
        for feature in self._features:
            merge_properties(properties, feature.endpoint_properties(self, props), owner=type(feature).__name__)
        return sagemaker.CfnEndpoint(self, "Endpoint", **properties)

    def _add_tags(self, props: Mapping[str, Any]) -> None:
        tags = dict(props.get("tags") or {})
        if self._source.model_id and not is_unresolved(self._source.model_id):
            tags.setdefault(MODEL_ID_TAG, safe_tag_value(self._source.model_id))
        for key, value in tags.items():
            Tags.of(self).add(key, value)

    @property
    def endpoint_name(self) -> str:
        """Name of the endpoint (a token that resolves at deploy time)."""
        return self._cached_attribute("endpoint_name", lambda: self.cfn_endpoint.attr_endpoint_name)

    @property
    def endpoint_arn(self) -> str:
        """ARN of the endpoint."""
        return self._cached_attribute("endpoint_arn", lambda: self.cfn_endpoint.ref)

    def _cached_attribute(self, name: str, read: Callable[[], str]) -> str:
        # Read from jsii on first use only: most endpoints never ask.
        key = f"_constructs_lib_{name}"
        if key not in self.__dict__:
            self.__dict__[key] = read()
        value: str = self.__dict__[key]
        return value

    # ---------------------------------------------------------------------------------- grants
    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke this endpoint (``sagemaker:InvokeEndpoint``)."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[self.endpoint_arn]
        )
        for feature in self._features:
            feature.grant_invoke(self, grantee)
        return grant

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the execution role's policy (no effect on an immutable imported role)."""
        self.role.add_to_principal_policy(statement)


# Environment variables the library derives from a dedicated prop: a different value in
# `environment` is a contradiction the user must resolve, not something to pick silently.
_PROP_OWNED_VARIABLES = {
    "HF_MODEL_ID": "model_id",
    "HF_TASK": "task",
    "HF_MODEL_REVISION": "revision",
    "SAGEMAKER_PROGRAM": "entry_point",
    "SAGEMAKER_SUBMIT_DIRECTORY": "code_dir",
}


def _same_environment(first: Stack, second: Stack) -> bool:
    """Whether two stacks certainly deploy to one account and region: the same stack, or both
    environments concrete and equal (agnostic stacks of one app often go to different accounts)."""
    if first is second:
        return True
    pairs = ((first.account, second.account), (first.region, second.region))
    return all(a == b and not is_unresolved(a) for a, b in pairs)


# Server settings the inference toolkit parses as integers at start-up (sagemaker_inference.environment), and
# what each one counts.
_TOOLKIT_INTEGER_SETTINGS = {
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "seconds",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "seconds",
    "SAGEMAKER_STARTUP_TIMEOUT": "seconds",
    "SAGEMAKER_MAX_PAYLOAD_IN_MB": "MB",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "worker processes",
}

# The input shapes the toolkit compiles an uncompiled model for on Inferentia (optimum_utils.get_input_shapes).
_NEURON_SHAPE_VARIABLES = ("HF_OPTIMUM_SEQUENCE_LENGTH", "HF_OPTIMUM_BATCH_SIZE")


def _is_positive_integer_text(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0


def _has_neuron_static_shapes(config_path: Path) -> bool:
    """Whether ``config.json`` is an optimum-neuron export with its compiled input shapes."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    neuron = config.get("neuron") if isinstance(config, dict) else None
    return isinstance(neuron, dict) and bool(neuron.get("static_batch_size") and neuron.get("static_sequence_length"))


# TGI's input limit: MAX_INPUT_LENGTH before TGI 2.0, MAX_INPUT_TOKENS since (2.0 refuses to start with both).
_INPUT_TOKENS = "MAX_INPUT_TOKENS"
_LEGACY_INPUT_TOKENS = "MAX_INPUT_LENGTH"

# TGI settings the instance sizing computes from the memory left after the weights, and the
# SizingOptions field that sets each one so that the fit check takes it into account.
_SIZING_VARIABLES = {
    _INPUT_TOKENS: "max_input_tokens",
    _LEGACY_INPUT_TOKENS: "max_input_tokens",
    "MAX_TOTAL_TOKENS": "max_total_tokens",
    "MAX_BATCH_PREFILL_TOKENS": "max_batch_prefill_tokens",
    "MAX_BATCH_TOTAL_TOKENS": "max_batch_total_tokens",
    "HF_MODEL_QUANTIZE": "quantize",
    "QUANTIZE": "quantize",  # TGI's own name, which the entrypoint sets from HF_MODEL_QUANTIZE
}


# Props whose type Python does not enforce at run time: a wrong type must be a clear error, not a
# traceback from deep inside jsii.
_PROP_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "instance_type": (str, "a string such as 'ml.g5.xlarge'"),
    "endpoint_name": (str, "a string"),
    "environment": (Mapping, "a mapping of variable names to string values"),
    "image": (InferenceImage, "an InferenceImage, e.g. InferenceImage.from_uri(uri)"),
    "model_profile": (ModelProfile, "a ModelProfile(parameters=..., dtype=...)"),
    "instance_selection": (SizingOptions, "a SizingOptions(...)"),
}


def _check_prop_types(props: Mapping[str, Any], problems: Problems) -> None:
    for prop, (expected, description) in _PROP_TYPES.items():
        value = props.get(prop)
        if value is not None and not isinstance(value, expected):
            problems.add(prop, value, f"must be {description}")
    role = props.get("role")
    # jsii interfaces cannot be used with isinstance; a role is what has an ARN and a principal.
    if role is not None and not (hasattr(role, "role_arn") and hasattr(role, "grant_principal")):
        problems.add("role", role, "must be an iam.IRole, e.g. iam.Role.from_role_arn(scope, 'Role', arn)")


def _check_timeout(prop: str, value: Duration | None, problems: Problems) -> None:
    if value is None:
        return
    if not isinstance(value, Duration):
        problems.add(prop, value, "must be a Duration, e.g. Duration.minutes(10)")
        return
    if value.is_unresolved():
        return
    seconds = duration_seconds(value)
    low, high = _TIMEOUT_RANGE
    if seconds != int(seconds):
        problems.add(prop, f"{seconds:.10g} seconds", f"must be whole seconds from {low} to {high}")
    elif not low <= seconds <= high:
        problems.add(prop, f"{seconds:g} seconds", f"is outside the allowed range {low}..{high} seconds")


def _check_environment(environment: Mapping[str, str], problems: Problems) -> None:
    if len(environment) > _MAX_ENV_ENTRIES:
        problems.add(
            "environment",
            f"{len(environment)} entries",
            f"is too many: SageMaker allows at most {_MAX_ENV_ENTRIES} environment variables "
            "(including the ones this library sets)",
        )
    for key, value in environment.items():
        if is_unresolved(key) or not isinstance(key, str) or not _ENV_KEY.match(key):
            problems.add(
                "environment", key, "is not a valid variable name (letters, digits, '_', not starting with a digit)"
            )
            continue
        if len(key.encode()) > _MAX_ENV_BYTES:
            problems.add("environment", key[:40] + "...", f"is a key over {_MAX_ENV_BYTES} bytes")
        if not isinstance(value, str):
            problems.add(f"environment[{key!r}]", value, "must be a string")
        elif not is_unresolved(value) and len(value.encode()) > _MAX_ENV_BYTES:
            problems.add(f"environment[{key!r}]", value[:40] + "...", f"is a value over {_MAX_ENV_BYTES} bytes")


def _seconds(value: Duration | None) -> int | None:
    return None if value is None else int(value.to_seconds())


def _sagemaker_principal() -> iam.ServicePrincipal:
    """The service principal of every execution role, created once per process (it holds no state)."""
    global _SAGEMAKER_PRINCIPAL
    if _SAGEMAKER_PRINCIPAL is None:
        _SAGEMAKER_PRINCIPAL = iam.ServicePrincipal("sagemaker.amazonaws.com")
    return _SAGEMAKER_PRINCIPAL


_SAGEMAKER_PRINCIPAL: iam.ServicePrincipal | None = None
_INFO_METADATA = "aws:cdk:info"  # cloud_assembly_schema.ArtifactMetadataEntryType.INFO
_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"  # where the container's own metrics go


def _uncompressed_source(model_data: ModelDataConfig) -> sagemaker.CfnModel.ModelDataSourceProperty:
    return sagemaker.CfnModel.ModelDataSourceProperty(
        s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
            s3_uri=model_data.s3_uri, s3_data_type="S3Prefix", compression_type="None"
        )
    )
