"""SGLang, the second LLM server Hugging Face ships for SageMaker (the Hugging Face SGLang image, GPU only).

- **Images**: ``huggingface-sglang`` (catalogue family ``huggingface-sglang``), built for CUDA 12.9.
- **Environment**: each ``engine_args`` flag becomes ``SM_SGLANG_<NAME>``, which the entrypoint turns into
  ``--<name>``; a boolean flag is an empty value (a bare flag), and ``False`` leaves it out. The model is
  ``SM_SGLANG_MODEL_PATH`` for a Hub model; left unset, the image serves ``/opt/ml/model`` (artifacts from S3 or
  disk). There is no ``HF_MODEL_ID``. The revision is ``SM_SGLANG_REVISION``, the token ``HF_TOKEN``. The
  entrypoint serves on port 8080 (``SM_SGLANG_PORT`` would move it away from SageMaker).
- **Sizing**: SGLang keeps the weights and its KV-cache pool in ``mem_fraction_static`` of every GPU (the rest is
  for activations and CUDA graphs), tensor parallel over all of them. The sizing writes ``SM_SGLANG_TP``,
  ``SM_SGLANG_MEM_FRACTION_STATIC`` and, when the model's full context does not fit, ``SM_SGLANG_CONTEXT_LENGTH``,
  with the arithmetic vLLM's sizing uses (``serving.kv_cache``).
- **Tasks**: ``text-generation`` and ``image-text-to-text``; ``/invocations`` takes chat-completions bodies only.
  ``Serving.AUTO`` never picks SGLang (vLLM is its server for LLMs): ask for it with ``Serving.SGLANG``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..catalogue.instances import InstanceSpec, Processor
from ..model.profile import FLOAT_DTYPES, ModelProfile
from .base import Serving
from .catalogued import LlmServerStack
from .facts import (
    EnvironmentEntry,
    GpuEvaluation,
    GpuFit,
    MemoryDemand,
    ModelFacts,
    Reporter,
    SizingKnobs,
)
from .kv_cache import (
    KvServer,
    context_note,
    evaluate,
    fitting_length,
    gpu_problems,
    kv_demand,
    memory_breakdown,
    needs_half_precision,
)
from .server_flags import PORT_OWNED, FlagRules, check_flag, check_parallel, check_variable, fraction, whole

FAMILY = "huggingface-sglang"
PREFIX = "SM_SGLANG_"
SERVABLE_TASKS: frozenset[str] = frozenset({"text-generation", "image-text-to-text"})
HOST_BASE_GIB = 4.0
"""Host memory of the server and its first worker."""
HOST_PER_WORKER_GIB = 1.0

_STATIC_FRACTIONS = ((16, 0.79), (8, 0.81), (4, 0.85), (2, 0.87), (1, 0.88))
"""SGLang's classic ``mem_fraction_static`` by tensor parallel size (server_args.py), written explicitly so that
the sizing and the server agree whatever the image's own heuristic."""
SERVER = KvServer("SGLang", "mem_fraction_static", 0.0)  # activations and graphs live outside the static share
QUANTIZE_AS_SGLANG: Mapping[str, str] = {
    "awq": "awq",
    "gptq": "gptq",
    "marlin": "marlin",
    "fp8": "fp8",
    "bitsandbytes-nf4": "bitsandbytes",
}
"""``SizingOptions.quantize`` values SGLang applies, and its ``--quantization`` name for each."""
QUANTIZATION_METHODS: frozenset[str] = frozenset(
    {
        "awq", "fp8", "mxfp8", "gptq", "marlin", "gptq_marlin", "awq_marlin", "bitsandbytes", "gguf",
        "modelopt", "modelopt_fp8", "modelopt_fp4", "modelopt_mixed", "petit_nvfp4", "w8a8_int8", "w8a8_fp8",
        "moe_wna16", "w4afp8", "mxfp4", "auto-round", "compressed-tensors", "quark", "qoq",
    }
)  # fmt: skip
"""``--quantization`` choices of SGLang's ``server_args`` over the versions the images carry."""
_ON_THE_FLY_BYTES = {"fp8": 1.05, "w8a8_fp8": 1.05, "w8a8_int8": 1.05, "bitsandbytes": 0.55}
RULES = FlagRules(
    server="SGLang",
    prefix=PREFIX,
    owned={
        "model_path": "the model is the model_id (or model_data) prop; the library writes it",
        "model": "the model is the model_id (or model_data) prop; the library writes it",
        "revision": "set the revision prop",
        "port": PORT_OWNED,
    },
    counts=("tp", "tp_size", "tensor_parallel_size", "context_length", "max_running_requests", "max_total_tokens"),
    fractions={"mem_fraction_static": "the share of each GPU's memory for weights and the KV cache"},
    choices={"dtype": ("auto", "half", "float16", "bfloat16", "float", "float32")},
    context_flag="context_length",
    sized=("tp", "context_length", "mem_fraction_static", "dtype", "quantization"),
    parallel=("tp",),
    quantization_flag="quantization",
    quantization_methods=QUANTIZATION_METHODS,
    prequantized=frozenset({"awq", "gptq", "marlin", "gptq_marlin", "awq_marlin"}),
)
"""SGLang's flags (its ``server_args``; the tensor parallel size is ``--tp``, short for ``--tp-size``)."""
_TP_FLAGS = ("tp", "tp_size", "tensor_parallel_size")


