"""Inference container images: Hugging Face DLCs (toolkit, TGI, TEI, neuronx) and custom ECR images.

``InferenceImage`` follows the ``ContainerImage`` pattern of aws-sagemaker-alpha: static factories
return private subclasses, and the owning construct calls :meth:`InferenceImage.bind`, which picks
the image for the instance's processor, renders the URI for the stack's region and grants pull on
that one repository.

The Deep Learning Container catalogue (``_data/dlc_catalogue.json``) is generated from the
SageMaker Python SDK's ``image_uri_config/huggingface*.json`` files, so every catalogued URI is the
one ``sagemaker.image_uris.retrieve`` returns. The SDK itself is not a dependency.
"""

from __future__ import annotations

import abc
import enum
import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, CfnMapping, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._core.errors import ConfigurationError, Problems, describe
from ._core.iam import Statement, allow, grant_statements
from ._core.stack_facts import StackFacts, stack_facts
from ._core.tokens import is_unresolved
from .catalogue import dlc
from .catalogue.instances import Processor, processor_for
from .catalogue.tasks import default_serving

if TYPE_CHECKING:
    from aws_cdk import aws_ecr as ecr

__all__ = [
    "ImageConfig",
    "InferenceImage",
    "Serving",
    "resolve_serving",
]


class Serving(str, enum.Enum):  # noqa: UP042 (the public contract: str mixin, str() unchanged)
    """Which serving stack runs the model inside the container."""

    AUTO = "auto"
    """Pick from the task and whether a custom script is used (see :func:`resolve_serving`)."""
    INFERENCE_TOOLKIT = "inference-toolkit"
    """The Hugging Face inference toolkit (transformers pipelines, custom ``inference.py``)."""
    TGI = "tgi"
    """Text Generation Inference, for LLMs (GPU only)."""
    TEI = "tei"
    """Text Embeddings Inference, for embedding and sentence-similarity models."""


def loads_from_model_dir(image: object) -> bool:
    """Whether a model with ``image`` (``None``: the default image) is known to load from ``/opt/ml/model``.

    Every image of a known serving stack does; where a custom image (``serving`` unknown) looks is
    its own business. ``image`` is not type-checked here: props are checked later, with the others.
    """
    return image is None or getattr(image, "serving", None) is not None


def resolve_serving(
    serving: Serving, *, task: str | None, custom_script: bool, architecture: str | None = None
) -> Serving:
    """Resolve :attr:`Serving.AUTO` to a concrete serving stack; explicit values are returned as-is.

    AUTO picks the inference toolkit when a custom script is used (only the toolkit runs
    ``inference.py``), TGI for ``text-generation``, TEI for ``feature-extraction`` (of an
    architecture TEI loads) and ``sentence-similarity``, and the inference toolkit for every other task.

    :param serving: the requested serving stack.
    :param task: the model's pipeline task; ``None`` when unknown.
    :param custom_script: whether the model ships a custom ``inference.py``.
    :param architecture: ``config.json``'s first architecture; ``None`` when unknown.
    """
    if serving is not Serving.AUTO:
        return serving
    if custom_script:
        return Serving.INFERENCE_TOOLKIT
    return Serving(default_serving(task, architecture))


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
    """The Python that runs in the image (from the DLC tag, e.g. ``py312`` is ``(3, 12)``);
    ``None`` when unknown (custom images)."""


# --------------------------------------------------------------------------------------------
# DLC catalogue


_TOOLKIT = "huggingface"
_NEURONX = "huggingface-neuronx"
_TGI = "huggingface-llm"
_TEI_GPU = "huggingface-tei"
_TEI_CPU = "huggingface-tei-cpu"

_MAPPING_IDS: Mapping[str, str] = {"dlc": "HuggingFaceDlcAccounts", "tei": "HuggingFaceTeiAccounts"}
"""Logical ids of the per-stack region -> account ``CfnMapping``, per account table."""
_MAPPING_VALUE_KEY = "account"

_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def _pytorch_key(entry: Mapping[str, Any], pytorch_version: str | None) -> str | None:
    return dlc.resolve_version(entry["pytorch"], entry["pytorch_aliases"], pytorch_version)


