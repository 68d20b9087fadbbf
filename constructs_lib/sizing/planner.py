"""Instance selection: how each hosting instance fits a model, and the one to run it on.

The memory model (all numbers in GiB, 1 GiB = 2**30 bytes) is shared by the serving stacks; each
stack says how it loads the model (``ServingStack.demand``), on how many GPUs
(``ServingStack.gpus_used``) and what else rules an instance out (``ServingStack.fit_problems``):

* on GPU instances the stack compares what the model needs with what the GPUs it uses offer
  (``ServingStack.evaluate_gpu``; by default (weights + KV cache) x (1 + ``headroom``, default 0.15,
  for activations and fragmentation) + ``CUDA_CONTEXT_GIB`` (1 GiB) per GPU in use, against their usable
  memory, ``InstanceSpec.usable_accelerator_memory_gib``);
* **host** memory: what the stack needs on the instance (``ServingStack.host_gib``: a checkpoint read
  into host memory first needs its size again; a host cache takes its share);
* on CPU instances the model lives in host memory (``ServingStack.cpu_host_gib``: by default weights x 1.2 +
  2 GiB; llama.cpp: its GGUF file and KV cache);
* on Inferentia and Trainium, a stack that models NeuronCores (vLLM on Neuron, ``ServingStack.evaluate_neuron``)
  says how their device memory holds the model; the others are not sized there (the model is compiled).

Picking: the cheapest fitting instance by price x ``min_instance_count`` among the processors the stack picks
from (``ServingStack.picks_from``: GPUs; CPUs too for llama.cpp), or of ``families`` when given; burstable
instances never; ties go to fewer accelerators, then less host memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from .._core.errors import ConfigurationError, allowed_list, describe
from .._core.tokens import is_unresolved
from ..catalogue.host_amis import gpu_cuda_problem
from ..catalogue.instances import (
    INSTANCE_CATALOGUE,
    InstanceSpec,
    Processor,
    instance_type_problem,
    processor_of_family,
    with_prices,
)
from ..model.profile import ModelProfile
from ..serving.base import Serving, ServingStack
from ..serving.facts import AutoRequest, GpuEvaluation, GpuFit, ImageRequest, MemoryDemand
from ..serving.registry import auto_stack, stack_of
from .fit import DeploymentPlan, InstanceFit
from .messages import no_fit_message, summary, too_small_message
from .options import SizingOptions, check_quantize

GIB = 1024**3


def serving_stack(
    serving: str | Serving | ServingStack, profile: ModelProfile, options: SizingOptions | None = None
) -> ServingStack:
    """The stack ``serving`` names (a ``Serving`` member or value, or a ``ServingStack``); ``auto`` picks by
    the model: llama.cpp for GGUF models, TEI for embeddings (of an architecture TEI loads), vLLM for text
    generation, the inference toolkit otherwise. When every family of ``options.families`` runs one kind of
    image, the stack is the one for it (vLLM on ``inf2``/``trn1`` is vLLM on Neuron)."""
    if isinstance(serving, ServingStack):
        return serving
    families = tuple(options.families) if options is not None and options.families else None
    kinds = {processor_of_family(family) for family in families or ()}
    processor = kinds.pop() if len(kinds) == 1 else None
    value = str(getattr(serving, "value", serving)).lower()
    if value == Serving.AUTO.value:
        architecture = profile.architecture
        request = AutoRequest(profile.task, architecture, profile=profile, processor=processor, families=families)
        stack = auto_stack(request)
    else:
        try:
            stack = stack_of(Serving(value))
        except ValueError:
            raise ConfigurationError(
                f"serving: {describe(serving)} is not allowed; allowed: {allowed_list(s.value for s in Serving)}"
            ) from None
    return stack.for_processor(processor).with_image(ImageRequest())  # sized for its newest image


def demand_of(
    profile: ModelProfile, stack: ServingStack, options: SizingOptions, custom_script: bool = False
) -> MemoryDemand:
    """What the model needs once ``stack`` has loaded it (the quantization checked against the checkpoint)."""
    if options.quantize is not None and options.quantize not in stack.quantize_methods:
        raise ConfigurationError(
            f"instance_selection.quantize: {options.quantize!r} is not a quantization {stack.name} applies; "
            f"allowed: {allowed_list(stack.quantize_methods)}"
        )
    check_quantize(profile, options.quantize, server=stack.name, methods=stack.quantize_methods)
    return stack.demand(profile, options, custom_script=custom_script)


def served_weights_gib(
    profile: ModelProfile,
    *,
    serving: str | Serving | ServingStack,
    options: SizingOptions | None = None,
    custom_script: bool = False,
) -> float:
    """GiB the weights take once the serving stack has loaded them: quantized with ``options.quantize``,
    float32 cast to float16 by TGI and TEI, every float dtype cast to float32 by the inference
    toolkit's default handler, as stored under a custom script."""
    stack = serving_stack(serving, profile, options)
    return demand_of(profile, stack, options or SizingOptions(), custom_script).weights_gib


