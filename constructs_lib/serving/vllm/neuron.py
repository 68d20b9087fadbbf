"""vLLM on Inferentia2 and Trainium: the Hugging Face vLLM Neuron image (optimum-neuron's ``optimum-cli neuron serve``).

- **Images**: ``huggingface-vllm-inference-neuronx`` (catalogue family ``huggingface-vllm-neuronx``), versioned by
  optimum-neuron (0.4.1, 0.4.2, 0.4.4), not by vLLM; ``InferenceImage.vllm(version=...)`` takes either kind of
  version, and the instance decides which image runs. The host AMI is ``al2-ami-sagemaker-inference-neuron-2``.
- **Environment**: each ``SM_ON_<NAME>`` becomes ``--<name>`` (lower case, underscores kept, which vLLM reads as
  dashes): ``SM_ON_MODEL`` is the Hub id, or ``/opt/ml/model`` for artifacts; ``SM_ON_TENSOR_PARALLEL_SIZE`` the
  NeuronCores the model is sharded on, ``SM_ON_BATCH_SIZE`` the sequences served at once,
  ``SM_ON_SEQUENCE_LENGTH`` the longest sequence. With them the server looks up a compiled model in
  optimum-neuron's cache on the Hub (or checks them against a model exported with optimum-neuron); other
  ``engine_args`` go to vLLM. A boolean flag is an empty value. The token is ``HF_TOKEN``.
- **Sizing**: NeuronCore-v2 cores (2 per Inferentia2 or Trainium chip, 16 GiB of device memory each, from AWS's
  instance pages). The tensor parallel size (every core of the instance, unless given) must divide the attention
  heads; the bfloat16 weights and the KV cache of ``batch_size`` x ``sequence_length`` tokens must fit in
  ``USABLE_SHARE`` of those cores' memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...catalogue.host_amis import NEURON_2
from ...catalogue.instances import INSTANCE_CATALOGUE, InstanceSpec, Processor
from ...model.profile import ModelProfile
from ..base import Serving, kv_bytes_per_token, tensor_parallel_problem
from ..catalogued import LlmServerStack
from ..facts import (
    EnvironmentEntry,
    GpuEvaluation,
    GpuFit,
    MemoryDemand,
    ModelFacts,
    Reporter,
    SizingKnobs,
)
from ..kv_cache import required_length
from ..server_flags import PORT_OWNED, FlagRules, check_flag, check_variable, whole
from .contract import MODEL_DIR

FAMILY = "huggingface-vllm-neuronx"
PREFIX = "SM_ON_"
GIB_PER_CORE = 16.0
"""Device memory of one NeuronCore-v2: 32 GiB per Inferentia2 or Trainium chip, two cores per chip."""
USABLE_SHARE = 0.9
"""The share of the cores' memory the sizing counts on (the Neuron runtime and its scratchpad take the rest)."""
HOST_BASE_GIB = 4.0
"""Host memory of the server, beside half the weights in flight while they are sharded onto the cores."""
SERVABLE_TASKS: frozenset[str] = frozenset({"text-generation"})
RULES = FlagRules(
    server="vLLM on Neuron",
    prefix=PREFIX,
    owned={
        "model": "the model is the model_id (or model_data) prop; the library writes it",
        "port": PORT_OWNED,
    },
    counts=("tensor_parallel_size", "batch_size", "sequence_length", "data_parallel_size"),
    sized=("tensor_parallel_size", "batch_size", "sequence_length"),
)
"""The flags of ``optimum-cli neuron serve`` (the others are vLLM's, passed through)."""


def _tensor_parallel(engine_args: Mapping[str, Any], spec: InstanceSpec) -> int:
    return whole(engine_args, "tensor_parallel_size") or spec.neuron_cores