def _default_pytorch_tag(entry: Mapping[str, Any], pytorch_key: str, *, short: bool) -> str:
    """How to spell a defaulted PyTorch version in a toolkit tag.

    A short transformers version (``"4.51"``) selects the DLC's floating tag, which pairs it with
    the short PyTorch version (``2.6-transformers4.51-...``), as ``image_uris.retrieve`` does for
    ``version="4.51", base_framework_version="pytorch2.6"``; a full one pairs with the full version.
    """
    if short:
        aliases: list[str] = [alias for alias, target in entry["pytorch_aliases"].items() if target == pytorch_key]
        if aliases:
            return min(aliases, key=len)
    return pytorch_key


def _pytorch_choices(entry: Mapping[str, Any]) -> list[str]:
    return [*entry["pytorch"], *entry["pytorch_aliases"]]


@dataclass(frozen=True)
class _ResolvedDlc:
    """One catalogued image, before the region is applied."""

    repository: str
    tag: str
    account_table: str
    regions: tuple[str, ...]
    description: str
    python_version: tuple[int, int]


def _resolved(item: Mapping[str, Any], family: str, tag: str, description: str) -> _ResolvedDlc:
    regions = tuple(dlc.catalogue()["region_sets"][item["regions"]])
    python = dlc.python_version(item["py"])
    return _ResolvedDlc(item["repository"], tag, dlc.family(family)["accounts"], regions, description, python)


def _describe_instance(instance_type: str | None) -> str:
    return "None (serverless, CPU)" if instance_type is None else describe(instance_type)


# --------------------------------------------------------------------------------------------
# Public base class


