"""The interface every serving stack implements, and the facts it is given.

A serving stack is the server inside the container (the Hugging Face inference toolkit, TGI,
TEI, ...). Each one lives in its own module of this package and owns everything that differs
between stacks: its image family and tags, its container environment, the tasks it serves, its
memory model and its start-up time, and the request body an example invocation sends. The rest of
the library asks the stack; it never branches on which stack it is.
"""

from __future__ import annotations

import abc
import copy
import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .._core.errors import ConfigurationError, Problems
from ..catalogue.host_amis import default_host_ami
from ..catalogue.instances import InstanceSpec, Processor
from ..model.quantization import QUANTIZE_BYTES_PER_PARAMETER
from .facts import (
    AutoRequest,
    EnvironmentEntry,
    GpuEvaluation,
    GpuFit,
    ImageRequest,
    MemoryDemand,
    ModelFacts,
    Reporter,
    SizingKnobs,
    StackSettings,
)

if TYPE_CHECKING:
    from ..catalogue.dlc import ResolvedImage
    from ..model.profile import ModelProfile


class Serving(str, enum.Enum):  # noqa: UP042 (the public contract: str mixin, str() unchanged)
    """Which serving stack runs the model inside the container."""

    AUTO = "auto"
    """Pick from the task and whether a custom script is used (see :func:`resolve_serving`)."""
    INFERENCE_TOOLKIT = "inference-toolkit"
    """The Hugging Face inference toolkit (transformers pipelines, custom ``inference.py``)."""
    TGI = "tgi"
    """Text Generation Inference, for LLMs (GPU only)."""
    TEI = "tei"
    """Text Embeddings Inference, for embedding and sentence-similarity models."""
    VLLM = "vllm"
    """vLLM, for LLMs and vision-language models on GPUs (the Hugging Face vLLM DLC), and on Inferentia2 and
    Trainium (the Hugging Face vLLM Neuron DLC)."""
    SGLANG = "sglang"
    """SGLang, for LLMs and vision-language models on GPUs (the Hugging Face SGLang DLC)."""
    LLAMACPP = "llamacpp"
    """llama.cpp, for GGUF models on CPUs and GPUs (the Hugging Face llama.cpp DLC)."""


