"""How vLLM uses GPU and host memory, and the flags the sizing writes (tensor parallel size, ``max_model_len``).

At start-up vLLM takes ``gpu_memory_utilization`` (0.9 by default) of every GPU. In that share it keeps the
weights (split over the tensor-parallel GPUs), the activations of one batch, CUDA graphs and the CUDA and
NCCL context, and gives the rest to the KV cache. It refuses to start unless the KV cache holds one sequence
of ``max_model_len`` tokens, and ``max_model_len`` defaults to the model's whole context.

The sizing mirrors that with the arithmetic of ``serving.kv_cache`` (shared with SGLang): weights +
``OVERHEAD_GIB_PER_GPU`` per GPU + the KV cache of the tokens required must fit in ``gpu_memory_utilization``
x the GPUs' memory. The tokens required are ``concurrent_sequences`` (default 1) sequences of ``max_model_len``
when given, else of ``min_context_tokens`` (default 4096, or the model's context when shorter). On the
instance picked, ``max_model_len`` is set to what fits (a multiple of 1024) when the model's full context
does not: a 7-8B model in 16 bits runs on one 24 GB GPU, as its publishers deploy it, with a shorter context
than it would have on a 48 GB GPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...catalogue.instances import InstanceSpec
from ...model.profile import FLOAT_DTYPES, ModelProfile
from ..facts import GpuEvaluation, GpuFit, MemoryDemand, SizingKnobs, StackSettings
from ..kv_cache import KvServer, fitting_length, gpu_problems, kv_demand, needs_half_precision
from ..kv_cache import evaluate as evaluate_kv_cache
from ..server_flags import fraction, whole
from .contract import generation_2

GIB = 2**30
DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
"""vLLM's default share of each GPU's memory."""
OVERHEAD_GIB_PER_GPU = 1.5
"""What vLLM needs per GPU beside weights and KV cache: activations, CUDA graphs, the CUDA and NCCL context."""
SERVER = KvServer("vLLM", "gpu_memory_utilization", OVERHEAD_GIB_PER_GPU)
HOST_BASE_GIB = 4.0
"""Host memory of the server and its first GPU worker."""
HOST_PER_WORKER_GIB = 1.0
"""Host memory of each further tensor-parallel worker."""
LMCACHE_FRACTION = 0.5
LMCACHE_MIN_GIB = 5
"""The image's LMCache pool: ``max(5, floor(host GiB x HF_LMCACHE_CPU_FRACTION (0.5)))`` (hf_optimizations.sh)."""

QUANTIZE_AS_VLLM: Mapping[str, str] = {
    "awq": "awq",
    "gptq": "gptq",
    "marlin": "marlin",
    "fp8": "fp8",
    "bitsandbytes-nf4": "bitsandbytes",  # vLLM's in-flight bitsandbytes quantization is 4-bit NF4
}
"""``SizingOptions.quantize`` values vLLM applies, and its ``--quantization`` name for each."""

ON_THE_FLY_BYTES: Mapping[str, float] = {"fp8": 1.05, "ptpc_fp8": 1.05, "experts_int8": 1.05, "bitsandbytes": 0.55}
"""Methods that quantize 16-bit weights while loading them, and the bytes per parameter they leave."""
PREQUANTIZED: frozenset[str] = frozenset(
    {"awq", "awq_marlin", "gptq", "gptq_marlin", "gptq_marlin_24", "gptq_bitblas", "marlin", "bitblas"}
)
"""Methods that read weights already quantized that way (4- or 8-bit integers packed in the checkpoint)."""
QUANTIZATION_METHODS: frozenset[str] = frozenset(
    {
        *ON_THE_FLY_BYTES,
        *PREQUANTIZED,
        "aqlm", "auto-round", "compressed-tensors", "deepgemm_fp8", "deepspeedfp", "fbgemm_fp8", "fp_quant",
        "gguf", "hqq", "inc", "ipex", "modelopt", "modelopt_fp4", "modelopt_mixed", "moe_wna16", "mxfp4",
        "neuron_quant", "petit_nvfp4", "qqq", "quark", "rtn", "torchao", "tpu_int8",
    }
)  # fmt: skip
"""``--quantization`` values of vLLM's ``QuantizationMethods`` over the versions the images carry."""

_FLOAT32 = frozenset({"float", "float32"})


def utilization(engine_args: Mapping[str, Any]) -> float:
    """``gpu_memory_utilization``: given, or vLLM's default."""
    return fraction(engine_args.get("gpu_memory_utilization")) or DEFAULT_GPU_MEMORY_UTILIZATION


def quantization(engine_args: Mapping[str, Any], knobs: SizingKnobs) -> str | None:
    """The ``--quantization`` vLLM runs with: the flag, else ``instance_selection.quantize`` in vLLM's name."""
    given = engine_args.get("quantization")
    if isinstance(given, str):
        return given
    return QUANTIZE_AS_VLLM.get(knobs.quantize) if knobs.quantize else None