class InferenceImage(abc.ABC):
    """The container image a SageMaker model runs.

    Create one with a static factory (:meth:`huggingface`, :meth:`tgi`, :meth:`tei`,
    :meth:`for_serving`, :meth:`from_uri`, :meth:`from_ecr_repository`); the model construct
    calls :meth:`bind`.
    """

    def __init__(self, serving: Serving | None) -> None:
        self._serving = serving

    @property
    def serving(self) -> Serving | None:
        """The serving stack this image runs; ``None`` when unknown (custom images)."""
        return self._serving

    def _render(self, scope: Construct, *, instance_type: str | None) -> tuple[ImageConfig, list[Statement]] | None:
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
        :param pytorch_version: PyTorch version paired with it, e.g. ``"2.6.0"``.
        :default transformers_version: - the newest catalogued version for the instance's processor.
        :default pytorch_version: - the newest PyTorch version catalogued for ``transformers_version``.
        :raises ConfigurationError: when a version is not catalogued, or the pair does not exist.
        """
        problems = Problems("InferenceImage.huggingface")
        families = (_TOOLKIT, _NEURONX)
        if transformers_version is not None:
            entries = [
                dlc.family(family)["versions"][key]
                for family in families
                if (key := dlc.lookup(family, transformers_version)) is not None
            ]
            if not entries:
                problems.add(
                    "transformers_version",
                    transformers_version,
                    "is not a catalogued Hugging Face inference DLC version; allowed: " + dlc.allowed_text(families),
                )
            elif pytorch_version is not None and all(_pytorch_key(e, pytorch_version) is None for e in entries):
                choices = [choice for entry in entries for choice in _pytorch_choices(entry)]
                problems.add(
                    "pytorch_version",
                    pytorch_version,
                    f"is not catalogued with transformers_version {describe(transformers_version)}; "
                    f"allowed: {dlc.versions_text(choices)}",
                )
        elif pytorch_version is not None:
            entries = [entry for family in families for entry in dlc.family(family)["versions"].values()]
            if all(_pytorch_key(entry, pytorch_version) is None for entry in entries):
                choices = [choice for entry in entries for choice in _pytorch_choices(entry)]
                problems.add(
                    "pytorch_version",
                    pytorch_version,
                    "is not a catalogued Hugging Face inference DLC PyTorch version; allowed: "
                    + dlc.versions_text(choices),
                )
        problems.raise_if_any()
        return _ToolkitImage(transformers_version, pytorch_version)

    @staticmethod
    def tgi(version: str | None = None) -> InferenceImage:
        """The Text Generation Inference DLC (``huggingface-pytorch-tgi-inference``), GPU only.

        :param version: TGI version, e.g. ``"3.3.6"`` (SDK short forms such as ``"3.3"`` work).
        :default version: - the newest catalogued TGI version.
        :raises ConfigurationError: when the version is not catalogued.
        """
        _check_version("InferenceImage.tgi", "version", version, (_TGI,), "TGI (huggingface-llm) DLC")
        return _TaggedImage(Serving.TGI, version)

    @staticmethod
    def tei(version: str | None = None) -> InferenceImage:
        """The Text Embeddings Inference DLC: repository ``tei`` on GPU, ``tei-cpu`` on CPU.

        :param version: TEI version, e.g. ``"1.8.2"`` (SDK short forms such as ``"1.8"`` work).
        :default version: - the newest catalogued TEI version.
        :raises ConfigurationError: when the version is not catalogued.
        """
        _check_version("InferenceImage.tei", "version", version, (_TEI_GPU, _TEI_CPU), "TEI DLC")
        return _TaggedImage(Serving.TEI, version)

    @staticmethod
    def for_serving(serving: Serving) -> InferenceImage:
        """The default (newest catalogued) image of a resolved serving stack.

        :param serving: a concrete serving stack; resolve :attr:`Serving.AUTO` first with
            :func:`resolve_serving`.
        :raises ConfigurationError: for :attr:`Serving.AUTO`.
        """
        if serving is Serving.INFERENCE_TOOLKIT:
            return InferenceImage.huggingface()
        if serving is Serving.TGI:
            return InferenceImage.tgi()
        if serving is Serving.TEI:
            return InferenceImage.tei()
        raise ConfigurationError(
            f"InferenceImage.for_serving: serving: {describe(serving)} is not a concrete serving stack; "
            "resolve Serving.AUTO with resolve_serving() first; allowed: "
            + ", ".join(s.name for s in Serving if s is not Serving.AUTO)
        )

    @staticmethod
    def from_uri(uri: str, *, serving: Serving | None = None) -> InferenceImage:
        """Any image in an ECR repository, by URI.

        The URI must look like ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:...]``;
        pull access is granted on that repository only. A URI with CDK tokens in place of the
        account, region, URL suffix, repository or tag is accepted when its shape can still be read;
        for an opaque token (a parameter, an import) use :meth:`from_ecr_repository`.

        :param uri: the image URI.
        :param serving: the serving stack the image runs, when it is one of the known ones.
        :default serving: - unknown (``None``).
        :raises ConfigurationError: when the URI is not an ECR image URI.
        """
        return _UriImage(_parse_ecr_uri(uri), serving)

    @staticmethod
    def from_ecr_repository(
        repository: ecr.IRepository, tag: str = "latest", *, serving: Serving | None = None
    ) -> InferenceImage:
        """An image in an ECR repository construct; pull access is granted with ``repository.grant_pull``.

        :param repository: the repository (created in the app or imported).
        :param tag: image tag, or an image digest ``sha256:<64 hex digits>``.
        :param serving: the serving stack the image runs, when it is one of the known ones.
        :default tag: ``"latest"``
        :default serving: - unknown (``None``).
        :raises ConfigurationError: when the tag is not a valid image tag or digest.
        """
        if not is_unresolved(tag) and not (_TAG.fullmatch(tag) or _DIGEST.fullmatch(tag)):
            raise ConfigurationError(
                f"InferenceImage.from_ecr_repository: tag: {describe(tag)} is not an image tag "
                "(1-128 of A-Z a-z 0-9 _ . -, not starting with . or -) or digest (sha256:<64 hex digits>)"
            )
        return _RepositoryImage(repository, tag, serving)


def _check_version(subject: str, prop: str, version: str | None, families: tuple[str, ...], what: str) -> None:
    if version is None or any(dlc.lookup(family, version) is not None for family in families):
        return
    raise ConfigurationError(
        f"{subject}: {prop}: {describe(version)} is not a catalogued {what} version; "
        f"allowed: {dlc.allowed_text(families)}"
    )


def _pull_statements(repository_arn: str) -> list[Statement]:
    # GetAuthorizationToken supports no resource-level permissions.
    return [allow(_PULL_ACTIONS, repository_arn), allow(["ecr:GetAuthorizationToken"], "*")]


def _bind_rendered(rendered: tuple[ImageConfig, list[Statement]], grantee: iam.IGrantable) -> ImageConfig:
    config, statements = rendered
    grant_statements(grantee, statements)
    return config


def _repository_arn(facts: StackFacts, name: str, *, account: str, region: str | None = None) -> str:
    return facts.arn("ecr", f"repository/{name}", account=account, region=region)


# --------------------------------------------------------------------------------------------
# Deep Learning Containers


class _DlcImage(InferenceImage):
    """A catalogued DLC: resolves to one repository and tag per processor, accounts per region."""

    @abc.abstractmethod
    def _resolve(self, processor: Processor, instance_type: str | None) -> _ResolvedDlc: ...

    def _processor(self, instance_type: str | None) -> Processor:
        if is_unresolved(instance_type):
            raise ConfigurationError(
                f"instance_type: {describe(instance_type)} is a deploy-time value, but the "
                f"{self._serving.value if self._serving else ''} image depends on the instance's processor "
                "(gpu/cpu/neuronx); use a concrete instance type or InferenceImage.from_uri"
            )
        return processor_for(instance_type)

    def bind(self, scope: Construct, grantee: iam.IGrantable, *, instance_type: str | None) -> ImageConfig:
        return _bind_rendered(self._render(scope, instance_type=instance_type), grantee)

    def _render(self, scope: Construct, *, instance_type: str | None) -> tuple[ImageConfig, list[Statement]]:
        image = self._resolve(self._processor(instance_type), instance_type)
        facts = stack_facts(scope)
        region = facts.region
        accounts: Mapping[str, str] = dlc.catalogue()["accounts"][image.account_table]
        if not is_unresolved(region):
            if region not in image.regions:
                raise ConfigurationError(
                    f"region: {describe(region)} (the stack's region) has no {image.description} image "
                    f"({image.repository}:{image.tag}); supported regions: {', '.join(sorted(image.regions))}"
                )
            account = accounts[region]
            uri = f"{account}.dkr.ecr.{region}.{dlc.url_suffix(region)}/{image.repository}:{image.tag}"
            arn = _repository_arn(facts, image.repository, account=account, region=region)
        else:
            account = _account_from_mapping(facts, image)
            uri = f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{image.repository}:{image.tag}"
            arn = _repository_arn(facts, image.repository, account=account)
        config = ImageConfig(
            image_uri=uri,
            repository_name=image.repository,
            repository_arn=arn,
            serving=self._serving,
            python_version=image.python_version,
        )
        return config, _pull_statements(arn)


def _account_from_mapping(facts: StackFacts, image: _ResolvedDlc) -> str:
    """The DLC account of the deploy-time region, from a region -> account mapping of the stack.

    The mapping lists exactly the regions that have this image: deploying to any other region
    fails on ``Fn::FindInMap`` before anything is created, instead of rendering the URI of an
    image that does not exist there. Images with the same regions share one mapping.
    """
    mapping_id = _mapping_id(image)
    mapping = facts.account_mappings.get(mapping_id)
    if mapping is None:
        mapping = facts.account_mappings[mapping_id] = _account_mapping(facts.stack, mapping_id)
        accounts: Mapping[str, str] = dlc.catalogue()["accounts"][image.account_table]
        for name in sorted(image.regions):
            mapping.set_value(name, _MAPPING_VALUE_KEY, accounts[name])
    return mapping.find_in_map(Aws.REGION, _MAPPING_VALUE_KEY)


def _mapping_id(image: _ResolvedDlc) -> str:
    """``HuggingFaceDlcAccounts`` (``HuggingFaceTeiAccounts``) for the regions of the table's main
    image, that id plus a short digest of the regions for any other region set (TGI, neuronx)."""
    base = _MAPPING_IDS[image.account_table]
    if frozenset(image.regions) == _main_regions(image.account_table):
        return base
    digest = hashlib.sha256(",".join(sorted(image.regions)).encode()).hexdigest()[:8].upper()
    return f"{base}{digest}"


@functools.cache
def _main_regions(table: str) -> frozenset[str]:
    """The regions of the newest image of the table's first family (the toolkit; TEI on GPU)."""
    family = next(f for f in dlc.catalogue()["families"].values() if f["accounts"] == table)
    newest = list(family["versions"].values())[-1]  # the catalogue lists versions oldest first
    return frozenset(dlc.catalogue()["region_sets"][_first_region_set(newest)])