class ServingStack(abc.ABC):
    """One serving stack: its images, environment contract, tasks, memory model and invoke example.

    Built-in stacks are registered in ``constructs_lib.serving.registry``; every method has the
    behaviour most stacks share, so a stack overrides only what is its own.
    """

    serving: ClassVar[Serving | None] = None
    """The ``Serving`` member that names a built-in stack; ``None`` for a stack of your own."""
    name: ClassVar[str]
    """How messages name the stack, e.g. ``TGI``."""
    processors: ClassVar[frozenset[Processor]]
    """The processors it has images for."""
    picks_from: ClassVar[frozenset[Processor]] = frozenset({Processor.GPU})
    """The processors whose instances an automatic pick considers (``families`` may name others)."""
    sizes_every_processor: ClassVar[bool] = False
    """Whether ``sizing_environment`` also writes settings for CPU and Neuron instances (not only GPUs)."""
    reads_model_files: ClassVar[bool] = False
    """Whether the stack is told which file of a local model to serve, so needs its file list (llama.cpp)."""
    runs_custom_scripts: ClassVar[bool] = False
    """Whether the stack imports ``code/inference.py`` (only the inference toolkit does)."""
    token_variables: ClassVar[tuple[str, ...]] = ("HF_TOKEN",)
    """The variables the container reads a Hugging Face token from."""
    latency_p99_seconds: ClassVar[int] = 2
    """The default p99 model latency alarm threshold."""
    gpu_memory_note: ClassVar[str | None] = None
    """Why a GPU memory alarm would be wrong for this stack (``None``: the alarm applies)."""
    read_variables: ClassVar[frozenset[str]] = frozenset()
    """Variables the container reads besides the ones the library writes (server knobs such as
    ``SAGEMAKER_MODEL_SERVER_WORKERS``): a user key that differs from one only in case warns."""
    engine_arg_prefix: ClassVar[str | None] = None
    """The prefix the container turns into server flags (``SM_VLLM_``); ``None``: no ``engine_args``."""
    quantize_methods: ClassVar[frozenset[str]] = frozenset(QUANTIZE_BYTES_PER_PARAMETER)
    """The ``instance_selection.quantize`` values the stack applies."""
    gpu_image_runs_on_cpu: ClassVar[bool] = False
    """Whether the stack's GPU image also serves a model on the host's CPUs when the container sees no GPU (an
    inference component with ``accelerators=0`` on a GPU instance)."""

    settings: StackSettings = StackSettings()
    """What the endpoint configured the stack with (``configured``)."""

    def configured(self, settings: StackSettings) -> ServingStack:
        """The stack as one endpoint runs it: its server flags, image and environment."""
        copied = copy.copy(self)
        copied.settings = settings
        return copied

    def with_image(self, request: ImageRequest, **settings: Any) -> ServingStack:
        """The stack configured for the catalogued image ``request`` names (its version and GPU CUDA), plus
        ``settings`` (``StackSettings`` fields)."""
        cuda = None
        if Processor.GPU in self.processors:
            try:
                cuda = self.resolve_image(request, Processor.GPU, "a GPU instance").cuda_version
            except ConfigurationError:
                cuda = None  # no GPU image of that version: the image itself says so when it is bound
        return self.configured(StackSettings(image_version=self.image_version(request), cuda_version=cuda, **settings))

    @property
    def key(self) -> str:
        """How messages about sizing name the stack: its ``Serving`` value, else its name."""
        return self.serving.value if self.serving is not None else self.name

    # ---------------------------------------------------------------------------------- images
    @abc.abstractmethod
    def check_image_request(self, request: ImageRequest, problems: Problems) -> None:
        """Record why ``request`` names no catalogued image of the stack (checked when the image is created)."""

    @abc.abstractmethod
    def resolve_image(self, request: ImageRequest, processor: Processor, where: str) -> ResolvedImage:
        """The catalogued image ``request`` names for ``processor``.

        :param where: how messages name the instance (``instance_type 'ml.g5.xlarge'``).
        :raises ConfigurationError: when the stack has no such image for the processor.
        """

    def image_version(self, request: ImageRequest) -> str | None:
        """The catalogued version ``request`` stands for, where the container environment depends on it."""
        return None

    def processor_for_token(self) -> Processor | None:
        """The processor to assume for a deploy-time instance type (``None``: it cannot be known)."""
        return None

    def for_processor(self, processor: Processor | None) -> ServingStack:
        """The stack that serves on ``processor`` (a server with another image and contract there, e.g. vLLM on
        Neuron; ``None``: the processor is not known yet)."""
        return self

    def default_image_request(self, profile: ModelProfile | None) -> tuple[ImageRequest, str | None]:
        """The image an endpoint runs when none is given, and an info message when it is not the newest."""
        return ImageRequest(), None

    def image_problem(self, transformers_version: str | None, profile: ModelProfile | None) -> str | None:
        """Why an image with ``transformers_version`` cannot load the model (``None``: it can, or unknown)."""
        return None

    def host_ami(self, processor: Processor, cuda_version: str | None) -> str | None:
        """The ``InferenceAmiVersion`` the stack's image needs on ``processor`` (``None``: SageMaker's default)."""
        return default_host_ami(processor, cuda_version)

    # ------------------------------------------------------------------------ tasks and AUTO
    def auto_selects(self, request: AutoRequest) -> bool:
        """Whether ``Serving.AUTO`` picks this stack (the inference toolkit is the fallback)."""
        return False

    def auto_note(self, request: AutoRequest) -> str | None:
        """An info message when ``Serving.AUTO`` passed this stack over for a model it usually serves."""
        return None

    def auto_problem(self, request: AutoRequest) -> str | None:
        """Why ``Serving.AUTO`` cannot serve the model at all where it is asked to run (``None``: it can)."""
        return None

    def explicit_warning(self) -> tuple[str, str] | None:
        """A warning (its id and message) for every endpoint that asks for this stack, e.g. that it is retired."""
        return None

    def task_problem(self, task: str | None) -> str | None:
        """Why the stack cannot serve ``task`` (``None`` when it can, or when ``task`` is ``None``)."""
        return None

    def default_handler_task_problem(self, task: str | None) -> str | None:
        """Why the stack's default model loader cannot build ``task`` (a ``model_fn`` of the user's still can)."""
        return None

    def architecture_warning(self, architecture: str | None) -> str | None:
        """A warning when the stack would likely fail to load a model of ``architecture``."""
        return None

    def hardware_problem(self, processor: Processor) -> str | None:
        """Why the stack cannot run on instances of ``processor`` (``None`` when it can), e.g.
        ``TGI images are GPU-only``."""
        if processor in self.processors:
            return None
        kinds = "/".join(sorted(p.value.upper() for p in self.processors))
        return f"{self.name} images are {kinds}-only"

    def hardware_remedy(self) -> str:
        """Which instances the stack runs on, for messages: ``a GPU instance (ml.g5.*, ml.g6.*, ...)``."""
        return " or ".join(_PROCESSOR_EXAMPLES[p] for p in sorted(self.processors))

    # -------------------------------------------------------------------------- environment
    @abc.abstractmethod
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        """The container environment that tells the stack where the model is and what to do with it."""

    def unsized_environment(self, spec: InstanceSpec | None) -> dict[str, str]:
        """Settings the stack needs on ``spec`` when the model could not be sized (no profile)."""
        return {}

    def image_environment(self, environment: Mapping[str, str], image_version: str | None) -> dict[str, str]:
        """The sizing environment as the stack's image of ``image_version`` reads it (names change over versions)."""
        return dict(environment)

    def check_environment_entry(self, entry: EnvironmentEntry, report: Reporter) -> bool:
        """Report a user ``environment`` entry that the container would ignore, overwrite or refuse.

        :returns: whether the stack judged the entry (then no generic check follows).
        """
        return False

    def check_environment(
        self, environment: Mapping[str, Any], model: ModelFacts, spec: InstanceSpec | None, report: Reporter
    ) -> None:
        """Checks of the whole container environment on ``spec`` (e.g. what a compiler needs)."""
        return None

    # ------------------------------------------------------------------------- server flags
    def engine_variable(self, name: str) -> str:
        """The variable that carries flag ``name`` (``max_model_len`` is ``SM_VLLM_MAX_MODEL_LEN``)."""
        return f"{self.engine_arg_prefix or ''}{name.upper()}"

    def engine_value(self, value: str | int | float | bool, image_version: str | None) -> str | None:
        """How the image reads a flag's value: by default ``True`` is an empty value (a bare flag), ``False``
        leaves the flag out (``None``), numbers are written out."""
        if isinstance(value, bool):
            return "" if value else None
        return str(value)

    def engine_environment(self, engine_args: Mapping[str, Any], image_version: str | None) -> dict[str, str]:
        """The variables ``engine_args`` become in the container (the stack has an ``engine_arg_prefix``)."""
        environment: dict[str, str] = {}
        for name, value in engine_args.items():
            rendered = self.engine_value(value, image_version)
            if rendered is not None:
                environment[self.engine_variable(name)] = rendered
        return environment

    def check_settings(self, model: ModelFacts, report: Reporter) -> None:
        """Report what the stack's settings (``self.settings``) cannot do with the model, before it is sized (e.g.
        the GGUF file to serve). By default GGUF is a mistake: only llama.cpp serves it, so a ``gguf_file``, or a
        model whose only weights are GGUF files (unless the user's ``model_fn`` loads it), is an error."""
        if self.settings.model_file is not None:
            report.error(
                "gguf_file",
                self.settings.model_file,
                f"is read by llama.cpp only, and {self.name} serves this endpoint; use serving=Serving.LLAMACPP (or "
                "Serving.AUTO) for a GGUF model, or drop gguf_file",
            )
        elif model.profile is not None and model.profile.weight_formats == ("gguf",) and not model.script_loads_model:
            report.error(
                "serving",
                self.name,
                f"cannot load {model.profile.model_id or 'the model'}: its only weights are GGUF files, which "
                "llama.cpp serves (on CPU and GPU instances); use serving=Serving.LLAMACPP (or Serving.AUTO) on a CPU "
                "or GPU instance, or the model's safetensors repository",
            )

    def check_engine_arg(self, name: str, value: Any, model: ModelFacts, report: Reporter) -> None:
        """Report a flag of ``engine_args`` that the server would refuse, or that contradicts a prop or the model
        (checked before the instance is picked: flags that concern the instance are the sizing's to check)."""
        return None

    # ------------------------------------------------------------------------- memory model
    @abc.abstractmethod
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        """What the model needs once loaded by this stack.

        :param custom_script: whether a ``model_fn`` of the user's loads the model (it decides the dtype).
        """

    def gpus_used(self, spec: InstanceSpec) -> int:
        """How many of ``spec``'s GPUs the stack runs the model on."""
        return 1

    def host_gib(self, spec: InstanceSpec, demand: MemoryDemand) -> float:
        """Host memory the stack needs on GPU instance ``spec`` (by default what its demand says)."""
        return demand.host_gib

    def cpu_weights_gib(self, profile: ModelProfile, demand: MemoryDemand) -> float:
        """GiB the weights take in host memory on a CPU instance."""
        return demand.weights_gib

    def cpu_host_gib(self, profile: ModelProfile, demand: MemoryDemand, knobs: SizingKnobs) -> float:
        """Host memory the model needs on a CPU instance: by default the weights x ``CPU_LOAD_FACTOR`` (a Python
        server reads the checkpoint before it frees the copy) + ``CPU_BASE_GIB`` for the server itself."""
        return self.cpu_weights_gib(profile, demand) * CPU_LOAD_FACTOR + CPU_BASE_GIB

    def fit_problems(
        self, spec: InstanceSpec, profile: ModelProfile, knobs: SizingKnobs, *, gpus: int, picking: bool
    ) -> list[str]:
        """Why the stack cannot serve the model on GPU instance ``spec`` for reasons other than memory.

        :param picking: the instance was chosen automatically, not asked for by name or family.
        """
        return []

    def evaluate_gpu(
        self, spec: InstanceSpec, profile: ModelProfile, demand: MemoryDemand, knobs: SizingKnobs, *, picking: bool
    ) -> GpuEvaluation:
        """How GPU instance ``spec`` holds the model: weights and KV cache plus ``knobs.headroom`` for
        activations, and ``CUDA_CONTEXT_GIB`` per GPU in use, against the usable memory of those GPUs.

        :param picking: the instance was chosen automatically, not asked for by name or family.
        """
        gpus = self.gpus_used(spec)
        headroom = 1 + knobs.headroom
        available = gpus * spec.usable_accelerator_memory_gib
        needed = (demand.weights_gib + demand.kv_cache_gib) * headroom + CUDA_CONTEXT_GIB * gpus
        capacity = None
        if demand.kv_bytes_per_token:
            free = (available - CUDA_CONTEXT_GIB * gpus) / headroom - demand.weights_gib
            capacity = max(0, int(free * 2**30 / demand.kv_bytes_per_token))
        reasons = self.fit_problems(spec, profile, knobs, gpus=gpus, picking=picking)
        if needed > available:
            where = f"{gpus} x {spec.accelerator_model}" if gpus > 1 else f"one {spec.accelerator_model}"
            reasons.append(f"needs {needed:.1f} GiB GPU memory, {where} has {available:.1f} GiB usable")
        return GpuEvaluation(gpus, needed, available, demand.kv_cache_gib, capacity, tuple(reasons))

    def evaluate_neuron(
        self, spec: InstanceSpec, profile: ModelProfile, demand: MemoryDemand, knobs: SizingKnobs, *, picking: bool
    ) -> GpuEvaluation | None:
        """How the NeuronCores of Inferentia or Trainium instance ``spec`` hold the model (``None``: the stack
        does not size for Neuron, where the model is compiled at start-up)."""
        return None

    def serverless_problem(self, profile: ModelProfile, memory_mb: int, knobs: SizingKnobs) -> str | None:
        """Why the model does not fit a serverless endpoint of ``memory_mb`` (``None``: it does, or the generic
        check of the weights against the memory applies)."""
        return None

    def fit_note(self, profile: ModelProfile, fit: GpuFit, environment: Mapping[str, str]) -> str | None:
        """What a summary says about how the stack runs on an instance, beyond the memory math."""
        return None

    def memory_breakdown(self, demand: MemoryDemand, kv_cache_gib: float, needed_gib: float, headroom: float) -> str:
        """How a summary adds up the GPU memory after the weights (``+ ... = N GiB needed``)."""
        parts = []
        if demand.kv_bytes_per_token:
            parts.append(f"+ {kv_cache_gib:.1f} GiB KV cache ({demand.required_tokens} tokens)")
        parts.append(
            f"+ {headroom:.0%} headroom + {CUDA_CONTEXT_GIB:g} GiB/GPU CUDA context = {needed_gib:.1f} GiB needed"
        )
        return " ".join(parts)

    def sizing_environment(
        self, profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, subject: str
    ) -> dict[str, str]:
        """The container settings the sizing decided for a GPU instance (e.g. token limits)."""
        return {}

    def startup_timeout_seconds(self, weights_gib: float | None) -> int | None:
        """``ContainerStartupHealthCheckTimeoutInSeconds`` for weights of that size (``None``: unknown size).

        This implementation gives 300 s + 10 s per GiB from 2 GiB on, at most 3600 s, and ``None`` (SageMaker's
        default) for smaller or unknown weights; the LLM servers and TGI override it.
        """
        if weights_gib is None or weights_gib < 2:
            return None
        return int(min(3600, max(300, 300 + 10 * weights_gib)))

    def shared_host_environment(self, share: InstanceSpec) -> dict[str, str]:
        """Variables that keep the container within ``share``, its part of an instance it shares with other models
        (an inference component), where the server would otherwise size itself by the whole host."""
        return {}

    def adapter_environment(self, max_lora_rank: int | None) -> dict[str, str] | None:
        """What the server needs to load LoRA adapters at run time, as inference components that name it as their
        base (``None``: the stack does not load adapters).

        :param max_lora_rank: the highest rank of the adapters, when known (``None``: the server's default).
        :raises ConfigurationError: when the server cannot load adapters of that rank.
        """
        return None

    def summary_environment_keys(self) -> tuple[str, ...]:
        """The sizing settings worth showing in summaries and ``recommend``."""
        return ()

    def no_fit_hint(self) -> str:
        """What to try when no catalogued instance holds the model."""
        return "serving=Serving.VLLM with a 4-bit AWQ or GPTQ checkpoint, for a generative model"

    # ---------------------------------------------------------------------------- invoking
    def invoke_example(self, task: str | None) -> dict[str, Any]:
        """A request body the stack answers for ``task``, for example invocations."""
        return dict(_EXAMPLE_INPUTS.get(task, _DEFAULT_INPUT))


