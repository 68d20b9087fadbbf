"""Inference container images: Hugging Face DLCs of each serving stack, and custom ECR images.

``InferenceImage`` follows the ``ContainerImage`` pattern of aws-sagemaker-alpha: static factories
return private subclasses, and the owning construct calls :meth:`InferenceImage.bind`, which picks
the image for the instance's processor, renders the URI for the stack's region and grants pull on
that one repository. Which catalogued image a serving stack runs, and how its tag follows the
instance, is the stack's own knowledge (``constructs_lib.serving``).
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Annotations
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._core.errors import ConfigurationError, Problems, describe
from .._core.iam import Statement, grant_statements
from .._core.stack_facts import stack_facts
from .._core.tokens import is_unresolved
from ..catalogue.instances import Processor, processor_for
from ..serving.base import Serving, ServingStack
from ..serving.facts import ImageRequest
from ..serving.registry import stack_of
from .ecr_uri import DIGEST, TAG, EcrUri, parse_ecr_uri
from .regions import image_location, pull_statements, repository_arn

if TYPE_CHECKING:
    from aws_cdk import aws_ecr as ecr

    from ..catalogue import dlc


@dataclass(frozen=True)
class ImageConfig:
    """What :meth:`InferenceImage.bind` hands back to the model construct."""

    image_uri: str
    """Image URI: a literal when the stack's region is concrete, else a token built with
    ``Fn::FindInMap`` (account), ``AWS::Region`` and ``AWS::URLSuffix``."""
    repository_name: str
    """ECR repository name, e.g. ``huggingface-pytorch-inference``."""
    repository_arn: str
    """ARN of the repository that pull access was granted on."""
    serving: Serving | None
    """The serving stack the image runs; ``None`` when unknown (custom images)."""
    python_version: tuple[int, int] | None = None
    """The Python that runs in the image (from the DLC tag, e.g. ``py312`` is ``(3, 12)``).

    :default: - unknown (custom images, and images without Python)
    """
    cuda_version: str | None = None
    """The CUDA the image is built for, e.g. ``"13.0"``.

    :default: - none or unknown (CPU and Neuron images, custom images)
    """
    transformers_version: str | None = None
    """The transformers version in the image.

    :default: - unknown (custom images, and images whose tag names none)
    """


@dataclass(frozen=True)
class ImageFacts:
    """What an image is known to run before it is rendered for a region: what the endpoint checks it against."""

    version: str | None = None
    """The catalogued version of its serving stack (``None``: a custom image)."""
    cuda_version: str | None = None
    """The CUDA it is built for (``None``: none, or unknown)."""
    transformers_version: str | None = None
    """The transformers version it carries (``None``: unknown)."""


@dataclass(frozen=True)
class ProcessorMismatch:
    """An image built for another processor than the instance's (see :meth:`InferenceImage.processor_mismatch`)."""

    message: str
    """What is wrong and what to use instead, naming the image and the instance."""
    fatal: bool
    """Whether the container cannot run there (an error) or only wastes the instance (a warning)."""


@dataclass(frozen=True)
class RenderedImage:
    """An image rendered for a stack, and the statements that let a role pull it, granted to nobody yet."""

    config: ImageConfig
    pull: list[Statement]


def loads_from_model_dir(image: object) -> bool:
    """Whether a model with ``image`` (``None``: the default image) is known to load from ``/opt/ml/model``.

    Every image of a known serving stack does; where a custom image (``serving`` unknown) looks is
    its own business. ``image`` is not type-checked here: props are checked later, with the others.
    """
    return image is None or getattr(image, "serving_stack", None) is not None


