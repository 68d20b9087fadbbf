"""The memory model LLM servers with a paged KV cache share (vLLM, SGLang): a fixed share of every GPU holds the
weights, an overhead per GPU and the KV cache, and the longest sequence the cache holds is the context they serve.

Each server says what its share is (vLLM's ``gpu_memory_utilization``, SGLang's ``mem_fraction_static``) and what
its overhead per GPU is; this module does the arithmetic, in GiB:

- the weights + the overhead x GPUs + the KV cache of the tokens required / ``KV_SAFETY`` must fit in the share x
  the GPUs' memory (only ``KV_SAFETY`` of the estimated room counts: the server's own profiling finds less);
- the tokens required are ``concurrent_sequences`` (default 1) sequences of the shortest context asked for;
- on the instance picked, the context is set to what fits (a multiple of 1024) when the model's whole context
  does not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..catalogue.instances import InstanceSpec
from ..model.profile import ModelProfile
from .base import kv_bytes_per_token, shortest_context, tensor_parallel_problem
from .facts import GpuEvaluation, GpuFit, MemoryDemand, SizingKnobs

GIB = 2**30
KV_SAFETY = 0.9
"""The share of the estimated KV-cache room the sizing counts on."""
DEFAULT_MIN_CONTEXT_TOKENS = 4096
"""The shortest context the sizing sets, unless ``min_context_tokens`` says otherwise."""
FALLBACK_CONTEXT_TOKENS = 4096
"""The context assumed when the model's is unknown."""
CONTEXT_STEP = 1024
"""The context the sizing sets is a multiple of this."""


NOT_PICKED_GPUS = frozenset({"T4", "V100"})
"""GPUs run when asked for, never picked: no bfloat16, no FlashAttention-2."""
BF16_COMPUTE_CAPABILITY = 8.0
FP8_COMPUTE_CAPABILITY = 8.0  # weight-only (Marlin) on Ampere, native from Ada (8.9) on


@dataclass(frozen=True)
class KvServer:
    """How one server spends a GPU's memory."""

    name: str
    """How messages name the server (``vLLM``)."""
    share_name: str
    """The flag that sets the share (``gpu_memory_utilization``)."""
    overhead_gib_per_gpu: float
    """Memory per GPU the share holds beside weights and KV cache (activations, CUDA graphs, NCCL)."""


def required_length(profile: ModelProfile, knobs: SizingKnobs, given: int | None) -> int:
    """The sequence length the KV cache must hold: the server flag when given, else the shortest context asked
    for (``min_context_tokens``, default 4096, or the model's context when shorter)."""
    if given is not None:
        return given
    return shortest_context(profile, knobs, DEFAULT_MIN_CONTEXT_TOKENS, fallback=FALLBACK_CONTEXT_TOKENS)


def kv_demand(
    profile: ModelProfile,
    knobs: SizingKnobs,
    *,
    weights_gib: float,
    host_gib: float,
    given_length: int | None,
    element_bytes: int = 2,
    precision: str | None = None,
) -> MemoryDemand:
    """What a model needs on such a server: its weights and the KV cache of ``concurrent_sequences`` sequences."""
    length = required_length(profile, knobs, given_length)
    sequences = knobs.concurrent_sequences or 1
    per_token = kv_bytes_per_token(profile, element_bytes)
    return MemoryDemand(weights_gib, host_gib, per_token, sequences * length, length, precision)


def instance_kv_bytes_per_token(profile: ModelProfile, demand: MemoryDemand, gpus: int) -> float:
    """KV-cache bytes per token over all GPUs: with fewer key/value heads than GPUs, each GPU keeps a copy."""
    kv_heads = profile.effective_key_value_heads
    if kv_heads and kv_heads < gpus:
        return demand.kv_bytes_per_token * gpus / kv_heads
    return demand.kv_bytes_per_token


def evaluate(
    server: KvServer, spec: InstanceSpec, profile: ModelProfile, demand: MemoryDemand, share: float
) -> GpuEvaluation:
    """How the GPUs of ``spec`` hold the weights, the overhead and the KV cache of the tokens required, within
    ``share`` of their memory."""
    gpus = spec.accelerators
    available = gpus * spec.usable_accelerator_memory_gib * share
    overhead = server.overhead_gib_per_gpu * gpus
    per_token = instance_kv_bytes_per_token(profile, demand, gpus)
    room = available - demand.weights_gib - overhead
    capacity = max(0, int(room * GIB * KV_SAFETY / per_token)) if per_token else None
    kv_gib = demand.required_tokens * per_token / GIB / KV_SAFETY
    needed = demand.weights_gib + overhead + kv_gib
    reasons: tuple[str, ...] = ()
    if needed > available:
        where = f"{gpus} x {spec.accelerator_model}" if gpus > 1 else f"one {spec.accelerator_model}"
        extra = f" + {overhead:.1f} GiB overhead" if overhead else ""
        reasons = (
            f"needs {needed:.1f} GiB GPU memory ({demand.weights_gib:.1f} GiB weights + {kv_gib:.1f} GiB KV cache "
            f"for {demand.required_tokens} tokens{extra}), and {server.name} may use {available:.1f} GiB: "
            f"{server.share_name} {share:g} of {where}",
        )
    return GpuEvaluation(gpus, needed, available, kv_gib, capacity, reasons)