def _first_region_set(item: Any) -> str:
    if isinstance(item, Mapping):
        if isinstance(item.get("regions"), str):
            return str(item["regions"])
        for value in item.values():
            found = _first_region_set(value)
            if found:
                return found
    return ""


def _account_mapping(stack: Stack, mapping_id: str) -> CfnMapping:
    """The stack's region -> account mapping with this id, created on first use."""
    existing = stack.node.try_find_child(mapping_id)
    if existing is None:
        return CfnMapping(stack, mapping_id)
    if not isinstance(existing, CfnMapping):
        raise ConfigurationError(
            f"{stack.node.path}: the id {mapping_id!r} is reserved for the DLC account mapping, "
            f"but a {type(existing).__name__} uses it"
        )
    return existing


class _ToolkitImage(_DlcImage):
    def __init__(self, transformers_version: str | None, pytorch_version: str | None) -> None:
        super().__init__(Serving.INFERENCE_TOOLKIT)
        self._transformers = transformers_version
        self._pytorch = pytorch_version

    def _resolve(self, processor: Processor, instance_type: str | None) -> _ResolvedDlc:
        family = _NEURONX if processor is Processor.NEURONX else _TOOLKIT
        versions: dict[str, Any] = dlc.family(family)["versions"]
        where = f"instance_type {_describe_instance(instance_type)} ({processor.value} images)"
        if self._transformers is None and self._pytorch is not None:
            keys = [k for k, entry in versions.items() if _pytorch_key(entry, self._pytorch) is not None]
            if not keys:
                choices = [c for entry in versions.values() for c in _pytorch_choices(entry)]
                raise ConfigurationError(
                    f"pytorch_version: {describe(self._pytorch)} has no {processor.value} Hugging Face "
                    f"inference DLC for {where}; allowed: {dlc.versions_text(choices)}"
                )
            key: str | None = dlc.newest(keys)
        else:
            key = dlc.lookup(family, self._transformers)
        if key is None:
            raise ConfigurationError(
                f"transformers_version: {describe(self._transformers)} has no {processor.value} Hugging Face "
                f"inference DLC for {where}; allowed: {dlc.allowed_text((family,))}"
            )
        entry = versions[key]
        pytorch_key = _pytorch_key(entry, self._pytorch)
        if pytorch_key is None:
            raise ConfigurationError(
                f"pytorch_version: {describe(self._pytorch)} has no {processor.value} Hugging Face inference "
                f"DLC with transformers {key} for {where}; allowed: {dlc.versions_text(_pytorch_choices(entry))}"
            )
        item = entry["pytorch"][pytorch_key]
        container = item["container"][processor.value]
        if family == _NEURONX:
            # The SDK writes the full versions into neuronx tags and appends the Neuron SDK version.
            tag = f"{pytorch_key}-transformers{key}-neuronx-{item['py']}-{item['sdk']}-{container}"
        else:
            # The SDK writes the versions as the caller spelled them (short forms included).
            transformers_tag = self._transformers or key
            pytorch_tag = self._pytorch or _default_pytorch_tag(entry, pytorch_key, short=transformers_tag != key)
            tag = f"{pytorch_tag}-transformers{transformers_tag}-{processor.value}-{item['py']}-{container}"
        description = f"Hugging Face inference (transformers {key}, pytorch {pytorch_key}, {processor.value})"
        return _resolved(item, family, tag, description)