def priced_catalogue(options: SizingOptions) -> Mapping[str, InstanceSpec]:
    """The instance catalogue with ``options.prices`` applied."""
    return with_prices(options.prices) if options.prices else INSTANCE_CATALOGUE


def evaluate(
    spec: InstanceSpec,
    profile: ModelProfile,
    stack: ServingStack,
    demand: MemoryDemand,
    options: SizingOptions,
    *,
    picking: bool = False,
) -> InstanceFit:
    """How ``spec`` fits the model; ``picking`` when the instance was not asked for by name or family."""
    if spec.processor is Processor.CPU:
        return _evaluate_cpu(spec, profile, stack, demand, options)
    if spec.processor is Processor.NEURONX:
        neuron = stack.evaluate_neuron(spec, profile, demand, options, picking=picking)
        if neuron is None:
            reason = f"{stack.name} is not sized for Inferentia and Trainium, where the model is compiled at start-up"
            return InstanceFit(spec, False, 0.0, 0.0, demand.host_gib, reason, spec.price_per_hour)
        return _accelerator_fit(spec, stack, demand, neuron)
    evaluation = stack.evaluate_gpu(spec, profile, demand, options, picking=picking)
    if (cuda := gpu_cuda_problem(spec, stack.settings.cuda_version)) is not None:
        evaluation = replace(evaluation, reasons=(cuda, *evaluation.reasons))
    return _accelerator_fit(spec, stack, demand, evaluation)


def _accelerator_fit(
    spec: InstanceSpec, stack: ServingStack, demand: MemoryDemand, evaluation: GpuEvaluation
) -> InstanceFit:
    """An instance with accelerators (GPUs, NeuronCores), as its stack evaluated them, with its host memory."""
    reasons = list(evaluation.reasons)
    host_gib = stack.host_gib(spec, demand)
    if host_gib > spec.memory_gib:
        reasons.append(
            f"needs {host_gib:.1f} GiB host memory to load the checkpoint, {spec.name} has {spec.memory_gib:g} GiB"
        )
    return InstanceFit(
        spec=spec,
        fits=not reasons,
        needed_gpu_gib=round(evaluation.needed_gib, 2),
        available_gpu_gib=round(evaluation.available_gib, 2),
        needed_host_gib=round(host_gib, 2),
        reason="; ".join(reasons) or None,
        price_per_hour=spec.price_per_hour,
        gpus_used=evaluation.gpus,
        kv_cache_gib=round(evaluation.kv_cache_gib, 2),
        kv_capacity_tokens=evaluation.kv_capacity_tokens,
    )


def _evaluate_cpu(
    spec: InstanceSpec, profile: ModelProfile, stack: ServingStack, demand: MemoryDemand, options: SizingOptions
) -> InstanceFit:
    """CPU hosting: the model lives in host memory."""
    needed_host = stack.cpu_host_gib(profile, demand, options)
    reason = None
    if Processor.CPU not in stack.processors:
        reason = f"{stack.name} needs a GPU instance"
    elif needed_host > spec.memory_gib:
        reason = f"needs {needed_host:.1f} GiB host memory, {spec.name} has {spec.memory_gib:g} GiB"
    return InstanceFit(spec, reason is None, 0.0, 0.0, needed_host, reason, spec.price_per_hour)