class InferenceImage(abc.ABC):
    """The container image a SageMaker model runs.

    Create one with a static factory (:meth:`huggingface`, :meth:`vllm`, :meth:`sglang`, :meth:`llamacpp`,
    :meth:`tgi`, :meth:`tei`, :meth:`for_serving`, :meth:`from_uri`, :meth:`from_ecr_repository`); the model
    construct calls :meth:`bind`.
    """

    def __init__(self, stack: ServingStack | None) -> None:
        self._stack = stack

    @property
    def serving(self) -> Serving | None:
        """The serving stack this image runs; ``None`` when unknown (custom images)."""
        return self._stack.serving if self._stack is not None else None

    @property
    def serving_stack(self) -> ServingStack | None:
        """The serving stack this image runs, with its container contract; ``None`` when unknown."""
        return self._stack

    @property
    def catalogue_version(self) -> str | None:
        """The catalogued version of the image where its stack's environment depends on it (``None``: unknown)."""
        return None

    def facts_for(self, processor: Processor) -> ImageFacts:
        """What the image runs on instances of ``processor``, as far as it is known before rendering."""
        return ImageFacts(version=self.catalogue_version)

    def processor_mismatch(self, instance_type: str | None) -> ProcessorMismatch | None:
        """Whether the image is built for another processor than ``instance_type``'s (``None``: serverless);
        ``None`` when it fits or cannot be told. Catalogued images follow the instance by construction."""
        return None

    def _render(self, scope: Construct, *, instance_type: str | None) -> RenderedImage | None:
        """The image for ``scope``'s stack and its pull permissions as JSON statements, granted to nobody.

        Lets an endpoint put them into its role's policy in one piece. ``None`` for images whose
        permissions only an L2 grant expresses: :meth:`bind` grants those.
        """
        return None

    @abc.abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable, *, instance_type: str | None) -> ImageConfig:
        """Render the image for ``scope``'s stack and grant ``grantee`` pull access to it.

        Grants ``ecr:BatchGetImage``, ``ecr:GetDownloadUrlForLayer`` and
        ``ecr:BatchCheckLayerAvailability`` on the image's repository only, plus
        ``ecr:GetAuthorizationToken`` (which supports no resource scoping) on ``*``.

        :param scope: a construct in the stack that uses the image.
        :param grantee: the principal that pulls the image (the model's execution role).
        :param instance_type: the hosting instance type; ``None`` means serverless (CPU images).
        :raises ConfigurationError: when no catalogued image fits the instance's processor or the
            stack's region.
        """

    @staticmethod
    def huggingface(*, transformers_version: str | None = None, pytorch_version: str | None = None) -> InferenceImage:
        """The Hugging Face inference toolkit DLC (``huggingface-pytorch-inference``).

        On Inferentia2 (``ml.inf2.*``) instances the ``huggingface-pytorch-inference-neuronx``
        image of the same versions is used. Short forms the SageMaker SDK accepts (``"4.51"``,
        ``"2.6"``) work, with the SDK's semantics.

        :param transformers_version: transformers version, e.g. ``"4.51.3"``.
        :default transformers_version: the newest catalogued version for the instance's processor.
        :param pytorch_version: PyTorch version paired with it, e.g. ``"2.6.0"``.
        :default pytorch_version: the newest PyTorch version catalogued for ``transformers_version``.
        :raises ConfigurationError: when a version is not catalogued, or the pair does not exist.
        """
        request = ImageRequest(version=transformers_version, base_version=pytorch_version)
        return _catalogued("InferenceImage.huggingface", stack_of(Serving.INFERENCE_TOOLKIT), request)

    @staticmethod
    def tgi(version: str | None = None) -> InferenceImage:
        """The Text Generation Inference DLC (``huggingface-pytorch-tgi-inference``), GPU only.

        TGI is in maintenance mode upstream since 2025-12: endpoints that use it get the
        ``constructs-lib:tgi-retired`` warning; :meth:`vllm` is its successor.

        :param version: TGI version, e.g. ``"3.3.6"`` (SDK short forms such as ``"3.3"`` work).
        :default version: the newest catalogued TGI version.
        :raises ConfigurationError: when the version is not catalogued.
        """
        return _catalogued("InferenceImage.tgi", stack_of(Serving.TGI), ImageRequest(version=version))

    @staticmethod
    def vllm(version: str | None = None) -> InferenceImage:
        """vLLM: the Hugging Face vLLM DLC (``huggingface-vllm``) on GPU instances, and the Hugging Face vLLM Neuron
        DLC (``huggingface-vllm-inference-neuronx``) on Inferentia2 and Trainium; the instance decides which.

        GPU images from 0.21 on are built for CUDA 13.0, which needs the driver-580 host AMI: the endpoint sets
        ``al2023-ami-sagemaker-inference-gpu-4-1`` unless ``inference_ami_version`` says otherwise. The Neuron
        image runs on ``al2-ami-sagemaker-inference-neuron-2``.

        :param version: on GPUs a vLLM version, 0.14.0 to 0.29.0 (SDK short forms such as ``"0.29"`` work); on
            Inferentia and Trainium an optimum-neuron version, which is how the Neuron image is versioned: 0.4.1
            (vLLM 0.10.2), 0.4.2 and 0.4.4 (vLLM 0.11.0, Neuron SDK 2.26).
        :default version: the newest catalogued version for the instance's processor.
        :raises ConfigurationError: when the version is catalogued for neither.
        """
        return _catalogued("InferenceImage.vllm", stack_of(Serving.VLLM), ImageRequest(version=version))

    @staticmethod
    def sglang(version: str | None = None) -> InferenceImage:
        """The Hugging Face SGLang DLC (``huggingface-sglang``), GPU only.

        :param version: SGLang version, e.g. ``"0.5.8"``.
        :default version: the newest catalogued SGLang version.
        :raises ConfigurationError: when the version is not catalogued.
        """
        return _catalogued("InferenceImage.sglang", stack_of(Serving.SGLANG), ImageRequest(version=version))

    @staticmethod
    def llamacpp(version: str | None = None) -> InferenceImage:
        """The Hugging Face llama.cpp DLC (``huggingface-llamacpp``), for GGUF models: a CPU and a GPU tag, which
        follows the instance (the GPU one is built for CUDA 13.0).

        :param version: llama.cpp build, e.g. ``"b9522"``.
        :default version: the newest catalogued build.
        :raises ConfigurationError: when the version is not catalogued.
        """
        return _catalogued("InferenceImage.llamacpp", stack_of(Serving.LLAMACPP), ImageRequest(version=version))

    @staticmethod
    def tei(version: str | None = None) -> InferenceImage:
        """The Text Embeddings Inference DLC: repository ``tei`` on GPU, ``tei-cpu`` on CPU.

        :param version: TEI version, e.g. ``"1.8.2"`` (SDK short forms such as ``"1.8"`` work).
        :default version: the newest catalogued TEI version.
        :raises ConfigurationError: when the version is not catalogued.
        """
        return _catalogued("InferenceImage.tei", stack_of(Serving.TEI), ImageRequest(version=version))

    @staticmethod
    def for_serving(serving: Serving | ServingStack) -> InferenceImage:
        """The default (newest catalogued) image of a resolved serving stack.

        :param serving: a concrete serving stack; resolve :attr:`Serving.AUTO` first with
            :func:`resolve_serving`.
        :raises ConfigurationError: for :attr:`Serving.AUTO`.
        """
        try:
            stack = stack_of(serving)
        except ConfigurationError as error:
            raise ConfigurationError(f"InferenceImage.for_serving: {error}") from None
        return _DlcImage(stack, ImageRequest())

    @staticmethod
    def from_uri(uri: str, *, serving: Serving | ServingStack | None = None) -> InferenceImage:
        """Any image in an ECR repository, by URI.

        The URI must look like ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:...]``;
        pull access is granted on that repository only. A URI with CDK tokens in place of the
        account, region, URL suffix, repository or tag is accepted when its shape can still be read;
        for an opaque token (a parameter, an import) use :meth:`from_ecr_repository`.

        :param uri: the image URI.
        :param serving: the serving stack the image runs, when it is one of the known ones.
        :default serving: unknown (``None``).
        :raises ConfigurationError: when the URI is not an ECR image URI.
        """
        return _UriImage(parse_ecr_uri(uri), _stack_or_none(serving))

    @staticmethod
    def from_ecr_repository(
        repository: ecr.IRepository, tag: str = "latest", *, serving: Serving | ServingStack | None = None
    ) -> InferenceImage:
        """An image in an ECR repository construct; pull access is granted with ``repository.grant_pull``.

        :param repository: the repository (created in the app or imported).
        :param tag: image tag, or an image digest ``sha256:<64 hex digits>``.
        :default tag: ``"latest"``
        :param serving: the serving stack the image runs, when it is one of the known ones.
        :default serving: unknown (``None``).
        :raises ConfigurationError: when the tag is not a valid image tag or digest.
        """
        if not is_unresolved(tag) and not (TAG.fullmatch(tag) or DIGEST.fullmatch(tag)):
            raise ConfigurationError(
                f"InferenceImage.from_ecr_repository: tag: {describe(tag)} is not an image tag "
                "(1-128 of A-Z a-z 0-9 _ . -, not starting with . or -) or digest (sha256:<64 hex digits>)"
            )
        return _RepositoryImage(repository, tag, _stack_or_none(serving))