def catalogued_tgi_version(image: InferenceImage | None) -> str | None:
    """The TGI version an endpoint with ``image`` runs (``None`` = the default image), when it is a
    catalogued TGI image; ``None`` for other and custom images, or a version not in the catalogue."""
    if image is None:
        return dlc.lookup(_TGI, None)
    if isinstance(image, _TaggedImage) and image.serving is Serving.TGI:
        return dlc.lookup(_TGI, image._version)
    return None


def tgi_reads_max_input_length(version: str | None) -> bool:
    """TGI before 2.0 reads ``MAX_INPUT_LENGTH``; 2.0 renamed it ``MAX_INPUT_TOKENS``."""
    return version is not None and dlc.version_key(version) < (2,)


class _TaggedImage(_DlcImage):
    """TGI and TEI: one tag prefix per version, the processor picks the family."""

    def __init__(self, serving: Serving, version: str | None) -> None:
        super().__init__(serving)
        self._version = version

    def _processor(self, instance_type: str | None) -> Processor:
        if self._serving is Serving.TGI and is_unresolved(instance_type):
            return Processor.GPU  # TGI has GPU images only: nothing else could run
        return super()._processor(instance_type)

    def _family_for(self, processor: Processor, instance_type: str | None) -> str:
        where = _describe_instance(instance_type)
        if self._serving is Serving.TGI:
            if processor is not Processor.GPU:
                raise ConfigurationError(
                    f"instance_type: {where} runs {processor.value} images, but TGI images are GPU-only; "
                    "use a GPU instance (ml.g*/ml.p*, e.g. ml.g5.xlarge) or Serving.INFERENCE_TOOLKIT"
                )
            return _TGI
        if processor is Processor.NEURONX:
            raise ConfigurationError(
                f"instance_type: {where} runs neuronx images, but TEI images exist for GPU and CPU only; "
                "use a GPU (ml.g*/ml.p*) or CPU instance, or Serving.INFERENCE_TOOLKIT"
            )
        return _TEI_GPU if processor is Processor.GPU else _TEI_CPU

    def _resolve(self, processor: Processor, instance_type: str | None) -> _ResolvedDlc:
        family = self._family_for(processor, instance_type)
        key = dlc.lookup(family, self._version)
        name = "TGI" if self._serving is Serving.TGI else "TEI"
        if key is None:
            raise ConfigurationError(
                f"version: {describe(self._version)} has no {processor.value} {name} DLC; "
                f"allowed: {dlc.allowed_text((family,))}"
            )
        item = dlc.family(family)["versions"][key]
        tag = "-".join((item["tag_prefix"], processor.value, item["py"], item["container"][processor.value]))
        return _resolved(item, family, tag, f"{name} {key} ({processor.value})")


