"""The props of the endpoint constructs (``EndpointProps``) and where a model comes from (``ModelSource``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from aws_cdk import Annotations, Duration
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ..images.base import InferenceImage
from ..model.profile import ModelProfile
from ..model_data.inspect import ArchiveLayoutProblem
from ..model_data.sources import ModelData
from ..serving.base import Serving, ServingStack
from ..sizing.options import SizingOptions

if TYPE_CHECKING:
    # Types of props only: importing these modules (and registering them with jsii) is left to
    # the endpoints that use them.
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_secretsmanager as secretsmanager

    from ..features.async_inference import AsyncInference
    from ..features.autoscaling.settings import AutoScaling
    from ..features.data_capture import DataCapture
    from ..features.deployment.guardrails import DeploymentGuardrails
    from ..features.observability.alarms import EndpointAlarms
    from ..features.serverless import ServerlessInference
    from ..features.variants import ModelVariant

DEFAULT_INSTANCE_TYPE = "ml.g5.xlarge"
"""Instance used when ``instance_type`` is omitted and no model profile is available."""


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
    serving: Serving | ServingStack
    """Which serving stack runs the model. ``AUTO`` picks llama.cpp for GGUF models (and for
    ``text-generation`` on CPU instances), vLLM for ``text-generation`` and ``image-text-to-text`` on GPU
    instances (vLLM on Neuron on Inferentia and Trainium), TEI for ``feature-extraction`` and
    ``sentence-similarity``, and the inference toolkit otherwise (and for every custom script). SGLang runs
    when asked for; so does TGI, retired upstream. A ``ServingStack`` of your own may be given too.

    :default: Serving.AUTO
    """
    engine_args: Mapping[str, str | int | float | bool] | None
    """Server flags, by name (``{"enable_prefix_caching": True, "max_num_seqs": 64}``), for the LLM servers:
    vLLM reads each as ``SM_VLLM_<NAME>`` (``SM_ON_<NAME>`` on Inferentia and Trainium), SGLang as
    ``SM_SGLANG_<NAME>``, llama.cpp as ``SM_LLAMACPP_<NAME>``, each written the way its image reads it (booleans
    included). Flags that the sizing depends on (tensor parallel sizes, the context length, the memory share,
    ``dtype``, ``quantization``) are taken into account and checked against the instance; the model, the port
    and the revision belong to the library.

    :default: - only the flags the sizing decides (e.g. ``tensor_parallel_size``, ``max_model_len``)
    """
    gguf_file: str | None
    """The GGUF file llama.cpp serves (a quantization), by its path in the Hub repository, directory or archive,
    e.g. ``"qwen2.5-7b-instruct-q4_k_m.gguf"``; for a split model, its first file (``...-00001-of-00003.gguf``).
    Required when the model holds several GGUF models, and for artifacts in S3 (whose files are not read).
    Given, ``Serving.AUTO`` serves the model with llama.cpp.

    :default: - the model's only GGUF model
    """
    inference_ami_version: str | None
    """The host AMI of the production variant (``InferenceAmiVersion``), which decides the NVIDIA driver,
    e.g. ``al2023-ami-sagemaker-inference-gpu-4-1``. It must run the image's CUDA on the instance's
    processor.

    :default: - what the image needs: ``al2023-ami-sagemaker-inference-gpu-4-1`` (driver 580) for CUDA 13
      images; SageMaker's default host for the others
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
    prices, the context and concurrency to size for, TGI token limits, quantization.

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


def warn_archive_layout(scope: IConstruct, layout: ArchiveLayoutProblem, note: str) -> None:
    """Warn that the model's archive or directory puts no files at ``/opt/ml/model``, where ``note`` says why that
    may still work."""
    Annotations.of(scope).add_warning_v2("constructs-lib:archive-layout", layout.message() + note)
