"""vLLM's server flags (``engine_args``) and variables (``environment``): what the image or vLLM would refuse,
and what would contradict the props or the sizing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..._core.tokens import is_unresolved
from ...catalogue.instances import InstanceSpec, Processor
from ...model.profile import ModelProfile
from ...model.quantization import PREQUANTIZED_METHODS
from ..facts import EnvironmentEntry, ModelFacts, Reporter
from .contract import PREFIX, generation_2, variable
from .memory import PREQUANTIZED, QUANTIZATION_METHODS, whole

_COUNTS = (
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "max_model_len",
    "max_num_seqs",
    "max_num_batched_tokens",
    "max_lora_rank",
    "max_loras",
)
"""Flags that count something: whole numbers above 0."""
DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
"""vLLM's ``--dtype`` choices."""
SIZED_FLAGS = ("tensor_parallel_size", "max_model_len", "dtype", "quantization")
"""Flags the sizing writes (``SM_VLLM_<NAME>``)."""

_OWNED = {
    "model": "the model is the model_id (or model_data) prop; the library writes it",
    "revision": "set the revision prop",
    "tokenizer_revision": "the library sets it to the revision prop",
    "port": "the image's entrypoint serves on port 8080, where SageMaker sends requests; it cannot change",
}


def check_flag(name: str, value: Any, model: ModelFacts, report: Reporter, *, prop: str | None = None) -> None:
    """Report a flag vLLM would refuse, or one that contradicts a prop or the model (no instance needed).

    :param prop: how messages name the flag. Default: ``engine_args[<name>]``
    """
    prop = prop or f"engine_args[{name!r}]"
    if is_unresolved(value):
        return
    if name in _OWNED:
        report.error(prop, value, f"cannot be set: {_OWNED[name]}")
    elif name == "host" and value != "0.0.0.0":
        report.error(prop, value, "must be '0.0.0.0' (or left out): SageMaker reaches the container from outside")
    elif name in _COUNTS:
        if whole({name: value}, name) is None:
            report.error(prop, value, "must be a whole number above 0")
        elif name == "max_model_len":
            _check_length(int(value), model.profile, prop, report)
    elif name == "gpu_memory_utilization":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1 or math.isnan(value):
            report.error(prop, value, "must be a number above 0 and at most 1 (the share of each GPU's memory)")
    elif name == "dtype" and value not in DTYPES:
        report.error(prop, value, f"is not a vLLM dtype; allowed: {', '.join(DTYPES)}")
    elif name == "quantization":
        _check_quantization(value, model.profile, prop, report)


def _check_length(length: int, profile: ModelProfile | None, prop: str, report: Reporter) -> None:
    context = profile.max_position_embeddings if profile is not None else None
    if context is not None and length > context:
        report.error(
            prop,
            length,
            f"exceeds the model's context of {context} tokens (max_position_embeddings), which vLLM refuses at "
            f"start-up; use at most {context}",
        )


def _check_quantization(method: Any, profile: ModelProfile | None, prop: str, report: Reporter) -> None:
    if method not in QUANTIZATION_METHODS:
        report.error(
            prop,
            method,
            f"is not a vLLM quantization method; allowed: {', '.join(sorted(QUANTIZATION_METHODS))} (a method newer "
            "than this list can be passed as environment SM_VLLM_QUANTIZATION, unsized)",
        )
        return
    if profile is None or method not in PREQUANTIZED:
        return
    packed = profile.dtype in ("int4", "int8") or bool(
        profile.parameters_by_dtype and "int32" in profile.parameters_by_dtype
    )
    if not packed:
        family = next((m for m in PREQUANTIZED_METHODS if method.startswith(m)), method)
        report.error(
            prop,
            method,
            f"reads a checkpoint already quantized with {family}, and {profile.model_id or 'the model'} is stored in "
            f"{profile.dtype}; serve a {family} checkpoint of the model (vLLM then reads the method from its "
            "config.json), or quantize while loading with 'fp8' or 'bitsandbytes'",
        )


