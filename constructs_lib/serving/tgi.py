"""Text Generation Inference (TGI), for LLMs on GPUs.

- **Images**: ``huggingface-pytorch-tgi-inference`` (catalogue family ``huggingface-llm``), GPU only.
- **Environment**: ``HF_MODEL_ID`` (``/opt/ml/model`` for S3 or local artifacts), ``HF_MODEL_REVISION``,
  ``HF_TOKEN``; the sizing writes ``SM_NUM_GPUS`` (the entrypoint turns it into the shard count),
  ``MAX_INPUT_TOKENS`` (``MAX_INPUT_LENGTH`` before TGI 2.0), ``MAX_TOTAL_TOKENS``,
  ``MAX_BATCH_PREFILL_TOKENS`` and, when asked for, ``MAX_BATCH_TOTAL_TOKENS`` and ``HF_MODEL_QUANTIZE``.
- **Tasks**: causal and seq2seq LMs and vision-language models. TGI is in maintenance mode upstream
  (2025-12): ``Serving.AUTO`` never picks it, and asking for it warns (``constructs-lib:tgi-retired``).
- **Memory**: float32 checkpoints are served in float16; the weights and a KV cache of
  ``CONCURRENT_SEQUENCES`` full-length sequences (``DEFAULT_MIN_TOTAL_TOKENS`` tokens, or the model's
  context if shorter) shard over all GPUs of the instance; the shard count must divide the attention
  heads (and the key/value heads when there are at least as many; with fewer key/value heads than
  shards, TGI replicates them and the shard count must be a multiple of them). Shards stream to the
  GPUs, so host memory needs only the server. TGI's optimized models need a T4 or newer GPU (TGI's
  "Using TGI with Nvidia GPUs"), so V100 (p3) is not eligible; T4 (g4dn) is, when asked for, but the
  automatic pick passes it over: it has no bfloat16 and no FlashAttention-2. ``quantize="fp8"`` needs
  Ada or Hopper (L4, L40S, H100, H200).
- **Start-up**: downloading and sharding any LLM takes minutes: 600 s plus 10 s per GiB of weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.errors import Problems
from .._core.tokens import is_unresolved
from ..catalogue import dlc
from ..catalogue.instances import InstanceSpec, Processor
from ..catalogue.tasks import canonical_task
from ..model.profile import ModelProfile
from .base import Serving, kv_bytes_per_token, loaded_weights, shortest_context, tensor_parallel_problem
from .catalogued import CataloguedFamilyStack
from .facts import EnvironmentEntry, GpuFit, MemoryDemand, ModelFacts, Reporter, SizingKnobs

FAMILY = "huggingface-llm"

RETIRED_WARNING = (
    "TGI is in maintenance mode since 2025-12-11: Hugging Face accepts only minor fixes, no longer ships it as a "
    "SageMaker image, and recommends vLLM, whose images serve the architectures released since; the vLLM "
    "equivalent is serving=Serving.VLLM (or image=InferenceImage.vllm()), with TGI's settings as engine_args "
    "(MAX_TOTAL_TOKENS is max_model_len, HF_MODEL_QUANTIZE is quantization)"
)
"""The ``constructs-lib:tgi-retired`` warning of every endpoint that asks for TGI (``Serving.AUTO`` never does)."""
SERVABLE_TASKS: frozenset[str] = frozenset({"text-generation", "text2text-generation", "image-text-to-text"})
"""Tasks TGI serves: causal LMs, seq2seq LMs (T5, BART) and vision-language models."""

MIN_STARTUP_TIMEOUT_SECONDS = 600
"""The shortest startup health check timeout given to TGI: downloading and sharding any LLM takes minutes."""

HOST_BASE_GIB = 2.0
CONCURRENT_SEQUENCES = 4
DEFAULT_MIN_TOTAL_TOKENS = 4096
DEFAULT_MAX_TOTAL_TOKENS_CAP = 32768
GENERATION_RESERVE_TOKENS = 1024
PREFILL_EXTRA_TOKENS = 50
FALLBACK_CONTEXT_TOKENS = 4096

_UNSUPPORTED_GPUS = frozenset({"V100"})
_NOT_PICKED_GPUS = frozenset({"T4"})  # supported, but chosen only when asked for
_FP8_GPUS = frozenset({"L4", "L40S", "H100", "H200"})
_HALF_PRECISION_BYTES = 2  # TGI serves float32 checkpoints in float16

# TGI's input limit: MAX_INPUT_LENGTH before TGI 2.0, MAX_INPUT_TOKENS since (2.0 refuses to start with both).
INPUT_TOKENS = "MAX_INPUT_TOKENS"
LEGACY_INPUT_TOKENS = "MAX_INPUT_LENGTH"

# TGI settings the instance sizing computes from the memory left after the weights, and the
# SizingOptions field that sets each one so that the fit check takes it into account.
_SIZING_VARIABLES = {
    INPUT_TOKENS: "max_input_tokens",
    LEGACY_INPUT_TOKENS: "max_input_tokens",
    "MAX_TOTAL_TOKENS": "max_total_tokens",
    "MAX_BATCH_PREFILL_TOKENS": "max_batch_prefill_tokens",
    "MAX_BATCH_TOTAL_TOKENS": "max_batch_total_tokens",
    "HF_MODEL_QUANTIZE": "quantize",
    "QUANTIZE": "quantize",  # TGI's own name, which the entrypoint sets from HF_MODEL_QUANTIZE
}


class TextGenerationInference(CataloguedFamilyStack):
    """Text Generation Inference (``Serving.TGI``)."""

    serving = Serving.TGI
    name = "TGI"
    family = FAMILY
    image_name = "TGI (huggingface-llm) DLC"
    processors = frozenset({Processor.GPU})
    latency_p99_seconds = 30  # a whole generation is one invocation
    gpu_memory_note = "No GPU memory alarm: TGI reserves most of the GPU memory for its KV cache by design."
    read_variables = frozenset({*_SIZING_VARIABLES, "SM_NUM_GPUS", "HF_MODEL_TRUST_REMOTE_CODE", "DTYPE"})

    # ---------------------------------------------------------------------------------- images
    def processor_problem(self) -> str:
        return (
            "but TGI images are GPU-only; use a GPU instance (ml.g*/ml.p*, e.g. ml.g5.xlarge) or "
            "Serving.INFERENCE_TOOLKIT"
        )

    def processor_for_token(self) -> Processor | None:
        return Processor.GPU  # TGI has GPU images only: nothing else could run

    # ------------------------------------------------------------------------ tasks and AUTO
    def explicit_warning(self) -> tuple[str, str] | None:
        return "constructs-lib:tgi-retired", RETIRED_WARNING

    def task_problem(self, task: str | None) -> str | None:
        if task is None or canonical_task(task) in SERVABLE_TASKS:
            return None
        return (
            f"cannot serve task {task!r}: TGI serves {', '.join(sorted(SERVABLE_TASKS))}; "
            "use Serving.INFERENCE_TOOLKIT (or Serving.AUTO) for this task"
        )

    # -------------------------------------------------------------------------- environment
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        # TGI loads from HF_MODEL_ID, which is /opt/ml/model for artifacts from S3.
        env = {"HF_MODEL_ID": model.model_id or "/opt/ml/model"}
        if model.model_id and model.revision:
            env["HF_MODEL_REVISION"] = model.revision
        return env

    def unsized_environment(self, spec: InstanceSpec | None) -> dict[str, str]:
        """``SM_NUM_GPUS`` on a catalogued GPU instance: without it TGI runs one shard, on one GPU, and a
        model sized for all of them runs out of memory."""
        if spec is None or spec.processor is not Processor.GPU:
            return {}
        return {"SM_NUM_GPUS": str(spec.accelerators)}

    def image_environment(self, environment: Mapping[str, str], image_version: str | None) -> dict[str, str]:
        if INPUT_TOKENS in environment and reads_max_input_length(image_version):
            return {(LEGACY_INPUT_TOKENS if k == INPUT_TOKENS else k): v for k, v in environment.items()}
        return dict(environment)

    def check_environment_entry(self, entry: EnvironmentEntry, report: Reporter) -> bool:
        problem = _variable_problem(entry.key, entry.image_version, {**entry.sizing, **entry.user})
        if problem is not None:
            report.error(f"environment[{entry.key!r}]", entry.value, problem)
            return True
        if is_unresolved(entry.value):
            return False
        return _check_sizing_override(entry, report)

    def check_environment(
        self, environment: Mapping[str, Any], model: ModelFacts, spec: InstanceSpec | None, report: Reporter
    ) -> None:
        if "SM_NUM_GPUS" not in environment and spec is not None and spec.accelerators > 1:
            # A model that was not sized (a variant has no profile of its own): the shard count its
            # attention heads allow is unknown, so say what TGI will do rather than guess.
            report.warning(
                "constructs-lib:variant-tgi-shards",
                f"TGI runs one shard, on 1 of the {spec.accelerators} GPUs of {spec.name}, without SM_NUM_GPUS; set "
                f"environment={{'SM_NUM_GPUS': '{spec.accelerators}'}} if {spec.accelerators} divides the model's "
                "attention heads, or use a single-GPU instance",
            )

    # ------------------------------------------------------------------------- memory model
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        weights, precision = loaded_weights(profile, knobs, _HALF_PRECISION_BYTES, "float32 weights served in float16")
        kv_per_token = kv_bytes_per_token(profile)
        least = shortest_context(profile, knobs, DEFAULT_MIN_TOTAL_TOKENS, fallback=FALLBACK_CONTEXT_TOKENS)
        min_total = knobs.max_total_tokens or max(least, (knobs.max_input_tokens or 0) + 1)
        required = knobs.max_batch_total_tokens or _sequences(knobs) * min_total
        # Shards stream to the GPUs: host memory needs only the server.
        return MemoryDemand(weights, HOST_BASE_GIB, kv_per_token, required, min_total, precision)

    def gpus_used(self, spec: InstanceSpec) -> int:
        return spec.accelerators

    def fit_problems(
        self, spec: InstanceSpec, profile: ModelProfile, knobs: SizingKnobs, *, gpus: int, picking: bool
    ) -> list[str]:
        reasons: list[str] = []
        if spec.accelerator_model in _UNSUPPORTED_GPUS:
            reasons.append(
                f"TGI's optimized models need a T4 or newer GPU (flash and paged attention); "
                f"{spec.accelerator_model} is not supported"
            )
        elif picking and spec.accelerator_model in _NOT_PICKED_GPUS:
            reasons.append(
                f"not picked for TGI automatically: {spec.accelerator_model} has no bfloat16 and no "
                f"FlashAttention-2; pass instance_type={spec.name!r} (or families=[{spec.family!r}]) to use it"
            )
        if knobs.quantize == "fp8" and spec.accelerator_model not in _FP8_GPUS:
            reasons.append(
                f"quantize='fp8' needs an Ada or Hopper GPU (L4, L40S, H100, H200), not {spec.accelerator_model}"
            )
        shard_problem = tensor_parallel_problem(profile, gpus, "TGI")
        if shard_problem:
            reasons.append(shard_problem)
        return reasons

    def fit_note(self, profile: ModelProfile, fit: GpuFit, environment: Mapping[str, str]) -> str | None:
        total = environment.get("MAX_TOTAL_TOKENS")
        return f"MAX_TOTAL_TOKENS={total}" if total is not None else None

    def sizing_environment(
        self, profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, subject: str
    ) -> dict[str, str]:
        total = _total_tokens(profile, fit, demand, knobs)
        max_input = knobs.max_input_tokens or total - min(GENERATION_RESERVE_TOKENS, total // 2)
        prefill = knobs.max_batch_prefill_tokens or max_input + PREFILL_EXTRA_TOKENS
        batch_total = knobs.max_batch_total_tokens
        if batch_total is not None and knobs.max_batch_prefill_tokens is None:
            prefill = min(prefill, batch_total)
        _check_token_limits(profile, total, max_input, prefill, batch_total, subject)
        env = {
            "SM_NUM_GPUS": str(fit.spec.accelerators),
            INPUT_TOKENS: str(max_input),
            "MAX_TOTAL_TOKENS": str(total),
            "MAX_BATCH_PREFILL_TOKENS": str(prefill),
        }
        if batch_total is not None:
            env["MAX_BATCH_TOTAL_TOKENS"] = str(batch_total)
        if knobs.quantize:
            env["HF_MODEL_QUANTIZE"] = knobs.quantize
        return env

    def startup_timeout_seconds(self, weights_gib: float | None) -> int | None:
        """600 s + 10 s per GiB of weights, clamped to 600..3600 (600 s when the size is unknown)."""
        base = MIN_STARTUP_TIMEOUT_SECONDS
        return int(min(3600, max(base, base + 10 * (weights_gib or 0))))

    def summary_environment_keys(self) -> tuple[str, ...]:
        return ("SM_NUM_GPUS", INPUT_TOKENS, "MAX_TOTAL_TOKENS", "HF_MODEL_QUANTIZE")

    def no_fit_hint(self) -> str:
        return "a 4-bit AWQ or GPTQ checkpoint of the model, or quantize='bitsandbytes-nf4'"


def reads_max_input_length(version: str | None) -> bool:
    """TGI before 2.0 reads ``MAX_INPUT_LENGTH``; 2.0 renamed it ``MAX_INPUT_TOKENS``."""
    return version is not None and dlc.version_key(version) < (2,)


def gpu_count_problem(value: Any, spec: InstanceSpec) -> str | None:
    """Why ``SM_NUM_GPUS=value`` cannot run on ``spec`` (``None`` when it can, or for non-GPU instances)."""
    if spec.processor is not Processor.GPU:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and 1 <= int(value) <= spec.accelerators:
        return None
    if spec.accelerators == 1:
        return f"must be '1': {spec.name} has one GPU"
    return f"must be a whole number from 1 to {spec.accelerators}, the GPUs of {spec.name}"


def _total_tokens(profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs) -> int:
    """``MAX_TOTAL_TOKENS``: given, or the largest power of two that lets 4 sequences share the KV cache."""
    if knobs.max_total_tokens is not None:
        return knobs.max_total_tokens
    capacity = fit.kv_capacity_tokens if fit.kv_capacity_tokens is not None else demand.required_tokens
    per_sequence = capacity // _sequences(knobs)
    total = 1 << (max(per_sequence, 1).bit_length() - 1)  # the largest power of two <= per_sequence
    total = min(total, DEFAULT_MAX_TOTAL_TOKENS_CAP, profile.max_position_embeddings or FALLBACK_CONTEXT_TOKENS)
    return max(total, demand.min_total_tokens)


def _sequences(knobs: SizingKnobs) -> int:
    return knobs.concurrent_sequences or CONCURRENT_SEQUENCES


def _check_token_limits(
    profile: ModelProfile, total: int, max_input: int, prefill: int, batch_total: int | None, subject: str
) -> None:
    problems = Problems(subject)
    context = profile.max_position_embeddings
    if context is not None and total > context:
        problems.add(
            "instance_selection.max_total_tokens",
            total,
            f"exceeds the model's context of {context} tokens (max_position_embeddings)",
        )
    if max_input >= total:
        problems.add("instance_selection.max_input_tokens", max_input, f"must be less than max_total_tokens ({total})")
    if prefill < max_input:
        problems.add(
            "instance_selection.max_batch_prefill_tokens", prefill, f"must be at least max_input_tokens ({max_input})"
        )
    if batch_total is not None and batch_total < total:
        problems.add(
            "instance_selection.max_batch_total_tokens", batch_total, f"must be at least max_total_tokens ({total})"
        )
    problems.raise_if_any()


def _variable_problem(key: str, version: str | None, environment: Mapping[str, Any]) -> str | None:
    """Variables TGI's SageMaker entrypoint or launcher would ignore, overwrite or refuse."""
    if key == "NUM_SHARD" and "SM_NUM_GPUS" in environment:
        return (
            f"is overwritten by the SageMaker entrypoint with SM_NUM_GPUS ({environment['SM_NUM_GPUS']}); "
            "TGI shards over SM_NUM_GPUS GPUs"
        )
    if key not in (INPUT_TOKENS, LEGACY_INPUT_TOKENS):
        return None
    fix = "set instance_selection=SizingOptions(max_input_tokens=...), which writes the name the image reads"
    if reads_max_input_length(version):
        if key == INPUT_TOKENS:
            return f"is not read by TGI {version}: before 2.0 the variable is {LEGACY_INPUT_TOKENS}; {fix}"
        return None
    if key == LEGACY_INPUT_TOKENS and INPUT_TOKENS in environment:
        consequence = (
            f"TGI {version} refuses to start with both"
            if version
            else f"TGI 2.0 and later refuse to start with both, and earlier versions ignore {INPUT_TOKENS}"
        )
        return f"is the name TGI read before 2.0, and {INPUT_TOKENS} is set as well: {consequence}; {fix}"
    return None


