"""llama.cpp, the server Hugging Face ships for GGUF models (the Hugging Face llama.cpp image, CPU and GPU).

- **Images**: ``huggingface-llamacpp`` (catalogue family ``huggingface-llamacpp``), versioned by llama.cpp build
  (``b9522``), with a CPU tag and a GPU tag built for CUDA 13.0 (which needs the driver-580 host AMI).
- **Model**: llama.cpp is pointed at one GGUF file (a quantization; the first file of a split model), never
  at a directory. A Hub model is ``SM_LLAMACPP_HF_REPO`` with ``SM_LLAMACPP_HF_FILE``; artifacts from S3 or disk
  are ``SM_LLAMACPP_MODEL=/opt/ml/model/<file>``. The ``gguf_file`` prop names the file when there are several
  (it is required for S3, whose files are not read). The token is ``HF_TOKEN``; there is no revision.
- **Environment**: each ``engine_args`` flag becomes ``SM_LLAMACPP_<NAME>``, which the entrypoint turns into
  ``--<name>``; a boolean flag is an empty value (a bare flag), and ``False`` leaves it out (llama.cpp's
  negative flags, ``no_mmap=True``, turn a default off).
- **Sizing**: the model takes its GGUF file plus a KV cache for the context (``--ctx-size``, over
  ``--parallel`` sequences). On GPU every layer is offloaded (``SM_LLAMACPP_N_GPU_LAYERS``) and split over the
  GPUs; on CPU the file and the cache live in host memory, with ``headroom``. The pick is the cheapest
  instance, CPU or GPU, that holds them; the context written is the model's, or what fits.
- **AUTO**: a model whose weights are GGUF only goes to llama.cpp, and so does ``text-generation`` on a CPU
  instance (or serverless) when GGUF files are there; without them, that is an error.
- **Invoking**: ``/invocations`` routes by body: ``messages`` (chat), ``prompt`` (completions), ``input``
  (embeddings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.tokens import is_unresolved
from ..catalogue.instances import InstanceSpec, Processor
from ..catalogue.tasks import canonical_task
from ..model.gguf import GgufModel, choose_model, gguf_models
from ..model.profile import ModelProfile
from .base import Serving, kv_bytes_per_token
from .catalogued import LlmServerStack
from .facts import (
    AutoRequest,
    EnvironmentEntry,
    GpuFit,
    MemoryDemand,
    ModelFacts,
    Reporter,
    SizingKnobs,
)
from .kv_cache import CONTEXT_STEP, FALLBACK_CONTEXT_TOKENS, context_note, required_length
from .server_flags import PORT_OWNED, FlagRules, check_flag, check_variable, whole

FAMILY = "huggingface-llamacpp"
PREFIX = "SM_LLAMACPP_"
MODEL_DIR = "/opt/ml/model"
SERVABLE_TASKS: frozenset[str] = frozenset({"text-generation", "image-text-to-text", "feature-extraction"})
"""Tasks llama.cpp serves (embeddings with ``--embeddings``, which the library sets for ``feature-extraction``)."""
ALL_LAYERS = "999"
"""``--n-gpu-layers`` that offloads every layer (llama.cpp caps it at the model's count)."""
CPU_SERVER_GIB = 1.0
"""Host memory of the llama.cpp server itself and its compute buffers on a CPU instance."""
GPU_HOST_GIB = 2.0
"""Host memory on a GPU instance: the server, and the file's pages while the layers are offloaded."""
_CACHE_TYPE_BYTES = {
    "f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 1.0625, "q5_1": 0.75, "q5_0": 0.6875, "q4_1": 0.625,
    "q4_0": 0.5625, "iq4_nl": 0.5625,
}  # fmt: skip
"""Bytes per cached element of each ``--cache-type-k`` / ``--cache-type-v`` (llama.cpp's block sizes)."""
RULES = FlagRules(
    server="llama.cpp",
    prefix=PREFIX,
    owned={
        "model": "the model is the model_data prop with gguf_file; the library writes it",
        "hf_repo": "the model is the model_id prop; the library writes it",
        "hf_file": "set the gguf_file prop",
        "hf_token": "pass hf_token_secret: the library gives the container the token as HF_TOKEN",
        "port": PORT_OWNED,
    },
    counts=("n_gpu_layers", "gpu_layers", "parallel", "threads", "threads_batch", "batch_size", "ubatch_size"),
    choices={
        "cache_type_k": tuple(_CACHE_TYPE_BYTES),
        "cache_type_v": tuple(_CACHE_TYPE_BYTES),
        "split_mode": ("none", "layer", "row"),
    },
    sized=("ctx_size", "n_gpu_layers", "parallel"),
)
"""llama-server's flags (``common/arg.cpp``); ``ctx_size`` is checked on its own (0 means the model's context)."""


def _cache_factor(engine_args: Mapping[str, Any]) -> float:
    """The KV cache's size relative to an f16 cache, from ``cache_type_k`` and ``cache_type_v``."""
    k = _CACHE_TYPE_BYTES.get(str(engine_args.get("cache_type_k", "f16")), 2.0)
    v = _CACHE_TYPE_BYTES.get(str(engine_args.get("cache_type_v", "f16")), 2.0)
    return (k + v) / 4.0


def has_gguf(profile: ModelProfile | None) -> bool:
    """Whether the model's files include a GGUF model."""
    return bool(profile is not None and profile.gguf_files and gguf_models(profile.gguf_files))


class LlamaCpp(LlmServerStack):
    """llama.cpp, in the Hugging Face llama.cpp DLC (``Serving.LLAMACPP``)."""

    serving = Serving.LLAMACPP
    name = "llama.cpp"
    family = FAMILY
    image_name = "Hugging Face llama.cpp DLC"
    version_kind = "build"
    min_startup_timeout_seconds = 300  # no warm-up: the download of the file is most of it
    processors = frozenset({Processor.CPU, Processor.GPU})
    picks_from = frozenset({Processor.CPU, Processor.GPU})
    sizes_every_processor = True
    reads_model_files = True
    engine_arg_prefix = PREFIX
    servable_tasks = SERVABLE_TASKS
    quantize_methods = frozenset[str]()  # the GGUF file is the quantization: pick it with gguf_file
    gpu_memory_note = "No GPU memory alarm: llama.cpp allocates its whole KV cache on the GPUs at start-up."

    # ------------------------------------------------------------------------ tasks and AUTO
    def auto_selects(self, request: AutoRequest) -> bool:
        if request.processor is Processor.NEURONX:
            return False
        profile = request.profile
        if request.model_file is not None or (profile is not None and profile.weight_formats == ("gguf",)):
            return True
        generating = request.task is not None and canonical_task(request.task) == "text-generation"
        return generating and request.processor is Processor.CPU and has_gguf(profile)

    def auto_problem(self, request: AutoRequest) -> str | None:
        generating = request.task is not None and canonical_task(request.task) == "text-generation"
        if not generating or request.processor is not Processor.CPU or request.custom_script:
            return None
        return (
            "picks llama.cpp for 'text-generation' on CPU instances (and serverless), which needs GGUF weights, "
            "and the model has none; use a GGUF repository of the model (the Hub has "
            "'<model>-GGUF' repositories) with gguf_file=... for the quantization, or a GPU instance (vLLM), or "
            "ask for the inference toolkit (serving=Serving.INFERENCE_TOOLKIT) for a small model"
        )

    # -------------------------------------------------------------------------- the GGUF file
    def check_settings(self, model: ModelFacts, report: Reporter) -> None:
        given = self.settings.model_file
        if model.model_id and model.revision:
            report.error(
                "revision",
                model.revision,
                "cannot be served by llama.cpp, which downloads from the repository's default branch; download "
                "the GGUF file and serve it as model_data (FineTunedEndpoint), or drop the revision",
            )
        files = _model_files(model)
        if files is None:
            if not model.model_id and given is None:
                report.error(
                    "gguf_file",
                    None,
                    "is required for model_data in S3: llama.cpp is pointed at one file of /opt/ml/model (it does "
                    "not search the directory); pass gguf_file='<name>-Q4_K_M.gguf', the path inside the archive",
                )
            return
        if not gguf_models(files):
            where = f"{model.model_id!r} on the Hub" if model.model_id else "the model directory or archive"
            report.error(
                "model_id" if model.model_id else "model_data",
                model.model_id or "(local)",
                f"holds no GGUF file ({where}), and llama.cpp serves GGUF models only; use a GGUF repository of "
                "the model, or serving=Serving.VLLM for safetensors weights on a GPU instance",
            )
            return
        _, problem = choose_model(files, given)
        if problem is not None:
            report.error("gguf_file", given, problem)

    def served_model(self, model: ModelFacts) -> GgufModel | None:
        """The GGUF model the endpoint serves: ``gguf_file``'s, else the only one (``None``: unknown)."""
        files = _model_files(model)
        if files is None:
            return None
        return choose_model(files, self.settings.model_file)[0]

    # -------------------------------------------------------------------------- environment
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        chosen = self.served_model(model)
        name = chosen.name if chosen is not None else self.settings.model_file
        env: dict[str, str] = {}
        if model.model_id:
            env[f"{PREFIX}HF_REPO"] = model.model_id
            if name:
                env[f"{PREFIX}HF_FILE"] = name
        elif name:
            env[f"{PREFIX}MODEL"] = f"{MODEL_DIR}/{name}"
        if model.task is not None and canonical_task(model.task) == "feature-extraction":
            env[f"{PREFIX}EMBEDDINGS"] = ""
        return env

    def unsized_environment(self, spec: InstanceSpec | None) -> dict[str, str]:
        if spec is None or spec.processor is not Processor.GPU:
            return {}
        return {f"{PREFIX}N_GPU_LAYERS": ALL_LAYERS}

    def check_engine_arg(self, name: str, value: Any, model: ModelFacts, report: Reporter) -> None:
        if name == "ctx_size":
            _check_context(value, model.profile, f"engine_args[{name!r}]", report)
            return
        check_flag(RULES, name, value, model, report)

    def check_environment_entry(self, entry: EnvironmentEntry, report: Reporter) -> bool:
        key = entry.key
        if key in ("HF_MODEL_ID", "HF_MODEL_REVISION"):
            report.error(
                f"environment[{key!r}]",
                entry.value,
                "is not read by llama.cpp (it reads SM_LLAMACPP_HF_REPO and SM_LLAMACPP_HF_FILE): set model_id and "
                "gguf_file",
            )
            return True
        if key == f"{PREFIX}CTX_SIZE" and f"{PREFIX}CTX_SIZE" not in entry.sizing:
            _check_context(entry.value, entry.model.profile, f"environment[{key!r}]", report)
            return True
        return check_variable(RULES, entry, report)

    # ------------------------------------------------------------------------- memory model
    def file_gib(self, profile: ModelProfile) -> float:
        """GiB of the GGUF model served: ``gguf_file``'s, else the only one, else the profile's weights (the
        smallest quantization, until one is chosen)."""
        if profile.gguf_files:
            chosen, _ = choose_model(profile.gguf_files, self.settings.model_file)
            if chosen is not None:
                return chosen.size / 2**30
        return profile.weights_gib()

    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        args = self.settings.engine_args
        file_gib = self.file_gib(profile)
        offloaded = _offloaded_share(args, profile)
        per_token = kv_bytes_per_token(profile) * _cache_factor(args)
        sequences = whole(args, "parallel") or knobs.concurrent_sequences or 1
        given = _given_context(args, profile)
        length = given // sequences if given is not None else required_length(profile, knobs, None)
        precision = None
        if offloaded < 1:
            precision = f"{offloaded:.0%} of the layers on the GPUs, the rest in host memory"
        return MemoryDemand(
            weights_gib=file_gib * offloaded,
            host_gib=GPU_HOST_GIB + file_gib * (1 - offloaded),
            kv_bytes_per_token=per_token,
            required_tokens=sequences * length,
            min_total_tokens=length,
            precision=precision,
        )

    def gpus_used(self, spec: InstanceSpec) -> int:
        return spec.accelerators  # the layers are split over every GPU

    def cpu_host_gib(self, profile: ModelProfile, demand: MemoryDemand, knobs: SizingKnobs) -> float:
        """The GGUF file and the KV cache, with ``headroom``, plus the server (1 GiB)."""
        return (self.file_gib(profile) + demand.kv_cache_gib) * (1 + knobs.headroom) + CPU_SERVER_GIB

    def serverless_problem(self, profile: ModelProfile, memory_mb: int, knobs: SizingKnobs) -> str | None:
        needed = self.cpu_host_gib(profile, self.demand(profile, knobs, custom_script=False), knobs)
        if needed * 1024 <= memory_mb:
            return None
        return (
            f"is too small for the model: llama.cpp needs {needed:.1f} GiB for {self.file_gib(profile):.1f} GiB of "
            f"GGUF file, its KV cache and the server; pick a smaller quantization (gguf_file) or use instances"
        )

    def sizing_environment(
        self, profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, subject: str
    ) -> dict[str, str]:
        args = self.settings.engine_args
        sequences = whole(args, "parallel") or knobs.concurrent_sequences or 1
        env: dict[str, str] = {}
        if fit.spec.processor is Processor.GPU and not {"n_gpu_layers", "gpu_layers"} & set(args):
            env[f"{PREFIX}N_GPU_LAYERS"] = ALL_LAYERS
        if "parallel" not in args:
            env[f"{PREFIX}PARALLEL"] = str(sequences)
        if "ctx_size" not in args:
            capacity = fit.kv_capacity_tokens
            if fit.spec.processor is not Processor.GPU:
                capacity = self._host_capacity(profile, fit.spec, demand, knobs)
            env[f"{PREFIX}CTX_SIZE"] = str(sequences * _served_length(profile, demand, capacity, sequences))
        return env

    def _host_capacity(
        self, profile: ModelProfile, spec: InstanceSpec, demand: MemoryDemand, knobs: SizingKnobs
    ) -> int | None:
        """Tokens of KV cache the host memory of a CPU instance holds beside the file and the server."""
        if not demand.kv_bytes_per_token:
            return None
        room = (spec.memory_gib - CPU_SERVER_GIB) / (1 + knobs.headroom) - self.file_gib(profile)
        return max(0, int(room * 2**30 / demand.kv_bytes_per_token))

    def fit_note(self, profile: ModelProfile, fit: GpuFit, environment: Mapping[str, str]) -> str | None:
        length = environment.get(f"{PREFIX}CTX_SIZE", self.settings.engine_args.get("ctx_size"))
        note = context_note("llama.cpp", "ctx_size", profile, GpuFit(fit.spec, 1, None), length)
        if fit.spec.processor is Processor.GPU:
            return f"{note}, all layers on {fit.gpus_used} GPU(s)"
        # Generation on CPU is bound by memory bandwidth and cores: the cheapest instance that holds the model is
        # the slowest that does.
        return f"{note}, on {fit.spec.vcpus} vCPUs (more vCPUs generate faster)"

    def summary_environment_keys(self) -> tuple[str, ...]:
        return (f"{PREFIX}HF_FILE", f"{PREFIX}MODEL", f"{PREFIX}N_GPU_LAYERS", f"{PREFIX}PARALLEL")

    def no_fit_hint(self) -> str:
        return "a smaller quantization of the model (gguf_file, e.g. a Q4_K_M file)"

    # ---------------------------------------------------------------------------- invoking
    def invoke_example(self, task: str | None) -> dict[str, Any]:
        """A chat-completions body (``messages``), or an embeddings body (``input``) for ``feature-extraction``."""
        if task is not None and canonical_task(task) == "feature-extraction":
            return {"input": "I love using Hugging Face models on Amazon SageMaker!"}
        return super().invoke_example(task)


def _model_files(model: ModelFacts) -> Mapping[str, int] | None:
    """The files the GGUF model is chosen from: the local directory or archive's, else the profile's when it was
    read from the Hub or a directory (``None``: unknown, e.g. S3 or an explicit profile)."""
    if model.artifact_files is not None:
        return model.artifact_files
    profile = model.profile
    if profile is None or profile.source == "explicit":
        return profile.gguf_files if profile is not None and profile.gguf_files else None
    return profile.gguf_files or {}


def _offloaded_share(engine_args: Mapping[str, Any], profile: ModelProfile) -> float:
    """The share of the layers on the GPUs: all, unless ``n_gpu_layers`` says fewer than the model has."""
    given = whole(engine_args, "n_gpu_layers") or whole(engine_args, "gpu_layers")
    if given is None or not profile.num_layers:
        return 1.0
    return min(1.0, given / profile.num_layers)


def _given_context(engine_args: Mapping[str, Any], profile: ModelProfile) -> int | None:
    """``ctx_size`` when given (0 is llama.cpp's "the model's context")."""
    value = engine_args.get("ctx_size")
    if value in (0, "0"):
        return profile.max_position_embeddings or FALLBACK_CONTEXT_TOKENS
    return whole(engine_args, "ctx_size")


def _served_length(profile: ModelProfile, demand: MemoryDemand, capacity: int | None, sequences: int) -> int:
    """The context of each sequence: the model's when the cache holds it, else what fits (a multiple of 1024, at
    least the shortest asked for)."""
    context = profile.max_position_embeddings or FALLBACK_CONTEXT_TOKENS
    if capacity is None:
        return demand.min_total_tokens
    per_sequence = capacity // sequences
    if per_sequence >= context:
        return context
    return max(per_sequence // CONTEXT_STEP * CONTEXT_STEP, demand.min_total_tokens)


def _check_context(value: Any, profile: ModelProfile | None, prop: str, report: Reporter) -> None:
    if is_unresolved(value) or value in (0, "0"):
        return
    if whole({"ctx_size": value}, "ctx_size") is None:
        report.error(prop, value, "must be a whole number of tokens (0: the model's context)")
        return
    context = profile.max_position_embeddings if profile is not None else None
    if context is not None and int(value) > context:
        report.warning(
            "constructs-lib:llamacpp-context",
            f"{prop} {value} exceeds the model's context of {context} tokens: llama.cpp serves it, but the model "
            "was not trained on sequences that long",
        )


STACK = LlamaCpp()