def check_variable(entry: EnvironmentEntry, derived: Mapping[str, str], report: Reporter) -> bool:
    """Report a variable of ``environment`` vLLM's image would ignore or refuse, or that contradicts a prop, a
    flag or the sizing. Returns whether the variable was judged."""
    key, value = entry.key, entry.value
    prop = f"environment[{key!r}]"
    problem = _variable_problem(entry, derived)
    if problem is not None:
        report.error(prop, value, problem)
        return True
    if not key.startswith(PREFIX):
        return False
    flag = key.removeprefix(PREFIX).lower()
    if flag in {name.lower() for name in entry.engine_args}:
        report.error(prop, value, f"is engine_args[{flag!r}] as well; keep one of the two (engine_args is checked)")
    elif flag in SIZED_FLAGS and entry.sized and key in entry.sizing and entry.sizing[key] != value:
        report.error(
            prop,
            value,
            f"bypasses the instance sizing, which wrote {entry.sizing[key]!r} after checking the memory; set "
            f"engine_args={{'{flag}': ...}} instead, so that the fit is checked with it",
        )
    else:
        check_flag(flag, value, entry.model, report, prop=prop)
    return True


def _variable_problem(entry: EnvironmentEntry, derived: Mapping[str, str]) -> str | None:
    key, version = entry.key, entry.image_version
    if key == variable("model") and derived.get(key) != entry.value:
        return "conflicts with the model_id (or model_data) prop, from which the library names the model; set it there"
    if key == "HF_MODEL_ID" and "HF_MODEL_ID" not in derived:
        if entry.model.model_id is None:
            return "is not read: the model comes from model_data, in /opt/ml/model"
        return f"is not read by vLLM {version} (before 0.22 the model is SM_VLLM_MODEL): set model_id"
    if key == "HF_MODEL_REVISION":
        return "is not read by vLLM (its revision is SM_VLLM_REVISION): set the revision prop"
    if key == "HF_ENABLE_OPTIMIZATIONS" and version is not None and not generation_2(version):
        return f"is not read by vLLM {version}: the image's optimisations (and HF_ENABLE_LMCACHE) start with 0.22"
    return None


def check_instance(environment: Mapping[str, Any], spec: InstanceSpec, report: Reporter) -> None:
    """The parallelism in the finished environment against the instance: vLLM must use all of its GPUs.

    An endpoint always has ``SM_VLLM_TENSOR_PARALLEL_SIZE`` (sized, or the GPU count); a variant, which is
    not sized, may lack it, and then vLLM runs on one GPU: a warning says how to use them all.
    """
    if spec.processor is not Processor.GPU:
        return
    values = {name: environment.get(variable(name)) for name in ("tensor_parallel_size", "pipeline_parallel_size")}
    if any(is_unresolved(v) for v in values.values()):
        return
    if values["tensor_parallel_size"] is None and spec.accelerators > 1:
        report.warning(
            "constructs-lib:variant-vllm-parallel",
            f"vLLM runs on 1 of the {spec.accelerators} GPUs of {spec.name} without SM_VLLM_TENSOR_PARALLEL_SIZE; "
            f"set environment={{'SM_VLLM_TENSOR_PARALLEL_SIZE': '{spec.accelerators}'}} if {spec.accelerators} "
            "divides the model's attention heads, or use a single-GPU instance",
        )
        return
    tensor = whole(values, "tensor_parallel_size") or 1
    parallel = tensor * (whole(values, "pipeline_parallel_size") or 1)
    if parallel != spec.accelerators:
        report.error(
            variable("tensor_parallel_size"),
            tensor,
            f"runs vLLM on {parallel} GPU(s), and {spec.name} has {spec.accelerators}: vLLM must use all of them; "
            f"set tensor_parallel_size to {spec.accelerators}, or choose an instance with {parallel} GPU(s)",
        )
