"""GPU instance selection: how much memory a model needs, which instance holds it, TGI settings.

The memory model (all numbers in GiB, 1 GiB = 2**30 bytes):

* **weights** = ``served_weights_gib``: parameters x bytes per dtype (float32 4,
  float16/bfloat16 2, int8/float8 1, int4 0.5), or the explicit ``weights_bytes``, as the serving
  stack loads them: TGI and TEI serve float32 in float16, the inference toolkit's default handler
  loads every float dtype in float32 (``transformers.pipeline`` without ``torch_dtype``), a custom
  script is sized as stored. With ``quantize`` the weights take ``QUANTIZE_BYTES_PER_PARAMETER``
  bytes per parameter (4-bit awq/gptq/bitsandbytes-nf4/fp4: 0.55 = 0.5 plus ~10% for scales, zero
  points and the embeddings/norms kept in 16 bit; 8-bit bitsandbytes/eetq/fp8: 1.05); awq, gptq,
  marlin and exl2 need a checkpoint already quantized that way (``check_quantize``).
* **KV cache** (TGI only) = ``kv_cache_bytes_per_token`` (2 x layers x kv heads x head dim x 2
  bytes) x a batch-token budget. The budget is ``CONCURRENT_SEQUENCES`` (4) full-length
  sequences of ``DEFAULT_MIN_TOTAL_TOKENS`` (4096, or the model's context if shorter), or the
  user's ``max_total_tokens`` / ``max_batch_total_tokens``. Without layer/head counts the KV
  cache is estimated at ``FALLBACK_KV_BYTES_PER_TOKEN_PER_PARAMETER`` bytes per parameter per
  token (what a multi-head-attention 7B model needs).
* **needed** = (weights + KV cache) x (1 + ``headroom``, default 0.15, for activations and
  fragmentation) + ``CUDA_CONTEXT_GIB`` (1 GiB) per GPU in use.
* **available** = GPUs in use x usable memory per GPU (``InstanceSpec.usable_accelerator_memory_gib``).
* **host** memory: the inference toolkit and TEI load the whole checkpoint into host memory
  first, so host RAM >= weights x ``HOST_LOAD_FACTOR`` (1.2) + ``HOST_BASE_GIB`` (2); TGI streams
  shards to the GPUs and needs only ``HOST_BASE_GIB``.

GPUs in use: the inference toolkit's default handler and TEI run on one GPU, so the model must fit
one GPU; TGI shards over all GPUs of the instance (``SM_NUM_GPUS``), and the shard count must
divide the attention heads (and the key/value heads when there are at least as many; with fewer
key/value heads than shards, TGI replicates them and the shard count must be a multiple of them).
TGI's optimized models need a T4 or newer GPU (TGI's "Using TGI with Nvidia GPUs"), so V100 (p3)
is not eligible; T4 (g4dn) is, when asked for (``instance_type``, or ``families`` naming g4dn), but
the automatic pick passes it over: it has no bfloat16 and no FlashAttention-2, which TGI's newer
kernels use. ``quantize="fp8"`` needs Ada/Hopper (L4, L40S, H100, H200).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ._core.errors import ConfigurationError, Problems, allowed_list, describe
from ._core.tokens import is_number, is_unresolved
from .catalogue.instances import (
    GPU_FAMILIES,
    INSTANCE_CATALOGUE,
    InstanceSpec,
    Processor,
    instance_type_problem,
    with_prices,
)
from .catalogue.tasks import default_serving
from .model.profile import ModelProfile

GIB = 1024**3

SERVING_KINDS: tuple[str, ...] = ("inference-toolkit", "tgi", "tei")
"""Serving stacks sizing understands (``Serving`` enum values; ``auto`` is resolved from the task)."""

QUANTIZE_BYTES_PER_PARAMETER: Mapping[str, float] = {
    "awq": 0.55,
    "gptq": 0.55,
    "marlin": 0.55,
    "exl2": 0.55,
    "bitsandbytes-nf4": 0.55,
    "bitsandbytes-fp4": 0.55,
    "bitsandbytes": 1.05,
    "eetq": 1.05,
    "fp8": 1.05,
}
"""Bytes per parameter after TGI quantization (``HF_MODEL_QUANTIZE``); see the module docstring."""

HEADROOM_DEFAULT = 0.15
CUDA_CONTEXT_GIB = 1.0
HOST_LOAD_FACTOR = 1.2
HOST_BASE_GIB = 2.0
CONCURRENT_SEQUENCES = 4
DEFAULT_MIN_TOTAL_TOKENS = 4096
DEFAULT_MAX_TOTAL_TOKENS_CAP = 32768
GENERATION_RESERVE_TOKENS = 1024
PREFILL_EXTRA_TOKENS = 50
FALLBACK_KV_BYTES_PER_TOKEN_PER_PARAMETER = 8e-5
FALLBACK_CONTEXT_TOKENS = 4096

PREQUANTIZED_METHODS: frozenset[str] = frozenset({"awq", "gptq", "marlin", "exl2"})
"""``quantize`` values that load a checkpoint already quantized with that method; the others
(bitsandbytes*, eetq, fp8) quantize 16-bit weights while loading them."""

_TGI_UNSUPPORTED_GPUS = frozenset({"V100"})
_TGI_NOT_PICKED_GPUS = frozenset({"T4"})  # supported, but chosen only when asked for
_FP8_GPUS = frozenset({"L4", "L40S", "H100", "H200"})
_HALF_PRECISION_BYTES = 2  # TGI and TEI serve float32 checkpoints in float16
_FULL_PRECISION_BYTES = 4  # transformers loads every float checkpoint as float32 unless told otherwise


def quantized_bytes_per_parameter(quantize: str) -> float:
    """Bytes per parameter after ``quantize`` (raises ``ConfigurationError`` for unknown values)."""
    try:
        return QUANTIZE_BYTES_PER_PARAMETER[quantize]
    except KeyError:
        raise ConfigurationError(
            f"quantize: {describe(quantize)} is not a TGI quantization; allowed: "
            f"{allowed_list(QUANTIZE_BYTES_PER_PARAMETER)}"
        ) from None


def resolve_serving(serving: str, profile: ModelProfile) -> str:
    """Normalise a serving kind (a string or ``Serving`` member); ``auto`` picks by the model's task:
    TEI for embeddings (of an architecture TEI loads), TGI for text generation, the inference toolkit
    otherwise."""
    value = str(getattr(serving, "value", serving)).lower()
    if value == "auto":
        return default_serving(profile.task, profile.architecture)
    if value not in SERVING_KINDS:
        raise ConfigurationError(
            f"serving: {describe(serving)} is not allowed; allowed: {allowed_list((*SERVING_KINDS, 'auto'))}"
        )
    return value


@dataclass(frozen=True)
class SizingOptions:
    """Constraints and knobs for instance selection.

    :param families: GPU families to choose from, e.g. ``["g5", "g6"]``. :default: - every GPU family
        in the catalogue (``GPU_FAMILIES``)
    :param max_price_per_hour: upper bound on price x ``min_instance_count`` (USD/hour).
        :default: - no limit
    :param min_instance_count: instances the variant runs; prices are compared for this many. :default: 1
    :param prices: instance prices overriding the indicative catalogue prices. :default: - catalogue prices
    :param max_input_tokens: TGI ``MAX_INPUT_TOKENS``. :default: - ``max_total_tokens`` minus up to 1024
    :param max_total_tokens: TGI ``MAX_TOTAL_TOKENS``. :default: - as many as memory allows for 4 concurrent
        sequences, capped at 32768 and the model's context
    :param max_batch_total_tokens: TGI ``MAX_BATCH_TOTAL_TOKENS``. :default: - TGI measures free memory
    :param max_batch_prefill_tokens: TGI ``MAX_BATCH_PREFILL_TOKENS``. :default: ``max_input_tokens`` + 50
    :param quantize: TGI ``HF_MODEL_QUANTIZE``. :default: - no quantization
    :param headroom: fraction added to weights + KV cache for activations. :default: 0.15
    """

    families: Sequence[str] | None = None
    max_price_per_hour: float | None = None
    min_instance_count: int = 1
    prices: Mapping[str, float] | None = None
    max_input_tokens: int | None = None
    max_total_tokens: int | None = None
    max_batch_total_tokens: int | None = None
    max_batch_prefill_tokens: int | None = None
    quantize: str | None = None
    headroom: float = HEADROOM_DEFAULT

    def __post_init__(self) -> None:
        problems = Problems("instance_selection")
        if self.families is not None:
            if isinstance(self.families, str) or not self.families:
                problems.add("instance_selection.families", self.families, "must be a non-empty list of GPU families")
            else:
                unknown = [f for f in self.families if f not in GPU_FAMILIES]
                if unknown:
                    problems.add(
                        "instance_selection.families",
                        unknown,
                        f"are not GPU families; allowed: {allowed_list(GPU_FAMILIES)}",
                    )
        if self.max_price_per_hour is not None and not _positive_number(self.max_price_per_hour):
            problems.add("instance_selection.max_price_per_hour", self.max_price_per_hour, "must be a positive number")
        if not _positive_int(self.min_instance_count):
            problems.add("instance_selection.min_instance_count", self.min_instance_count, "must be at least 1")
        if self.prices is not None:
            unknown_prices = sorted(set(self.prices) - set(INSTANCE_CATALOGUE))
            if unknown_prices:
                problems.add("instance_selection.prices", unknown_prices, "are not known instance types")
            bad = {k: v for k, v in self.prices.items() if not _positive_number(v)}
            if bad:
                problems.add("instance_selection.prices", bad, "must be positive numbers")
        for name in ("max_input_tokens", "max_total_tokens", "max_batch_total_tokens", "max_batch_prefill_tokens"):
            value = getattr(self, name)
            if value is not None and not _positive_int(value):
                problems.add(f"instance_selection.{name}", value, "must be a positive integer")
        if self.quantize is not None and self.quantize not in QUANTIZE_BYTES_PER_PARAMETER:
            problems.add(
                "instance_selection.quantize",
                self.quantize,
                f"is not allowed; allowed: {allowed_list(QUANTIZE_BYTES_PER_PARAMETER)}",
            )
        if not (
            isinstance(self.headroom, (int, float)) and not isinstance(self.headroom, bool) and 0 <= self.headroom <= 1
        ):
            problems.add("instance_selection.headroom", self.headroom, "must be a fraction between 0 and 1")
        if not problems:
            _check_token_order(self, problems)
        problems.raise_if_any()


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: object) -> bool:
    return isinstance(value, int | float) and is_number(value) and value > 0


def _check_token_order(options: SizingOptions, problems: Problems) -> None:
    inp, total = options.max_input_tokens, options.max_total_tokens
    batch, prefill = options.max_batch_total_tokens, options.max_batch_prefill_tokens
    if inp is not None and total is not None and inp >= total:
        problems.add("instance_selection.max_input_tokens", inp, f"must be less than max_total_tokens ({total})")
    if prefill is not None and inp is not None and prefill < inp:
        problems.add(
            "instance_selection.max_batch_prefill_tokens", prefill, f"must be at least max_input_tokens ({inp})"
        )
    if batch is not None and total is not None and batch < total:
        problems.add("instance_selection.max_batch_total_tokens", batch, f"must be at least max_total_tokens ({total})")


@dataclass(frozen=True)
class InstanceFit:
    """How one instance type fits a model."""

    spec: InstanceSpec
    fits: bool
    needed_gpu_gib: float
    """Accelerator memory the model needs on this instance (over the GPUs it uses)."""
    available_gpu_gib: float
    """Usable accelerator memory of the GPUs the model uses."""
    needed_host_gib: float
    reason: str | None
    """Why it does not fit (``None`` when it fits)."""
    price_per_hour: float | None
    """Indicative price of one instance, USD/hour."""
    gpus_used: int = 0
    kv_cache_gib: float = 0.0
    """KV cache budgeted (TGI)."""
    kv_capacity_tokens: int | None = None
    """Tokens of KV cache that fit in what remains after weights and headroom (TGI)."""


@dataclass(frozen=True)
class DeploymentPlan:
    """The instance picked (or checked) for a model and the environment to run it with."""

    instance_type: str
    fit: InstanceFit
    environment: Mapping[str, str]
    """Container environment sizing decided (TGI: ``SM_NUM_GPUS``, ``MAX_INPUT_TOKENS``, ...)."""
    startup_health_check_timeout_seconds: int | None
    """``ContainerStartupHealthCheckTimeoutInSeconds`` (``None``: SageMaker's default is enough)."""
    summary: str
    """One readable line: model size, memory math, instance, indicative price."""
    candidates: tuple[InstanceFit, ...] = field(default=())
    """Every GPU instance considered, fitting first, cheapest first (empty when instance_type was given)."""


@dataclass(frozen=True)
class _Demand:
    serving: str
    weights_gib: float
    kv_bytes_per_token: float
    required_tokens: int
    min_total_tokens: int
    host_gib: float
    precision: str | None = None
    """How the serving stack loads the weights when that differs from how they are stored."""


def check_quantize(profile: ModelProfile, quantize: str | None, *, subject: str = "instance_selection") -> None:
    """Reject a ``quantize`` that TGI cannot apply to this checkpoint.

    awq, gptq, marlin and exl2 read weights already quantized with that method: TGI fails at start-up
    on a 16-bit checkpoint. The on-the-fly methods need 16-bit weights to quantize.
    """
    if quantize is None:
        return
    prequantized = profile.dtype in ("int4", "int8", "float8")
    # int32 tensors in a float checkpoint: packed weights whose config does not say so (AutoGPTQ's
    # quantize_config.json, for one). Not enough to call it quantized, too much to call it 16-bit.
    maybe_prequantized = prequantized or bool(profile.parameters_by_dtype and "int32" in profile.parameters_by_dtype)
    name = profile.model_id or "the model"
    if quantize in PREQUANTIZED_METHODS and not maybe_prequantized:
        on_the_fly = sorted(set(QUANTIZE_BYTES_PER_PARAMETER) - PREQUANTIZED_METHODS)
        raise ConfigurationError(
            f"{subject}.quantize: {quantize!r} loads a checkpoint already quantized with {quantize}, and {name} is "
            f"stored in {profile.dtype}; serve a {quantize} checkpoint of the model (TGI then reads the method from "
            f"its config.json, quantize may stay unset), or quantize while loading with one of "
            f"{allowed_list(on_the_fly)} (for a model_profile given by hand: set its dtype, e.g. dtype='int4')"
        )
    if quantize not in PREQUANTIZED_METHODS and prequantized:
        raise ConfigurationError(
            f"{subject}.quantize: {quantize!r} quantizes 16-bit weights while loading them, and {name} is already "
            f"quantized ({profile.dtype}); leave quantize unset (TGI reads the checkpoint's method from config.json)"
        )


def _loaded_weights(profile: ModelProfile, serving: str, options: SizingOptions, custom_script: bool) -> _Demand:
    """GiB the weights take once the serving stack has loaded them, and how they are loaded."""
    if options.quantize is not None:
        return _Demand(serving, profile.weights_gib(options.quantize), 0.0, 0, 0, 0.0)
    if serving in ("tgi", "tei"):
        float_bytes, precision = _HALF_PRECISION_BYTES, "float32 weights served in float16"
    elif custom_script:
        # The script's model_fn decides the dtype: sized as stored.
        return _Demand(serving, profile.weights_gib(), 0.0, 0, 0, 0.0, "as stored (model_fn decides the dtype)")
    else:
        # The toolkit's default handler calls transformers.pipeline without torch_dtype.
        float_bytes, precision = _FULL_PRECISION_BYTES, "loaded in float32 by the toolkit's default handler"
    loaded = profile.weights_gib(float_bytes=float_bytes)
    changed = abs(loaded - profile.weights_gib()) > 1e-9
    return _Demand(serving, loaded, 0.0, 0, 0, 0.0, precision if changed else None)


def served_weights_gib(
    profile: ModelProfile, *, serving: str, options: SizingOptions | None = None, custom_script: bool = False
) -> float:
    """GiB the weights take once the serving stack has loaded them: quantized with ``options.quantize``,
    float32 cast to float16 by TGI and TEI, every float dtype cast to float32 by the inference
    toolkit's default handler, as stored under a custom script."""
    options = options or SizingOptions()
    return _demand(profile, resolve_serving(serving, profile), options, custom_script).weights_gib


def _demand(profile: ModelProfile, serving: str, options: SizingOptions, custom_script: bool = False) -> _Demand:
    check_quantize(profile, options.quantize)
    loaded = _loaded_weights(profile, serving, options, custom_script)
    weights = loaded.weights_gib
    host = HOST_BASE_GIB if serving == "tgi" else weights * HOST_LOAD_FACTOR + HOST_BASE_GIB
    if serving != "tgi":
        return replace(loaded, host_gib=host)
    kv = profile.kv_cache_bytes_per_token()
    kv_per_token = float(kv) if kv is not None else profile.parameters * FALLBACK_KV_BYTES_PER_TOKEN_PER_PARAMETER
    context = profile.max_position_embeddings or FALLBACK_CONTEXT_TOKENS
    min_total = options.max_total_tokens or max(
        min(context, DEFAULT_MIN_TOTAL_TOKENS), (options.max_input_tokens or 0) + 1
    )
    required = options.max_batch_total_tokens or CONCURRENT_SEQUENCES * min_total
    return _Demand(serving, weights, kv_per_token, required, min_total, host, loaded.precision)


def _tgi_shard_problem(profile: ModelProfile, shards: int) -> str | None:
    heads = profile.num_attention_heads
    if heads and heads % shards:
        return f"TGI shards over its {shards} GPUs, and {shards} does not divide the model's {heads} attention heads"
    kv = profile.num_key_value_heads
    if kv and kv != heads:
        if kv >= shards and kv % shards:
            return f"TGI shards over its {shards} GPUs, and {shards} does not divide the model's {kv} key/value heads"
        if kv < shards and shards % kv:
            return f"TGI cannot replicate the model's {kv} key/value heads over {shards} GPUs"
    return None


def _evaluate(
    spec: InstanceSpec, profile: ModelProfile, demand: _Demand, options: SizingOptions, *, picking: bool = False
) -> InstanceFit:
    """How ``spec`` fits the model; ``picking`` when the instance was not asked for by name or family."""
    price = spec.price_per_hour
    headroom = 1 + options.headroom
    if spec.processor is Processor.CPU:
        # CPU hosting (toolkit/TEI): the model lives in host memory, and TEI's CPU build runs float32.
        weights = profile.weights_gib(float_bytes=4) if demand.serving == "tei" else demand.weights_gib
        needed_host = weights * HOST_LOAD_FACTOR + HOST_BASE_GIB
        reason = None
        if demand.serving == "tgi":
            reason = "TGI needs a GPU instance"
        elif needed_host > spec.memory_gib:
            reason = f"needs {needed_host:.1f} GiB host memory, {spec.name} has {spec.memory_gib:g} GiB"
        return InstanceFit(spec, reason is None, 0.0, 0.0, needed_host, reason, price)
    if spec.processor is not Processor.GPU:
        return InstanceFit(
            spec,
            False,
            0.0,
            0.0,
            demand.host_gib,
            "instance sizing covers GPU and CPU instances, not Inferentia",
            price,
        )
    gpus = spec.accelerators if demand.serving == "tgi" else 1
    per_gpu = spec.usable_accelerator_memory_gib
    available = gpus * per_gpu
    kv_gib = demand.required_tokens * demand.kv_bytes_per_token / GIB
    needed = (demand.weights_gib + kv_gib) * headroom + CUDA_CONTEXT_GIB * gpus
    capacity = None
    if demand.serving == "tgi":
        free = (available - CUDA_CONTEXT_GIB * gpus) / headroom - demand.weights_gib
        capacity = max(0, int(free * GIB / demand.kv_bytes_per_token)) if demand.kv_bytes_per_token else None
    reasons: list[str] = []
    if demand.serving == "tgi":
        if spec.accelerator_model in _TGI_UNSUPPORTED_GPUS:
            reasons.append(
                f"TGI's optimized models need a T4 or newer GPU (flash and paged attention); "
                f"{spec.accelerator_model} is not supported"
            )
        elif picking and spec.accelerator_model in _TGI_NOT_PICKED_GPUS:
            reasons.append(
                f"not picked for TGI automatically: {spec.accelerator_model} has no bfloat16 and no "
                f"FlashAttention-2; pass instance_type={spec.name!r} (or families=[{spec.family!r}]) to use it"
            )
        if options.quantize == "fp8" and spec.accelerator_model not in _FP8_GPUS:
            reasons.append(
                f"quantize='fp8' needs an Ada or Hopper GPU (L4, L40S, H100, H200), not {spec.accelerator_model}"
            )
        shard_problem = _tgi_shard_problem(profile, gpus)
        if shard_problem:
            reasons.append(shard_problem)
    if needed > available:
        where = f"{gpus} x {spec.accelerator_model}" if gpus > 1 else f"one {spec.accelerator_model}"
        reasons.append(f"needs {needed:.1f} GiB GPU memory, {where} has {available:.1f} GiB usable")
    if demand.host_gib > spec.memory_gib:
        reasons.append(
            f"needs {demand.host_gib:.1f} GiB host memory to load the checkpoint, "
            f"{spec.name} has {spec.memory_gib:g} GiB"
        )
    return InstanceFit(
        spec=spec,
        fits=not reasons,
        needed_gpu_gib=round(needed, 2),
        available_gpu_gib=round(available, 2),
        needed_host_gib=round(demand.host_gib, 2),
        reason="; ".join(reasons) or None,
        price_per_hour=price,
        gpus_used=gpus,
        kv_cache_gib=round(kv_gib, 2),
        kv_capacity_tokens=capacity,
    )


def _catalogue(options: SizingOptions) -> Mapping[str, InstanceSpec]:
    return with_prices(options.prices) if options.prices else INSTANCE_CATALOGUE


def selection_conflicts(instance_type: str, options: SizingOptions, instance_count: int) -> list[str]:
    """Where an explicit ``instance_type`` contradicts the picking constraints of ``options``.

    ``families`` and ``max_price_per_hour`` only narrow an automatic pick; given together with an
    instance type outside them, one of the two is a mistake, and silently ignoring the constraint
    would hide it. Returns the problems with ``instance_type``; tokens and uncatalogued names pass.
    """
    spec = None if is_unresolved(instance_type) else _catalogue(options).get(instance_type)
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


def _rank(fit: InstanceFit, count: int) -> tuple[float, int, float, str]:
    price = fit.price_per_hour * count if fit.price_per_hour is not None else math.inf
    return (price, fit.spec.accelerators, fit.spec.memory_gib, fit.spec.name)


def fit_table(
    profile: ModelProfile, *, serving: str, options: SizingOptions | None = None, custom_script: bool = False
) -> list[InstanceFit]:
    """How every GPU instance (in ``options.families``) fits the model: fitting first, then cheapest first.

    Instances above ``options.max_price_per_hour`` are marked as not fitting, with the reason.

    :param options: constraints. :default: ``SizingOptions()``
    :param custom_script: whether a custom ``inference.py`` loads the model with its own
        ``model_fn`` (which then decides the dtype, and the weights are sized as stored). :default: False
    """
    options = options or SizingOptions()
    kind = resolve_serving(serving, profile)
    demand = _demand(profile, kind, options, custom_script)
    families = set(options.families or GPU_FAMILIES)
    fits = []
    for spec in _catalogue(options).values():
        if spec.processor is not Processor.GPU or spec.family not in families:
            continue
        fit = _evaluate(spec, profile, demand, options, picking=options.families is None)
        if fit.fits and options.max_price_per_hour is not None:
            total = (fit.price_per_hour or math.inf) * options.min_instance_count
            if total > options.max_price_per_hour:
                fit = _replace_reason(
                    fit, f"costs ${total:.2f}/h, above max_price_per_hour ${options.max_price_per_hour:.2f}"
                )
        fits.append(fit)
    return sorted(fits, key=lambda f: (not f.fits, *_rank(f, options.min_instance_count)))


def _replace_reason(fit: InstanceFit, reason: str) -> InstanceFit:
    return replace(fit, fits=False, reason=reason)


def _tgi_environment(
    profile: ModelProfile, fit: InstanceFit, demand: _Demand, options: SizingOptions, subject: str
) -> dict[str, str]:
    context = profile.max_position_embeddings
    capacity = fit.kv_capacity_tokens if fit.kv_capacity_tokens is not None else demand.required_tokens
    if options.max_total_tokens is not None:
        total = options.max_total_tokens
    else:
        per_sequence = capacity // CONCURRENT_SEQUENCES
        total = 1 << (max(per_sequence, 1).bit_length() - 1)  # the largest power of two <= per_sequence
        total = min(total, DEFAULT_MAX_TOTAL_TOKENS_CAP, context or FALLBACK_CONTEXT_TOKENS)
        total = max(total, demand.min_total_tokens)
    problems = Problems(subject)
    if context is not None and total > context:
        problems.add(
            "instance_selection.max_total_tokens",
            total,
            f"exceeds the model's context of {context} tokens (max_position_embeddings)",
        )
    if options.max_input_tokens is not None:
        max_input = options.max_input_tokens
    else:
        max_input = total - min(GENERATION_RESERVE_TOKENS, total // 2)
    if max_input >= total:
        problems.add("instance_selection.max_input_tokens", max_input, f"must be less than max_total_tokens ({total})")
    prefill = options.max_batch_prefill_tokens or max_input + PREFILL_EXTRA_TOKENS
    batch_total = options.max_batch_total_tokens
    if batch_total is not None and options.max_batch_prefill_tokens is None:
        prefill = min(prefill, batch_total)
    if prefill < max_input:
        problems.add(
            "instance_selection.max_batch_prefill_tokens", prefill, f"must be at least max_input_tokens ({max_input})"
        )
    if batch_total is not None and batch_total < total:
        problems.add(
            "instance_selection.max_batch_total_tokens", batch_total, f"must be at least max_total_tokens ({total})"
        )
    problems.raise_if_any()
    env = {
        "SM_NUM_GPUS": str(fit.spec.accelerators),
        "MAX_INPUT_TOKENS": str(max_input),
        "MAX_TOTAL_TOKENS": str(total),
        "MAX_BATCH_PREFILL_TOKENS": str(prefill),
    }
    if options.max_batch_total_tokens is not None:
        env["MAX_BATCH_TOTAL_TOKENS"] = str(options.max_batch_total_tokens)
    if options.quantize:
        env["HF_MODEL_QUANTIZE"] = options.quantize
    return env


TGI_MIN_STARTUP_TIMEOUT_SECONDS = 600
"""The shortest startup health check timeout given to TGI: downloading and sharding any LLM takes minutes."""


def _health_check_timeout(serving: str, weights_gib: float) -> int | None:
    """TGI: 600 s + 10 s per GiB of weights, clamped to 600..3600. Others: ``None`` below 2 GiB,
    else 300 s + 10 s per GiB, clamped to 300..3600."""
    if serving == "tgi":
        base = TGI_MIN_STARTUP_TIMEOUT_SECONDS
        return int(min(3600, max(base, base + 10 * weights_gib)))
    if weights_gib < 2:
        return None
    return int(min(3600, max(300, 300 + 10 * weights_gib)))


def _summary(
    profile: ModelProfile,
    demand: _Demand,
    fit: InstanceFit,
    options: SizingOptions,
    env: Mapping[str, str],
    chosen: bool,
) -> str:
    name = profile.model_id or "model"
    quant = f" quantized {options.quantize}" if options.quantize else ""
    precision = f" ({demand.precision})" if demand.precision else ""
    parts = [f"{name}: {profile.describe_size()} = {demand.weights_gib:.1f} GiB weights{quant}{precision}"]
    if fit.spec.processor is Processor.CPU:
        parts.append(f"needs {fit.needed_host_gib:.1f} GiB host memory")
    else:
        if demand.serving == "tgi":
            parts.append(f"+ {fit.kv_cache_gib:.1f} GiB KV cache ({demand.required_tokens} tokens)")
        parts.append(
            f"+ {options.headroom:.0%} headroom + {CUDA_CONTEXT_GIB:g} GiB/GPU CUDA context "
            f"= {fit.needed_gpu_gib:.1f} GiB needed"
        )
    verb = "picked" if chosen else "checked"
    if fit.spec.accelerators and fit.spec.processor is Processor.GPU:
        gpus = f"{fit.spec.accelerators} x {fit.spec.accelerator_model}, {fit.available_gpu_gib:.1f} GiB usable"
        if fit.gpus_used != fit.spec.accelerators:
            gpus += f" on the {fit.gpus_used} GPU used"
        where = f"{fit.spec.name} ({gpus})"
    else:
        where = f"{fit.spec.name} ({fit.spec.memory_gib:g} GiB host memory)"
    price = f"; ~${fit.price_per_hour:.2f}/h indicative" if fit.price_per_hour is not None else ""
    tgi = f"; MAX_TOTAL_TOKENS={env['MAX_TOTAL_TOKENS']}" if "MAX_TOTAL_TOKENS" in env else ""
    return f"{' '.join(parts)}; {verb} {where}{price}{tgi}"


def plan_deployment(
    profile: ModelProfile,
    *,
    serving: str,
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
    a given ``instance_type`` is checked for memory, GPU generation and TGI sharding here, and against
    those constraints by ``selection_conflicts``.

    :param serving: "inference-toolkit", "tgi", "tei" (or a ``Serving`` member; "auto" picks by task).
    :param instance_type: instance to check. :default: - the cheapest that fits
    :param options: constraints. :default: ``SizingOptions()``
    :param subject: what error messages are prefixed with. :default: "instance_type"
    :param custom_script: whether a custom ``inference.py`` loads the model (see ``fit_table``). :default: False
    """
    options = options or SizingOptions()
    kind = resolve_serving(serving, profile)
    demand = _demand(profile, kind, options, custom_script)
    candidates: tuple[InstanceFit, ...] = ()
    if instance_type is None:
        table = fit_table(profile, serving=kind, options=options, custom_script=custom_script)
        candidates = tuple(table)
        if not table or not table[0].fits:
            raise ConfigurationError(_no_fit_message(profile, kind, demand, options, table, custom_script))
        fit = table[0]
        chosen = True
    else:
        if is_unresolved(instance_type):
            return DeploymentPlan(
                instance_type, _unchecked_fit(instance_type, demand), {}, None, f"{instance_type}: not checked (token)"
            )
        problem = instance_type_problem(instance_type)
        if problem:
            raise ConfigurationError(f"{subject}: {describe(instance_type)} {problem}")
        spec = _catalogue(options)[instance_type]
        fit = _evaluate(spec, profile, demand, options)
        if spec.processor is Processor.NEURONX:
            fit = InstanceFit(
                spec,
                True,
                0.0,
                0.0,
                demand.host_gib,
                "not checked: Inferentia needs a compiled model",
                spec.price_per_hour,
            )
        elif not fit.fits:
            raise ConfigurationError(_too_small_message(profile, kind, demand, fit, options, subject, custom_script))
        chosen = False
    env: dict[str, str] = {}
    if kind == "tgi" and fit.spec.processor is Processor.GPU:
        env = _tgi_environment(profile, fit, demand, options, subject)
    timeout = _health_check_timeout(kind, demand.weights_gib)
    return DeploymentPlan(
        instance_type=fit.spec.name,
        fit=fit,
        environment=env,
        startup_health_check_timeout_seconds=timeout,
        summary=_summary(profile, demand, fit, options, env, chosen),
        candidates=candidates,
    )


def _unchecked_fit(instance_type: str, demand: _Demand) -> InstanceFit:
    spec = InstanceSpec(name=instance_type, family="unknown", vcpus=0, memory_gib=0)
    return InstanceFit(spec, True, 0.0, 0.0, demand.host_gib, "not checked", None)


def _describe_demand(profile: ModelProfile, demand: _Demand, options: SizingOptions) -> str:
    quant = f" ({options.quantize})" if options.quantize else ""
    precision = f" ({demand.precision})" if demand.precision else ""
    text = f"{profile.model_id or 'The model'} ({profile.describe_size()}) has {demand.weights_gib:.1f} GiB of weights"
    text += quant + precision
    if demand.serving == "tgi":
        kv = demand.required_tokens * demand.kv_bytes_per_token / GIB
        text += f" and needs {kv:.1f} GiB of KV cache for {demand.required_tokens} tokens"
    return text


def _cheapest_alternative(
    profile: ModelProfile, kind: str, options: SizingOptions, custom_script: bool, *, picking: bool
) -> str:
    # The same constraints, minus the ones that only narrow the choice (families, price cap).
    relaxed = replace(options, families=None, max_price_per_hour=None)
    table = fit_table(profile, serving=kind, options=relaxed, custom_script=custom_script)
    if table and table[0].fits:
        best = table[0]
        price = f", ~${best.price_per_hour:.2f}/h" if best.price_per_hour is not None else ""
        shape = f"{best.spec.name} ({best.spec.accelerators} x {best.spec.accelerator_model}, "
        shape += f"{best.available_gpu_gib:.1f} GiB usable{price})"
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
    if kind == "tgi":
        hint = "a 4-bit AWQ or GPTQ checkpoint of the model, or quantize='bitsandbytes-nf4'"
    else:
        hint = "serving=Serving.TGI with quantize='bitsandbytes-nf4' for a generative model"
    return f"No catalogued instance fits; consider {hint}"


def _too_small_message(
    profile: ModelProfile,
    kind: str,
    demand: _Demand,
    fit: InstanceFit,
    options: SizingOptions,
    subject: str,
    custom_script: bool,
) -> str:
    alternative = _cheapest_alternative(profile, kind, options, custom_script, picking=False)
    return (
        f"{subject}: {fit.spec.name!r} cannot serve the model with {kind}: {fit.reason}. "
        f"{_describe_demand(profile, demand, options)}. {alternative}"
    )


def _no_fit_message(
    profile: ModelProfile,
    kind: str,
    demand: _Demand,
    options: SizingOptions,
    table: list[InstanceFit],
    custom_script: bool,
) -> str:
    constraints = []
    if options.families:
        constraints.append(f"families {list(options.families)}")
    if options.max_price_per_hour is not None:
        constraints.append(f"max_price_per_hour ${options.max_price_per_hour:.2f}")
    within = f" within {' and '.join(constraints)}" if constraints else ""
    largest = max(table, key=lambda f: f.available_gpu_gib, default=None)
    biggest = f"; the largest considered, {largest.spec.name}: {largest.reason}" if largest else ""
    tail = _cheapest_alternative(profile, kind, options, custom_script, picking=True)
    return (
        f"instance_type: no GPU instance{within} can serve the model with {kind}: "
        f"{_describe_demand(profile, demand, options)}{biggest}. {tail}"
    )