_TAG_PROCESSOR = re.compile(r"(?:^|-)(?P<processor>gpu|cpu|neuronx)(?:-|$)")
"""The processor part of a Deep Learning Container tag (``...-gpu-py312-...``, ``...-neuronx-py310-...``)."""
_NEURON_FAMILIES = ("inf", "trn")
"""Instance families that run Neuron (``neuronx``) images: Inferentia and Trainium."""
_TAG_CUDA = re.compile(r"(?:^|-)cu(?P<major>1[0-9])(?P<minor>[0-9])(?:-|$)")
_TAG_TRANSFORMERS = re.compile(r"(?:^|-)transformers([0-9]+\.[0-9]+(?:\.[0-9]+)?)(?:-|$)")


def catalogued_image(stack: ServingStack, request: ImageRequest) -> InferenceImage:
    """The catalogued image of ``stack`` that ``request`` names (an endpoint's default image)."""
    return _DlcImage(stack, request)


def _catalogued(subject: str, stack: ServingStack, request: ImageRequest) -> InferenceImage:
    problems = Problems(subject)
    stack.check_image_request(request, problems)
    problems.raise_if_any()
    return _DlcImage(stack, request)


def check_image_processor(
    scope: Construct, image: InferenceImage, instance_type: str | None, problems: Problems, *, prefix: str = ""
) -> None:
    """An image built for another processor than the instance's: a problem when it cannot run there, a
    ``constructs-lib:image-processor`` warning when it only leaves the accelerators idle.

    :param prefix: what the messages' ``image`` property is under (``variants['b'].``).
    :default prefix: nothing
    """
    mismatch = image.processor_mismatch(instance_type)
    if mismatch is None:
        return
    if mismatch.fatal:
        problems.add_message(prefix + mismatch.message)
    else:
        Annotations.of(scope).add_warning_v2("constructs-lib:image-processor", prefix + mismatch.message)