def selection_conflicts(instance_type: str, options: SizingOptions, instance_count: int) -> list[str]:
    """Where an explicit ``instance_type`` contradicts the picking constraints of ``options``.

    ``families`` and ``max_price_per_hour`` only narrow an automatic pick; given together with an
    instance type outside them, one of the two is a mistake, and silently ignoring the constraint
    would hide it. Returns the problems with ``instance_type``; tokens and uncatalogued names pass.
    """
    spec = None if is_unresolved(instance_type) else priced_catalogue(options).get(instance_type)
    if spec is None:
        return []
    conflicts: list[str] = []
    if options.families is not None and spec.family not in options.families:
        conflicts.append(
            f"is of family {spec.family!r}, outside instance_selection.families {list(options.families)}: drop "
            "one of the two (instance_selection only constrains an automatic pick)"
        )
    if options.max_price_per_hour is not None and spec.price_per_hour is not None:
        # Priced as an automatic pick is: for at least min_instance_count instances.
        instance_count = max(instance_count, options.min_instance_count)
        total = spec.price_per_hour * instance_count
        if total > options.max_price_per_hour:
            conflicts.append(
                f"costs ~${total:.2f}/h for {instance_count} instance(s), above instance_selection."
                f"max_price_per_hour ${options.max_price_per_hour:.2f}: drop one of the two"
            )
    return conflicts


def rank(fit: InstanceFit, count: int) -> tuple[float, int, float, str]:
    """The sort key of an automatic pick: price for ``count`` instances, then GPUs, host memory and name."""
    price = fit.price_per_hour * count if fit.price_per_hour is not None else math.inf
    return (price, fit.spec.accelerators, fit.spec.memory_gib, fit.spec.name)


def fit_table(
    profile: ModelProfile,
    *,
    serving: str | Serving | ServingStack,
    options: SizingOptions | None = None,
    custom_script: bool = False,
) -> list[InstanceFit]:
    """How every instance the stack picks from (or of ``options.families``) fits the model: fitting first, then
    cheapest first.

    Instances above ``options.max_price_per_hour`` are marked as not fitting, with the reason.

    :param serving: the serving stack ("inference-toolkit", "vllm", "tei", "tgi", a ``Serving`` member or a
        ``ServingStack``; "auto" picks by task).
    :param options: constraints.
    :default options: ``SizingOptions()``
    :param custom_script: whether a custom ``inference.py`` loads the model with its own ``model_fn``
        (which then decides the dtype, and the weights are sized as stored).
    :default custom_script: False
    """
    options = options or SizingOptions()
    stack = serving_stack(serving, profile, options)
    demand = demand_of(profile, stack, options, custom_script)
    return _fit_table(profile, stack, demand, options)


def _candidate(spec: InstanceSpec, stack: ServingStack, options: SizingOptions) -> bool:
    """Whether an automatic pick considers ``spec``: of ``families`` when given, else of the processors the stack
    picks from (burstable instances never: their CPU credits run out under sustained inference)."""
    if options.families is not None:
        return spec.family in options.families
    return spec.processor in stack.picks_from and not spec.burstable


def _fit_table(
    profile: ModelProfile, stack: ServingStack, demand: MemoryDemand, options: SizingOptions
) -> list[InstanceFit]:
    fits = []
    for spec in priced_catalogue(options).values():
        if not _candidate(spec, stack, options):
            continue
        fit = evaluate(spec, profile, stack, demand, options, picking=options.families is None)
        if fit.fits and options.max_price_per_hour is not None:
            total = (fit.price_per_hour or math.inf) * options.min_instance_count
            if total > options.max_price_per_hour:
                reason = f"costs ${total:.2f}/h, above max_price_per_hour ${options.max_price_per_hour:.2f}"
                fit = replace(fit, fits=False, reason=reason)
        fits.append(fit)
    return sorted(fits, key=lambda f: (not f.fits, *rank(f, options.min_instance_count)))


