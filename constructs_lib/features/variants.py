"""More models on one endpoint (the ``variants`` prop): weighted production variants and a shadow variant.

- A production variant (``shadow=False``) takes a share of the traffic: its ``weight`` over the sum
  of all weights, the endpoint's own model counting 1.0 (A/B tests, canaries by weight).
- A shadow variant (``shadow=True``, at most one, and then no other production variant) gets a
  copy of the requests, ``weight`` being the share copied (1.0 copies every request); its
  responses are discarded (``ShadowProductionVariants``).

Each variant gets its own SageMaker model, under ``<endpoint>/Variants/<name>/Model``, built like the
endpoint's own (``EndpointResources.renderer``: same role, environment rules, network and token),
with the image resolved the way the endpoint resolves its own. Metrics, alarms and autoscaling
concern the endpoint's own variant (``AllTraffic``) only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from aws_cdk import Annotations, Tags
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._core.errors import ConfigurationError, Problems, check_config_keys, describe
from .._core.names import MODEL_ID_TAG, RESOURCE_NAME, VARIANT_NAME
from .._core.tags import safe_tag_value
from .._core.tokens import is_number, is_unresolved, is_whole
from ..catalogue.instances import instance_spec, instance_type_problem, processor_for
from ..catalogue.tasks import canonical_task, task_architecture_problem
from ..contract.facts import EndpointFacts, EndpointResources, FeatureOutputs
from ..images.base import InferenceImage, loads_from_model_dir
from ..model.hub_reference import check_hub_reference, check_task
from ..model_data.sources import ModelData
from ..serving.base import ServingStack
from ..serving.environment import owned_conflict, token_in_plain_text
from ..serving.facts import AutoRequest, ModelFacts
from ..serving.registry import auto_stack, stack_of
from .base import EndpointFeature

MAX_PRODUCTION_VARIANTS = 10
"""SageMaker allows at most 10 production variants per endpoint config (the endpoint's own included)."""


@dataclass(frozen=True, kw_only=True)
class ModelVariant:
    """Another model on the same endpoint: a weighted production variant or a shadow variant.

    Example::

        HubModelEndpoint(stack, "Sentiment", model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            task="text-classification", instance_type="ml.g5.xlarge",
            variants=[ModelVariant(name="roberta", model_id="cardiffnlp/twitter-roberta-base-sentiment-latest",
                                   weight=0.25)])
    """

    name: str
    """Variant name (``VariantName``): 1-63 letters, digits and hyphens, unique, not ``AllTraffic`` (the
    endpoint's own variant). It also names the variant's constructs: keep it stable."""
    model_id: str | None = None
    """A Hub model the container downloads at start-up. Exactly one of ``model_id`` and ``model_data``.

    :default: - none; ``model_data`` must be given
    """
    model_data: str | Path | ModelData | None = None
    """Model artifacts, as for ``FineTunedEndpoint`` (S3 URI, local archive or directory, ``ModelData``).

    :default: - none; ``model_id`` must be given
    """
    task: str | None = None
    """Pipeline task (``HF_TASK``); also picks the serving stack with ``Serving.AUTO``.

    :default: - the endpoint's task (a warning says so when the Hub knows the variant's model as
      another task)
    """
    weight: float = 1.0
    """Production variant: relative traffic weight (the endpoint's own model has 1.0); 0 sends it no
    traffic unless a request names it (``TargetVariant``). Shadow variant: the share of requests
    copied to it, above 0 and at most 1.

    :default: 1.0
    """
    instance_type: str | None = None
    """Instance type of the variant.

    :default: - the endpoint's instance type
    """
    instance_count: int = 1
    """Instances of the variant (not autoscaled).

    :default: 1
    """
    image: InferenceImage | None = None
    """Serving container image.

    :default: - the newest catalogued image of the serving stack the endpoint's ``serving`` prop and the
      variant's task resolve to, for the variant's processor
    """
    environment: Mapping[str, str] | None = None
    """Extra container environment variables (like the endpoint's ``environment``).

    :default: - only what the library sets
    """
    shadow: bool = False
    """Make this a shadow variant: it receives copies of requests, its responses are discarded.

    :default: False
    """

    def __post_init__(self) -> None:
        problems = Problems(f"ModelVariant {self.name!r}")
        self._check(problems)
        problems.raise_if_any()

    @property
    def _prop(self) -> str:
        return f"variants[{self.name!r}]"

    def _check(self, problems: Problems) -> None:
        prop = self._prop
        if not isinstance(self.name, str) or not RESOURCE_NAME.match(self.name):
            problems.add(
                "variants[].name",
                self.name,
                "is not a valid variant name: 1-63 letters, digits and hyphens, starting and ending with a "
                "letter or digit",
            )
        elif self.name == VARIANT_NAME:
            problems.add("variants[].name", self.name, "is the name of the endpoint's own variant; pick another")
        if (self.model_id is None) == (self.model_data is None):
            given = "both" if self.model_id is not None else "neither"
            problems.add_message(
                f"{prop}.model_id / {prop}.model_data: {given} given; pass exactly one: model_id for a Hub model "
                "or model_data for your artifacts"
            )
        elif self.model_id is not None:
            sub = Problems(prop)
            check_hub_reference(self.model_id, None, sub)
            problems.extend(f"{prop}.{message}" for message in sub.messages)
        else:
            try:
                data = ModelData.parse(self.model_data, prop=f"{prop}.model_data")  # type: ignore[arg-type]
            except ConfigurationError as error:
                problems.add_message(str(error))
            else:
                layout = data.layout_problem
                if layout is not None and loads_from_model_dir(self.image):
                    problems.add_message(layout.message(f"{prop}.model_data"))
        sub = Problems(prop)
        check_task(self.task, sub)
        problems.extend(f"{prop}.{message}" for message in sub.messages)
        weight = self.weight
        if not is_unresolved(weight):
            if not is_number(weight) or weight < 0:
                problems.add(f"{prop}.weight", weight, "must be a number of at least 0")
            elif self.shadow is True and weight == 0:
                problems.add(f"{prop}.weight", weight, "copies no requests: a shadow variant's weight must be above 0")
            elif self.shadow is True and weight > 1:
                problems.add(
                    f"{prop}.weight",
                    weight,
                    "is above 1: a shadow variant's weight is the share of requests copied to it (0 < weight <= 1)",
                )
        if self.instance_type is not None:
            problem = instance_type_problem(self.instance_type)
            if problem:
                problems.add(f"{prop}.instance_type", self.instance_type, problem)
        count = self.instance_count
        if not is_unresolved(count) and (not is_whole(count) or count < 1):
            problems.add(f"{prop}.instance_count", count, "must be a whole number of at least 1")
        if self.image is not None and not isinstance(self.image, InferenceImage):
            problems.add(f"{prop}.image", self.image, "must be an InferenceImage, e.g. InferenceImage.huggingface()")
        if self.environment is not None and not isinstance(self.environment, Mapping):
            problems.add(f"{prop}.environment", self.environment, "must be a mapping of strings to strings")
        if not isinstance(self.shadow, bool):
            problems.add(f"{prop}.shadow", self.shadow, "must be True or False")

    _CONFIG_KEYS = (
        "name",
        "model_id",
        "model_data",
        "task",
        "weight",
        "instance_type",
        "instance_count",
        "environment",
        "shadow",
    )

    @classmethod
    def from_config(cls, data: Any) -> Self:
        """A ``ModelVariant`` from JSON-able settings; ``model_data`` is an S3 URI or a local path there, and
        the image is always the default one.

        Example: ``{"name": "candidate", "model_data": "s3://my-bucket/v2/model.tar.gz", "weight": 0.1}``.

        :raises ConfigurationError: for unknown keys (naming the allowed ones) or invalid values.
        """
        check_config_keys("variants[]", data, cls._CONFIG_KEYS)
        if "name" not in data:
            raise ConfigurationError("variants[].name: is required")
        return cls(**data)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form :meth:`from_config` reads.

        :raises ConfigurationError: when ``image`` or a ``ModelData`` object is set (no config form).
        """
        if self.image is not None or isinstance(self.model_data, ModelData):
            raise ConfigurationError(f"{self._prop}: image and ModelData objects have no config form")
        defaults = {"weight": 1.0, "instance_count": 1, "shadow": False}
        config: dict[str, Any] = {}
        for name in self._CONFIG_KEYS:
            value = getattr(self, name)
            if value is None or (name in defaults and value == defaults[name]):
                continue
            config[name] = str(value) if isinstance(value, Path) else dict(value) if name == "environment" else value
        return config


class VariantsFeature(EndpointFeature):
    """The ``variants`` prop: extra production variants and a shadow variant, each with its own model."""

    def __init__(self, props: Any) -> None:
        self._variants = props.get("variants")

    @property
    def _list(self) -> tuple[ModelVariant, ...]:
        return tuple(self._variants or ())

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        variants = self._variants
        if isinstance(variants, str | bytes | ModelVariant) or not isinstance(variants, Sequence):
            problems.add("variants", variants, "must be a list of ModelVariant")
            return
        bad = [v for v in variants if not isinstance(v, ModelVariant)]
        if bad:
            problems.add("variants", bad[0], "must be a ModelVariant, e.g. ModelVariant(name='b', model_id='...')")
            return
        if not variants:
            return
        if facts.serverless:
            problems.add_message(
                "variants / serverless: both given; serverless endpoints serve a single production variant; "
                "deploy the other model as its own endpoint"
            )
            return
        _check_variant_set(variants, facts, problems)
        for variant in variants:
            _validate_variant(facts, variant, problems)

    def apply(self, facts: EndpointFacts, resources: EndpointResources) -> FeatureOutputs:
        variants = self._list
        if not variants:
            return FeatureOutputs()
        namespace = Construct(facts.scope, "Variants")
        production: list[Any] = []
        shadows: list[Any] = []
        for variant in variants:
            rendered = _build_variant(facts, resources, Construct(namespace, variant.name), variant)
            (shadows if variant.shadow else production).append(rendered)
        config = resources.endpoint_config
        if production:
            config.production_variants = [*_as_list(config.production_variants), *production]
        if shadows:
            config.shadow_production_variants = shadows
        return FeatureOutputs()


FEATURE_CLASS = VariantsFeature


def _check_variant_set(variants: Sequence[ModelVariant], facts: EndpointFacts, problems: Problems) -> None:
    names = [v.name for v in variants]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.add("variants", duplicates, "repeat a variant name; names must be unique")
    shadows = [v for v in variants if v.shadow]
    production = [v for v in variants if not v.shadow]
    if len(shadows) > 1:
        problems.add("variants", [v.name for v in shadows], "are several shadow variants; SageMaker allows one")
    if shadows and production:
        problems.add_message(
            f"variants: shadow variant {shadows[0].name!r} with production variant(s) "
            f"{[v.name for v in production]}: with a shadow variant SageMaker allows exactly one production "
            "variant (the endpoint's own)"
        )
    if shadows and facts.asynchronous:
        problems.add_message(
            f"variants / async_inference: shadow variant {shadows[0].name!r} cannot be used on an async "
            "endpoint (SageMaker shadow tests exclude asynchronous inference)"
        )
    if len(production) + 1 > MAX_PRODUCTION_VARIANTS:
        problems.add(
            "variants",
            f"{len(production)} production variants",
            f"are too many: SageMaker allows {MAX_PRODUCTION_VARIANTS} per endpoint, the endpoint's own included",
        )


def _stack_of(facts: EndpointFacts, variant: ModelVariant) -> ServingStack:
    """The variant's serving stack: its image's, else the endpoint's ``serving`` prop resolved for its task and
    the processor of its instance (which may change the stack: vLLM on Inferentia is vLLM on Neuron)."""
    instance_type = _instance_type_of(facts, variant)
    processor = None if instance_type is None or is_unresolved(instance_type) else processor_for(instance_type)
    requested = facts.requested_serving
    if variant.image is not None and variant.image.serving_stack is not None:
        stack = variant.image.serving_stack
    elif isinstance(requested, ServingStack) or requested.value != "auto":
        stack = stack_of(requested)
    else:
        stack = auto_stack(AutoRequest(task=variant.task or facts.model.task, processor=processor))
    return stack.for_processor(processor)


def _instance_type_of(facts: EndpointFacts, variant: ModelVariant) -> str | None:
    return variant.instance_type or facts.instance_type


def _facts_of(facts: EndpointFacts, variant: ModelVariant) -> ModelFacts:
    return ModelFacts(model_id=variant.model_id, task=variant.task or facts.model.task, given_task=variant.task)


def _validate_variant(facts: EndpointFacts, variant: ModelVariant, problems: Problems) -> None:
    prop = variant._prop
    instance_type = _instance_type_of(facts, variant)
    stack = _stack_of(facts, variant)
    asked = variant.image is not None and variant.image.serving_stack is stack and stack is not facts.serving
    if asked and (warning := stack.explicit_warning()) is not None:
        Annotations.of(facts.scope).add_warning_v2(warning[0], f"{prop}: {warning[1]}")
    mismatch = stack.task_problem(variant.task)  # the variant's own task only
    if mismatch:
        problems.add(f"{prop}.serving", stack.serving.name if stack.serving else stack.name, mismatch)
    task = variant.task or facts.model.task
    if (default_problem := stack.default_handler_task_problem(task)) is not None:
        inherited = "" if variant.task else " (the endpoint's task)"
        problems.add_message(f"{prop}.task: {describe(task)}{inherited} {default_problem}")
    _check_task_fits_variant_model(facts, variant, task, problems)
    if instance_type is not None and not is_unresolved(instance_type):
        hardware = stack.hardware_problem(processor_for(instance_type))
        if hardware is not None:
            problems.add(
                f"{prop}.instance_type",
                instance_type,
                f"cannot run {stack.name} (the variant's task resolves to it): {hardware}; use "
                f"{stack.hardware_remedy()} or an image of another serving stack",
            )
        spec = instance_spec(instance_type)
        if spec is not None and spec.local_nvme and facts.encryption_key is not None:
            problems.add(
                f"{prop}.instance_type",
                instance_type,
                "has local NVMe storage, where SageMaker rejects the endpoint's encryption_key (KmsKeyId); "
                "use an instance without local storage",
            )
    if facts.network_isolation and variant.model_id is not None:
        problems.add(
            f"{prop}.model_id",
            variant.model_id,
            "cannot be downloaded with network_isolation=True; give the variant model_data instead",
        )
    _check_variant_environment(stack, _facts_of(facts, variant), variant, problems)


def _check_variant_environment(
    stack: ServingStack, model: ModelFacts, variant: ModelVariant, problems: Problems
) -> None:
    prop = variant._prop
    derived = stack.model_environment(model)
    for key, value in (variant.environment or {}).items():
        if token_in_plain_text(key, value):
            problems.add(
                f"{prop}.environment[{key!r}]",
                "***",
                "puts a Hugging Face token in plain text in the template; pass hf_token_secret to the endpoint",
            )
        elif (owner := owned_conflict(key, value, derived)) is not None:
            # What the endpoint refuses for its own environment: the model id tag and the task would lie.
            problems.add(f"{prop}.environment[{key!r}]", value, f"conflicts with the variant's {owner}; set it there")


def _check_task_fits_variant_model(
    facts: EndpointFacts, variant: ModelVariant, task: str | None, problems: Problems
) -> None:
    """The task a Hub variant runs with, held against what the Hub says about its model.

    A variant without ``task`` inherits the endpoint's, which suits a new version of the same model
    but not another kind of model. Nothing is said when the model cannot be looked up.
    """
    if variant.model_id is None or is_unresolved(variant.model_id) or task is None:
        return
    from ..model.hub_lookup import HubLookup  # imported here: huggingface_hub loads only for Hub variants

    try:
        profile = HubLookup().profile(variant.model_id)
    except ConfigurationError:
        return  # the endpoint's own lookup decides whether a failed lookup matters; here it is a hint
    prop = variant._prop
    origin = "" if variant.task else " (the endpoint's task)"
    if problem := task_architecture_problem(task, profile.architecture):
        problems.add_message(f"{prop}.task: {describe(task)}{origin} {problem}")
    elif variant.task is None and profile.task and canonical_task(profile.task) != canonical_task(task):
        Annotations.of(facts.scope).add_warning_v2(
            "constructs-lib:variant-task",
            f"{prop}.task is not set, so the variant runs with the endpoint's task {task!r}, but "
            f"{variant.model_id} is a {profile.task!r} model on the Hub; pass task=... for the variant",
        )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _build_variant(
    facts: EndpointFacts, resources: EndpointResources, scope: Construct, variant: ModelVariant
) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    stack = _stack_of(facts, variant)
    instance_type = _instance_type_of(facts, variant)
    data = ModelData.parse(variant.model_data, prop=f"{variant._prop}.model_data") if variant.model_data else None
    rendered = resources.renderer.render_model(
        scope,
        model=_facts_of(facts, variant),
        stack=stack,
        image=variant.image,
        instance_type=instance_type,
        model_data=data,
        environment=variant.environment,
        prop=variant._prop,
    )
    if variant.model_id and not is_unresolved(variant.model_id):
        Tags.of(scope).add(MODEL_ID_TAG, safe_tag_value(variant.model_id))
    else:
        Tags.of(scope).remove(MODEL_ID_TAG)
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=variant.name,
        model_name=rendered.model.attr_model_name,
        initial_variant_weight=float(variant.weight),
        instance_type=instance_type,
        initial_instance_count=variant.instance_count,
        # The endpoint's timeout; without one, what the variant's stack needs for a model of unknown size.
        container_startup_health_check_timeout_in_seconds=(
            facts.given_startup_timeout_seconds
            if facts.given_startup_timeout_seconds is not None
            else stack.startup_timeout_seconds(None)
        ),
        model_data_download_timeout_in_seconds=facts.download_timeout_seconds,
        inference_ami_version=rendered.host_ami,
    )