def _stack_or_none(serving: Serving | ServingStack | None) -> ServingStack | None:
    return None if serving is None else stack_of(serving)


def _bind_rendered(rendered: RenderedImage, grantee: iam.IGrantable) -> ImageConfig:
    grant_statements(grantee, rendered.pull)
    return rendered.config


def _describe_instance(instance_type: str | None) -> str:
    return "None (serverless, CPU)" if instance_type is None else describe(instance_type)


class _DlcImage(InferenceImage):
    """A catalogued DLC of a serving stack: one repository and tag per processor, accounts per region."""

    _stack: ServingStack

    def __init__(self, stack: ServingStack, request: ImageRequest) -> None:
        super().__init__(stack)
        self._request = request
        self._resolved: dict[Processor, dlc.ResolvedImage] = {}

    def _resolve(self, processor: Processor, where: str) -> dlc.ResolvedImage:
        """The catalogued image for ``processor``, resolved once (an endpoint asks before and while rendering)."""
        image = self._resolved.get(processor)
        if image is None:
            image = self._resolved[processor] = self._stack.resolve_image(self._request, processor, where)
        return image

    @property
    def catalogue_version(self) -> str | None:
        return self._stack.image_version(self._request)

    def facts_for(self, processor: Processor) -> ImageFacts:
        try:
            image = self._resolve(processor, f"a {processor.value} instance")
        except ConfigurationError:
            return ImageFacts(version=self.catalogue_version)  # no such image: binding it says why
        return ImageFacts(self.catalogue_version, image.cuda_version, image.transformers_version)

    def _processor(self, instance_type: str | None) -> Processor:
        if is_unresolved(instance_type):
            assumed = self._stack.processor_for_token()
            if assumed is not None:
                return assumed
            raise ConfigurationError(
                f"instance_type: {describe(instance_type)} is a deploy-time value, but the "
                f"{self._stack.key} image depends on the instance's processor "
                "(gpu/cpu/neuronx); use a concrete instance type or InferenceImage.from_uri"
            )
        return processor_for(instance_type)

    def bind(self, scope: Construct, grantee: iam.IGrantable, *, instance_type: str | None) -> ImageConfig:
        return _bind_rendered(self._render(scope, instance_type=instance_type), grantee)

    def _render(self, scope: Construct, *, instance_type: str | None) -> RenderedImage:
        processor = self._processor(instance_type)
        image = self._resolve(processor, _describe_instance(instance_type))
        uri, arn = image_location(stack_facts(scope), image)
        config = ImageConfig(
            image_uri=uri,
            repository_name=image.repository,
            repository_arn=arn,
            serving=self.serving,
            python_version=image.python_version,
            cuda_version=image.cuda_version,
            transformers_version=image.transformers_version,
        )
        return RenderedImage(config, pull_statements(arn))