def static_fraction(engine_args: Mapping[str, Any], gpus: int) -> float:
    """``mem_fraction_static``: given, else SGLang's classic default for ``gpus``-way tensor parallelism."""
    given = fraction(engine_args.get("mem_fraction_static"))
    if given is not None:
        return given
    return next(share for least, share in _STATIC_FRACTIONS if gpus >= least)


def _tensor_parallel(engine_args: Mapping[str, Any]) -> int | None:
    return next((n for name in _TP_FLAGS if (n := whole(engine_args, name)) is not None), None)


class SGLang(LlmServerStack):
    """SGLang, in the Hugging Face SGLang DLC (``Serving.SGLANG``)."""

    serving = Serving.SGLANG
    name = "SGLang"
    family = FAMILY
    image_name = "Hugging Face SGLang DLC"
    processors = frozenset({Processor.GPU})
    engine_arg_prefix = PREFIX
    servable_tasks = SERVABLE_TASKS
    quantize_methods = frozenset(QUANTIZE_AS_SGLANG)
    gpu_memory_note = "No GPU memory alarm: SGLang takes mem_fraction_static of every GPU at start-up, by design."

    # ---------------------------------------------------------------------------------- images
    def processor_for_token(self) -> Processor | None:
        return Processor.GPU

    # -------------------------------------------------------------------------------- environment
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        if not model.model_id:
            return {}  # the image serves /opt/ml/model
        env = {f"{PREFIX}MODEL_PATH": model.model_id}
        if model.revision:
            env[f"{PREFIX}REVISION"] = model.revision
        return env

    def unsized_environment(self, spec: InstanceSpec | None) -> dict[str, str]:
        if spec is None or spec.processor is not Processor.GPU:
            return {}
        return {f"{PREFIX}TP": str(spec.accelerators)}

    def check_engine_arg(self, name: str, value: Any, model: ModelFacts, report: Reporter) -> None:
        check_flag(RULES, name, value, model, report)

    def check_environment_entry(self, entry: EnvironmentEntry, report: Reporter) -> bool:
        key = entry.key
        if key in ("HF_MODEL_ID", "HF_MODEL_REVISION"):
            read = "SM_SGLANG_MODEL_PATH" if key == "HF_MODEL_ID" else "SM_SGLANG_REVISION"
            prop = "model_id" if key == "HF_MODEL_ID" else "revision"
            report.error(f"environment[{key!r}]", entry.value, f"is not read by SGLang (it reads {read}): set {prop}")
            return True
        if key == f"{PREFIX}MODEL_PATH" and self.model_environment(entry.model).get(key) != entry.value:
            report.error(
                f"environment[{key!r}]",
                entry.value,
                "conflicts with the model_id (or model_data) prop, from which the library names the model; set it "
                "there",
            )
            return True
        return check_variable(RULES, entry, report)

    def check_environment(
        self, environment: Mapping[str, Any], model: ModelFacts, spec: InstanceSpec | None, report: Reporter
    ) -> None:
        if spec is not None:
            check_parallel(RULES, environment, spec, report)

    # ------------------------------------------------------------------------------ memory model
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        args = self.settings.engine_args
        method = args.get("quantization") or QUANTIZE_AS_SGLANG.get(knobs.quantize or "")
        weights = profile.weights_gib(float_bytes=4 if args.get("dtype") in ("float", "float32") else 2)
        precision = None
        if isinstance(method, str) and method in _ON_THE_FLY_BYTES and profile.dtype in FLOAT_DTYPES:
            weights = min(weights, profile.parameters * _ON_THE_FLY_BYTES[method] / 2**30)
            precision = f"quantized to {method} while loading"
        fp8_cache = str(args.get("kv_cache_dtype", "auto")).startswith("fp8")
        length = whole(args, "context_length")
        return kv_demand(
            profile,
            knobs,
            weights_gib=weights,
            host_gib=HOST_BASE_GIB,
            given_length=length,
            element_bytes=1 if fp8_cache else 2,
            precision=precision,
        )

    def gpus_used(self, spec: InstanceSpec) -> int:
        return spec.accelerators

    def host_gib(self, spec: InstanceSpec, demand: MemoryDemand) -> float:
        return demand.host_gib + max(spec.accelerators - 1, 0) * HOST_PER_WORKER_GIB

    def evaluate_gpu(
        self, spec: InstanceSpec, profile: ModelProfile, demand: MemoryDemand, knobs: SizingKnobs, *, picking: bool
    ) -> GpuEvaluation:
        args = self.settings.engine_args
        share = static_fraction(args, spec.accelerators)
        evaluation = evaluate(SERVER, spec, profile, demand, share)
        method = args.get("quantization") or QUANTIZE_AS_SGLANG.get(knobs.quantize or "")
        problems = gpu_problems(
            "SGLang",
            spec,
            profile,
            {"tp": _tensor_parallel(args)},
            picking=picking,
            dtype=args.get("dtype"),
            fp8=method in ("fp8", "w8a8_fp8"),
        )
        return replace(evaluation, reasons=(*problems, *evaluation.reasons))

    def sizing_environment(
        self, profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, subject: str
    ) -> dict[str, str]:
        args = self.settings.engine_args
        env: dict[str, str] = {}
        if not any(name in args for name in _TP_FLAGS):
            env[f"{PREFIX}TP"] = str(fit.gpus_used)
        if "mem_fraction_static" not in args:
            env[f"{PREFIX}MEM_FRACTION_STATIC"] = f"{static_fraction(args, fit.gpus_used):g}"
        length = fitting_length(profile, fit, demand, knobs)
        if "context_length" not in args and length is not None:
            env[f"{PREFIX}CONTEXT_LENGTH"] = str(length)
        if "dtype" not in args and needs_half_precision(profile, fit.spec):
            env[f"{PREFIX}DTYPE"] = "half"
        if knobs.quantize and "quantization" not in args:
            env[f"{PREFIX}QUANTIZATION"] = QUANTIZE_AS_SGLANG[knobs.quantize]
        return env

    def fit_note(self, profile: ModelProfile, fit: GpuFit, environment: Mapping[str, str]) -> str | None:
        length = environment.get(f"{PREFIX}CONTEXT_LENGTH", self.settings.engine_args.get("context_length"))
        return context_note("SGLang", "context_length", profile, fit, length)

    def memory_breakdown(self, demand: MemoryDemand, kv_cache_gib: float, needed_gib: float, headroom: float) -> str:
        return memory_breakdown("SGLang", demand, kv_cache_gib, needed_gib, "mem_fraction_static")

    def summary_environment_keys(self) -> tuple[str, ...]:
        return (f"{PREFIX}TP", f"{PREFIX}MEM_FRACTION_STATIC", f"{PREFIX}DTYPE", f"{PREFIX}QUANTIZATION")


STACK = SGLang()