# --------------------------------------------------------------------------------------------
# Custom images

_TOKEN = r"\$\{Token\[[^\]]+\]\}"
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_REPOSITORY = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
# Every partition's DNS suffix (see catalogue.dlc.url_suffix); which one a region needs is checked after matching.
_SUFFIXES = r"amazonaws\.com(?:\.cn)?|c2s\.ic\.gov|sc2s\.sgov\.gov|csp\.hci\.ic\.gov|cloud\.adc-e\.uk"
_ECR_URI = re.compile(
    rf"(?P<account>\d{{12}})\.dkr\.ecr\.(?P<region>[a-z]{{2}}(?:-[a-z]+)+-\d+)\.(?P<suffix>{_SUFFIXES})"
    rf"/(?P<repository>{_REPOSITORY})(?::(?P<tag>{_TAG.pattern})|@(?P<digest>{_DIGEST.pattern}))?"
)
_ECR_URI_WITH_TOKENS = re.compile(
    rf"(?P<account>\d{{12}}|{_TOKEN})\.dkr\.ecr\.(?P<region>[a-z]{{2}}(?:-[a-z]+)+-\d+|{_TOKEN})"
    rf"\.(?P<suffix>{_SUFFIXES}|{_TOKEN})"
    rf"/(?P<repository>(?:[a-z0-9._/-]|{_TOKEN})+?)(?::(?P<tag>(?:[A-Za-z0-9_.-]|{_TOKEN})+)|@(?P<digest>sha256:[a-f0-9]{{64}}))?"
)
_URI_EXAMPLE = "'123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1.0'"


