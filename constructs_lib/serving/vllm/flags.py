"""vLLM's server flags (``engine_args``) and variables (``environment``): what the image or vLLM would refuse,
and what would contradict the props or the sizing (the rules every LLM server shares are in ``server_flags``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...catalogue.instances import InstanceSpec
from ..facts import EnvironmentEntry, ModelFacts, Reporter
from ..server_flags import PORT_OWNED, FlagRules, check_flag, check_parallel, check_variable
from .contract import PREFIX, generation_2, variable
from .memory import PREQUANTIZED, QUANTIZATION_METHODS

DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
"""vLLM's ``--dtype`` choices."""

RULES = FlagRules(
    server="vLLM",
    prefix=PREFIX,
    owned={
        "model": "the model is the model_id (or model_data) prop; the library writes it",
        "revision": "set the revision prop",
        "tokenizer_revision": "the library sets it to the revision prop",
        "port": PORT_OWNED,
    },
    counts=(
        "tensor_parallel_size",
        "pipeline_parallel_size",
        "max_model_len",
        "max_num_seqs",
        "max_num_batched_tokens",
        "max_lora_rank",
        "max_loras",
    ),
    fractions={"gpu_memory_utilization": "the share of each GPU's memory"},
    choices={"dtype": DTYPES},
    context_flag="max_model_len",
    sized=("tensor_parallel_size", "max_model_len", "dtype", "quantization"),
    parallel=("tensor_parallel_size", "pipeline_parallel_size"),
    quantization_flag="quantization",
    quantization_methods=QUANTIZATION_METHODS,
    prequantized=PREQUANTIZED,
)
"""vLLM's flags."""


def check_engine_flag(name: str, value: Any, model: ModelFacts, report: Reporter) -> None:
    """Report a flag of ``engine_args`` vLLM would refuse, or one that contradicts a prop or the model."""
    check_flag(RULES, name, value, model, report)


def check_vllm_variable(entry: EnvironmentEntry, derived: Mapping[str, str], report: Reporter) -> bool:
    """Report a variable of ``environment`` vLLM's image would ignore or refuse, or that contradicts a prop, a
    flag or the sizing. Returns whether the variable was judged."""
    problem = _variable_problem(entry, derived)
    if problem is not None:
        report.error(f"environment[{entry.key!r}]", entry.value, problem)
        return True
    return check_variable(RULES, entry, report)


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
    """The parallelism in the finished environment against the instance: vLLM must use all of its GPUs."""
    check_parallel(RULES, environment, spec, report)