def fitting_length(profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs) -> int | None:
    """The context to set: what the KV cache holds for ``concurrent_sequences``, a multiple of 1024 and at least
    the shortest context asked for; ``None`` when the model's full context fits (or is unknown)."""
    context = profile.max_position_embeddings
    if context is None or fit.kv_capacity_tokens is None:
        return None
    per_sequence = fit.kv_capacity_tokens // (knobs.concurrent_sequences or 1)
    if per_sequence >= context:
        return None
    return max(per_sequence // CONTEXT_STEP * CONTEXT_STEP, demand.min_total_tokens)


def context_note(server: str, flag: str, profile: ModelProfile, fit: GpuFit, length: object) -> str:
    """``vLLM max_model_len 29696 (the model's context: 131072)``, for summaries and ``recommend``."""
    context = profile.max_position_embeddings
    parallel = f", tensor parallel over {fit.gpus_used} GPUs" if fit.gpus_used > 1 else ""
    if length is not None:
        of = f" (the model's context: {context})" if context else ""
        return f"{server} {flag} {length}{of}{parallel}"
    if context:
        return f"{server} {flag} {context} (the model's full context){parallel}"
    return f"{server} {flag}: the model's own{parallel}"


def memory_breakdown(server: str, demand: MemoryDemand, kv_cache_gib: float, needed_gib: float, share_name: str) -> str:
    """How a summary adds up the GPU memory after the weights."""
    overhead = needed_gib - demand.weights_gib - kv_cache_gib
    extra = f" + {overhead:.1f} GiB {server} overhead" if overhead > 0.05 else ""
    return (
        f"+ {kv_cache_gib:.1f} GiB KV cache ({demand.required_tokens} tokens){extra} "
        f"= {needed_gib:.1f} GiB needed within {share_name}"
    )


def gpu_problems(
    server: str,
    spec: InstanceSpec,
    profile: ModelProfile,
    parallel: Mapping[str, int | None],
    *,
    picking: bool,
    dtype: Any,
    fp8: bool,
) -> list[str]:
    """Why ``server`` cannot run the model on the GPUs of ``spec`` for reasons other than memory.

    :param parallel: the parallel-size flags given (``None``: not given), the tensor-parallel one first; their
        product must be the GPU count.
    """
    reasons: list[str] = []
    gpus, gpu, capability = spec.accelerators, spec.accelerator_model, spec.compute_capability or 0.0
    names = list(parallel)
    tensor = parallel[names[0]] or gpus
    used = tensor * math.prod(parallel[name] or 1 for name in names[1:])
    if used != gpus:
        reasons.append(
            f"{' x '.join(names)} is {used}, and {server} must use all {gpus} GPUs of {spec.name}; set it to "
            f"{gpus}, or choose an instance with {used} GPUs"
        )
    split = tensor_parallel_problem(profile, tensor, server)
    if split:
        reasons.append(split)
    if picking and gpu in NOT_PICKED_GPUS:
        reasons.append(
            f"not picked for {server} automatically: {gpu} has no bfloat16 and no FlashAttention-2; pass "
            f"instance_type={spec.name!r} (or families=[{spec.family!r}]) to use it"
        )
    if dtype == "bfloat16" and capability < BF16_COMPUTE_CAPABILITY:
        reasons.append(
            f"dtype 'bfloat16' needs compute capability 8.0 or newer, and {gpu} is {capability:g}; use dtype 'half'"
        )
    if (fp8 or profile.dtype == "float8") and capability < FP8_COMPUTE_CAPABILITY:
        reasons.append(
            f"FP8 weights need compute capability 8.0 or newer (weight-only on A10G and A100, native from L4 and "
            f"L40S on), and {gpu} is {capability:g}"
        )
    return reasons


def needs_half_precision(profile: ModelProfile, spec: InstanceSpec) -> bool:
    """Whether bfloat16 weights must be served in float16 on ``spec`` (GPUs before Ampere have no bfloat16)."""
    return profile.dtype == "bfloat16" and (spec.compute_capability or 0) < BF16_COMPUTE_CAPABILITY
