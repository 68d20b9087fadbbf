"""What instance selection tells users: the one-line plan summary and the reasons nothing fits."""

from __future__ import annotations

from collections.abc import Mapping

from ..catalogue.instances import Processor
from ..model.profile import ModelProfile
from ..serving.base import ServingStack
from ..serving.facts import GpuFit, MemoryDemand
from .fit import InstanceFit
from .options import SizingOptions


def summary(
    profile: ModelProfile,
    stack: ServingStack,
    demand: MemoryDemand,
    fit: InstanceFit,
    options: SizingOptions,
    environment: Mapping[str, str],
    *,
    chosen: bool,
) -> str:
    """One readable line: model size, memory math, instance, indicative price."""
    name = profile.model_id or "model"
    quant = f" quantized {options.quantize}" if options.quantize else ""
    precision = f" ({demand.precision})" if demand.precision else ""
    parts = [f"{name}: {profile.describe_size()} = {demand.weights_gib:.1f} GiB weights{quant}{precision}"]
    if fit.spec.processor is Processor.CPU:
        parts.append(f"needs {fit.needed_host_gib:.1f} GiB host memory")
    else:
        parts.append(stack.memory_breakdown(demand, fit.kv_cache_gib, fit.needed_gpu_gib, options.headroom))
    verb = "picked" if chosen else "checked"
    price = f"; ~${fit.price_per_hour:.2f}/h indicative" if fit.price_per_hour is not None else ""
    note = None
    if fit.spec.processor is Processor.GPU or stack.sizes_every_processor:
        note = stack.fit_note(profile, GpuFit(fit.spec, fit.gpus_used, fit.kv_capacity_tokens), environment)
    return f"{' '.join(parts)}; {verb} {_where(fit)}{price}{f'; {note}' if note else ''}"


_KIND = {Processor.GPU: "GPU", Processor.CPU: "CPU", Processor.NEURONX: "Inferentia or Trainium"}


def _where(fit: InstanceFit, price: str = "") -> str:
    """``ml.g6.xlarge (1 x L4, 22.4 GiB usable)``, ``ml.inf2.xlarge (1 x Inferentia2, 2 NeuronCores, ...)``, or
    ``ml.m5.xlarge (16 GiB host memory)``, with ``price`` inside the parentheses."""
    spec = fit.spec
    if spec.accelerators and spec.processor is Processor.GPU:
        gpus = f"{spec.accelerators} x {spec.accelerator_model}, {fit.available_gpu_gib:.1f} GiB usable"
        if fit.gpus_used != spec.accelerators:
            gpus += f" on the {fit.gpus_used} GPU used"
        return f"{spec.name} ({gpus}{price})"
    if spec.neuron_cores and fit.available_gpu_gib:
        cores = f"{spec.neuron_cores} NeuronCores, {fit.available_gpu_gib:.1f} GiB usable"
        if fit.gpus_used != spec.neuron_cores:
            cores += f" on the {fit.gpus_used} used"
        return f"{spec.name} ({spec.accelerators} x {spec.accelerator_model}, {cores}{price})"
    return f"{spec.name} ({spec.memory_gib:g} GiB host memory{price})"


def describe_demand(profile: ModelProfile, demand: MemoryDemand, options: SizingOptions) -> str:
    """``<model> (<size>) has N GiB of weights [and needs M GiB of KV cache for T tokens]``."""
    quant = f" ({options.quantize})" if options.quantize else ""
    precision = f" ({demand.precision})" if demand.precision else ""
    text = f"{profile.model_id or 'The model'} ({profile.describe_size()}) has {demand.weights_gib:.1f} GiB of weights"
    text += quant + precision
    if demand.kv_bytes_per_token:
        text += f" and needs {demand.kv_cache_gib:.1f} GiB of KV cache for {demand.required_tokens} tokens"
    return text


def cheapest_alternative(
    stack: ServingStack, options: SizingOptions, alternative: InstanceFit | None, *, picking: bool
) -> str:
    """Where to go instead: the cheapest instance that fits without the narrowing constraints, or a hint."""
    if alternative is None:
        return f"No catalogued instance fits; consider {stack.no_fit_hint()}"
    price = f", ~${alternative.price_per_hour:.2f}/h" if alternative.price_per_hour is not None else ""
    shape = _where(alternative, price)
    if not picking:
        return f"The cheapest instance that fits is {shape}; omit instance_type to pick it automatically"
    narrowed = [
        f"instance_selection.{name}"
        for name, value in (("families", options.families), ("max_price_per_hour", options.max_price_per_hour))
        if value is not None
    ]
    if not narrowed:
        return f"The cheapest instance that fits is {shape}"
    return f"Without {' and '.join(narrowed)}, the cheapest instance that fits is {shape}: relax them"


def too_small_message(
    profile: ModelProfile,
    stack: ServingStack,
    demand: MemoryDemand,
    fit: InstanceFit,
    options: SizingOptions,
    subject: str,
    alternative: InstanceFit | None,
) -> str:
    """Why the instance asked for cannot serve the model, with the numbers and where to go instead."""
    instead = cheapest_alternative(stack, options, alternative, picking=False)
    return (
        f"{subject}: {fit.spec.name!r} cannot serve the model with {stack.key}: {fit.reason}. "
        f"{describe_demand(profile, demand, options)}. {instead}"
    )


def no_fit_message(
    profile: ModelProfile,
    stack: ServingStack,
    demand: MemoryDemand,
    options: SizingOptions,
    table: list[InstanceFit],
    alternative: InstanceFit | None,
) -> str:
    """Why no instance can be picked, with the largest one considered and where to go instead."""
    constraints = []
    if options.families:
        constraints.append(f"families {list(options.families)}")
    if options.max_price_per_hour is not None:
        constraints.append(f"max_price_per_hour ${options.max_price_per_hour:.2f}")
    within = f" within {' and '.join(constraints)}" if constraints else ""
    largest = max(table, key=lambda f: (f.available_gpu_gib, f.spec.memory_gib), default=None)
    biggest = f"; the largest considered, {largest.spec.name}: {largest.reason}" if largest else ""
    tail = cheapest_alternative(stack, options, alternative, picking=True)
    kinds = " or ".join(sorted({_KIND[fit.spec.processor] for fit in table})) or _KIND[Processor.GPU]
    return (
        f"instance_type: no {kinds} instance{within} can serve the model with {stack.key}: "
        f"{describe_demand(profile, demand, options)}{biggest}. {tail}"
    )