CUDA_CONTEXT_GIB = 1.0
"""GPU memory each GPU in use spends on the CUDA context, before any weight."""
CPU_LOAD_FACTOR = 1.2
CPU_BASE_GIB = 2.0

_PROCESSOR_EXAMPLES = {
    Processor.GPU: "a GPU instance (ml.g5.*, ml.g6.*, ml.p4d.*, ...)",
    Processor.CPU: "a CPU instance (ml.m5.*, ml.c5.*, ...)",
    Processor.NEURONX: "an Inferentia2 or Trainium instance (ml.inf2.*, ml.trn1.*)",
}


def tensor_parallel_problem(profile: ModelProfile, ways: int, server: str, unit: str = "GPUs") -> str | None:
    """Why ``server`` cannot split the model's attention over ``ways`` GPUs (or NeuronCores: ``unit``); ``None``:
    it can.

    The attention heads must divide evenly; so must the key/value heads when there are at least as many,
    and with fewer, each is replicated, so the count must be a multiple of them.
    """
    split = f"{server} splits the model over {ways} {unit}, and {ways} does not divide the model's"
    heads = profile.num_attention_heads
    if heads and heads % ways:
        return f"{split} {heads} attention heads"
    kv = profile.num_key_value_heads
    if kv and kv != heads:
        if kv >= ways and kv % ways:
            return f"{split} {kv} key/value heads"
        if kv < ways and ways % kv:
            return f"{server} cannot replicate the model's {kv} key/value heads over {ways} {unit}"
    return None