def demand(profile: ModelProfile, knobs: SizingKnobs, engine_args: Mapping[str, Any]) -> MemoryDemand:
    """What the model needs once vLLM has loaded it, before any instance is considered."""
    weights, precision = _weights(profile, knobs, engine_args)
    fp8_cache = str(engine_args.get("kv_cache_dtype", "auto")).startswith("fp8")
    return kv_demand(
        profile,
        knobs,
        weights_gib=weights,
        host_gib=HOST_BASE_GIB,
        given_length=whole(engine_args, "max_model_len"),
        element_bytes=1 if fp8_cache else 2,
        precision=precision,
    )


def _weights(profile: ModelProfile, knobs: SizingKnobs, engine_args: Mapping[str, Any]) -> tuple[float, str | None]:
    method = quantization(engine_args, knobs)
    float_bytes = 4 if engine_args.get("dtype") in _FLOAT32 else 2  # "auto" serves float32 in 16 bits
    loaded = profile.weights_gib(float_bytes=float_bytes)
    if method is not None and method in ON_THE_FLY_BYTES and profile.dtype in FLOAT_DTYPES:
        quantized = profile.parameters * ON_THE_FLY_BYTES[method] / GIB
        return min(loaded, quantized), f"quantized to {method} while loading"
    if abs(loaded - profile.weights_gib()) > 1e-9:
        return loaded, f"{profile.dtype} weights served in {'float32' if float_bytes == 4 else '16 bits'}"
    return loaded, None


def evaluate(
    spec: InstanceSpec, profile: ModelProfile, demand: MemoryDemand, engine_args: Mapping[str, Any]
) -> GpuEvaluation:
    """How the GPUs of ``spec`` hold the weights, the overhead and the KV cache of the tokens required."""
    return evaluate_kv_cache(SERVER, spec, profile, demand, utilization(engine_args))


def hardware_problems(
    spec: InstanceSpec, profile: ModelProfile, knobs: SizingKnobs, engine_args: Mapping[str, Any], *, picking: bool
) -> list[str]:
    """Why vLLM cannot run the model on the GPUs of ``spec`` for reasons other than memory."""
    parallel = {name: whole(engine_args, name) for name in ("tensor_parallel_size", "pipeline_parallel_size")}
    fp8 = quantization(engine_args, knobs) in ("fp8", "fbgemm_fp8")
    return gpu_problems("vLLM", spec, profile, parallel, picking=picking, dtype=engine_args.get("dtype"), fp8=fp8)


def sizing_flags(
    profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, engine_args: Mapping[str, Any]
) -> dict[str, str]:
    """The flags the sizing decided for the instance, where ``engine_args`` does not set them."""
    flags: dict[str, str] = {}
    if "tensor_parallel_size" not in engine_args:
        flags["tensor_parallel_size"] = str(fit.gpus_used)
    length = fitting_length(profile, fit, demand, knobs)
    if "max_model_len" not in engine_args and length is not None:
        flags["max_model_len"] = str(length)
    if "dtype" not in engine_args and needs_half_precision(profile, fit.spec):
        flags["dtype"] = "half"  # vLLM refuses bfloat16 on GPUs before Ampere
    if knobs.quantize and "quantization" not in engine_args:
        flags["quantization"] = QUANTIZE_AS_VLLM[knobs.quantize]
    return flags


def host_gib(spec: InstanceSpec, demand: MemoryDemand, settings: StackSettings) -> float:
    """Host memory: the server, one worker per further GPU, and the image's LMCache pool."""
    workers = max(spec.accelerators - 1, 0) * HOST_PER_WORKER_GIB
    return demand.host_gib + workers + lmcache_gib(spec, settings)


def lmcache_gib(spec: InstanceSpec, settings: StackSettings) -> float:
    """The host memory the image's LMCache KV offload takes on ``spec`` (0 when it is off or absent)."""
    if not generation_2(settings.image_version):
        return 0.0
    env = settings.environment
    if env.get("HF_ENABLE_LMCACHE") == "0" or env.get("HF_ENABLE_OPTIMIZATIONS") == "0":
        return 0.0
    if "kv_transfer_config" in settings.engine_args or "SM_VLLM_KV_TRANSFER_CONFIG" in env:
        return 0.0  # a KV connector of the user's replaces LMCache
    size = _number(env.get("LMCACHE_MAX_LOCAL_CPU_SIZE"))
    if size is not None:
        return size
    fraction = _number(env.get("HF_LMCACHE_CPU_FRACTION"))
    share = fraction if fraction is not None else LMCACHE_FRACTION
    return float(max(LMCACHE_MIN_GIB, math.floor(int(spec.memory_gib) * share)))


def _number(value: Any) -> float | None:
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None