@dataclass(frozen=True)
class _EcrUri:
    uri: str
    account: str
    region: str
    repository: str


def _parse_ecr_uri(uri: str) -> _EcrUri:
    prefix = "InferenceImage.from_uri: image:"
    if not isinstance(uri, str):
        raise ConfigurationError(f"{prefix} {describe(uri)} is not a string; e.g. {_URI_EXAMPLE}")
    if is_unresolved(uri):
        match = _ECR_URI_WITH_TOKENS.fullmatch(uri)
        if match is None:
            raise ConfigurationError(
                f"{prefix} {describe(uri)} is a deploy-time value whose ECR repository cannot be read, so pull "
                "access cannot be scoped to it; use InferenceImage.from_ecr_repository(repository, tag) instead"
            )
    else:
        match = _ECR_URI.fullmatch(uri)
        problem = None
        if match is None:
            problem = "is not an ECR image URI"
        elif match["suffix"] != dlc.url_suffix(match["region"]):
            problem = (
                f"has a URL suffix that does not fit its region ({match['region']} images are at "
                f"*.dkr.ecr.{match['region']}.{dlc.url_suffix(match['region'])})"
            )
        if problem:
            raise ConfigurationError(
                f"{prefix} {describe(uri)} {problem}; expected "
                f"<12-digit account>.dkr.ecr.<region>.<amazonaws.com, or the partition's suffix>/<repository>"
                f"[:tag|@sha256:<digest>], "
                f"e.g. {_URI_EXAMPLE}"
            )
    assert match is not None
    return _EcrUri(uri, match["account"], match["region"], match["repository"])


class _UriImage(InferenceImage):
    def __init__(self, uri: _EcrUri, serving: Serving | None) -> None:
        super().__init__(serving)
        self._uri = uri

    def bind(self, scope: Construct, grantee: iam.IGrantable, *, instance_type: str | None) -> ImageConfig:
        return _bind_rendered(self._render(scope, instance_type=instance_type), grantee)

    def _render(self, scope: Construct, *, instance_type: str | None) -> tuple[ImageConfig, list[Statement]]:
        facts = stack_facts(scope)
        image_region, stack_region = self._uri.region, facts.region
        if not is_unresolved(image_region) and not is_unresolved(stack_region) and image_region != stack_region:
            raise ConfigurationError(
                f"image: {describe(self._uri.uri)} is in {image_region}, but the stack deploys to {stack_region}; "
                "SageMaker only pulls model images from the model's own region: replicate the repository to "
                f"{stack_region} (ECR replication) and use that URI"
            )
        arn = _repository_arn(facts, self._uri.repository, account=self._uri.account, region=image_region)
        config = ImageConfig(
            image_uri=self._uri.uri, repository_name=self._uri.repository, repository_arn=arn, serving=self._serving
        )
        return config, _pull_statements(arn)


class _RepositoryImage(InferenceImage):
    def __init__(self, repository: ecr.IRepository, tag: str, serving: Serving | None) -> None:
        super().__init__(serving)
        self._repository = repository
        self._tag = tag

    def bind(self, scope: Construct, grantee: iam.IGrantable, *, instance_type: str | None) -> ImageConfig:
        repository = self._repository
        if not is_unresolved(self._tag) and _DIGEST.fullmatch(self._tag):
            uri = repository.repository_uri_for_digest(self._tag)
        else:
            uri = repository.repository_uri_for_tag(self._tag)
        repository.grant_pull(grantee)
        return ImageConfig(
            image_uri=uri,
            repository_name=repository.repository_name,
            repository_arn=repository.repository_arn,
            serving=self._serving,
        )
