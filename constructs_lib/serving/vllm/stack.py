"""vLLM, the server Hugging Face ships for LLMs and vision-language models on SageMaker GPUs (on Inferentia and
Trainium it is another image with another contract: ``neuron``).

- **Images**: ``huggingface-vllm`` (catalogue family ``huggingface-vllm``), built for CUDA 12.9 (0.14, 0.17)
  or CUDA 13.0 (0.21 on), which needs the driver-580 host AMI (``catalogue.host_amis``).
- **Environment**: each ``engine_args`` flag becomes ``SM_VLLM_<NAME>``, which the entrypoint turns into
  ``--<name>``. The entrypoint changed in 0.22 (``generation_2``):

  - before 0.22 the model is ``SM_VLLM_MODEL`` (a Hub id, or ``/opt/ml/model``), ``HF_MODEL_ID`` is not read,
    a boolean flag is an empty value, and any other value is passed literally;
  - from 0.22 a Hub model is ``HF_MODEL_ID``, and ``true``/``false`` turn a flag on or leave it out.

  Artifacts from S3 or disk are named ``SM_VLLM_MODEL=/opt/ml/model`` in both, so that an empty model
  directory fails at start-up rather than serving vLLM's built-in default model. A flag set to ``False``
  also writes vLLM's negative flag (``SM_VLLM_NO_<NAME>``): leaving a flag out keeps vLLM's default, which
  is on for some (``enable_prefix_caching``). The revision is ``SM_VLLM_REVISION`` (and the tokenizer's);
  the token ``HF_TOKEN``. The entrypoint forces port 8080, so ``port`` is reserved.
- **Tasks**: ``text-generation`` and ``image-text-to-text`` of decoder models; ``Serving.AUTO`` picks it
  for both on GPU instances (or when the instance is to be picked). Encoder-decoder models are not served.
- **Memory** (``memory``): vLLM takes ``gpu_memory_utilization`` (0.9) of every GPU, tensor parallel over
  all of them; the weights, an overhead per GPU and a KV cache for ``max_model_len`` tokens must fit in it.
- **Host**: from 0.22 the image offloads KV cache to host memory with LMCache, half of the host's RAM.
- **Start-up**: 600 s + 10 s per GiB of weights, at most 3600 s.
- **Shared instances** (inference components): the LMCache pool is pinned to half of the model's share of the
  host; LoRA adapters load at run time with ``enable_lora`` and ``VLLM_ALLOW_RUNTIME_LORA_UPDATING`` (``lora``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..._core.errors import Problems
from ...catalogue import dlc
from ...catalogue.instances import InstanceSpec, Processor
from ...catalogue.tasks import canonical_task
from ...model.profile import ModelProfile
from ..base import Serving, ServingStack
from ..catalogued import LlmServerStack
from ..facts import (
    AutoRequest,
    EnvironmentEntry,
    GpuEvaluation,
    GpuFit,
    ImageRequest,
    MemoryDemand,
    ModelFacts,
    Reporter,
    SizingKnobs,
)
from ..kv_cache import context_note, memory_breakdown
from . import lora, memory
from .contract import FAMILY, MODEL_DIR, PREFIX, generation_2
from .flags import check_engine_flag, check_instance, check_vllm_variable
from .neuron import SERVABLE_TASKS as NEURON_TASKS
from .neuron import STACK as NEURON_STACK

SERVABLE_TASKS: frozenset[str] = frozenset({"text-generation", "image-text-to-text"})
"""Tasks vLLM serves (``Serving.AUTO`` picks it for both on GPU instances)."""


_ENCODER_DECODER = (
    "T5", "MT5", "UMT5", "LongT5", "SwitchTransformers", "Bart", "MBart", "PLBart", "Pegasus", "PegasusX",
    "Marian", "FSMT", "M2M100", "NllbMoe", "Blenderbot", "BlenderbotSmall", "ProphetNet", "LED",
    "BigBirdPegasus", "EncoderDecoder",
)  # fmt: skip
"""Model families with an encoder and a decoder (``...ForConditionalGeneration`` of seq2seq models), which
vLLM's engine does not serve."""