def _check_sizing_override(entry: EnvironmentEntry, report: Reporter) -> bool:
    """A TGI setting in ``environment`` must not contradict the memory math the instance was checked with.

    Without a plan (no profile) there is no memory math: the user's settings are all there is, and only
    an impossible GPU count is refused.
    """
    key, value, sizing = entry.key, entry.value, entry.sizing
    if key == "SM_NUM_GPUS" and entry.sized and value != sizing.get(key):
        report.error(
            f"environment[{key!r}]",
            value,
            f"conflicts with the instance: TGI shards over all {sizing.get(key)} GPUs of {entry.instance_type}, "
            "and the memory check assumed that; choose an instance with fewer GPUs instead",
        )
        return True
    if key == "SM_NUM_GPUS" and entry.spec is not None:
        problem = gpu_count_problem(value, entry.spec)
        if problem:
            report.error(f"environment[{key!r}]", value, problem)
        return True
    if key in _SIZING_VARIABLES and entry.sized and sizing.get(key) != value:
        option = _SIZING_VARIABLES[key]
        report.error(
            f"environment[{key!r}]",
            value,
            f"bypasses the instance sizing, which budgets GPU memory for it; set "
            f"instance_selection=SizingOptions({option}=...) instead, so that the fit is checked with it",
        )
        return True
    return False


STACK = TextGenerationInference()