FALLBACK_KV_BYTES_PER_TOKEN_PER_PARAMETER = 8e-5
"""KV-cache bytes per parameter per token when the profile lacks layer/head counts (what an MHA 7B model needs)."""


def kv_bytes_per_token(profile: ModelProfile, element_bytes: int = 2) -> float:
    """KV-cache bytes one token takes over all layers, estimated from the size when the shape is unknown.

    :param element_bytes: bytes per cached element (2 for a 16-bit cache, 1 for FP8).
    """
    exact = profile.kv_cache_bytes_per_token(element_bytes)
    if exact is not None:
        return float(exact)
    return profile.parameters * FALLBACK_KV_BYTES_PER_TOKEN_PER_PARAMETER * element_bytes / 2


def shortest_context(profile: ModelProfile, knobs: SizingKnobs, default: int, *, fallback: int) -> int:
    """The shortest sequence the stack is sized to serve: ``knobs.min_context_tokens``, else ``default``, but
    never more than the model's context (``fallback`` when unknown).

    :raises ConfigurationError: when ``min_context_tokens`` exceeds the model's known context.
    """
    context = profile.max_position_embeddings
    least = knobs.min_context_tokens
    if least is not None and context is not None and least > context:
        raise ConfigurationError(
            f"instance_selection.min_context_tokens: {least} exceeds the model's context of {context} tokens "
            "(max_position_embeddings); ask for at most that"
        )
    if least is not None:
        return least
    return min(context or fallback, default)


def loaded_weights(
    profile: ModelProfile, knobs: SizingKnobs, float_bytes: float, precision: str
) -> tuple[float, str | None]:
    """GiB of the weights once loaded with floats cast to ``float_bytes`` per parameter (or quantized with
    ``knobs.quantize``), and ``precision`` when the cast changed their size."""
    if knobs.quantize is not None:
        return profile.weights_gib(knobs.quantize), None
    loaded = profile.weights_gib(float_bytes=float_bytes)
    changed = abs(loaded - profile.weights_gib()) > 1e-9
    return loaded, precision if changed else None


_EXAMPLE_INPUTS: Mapping[str | None, Mapping[str, Any]] = {
    "text-generation": {"inputs": "What is Amazon SageMaker?", "parameters": {"max_new_tokens": 64}},
    "question-answering": {"inputs": {"question": "What is served?", "context": "A Hugging Face model is served."}},
    "zero-shot-classification": {
        "inputs": "I love this!",
        "parameters": {"candidate_labels": ["positive", "negative"]},
    },
}
_DEFAULT_INPUT: Mapping[str, Any] = {"inputs": "I love using Hugging Face models on Amazon SageMaker!"}