def plan_deployment(
    profile: ModelProfile,
    *,
    serving: str | Serving | ServingStack,
    instance_type: str | None,
    options: SizingOptions | None = None,
    subject: str = "instance_type",
    custom_script: bool = False,
) -> DeploymentPlan:
    """Pick (``instance_type=None``) or check an instance for the model, and the environment to run it.

    Picking: the cheapest fitting GPU instance by price x ``min_instance_count``; ties go to fewer
    GPUs, then less host memory. Checking: raises ``ConfigurationError`` with the memory numbers and
    the cheapest instance that would fit when ``instance_type`` cannot serve the model. A CDK token
    passes unchecked (no environment). ``families`` and ``max_price_per_hour`` only constrain picking;
    a given ``instance_type`` is checked for memory, GPU generation and sharding here, and against
    those constraints by ``selection_conflicts``.

    :param serving: "inference-toolkit", "vllm", "tei", "tgi" (or a ``Serving`` member or ``ServingStack``;
        "auto" picks by task).
    :param instance_type: instance to check; ``None`` picks the cheapest that fits.
    :param options: constraints.
    :default options: ``SizingOptions()``
    :param subject: what error messages are prefixed with.
    :default subject: "instance_type"
    :param custom_script: whether a custom ``inference.py`` loads the model (see ``fit_table``).
    :default custom_script: False
    """
    options = options or SizingOptions()
    stack = serving_stack(serving, profile, options)
    demand = demand_of(profile, stack, options, custom_script)
    candidates: tuple[InstanceFit, ...] = ()
    if instance_type is None:
        table = _fit_table(profile, stack, demand, options)
        candidates = tuple(table)
        if not table or not table[0].fits:
            alternative = _cheapest_fit(profile, stack, demand, options)
            raise ConfigurationError(no_fit_message(profile, stack, demand, options, table, alternative))
        fit, chosen = table[0], True
    else:
        if is_unresolved(instance_type):
            unchecked = InstanceFit(
                InstanceSpec(name=instance_type, family="unknown", vcpus=0, memory_gib=0),
                True, 0.0, 0.0, demand.host_gib, "not checked", None,
            )  # fmt: skip
            return DeploymentPlan(instance_type, unchecked, {}, None, f"{instance_type}: not checked (token)")
        fit, chosen = _checked_fit(profile, stack, demand, options, instance_type, subject), False
    environment: dict[str, str] = {}
    if fit.spec.processor is Processor.GPU or stack.sizes_every_processor:
        accelerator_fit = GpuFit(fit.spec, fit.gpus_used, fit.kv_capacity_tokens)
        environment = stack.sizing_environment(profile, accelerator_fit, demand, options, subject)
    return DeploymentPlan(
        instance_type=fit.spec.name,
        fit=fit,
        environment=environment,
        startup_health_check_timeout_seconds=stack.startup_timeout_seconds(demand.weights_gib),
        summary=summary(profile, stack, demand, fit, options, environment, chosen=chosen),
        candidates=candidates,
    )


def _checked_fit(
    profile: ModelProfile,
    stack: ServingStack,
    demand: MemoryDemand,
    options: SizingOptions,
    instance_type: str,
    subject: str,
) -> InstanceFit:
    """How the instance asked for fits: an error with the numbers and the cheapest alternative when it cannot."""
    problem = instance_type_problem(instance_type)
    if problem:
        raise ConfigurationError(f"{subject}: {describe(instance_type)} {problem}")
    spec = priced_catalogue(options)[instance_type]
    fit = evaluate(spec, profile, stack, demand, options)
    if (
        spec.processor is Processor.NEURONX
        and stack.evaluate_neuron(spec, profile, demand, options, picking=False) is None
    ):
        reason = "not checked: Inferentia needs a compiled model"
        return InstanceFit(spec, True, 0.0, 0.0, demand.host_gib, reason, spec.price_per_hour)
    if not fit.fits:
        alternative = _cheapest_fit(profile, stack, demand, options)
        raise ConfigurationError(too_small_message(profile, stack, demand, fit, options, subject, alternative))
    return fit


def _cheapest_fit(
    profile: ModelProfile, stack: ServingStack, demand: MemoryDemand, options: SizingOptions
) -> InstanceFit | None:
    """The cheapest instance that fits under the same constraints, minus the ones that only narrow the
    choice (families, price cap)."""
    relaxed = replace(options, families=None, max_price_per_hour=None)
    table = _fit_table(profile, stack, demand, relaxed)
    return table[0] if table and table[0].fits else None
