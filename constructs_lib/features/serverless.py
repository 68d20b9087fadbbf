"""SageMaker Serverless Inference (the ``serverless`` prop): no instances, pay per request.

``ServerlessInference`` becomes the production variant's ``ServerlessConfig``. Serverless endpoints
run CPU images only, so the serving stack must have CPU images and the model must fit the
container's memory as the stack loads it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Self

from aws_cdk import aws_sagemaker as sagemaker

from .._core.errors import Problems, check_config_keys
from .._core.tokens import is_unresolved, is_whole
from ..catalogue.instances import Processor
from ..contract.facts import EndpointFacts
from ..sizing.options import SizingOptions
from ..sizing.planner import served_weights_gib
from .base import EndpointFeature

SERVERLESS_MEMORY_RANGE = (1024, 6144)
SERVERLESS_MEMORY_STEP = 1024
SERVERLESS_MAX_CONCURRENCY = 200


@dataclass(frozen=True, kw_only=True)
class ServerlessInference:
    """SageMaker Serverless Inference (the ``serverless`` prop): no instances, pay per request.

    Serverless endpoints run CPU images only (the inference toolkit or TEI, not TGI), have no
    storage volume, instance count, start-up or download timeouts, autoscaling (``max_concurrency``
    is the scale), async inference, data capture, VPC or shadow/extra variants.

    Example::

        HubModelEndpoint(stack, "Sentiment",
            model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english", task="text-classification",
            serverless=ServerlessInference(memory_size_mb=3072, max_concurrency=10))
    """

    memory_size_mb: int = 2048
    """Memory of each serverless container in MB: 1024, 2048, 3072, 4096, 5120 or 6144 (vCPUs scale with it).

    :default: 2048
    """
    max_concurrency: int = 5
    """Maximum concurrent requests the endpoint handles (1-200).

    :default: 5
    """
    provisioned_concurrency: int | None = None
    """Containers kept warm to avoid cold starts (1 to ``max_concurrency``); billed while provisioned.

    :default: - none (on-demand only)
    """

    def __post_init__(self) -> None:
        problems = Problems("ServerlessInference")
        low, high = SERVERLESS_MEMORY_RANGE
        memory = self.memory_size_mb
        if not is_unresolved(memory) and (
            not is_whole(memory) or not low <= memory <= high or memory % SERVERLESS_MEMORY_STEP
        ):
            problems.add(
                "serverless.memory_size_mb",
                memory,
                f"must be a multiple of {SERVERLESS_MEMORY_STEP} from {low} to {high}",
            )
        concurrency = self.max_concurrency
        concurrency_ok = is_whole(concurrency) and 1 <= concurrency <= SERVERLESS_MAX_CONCURRENCY
        if not is_unresolved(concurrency) and not concurrency_ok:
            problems.add(
                "serverless.max_concurrency",
                concurrency,
                f"must be a whole number from 1 to {SERVERLESS_MAX_CONCURRENCY}",
            )
        provisioned = self.provisioned_concurrency
        if provisioned is not None and not is_unresolved(provisioned):
            upper = concurrency if concurrency_ok else SERVERLESS_MAX_CONCURRENCY
            if not is_whole(provisioned) or not 1 <= provisioned <= upper:
                problems.add(
                    "serverless.provisioned_concurrency",
                    provisioned,
                    f"must be a whole number from 1 to max_concurrency ({upper})",
                )
        problems.raise_if_any()

    @classmethod
    def from_config(cls, data: Any) -> Self:
        """A ``ServerlessInference`` from JSON-able settings, e.g. ``{"memory_size_mb": 4096, "max_concurrency": 20}``.

        :raises ConfigurationError: for unknown keys (naming the allowed ones) or invalid values.
        """
        check_config_keys("serverless", data, (field.name for field in fields(cls)))
        return cls(**data)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form :meth:`from_config` reads (defaults left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


# Endpoint props that only make sense on instances: the base drops them from a serverless variant,
# so passing one is a mistake worth an error rather than silence.
_INSTANCE_ONLY_PROPS = {
    "volume_size_gb": "serverless endpoints have no storage volume",
    "startup_health_check_timeout": "SageMaker does not support ContainerStartupHealthCheckTimeoutInSeconds "
    "on serverless variants",
    "model_data_download_timeout": "SageMaker does not support ModelDataDownloadTimeoutInSeconds on serverless "
    "variants",
    "instance_selection": "serverless endpoints run on no instance type (size them with serverless.memory_size_mb)",
}


class ServerlessFeature(EndpointFeature):
    """The ``serverless`` prop."""

    reads = (*_INSTANCE_ONLY_PROPS, "instance_count")  # instance props, refused with serverless

    def __init__(self, props: Any) -> None:
        self._settings = props.get("serverless")
        self._props = props

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        settings = self._settings
        if not isinstance(settings, ServerlessInference):
            problems.add("serverless", settings, "must be a ServerlessInference, e.g. ServerlessInference()")
            return
        if (hardware := facts.serving.hardware_problem(Processor.CPU)) is not None:
            problems.add(
                "serving",
                facts.serving.serving.name if facts.serving.serving else facts.serving.name,
                f"cannot run serverless: {hardware} and serverless inference runs CPU images; use "
                "serving=Serving.INFERENCE_TOOLKIT (or TEI for embeddings), or instances (instance_type=...)",
            )
        self._check_instance_props(problems)
        self._check_memory(facts, settings, problems)

    def _check_instance_props(self, problems: Problems) -> None:
        for prop, why in _INSTANCE_ONLY_PROPS.items():
            value = self._props.get(prop)
            if value is not None:
                shown = value if isinstance(value, int | str) else "(given)"
                problems.add(prop, shown, f"cannot be combined with serverless: {why}")
        count = self._props.get("instance_count")
        if count is not None and count != 1:
            problems.add(
                "instance_count",
                count,
                "cannot be combined with serverless: serverless endpoints have no instances (scale with "
                "serverless.max_concurrency)",
            )

    @staticmethod
    def _check_memory(facts: EndpointFacts, settings: ServerlessInference, problems: Problems) -> None:
        profile = facts.model.profile
        if profile is None or not is_whole(settings.memory_size_mb):
            return
        problem = facts.serving.serverless_problem(profile, settings.memory_size_mb, SizingOptions())
        if problem is not None:
            problems.add("serverless.memory_size_mb", settings.memory_size_mb, problem)
            return
        # As loaded, not as stored: the toolkit's default handler casts a bfloat16 checkpoint to float32.
        # Never less than stored: serverless runs CPU images, where TEI keeps float32 weights too.
        weights = max(
            profile.weights_gib(),
            served_weights_gib(profile, serving=facts.serving, custom_script=facts.model.script_loads_model),
        )
        memory_gib = settings.memory_size_mb / 1024
        if weights >= memory_gib:
            loaded = f" once loaded ({profile.describe_size()} as stored)" if weights > profile.weights_gib() else ""
            problems.add(
                "serverless.memory_size_mb",
                settings.memory_size_mb,
                f"is too small for the model: its weights alone take {weights:.1f} GiB{loaded}; serverless "
                f"containers have at most {SERVERLESS_MEMORY_RANGE[1]} MB, so use instances for larger models",
            )

    def variant_properties(self, facts: EndpointFacts) -> dict[str, Any]:
        settings: ServerlessInference = self._settings
        return {
            "serverless_config": sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=settings.memory_size_mb,
                max_concurrency=settings.max_concurrency,
                provisioned_concurrency=settings.provisioned_concurrency,
            )
        }


FEATURE_CLASS = ServerlessFeature