def _fitting_sizes(profile: ModelProfile, server: str) -> str:
    """The catalogued Neuron instances whose every core splits the model's attention evenly."""
    fitting = sorted(
        {
            f"{spec.name} ({spec.neuron_cores} cores)"
            for spec in INSTANCE_CATALOGUE.values()
            if spec.neuron_cores and tensor_parallel_problem(profile, spec.neuron_cores, server, "NeuronCores") is None
        }
    )
    return ", ".join(fitting) or "none"


def _largest_split(profile: ModelProfile, cores: int) -> int:
    """The largest tensor parallel size of at most ``cores`` that splits the model's attention evenly."""
    return max(n for n in range(1, cores + 1) if tensor_parallel_problem(profile, n, "", "") is None)


class VllmNeuron(LlmServerStack):
    """vLLM on Inferentia2 and Trainium, in the Hugging Face vLLM Neuron DLC (``Serving.VLLM`` on ``ml.inf2.*``,
    ``ml.trn1.*``)."""

    serving = Serving.VLLM
    name = "vLLM on Neuron"
    family = FAMILY
    image_name = "Hugging Face vLLM Neuron DLC"
    min_startup_timeout_seconds = 900  # loading compiled graphs (or compiling them) takes longer than on GPUs
    startup_seconds_per_gib = 20
    processors = frozenset({Processor.NEURONX})
    picks_from = frozenset({Processor.NEURONX})
    sizes_every_processor = True
    engine_arg_prefix = PREFIX
    servable_tasks = SERVABLE_TASKS
    quantize_methods = frozenset[str]()
    gpu_memory_note = "No GPU memory alarm: the model runs on NeuronCores."

    # ---------------------------------------------------------------------------------- images
    def allowed_versions(self) -> str:
        return f"{super().allowed_versions()}, optimum-neuron's versions (the vLLM Neuron image is versioned by them)"

    def processor_for_token(self) -> Processor | None:
        return Processor.NEURONX

    def host_ami(self, processor: Processor, cuda_version: str | None) -> str | None:
        return NEURON_2 if processor is Processor.NEURONX else None

    # -------------------------------------------------------------------------------- environment
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        env = {f"{PREFIX}MODEL": model.model_id or MODEL_DIR}
        if model.model_id and model.revision:
            env[f"{PREFIX}REVISION"] = model.revision  # passed through to vLLM's --revision
        return env

    def unsized_environment(self, spec: InstanceSpec | None) -> dict[str, str]:
        if spec is None or not spec.neuron_cores:
            return {}
        return {f"{PREFIX}TENSOR_PARALLEL_SIZE": str(spec.neuron_cores)}

    def check_engine_arg(self, name: str, value: Any, model: ModelFacts, report: Reporter) -> None:
        if name == "revision":
            report.error(f"engine_args[{name!r}]", value, "cannot be set: set the revision prop")
            return
        check_flag(RULES, name, value, model, report)

    def check_environment_entry(self, entry: EnvironmentEntry, report: Reporter) -> bool:
        if entry.key in ("HF_MODEL_ID", "SM_VLLM_MODEL"):
            report.error(
                f"environment[{entry.key!r}]",
                entry.value,
                "is not read by the vLLM Neuron image (it reads SM_ON_MODEL): set model_id",
            )
            return True
        return check_variable(RULES, entry, report)

    # ------------------------------------------------------------------------------ memory model
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        args = self.settings.engine_args
        weights = profile.weights_gib(float_bytes=2)  # compiled in bfloat16
        length = whole(args, "sequence_length") or required_length(profile, knobs, None)
        batch = whole(args, "batch_size") or knobs.concurrent_sequences or 1
        return MemoryDemand(
            weights_gib=weights,
            host_gib=HOST_BASE_GIB + weights / 2,
            kv_bytes_per_token=kv_bytes_per_token(profile),
            required_tokens=batch * length,
            min_total_tokens=length,
        )

    def gpus_used(self, spec: InstanceSpec) -> int:
        return _tensor_parallel(self.settings.engine_args, spec)

    def evaluate_neuron(
        self, spec: InstanceSpec, profile: ModelProfile, demand: MemoryDemand, knobs: SizingKnobs, *, picking: bool
    ) -> GpuEvaluation:
        """The weights and the KV cache against ``USABLE_SHARE`` of the memory of the cores the model is sharded
        on; the tensor parallel size must divide the attention heads and fit the instance."""
        cores = _tensor_parallel(self.settings.engine_args, spec)
        available = cores * GIB_PER_CORE * USABLE_SHARE
        per_token = demand.kv_bytes_per_token
        kv_heads = profile.effective_key_value_heads
        if kv_heads and kv_heads < cores:
            per_token *= cores / kv_heads  # every core keeps a copy of the head it serves
        kv_gib = demand.required_tokens * per_token / 2**30
        needed = demand.weights_gib + kv_gib
        reasons = []
        if cores > spec.neuron_cores:
            reasons.append(
                f"tensor_parallel_size {cores} exceeds the {spec.neuron_cores} NeuronCores of {spec.name}; set it to "
                f"at most {spec.neuron_cores}"
            )
        split = tensor_parallel_problem(profile, cores, self.name, "NeuronCores")
        if split is not None:
            reasons.append(
                f"{split}; instances whose cores would: {_fitting_sizes(profile, self.name)}; or on {spec.name}, "
                f"engine_args={{'tensor_parallel_size': {_largest_split(profile, spec.neuron_cores)}}}"
            )
        if needed > available:
            reasons.append(
                f"needs {needed:.1f} GiB of device memory ({demand.weights_gib:.1f} GiB bfloat16 weights + "
                f"{kv_gib:.1f} GiB KV cache for {demand.required_tokens} tokens), and {cores} NeuronCores offer "
                f"{available:.1f} GiB ({USABLE_SHARE:.0%} of {GIB_PER_CORE:g} GiB each)"
            )
        free = (available - demand.weights_gib) * 2**30
        capacity = max(0, int(free / per_token)) if per_token else None
        return GpuEvaluation(cores, needed, available, kv_gib, capacity, tuple(reasons))

    def sizing_environment(
        self, profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, subject: str
    ) -> dict[str, str]:
        args = self.settings.engine_args
        env: dict[str, str] = {}
        if "tensor_parallel_size" not in args:
            env[f"{PREFIX}TENSOR_PARALLEL_SIZE"] = str(fit.gpus_used)
        if "batch_size" not in args:
            env[f"{PREFIX}BATCH_SIZE"] = str(knobs.concurrent_sequences or 1)
        if "sequence_length" not in args:
            env[f"{PREFIX}SEQUENCE_LENGTH"] = str(demand.min_total_tokens)
        return env

    def fit_note(self, profile: ModelProfile, fit: GpuFit, environment: Mapping[str, str]) -> str | None:
        args = self.settings.engine_args
        cores = environment.get(f"{PREFIX}TENSOR_PARALLEL_SIZE", args.get("tensor_parallel_size"))
        batch = environment.get(f"{PREFIX}BATCH_SIZE", args.get("batch_size"))
        length = environment.get(f"{PREFIX}SEQUENCE_LENGTH", args.get("sequence_length"))
        return (
            f"vLLM on Neuron: tensor parallel over {cores} NeuronCores, batch size {batch}, sequence length {length} "
            "(the compiled configuration looked up in optimum-neuron's cache)"
        )

    def memory_breakdown(self, demand: MemoryDemand, kv_cache_gib: float, needed_gib: float, headroom: float) -> str:
        return (
            f"+ {kv_cache_gib:.1f} GiB KV cache ({demand.required_tokens} tokens) = {needed_gib:.1f} GiB of device "
            f"memory needed within {USABLE_SHARE:.0%} of the cores'"
        )

    def summary_environment_keys(self) -> tuple[str, ...]:
        return ()  # all in fit_note

    def no_fit_hint(self) -> str:
        return "a larger Inferentia2 or Trainium instance, a shorter sequence_length, or a GPU instance"


STACK = VllmNeuron()