class _UriImage(InferenceImage):
    def __init__(self, uri: EcrUri, stack: ServingStack | None) -> None:
        super().__init__(stack)
        self._uri = uri

    def facts_for(self, processor: Processor) -> ImageFacts:
        """What a DLC-style tag says: ``-cu130-`` is CUDA 13.0, ``transformers5.5.3`` the transformers version."""
        tag = self._uri.tag if isinstance(self._uri.tag, str) and not is_unresolved(self._uri.tag) else ""
        cuda = _TAG_CUDA.search(tag)
        transformers = _TAG_TRANSFORMERS.search(tag)
        return ImageFacts(
            cuda_version=f"{cuda['major']}.{cuda['minor']}" if cuda else None,
            transformers_version=transformers[1] if transformers else None,
        )

    def processor_mismatch(self, instance_type: str | None) -> ProcessorMismatch | None:
        """A DLC-style tag's processor against the instance's: ``-gpu-`` off a GPU instance and ``neuronx`` off
        Inferentia and Trainium cannot run; ``-cpu-`` on an accelerated instance runs but leaves it idle."""
        tag = self._uri.tag
        if not isinstance(tag, str) or is_unresolved(tag) or is_unresolved(instance_type):
            return None
        found = _TAG_PROCESSOR.search(tag)
        if found is None:
            return None
        built_for = found["processor"]
        family = instance_type.split(".")[1] if instance_type and instance_type.count(".") >= 2 else ""
        neuron = family.startswith(_NEURON_FAMILIES)
        on_gpu = not neuron and processor_for(instance_type) is Processor.GPU
        where = f"instance_type {instance_type!r}" if instance_type else "a serverless endpoint (CPU only)"
        image = f"image: {describe(self._uri.uri)}"
        if built_for == "gpu" and not on_gpu:
            return ProcessorMismatch(
                f"{image} is a GPU image (its tag says -gpu-), and {where} has no NVIDIA GPU, so the container "
                "cannot start; use the image's -cpu- tag, or a GPU instance (ml.g*/ml.p*)",
                fatal=True,
            )
        if built_for == "neuronx" and not neuron:
            return ProcessorMismatch(
                f"{image} is a Neuron image (its tag says neuronx), which runs only on Inferentia and Trainium, not "
                f"on {where}; use an ml.inf2.* or ml.trn*.* instance, or a -gpu- or -cpu- image",
                fatal=True,
            )
        if built_for == "cpu" and (on_gpu or neuron):
            return ProcessorMismatch(
                f"{image} is a CPU image (its tag says -cpu-) on {where}: it runs, but never uses the "
                "instance's accelerators, which you pay for; use the image's -gpu- tag (or neuronx on "
                "Inferentia), or a CPU instance",
                fatal=False,
            )
        return None

    def bind(self, scope: Construct, grantee: iam.IGrantable, *, instance_type: str | None) -> ImageConfig:
        return _bind_rendered(self._render(scope, instance_type=instance_type), grantee)

    def _render(self, scope: Construct, *, instance_type: str | None) -> RenderedImage:
        facts = stack_facts(scope)
        image_region, stack_region = self._uri.region, facts.region
        if not is_unresolved(image_region) and not is_unresolved(stack_region) and image_region != stack_region:
            raise ConfigurationError(
                f"image: {describe(self._uri.uri)} is in {image_region}, but the stack deploys to {stack_region}; "
                "SageMaker only pulls model images from the model's own region: replicate the repository to "
                f"{stack_region} (ECR replication) and use that URI"
            )
        arn = repository_arn(facts, self._uri.repository, account=self._uri.account, region=image_region)
        config = ImageConfig(
            image_uri=self._uri.uri, repository_name=self._uri.repository, repository_arn=arn, serving=self.serving
        )
        return RenderedImage(config, pull_statements(arn))


class _RepositoryImage(InferenceImage):
    def __init__(self, repository: ecr.IRepository, tag: str, stack: ServingStack | None) -> None:
        super().__init__(stack)
        self._repository = repository
        self._tag = tag

    def bind(self, scope: Construct, grantee: iam.IGrantable, *, instance_type: str | None) -> ImageConfig:
        repository = self._repository
        if not is_unresolved(self._tag) and DIGEST.fullmatch(self._tag):
            uri = repository.repository_uri_for_digest(self._tag)
        else:
            uri = repository.repository_uri_for_tag(self._tag)
        repository.grant_pull(grantee)
        return ImageConfig(
            image_uri=uri,
            repository_name=repository.repository_name,
            repository_arn=repository.repository_arn,
            serving=self.serving,
        )