def is_encoder_decoder(architecture: str | None) -> bool:
    """Whether ``architecture`` is a seq2seq model (T5, BART, ...)."""
    if architecture is None:
        return False
    family = architecture.removesuffix("ForConditionalGeneration").removesuffix("Model")
    return family != architecture and family in _ENCODER_DECODER


class Vllm(LlmServerStack):
    """vLLM, in the Hugging Face vLLM DLC (``Serving.VLLM``); on Inferentia and Trainium, ``neuron``'s stack."""

    serving = Serving.VLLM
    name = "vLLM"
    family = FAMILY
    image_name = "Hugging Face vLLM DLC"
    processors = frozenset({Processor.GPU})
    engine_arg_prefix = PREFIX
    servable_tasks = SERVABLE_TASKS
    quantize_methods = frozenset(memory.QUANTIZE_AS_VLLM)
    gpu_memory_note = (
        "No GPU memory alarm: vLLM takes gpu_memory_utilization (90%) of every GPU at start-up, by design."
    )

    # ---------------------------------------------------------------------------------- images
    def check_image_request(self, request: ImageRequest, problems: Problems) -> None:
        if request.version is None or self.image_version(request) is not None:
            return
        problems.add(
            "version",
            request.version,
            f"is not a catalogued Hugging Face vLLM DLC version; allowed: {self.allowed_versions()}",
        )

    def resolve_image(self, request: ImageRequest, processor: Processor, where: str) -> dlc.ResolvedImage:
        if processor is Processor.NEURONX:
            return NEURON_STACK.resolve_image(request, processor, where)
        return super().resolve_image(request, processor, where)

    def image_version(self, request: ImageRequest) -> str | None:
        return super().image_version(request) or NEURON_STACK.image_version(request)

    def allowed_versions(self) -> str:
        return f"{super().allowed_versions()} on GPUs; on Inferentia and Trainium {NEURON_STACK.allowed_versions()}"

    def processor_for_token(self) -> Processor | None:
        return Processor.GPU  # a deploy-time instance type is taken to be a GPU one

    def for_processor(self, processor: Processor | None) -> ServingStack:
        """vLLM on Inferentia and Trainium is the vLLM Neuron image, with its own contract (``neuron``)."""
        return NEURON_STACK.configured(self.settings) if processor is Processor.NEURONX else self

    # ------------------------------------------------------------------------ tasks and AUTO
    def auto_selects(self, request: AutoRequest) -> bool:
        if request.task is None or is_encoder_decoder(request.architecture):
            return False
        task = canonical_task(request.task)
        if request.processor is Processor.NEURONX:
            return task in NEURON_TASKS
        return task in SERVABLE_TASKS and request.processor in (None, Processor.GPU)

    def auto_note(self, request: AutoRequest) -> str | None:
        if request.task is None or canonical_task(request.task) not in SERVABLE_TASKS:
            return None
        if request.processor is Processor.CPU:
            return (
                f"Serving.AUTO serves {request.task!r} with the inference toolkit: vLLM, its server for LLMs, "
                f"runs on GPU, Inferentia and Trainium instances, and this endpoint runs on cpu instances"
            )
        return None

    def architecture_warning(self, architecture: str | None) -> str | None:
        if is_encoder_decoder(architecture):
            return (
                f"{architecture} is an encoder-decoder model, which vLLM's engine does not serve: the endpoint "
                "would fail at start-up; use Serving.INFERENCE_TOOLKIT (Serving.AUTO picks it for such models)"
            )
        return None

    # -------------------------------------------------------------------------- environment
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        if not model.model_id:
            return {f"{PREFIX}MODEL": MODEL_DIR}
        if generation_2(self.settings.image_version):
            env = {"HF_MODEL_ID": model.model_id}
        else:
            env = {f"{PREFIX}MODEL": model.model_id}
        if model.revision:
            # vLLM reads the tokenizer from the default branch unless it is told the revision too.
            env.update({f"{PREFIX}REVISION": model.revision, f"{PREFIX}TOKENIZER_REVISION": model.revision})
        return env

    def engine_value(self, value: str | int | float | bool, image_version: str | None) -> str | None:
        if isinstance(value, bool):
            if generation_2(image_version):
                return "true" if value else "false"
            return "" if value else None  # before 0.22 any value is passed to vLLM literally
        return str(value)

    def engine_environment(self, engine_args: Mapping[str, Any], image_version: str | None) -> dict[str, str]:
        environment = super().engine_environment(engine_args, image_version)
        for name, value in engine_args.items():
            if value is False:
                # The image leaves a false flag out, which keeps vLLM's default; the negative flag turns it off.
                environment[f"{PREFIX}NO_{name.upper()}"] = "true" if generation_2(image_version) else ""
        return environment

    def check_engine_arg(self, name: str, value: Any, model: ModelFacts, report: Reporter) -> None:
        check_engine_flag(name, value, model, report)

    def unsized_environment(self, spec: InstanceSpec | None) -> dict[str, str]:
        """Tensor parallel over all GPUs of a catalogued instance, also when the model could not be sized."""
        if spec is None or spec.processor is not Processor.GPU:
            return {}
        return {f"{PREFIX}TENSOR_PARALLEL_SIZE": str(spec.accelerators)}

    def check_environment_entry(self, entry: EnvironmentEntry, report: Reporter) -> bool:
        return check_vllm_variable(entry, self.model_environment(entry.model), report)

    def check_environment(
        self, environment: Mapping[str, Any], model: ModelFacts, spec: InstanceSpec | None, report: Reporter
    ) -> None:
        if spec is not None:
            check_instance(environment, spec, report)

    # ------------------------------------------------------------------------- memory model
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        return memory.demand(profile, knobs, self.settings.engine_args)

    def gpus_used(self, spec: InstanceSpec) -> int:
        return spec.accelerators  # tensor parallel over every GPU

    def host_gib(self, spec: InstanceSpec, demand: MemoryDemand) -> float:
        return memory.host_gib(spec, demand, self.settings)

    def evaluate_gpu(
        self, spec: InstanceSpec, profile: ModelProfile, demand: MemoryDemand, knobs: SizingKnobs, *, picking: bool
    ) -> GpuEvaluation:
        evaluation = memory.evaluate(spec, profile, demand, self.settings.engine_args)
        reasons = memory.hardware_problems(spec, profile, knobs, self.settings.engine_args, picking=picking)
        return replace(evaluation, reasons=(*reasons, *evaluation.reasons))

    def sizing_environment(
        self, profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, subject: str
    ) -> dict[str, str]:
        flags = memory.sizing_flags(profile, fit, demand, knobs, self.settings.engine_args)
        return {f"{PREFIX}{name.upper()}": value for name, value in flags.items()}

    def fit_note(self, profile: ModelProfile, fit: GpuFit, environment: Mapping[str, str]) -> str | None:
        given = self.settings.engine_args.get("max_model_len")
        length = environment.get(f"{PREFIX}MAX_MODEL_LEN", given)
        return context_note("vLLM", "max_model_len", profile, fit, length)

    def memory_breakdown(self, demand: MemoryDemand, kv_cache_gib: float, needed_gib: float, headroom: float) -> str:
        return memory_breakdown("vLLM", demand, kv_cache_gib, needed_gib, "gpu_memory_utilization")

    def shared_host_environment(self, share: InstanceSpec) -> dict[str, str]:
        """The LMCache pool pinned to half of the model's share of the host, which the image would take of the
        whole host's memory (the share it was sized with)."""
        size = memory.lmcache_gib(share, self.settings)
        return {"LMCACHE_MAX_LOCAL_CPU_SIZE": f"{size:g}"} if size else {}

    def adapter_environment(self, max_lora_rank: int | None) -> dict[str, str] | None:
        flags: dict[str, str | int | float | bool] = {"enable_lora": True}
        if max_lora_rank is not None:
            flags["max_lora_rank"] = lora.max_lora_rank(max_lora_rank)
        return {**self.engine_environment(flags, self.settings.image_version), lora.RUNTIME_UPDATES: "true"}

    def summary_environment_keys(self) -> tuple[str, ...]:
        # max_model_len is in fit_note, with the model's context beside it.
        return (f"{PREFIX}TENSOR_PARALLEL_SIZE", f"{PREFIX}DTYPE", f"{PREFIX}QUANTIZATION")


STACK = Vllm()
