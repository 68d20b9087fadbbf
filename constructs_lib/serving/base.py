"""The interface every serving stack implements, and the facts it is given.

A serving stack is the server inside the container (the Hugging Face inference toolkit, TGI,
TEI, ...). Each one lives in its own module of this package and owns everything that differs
between stacks: its image family and tags, its container environment, the tasks it serves, its
memory model and its start-up time, and the request body an example invocation sends. The rest of
the library asks the stack; it never branches on which stack it is.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .._core.errors import Problems
from ..catalogue.instances import InstanceSpec, Processor

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


@dataclass(frozen=True)
class ImageRequest:
    """Which catalogued image of a stack was asked for (``InferenceImage`` factories build one)."""

    version: str | None = None
    """The stack's version (for the toolkit: transformers'); ``None`` means the newest."""
    base_version: str | None = None
    """The base framework's version where the stack has one (the toolkit: PyTorch); ``None``: the newest."""


@dataclass(frozen=True)
class ModelFacts:
    """What a serving stack reads about the model to write its container environment."""

    model_id: str | None = None
    """The Hub model the container downloads at start-up; ``None`` when the artifacts are in ``/opt/ml/model``."""
    revision: str | None = None
    """The Hub revision (with ``model_id`` only)."""
    task: str | None = None
    """The task the model runs (``HF_TASK``): given, or the Hub's pipeline tag."""
    given_task: str | None = None
    """The task the user gave (``None`` when it came from the Hub or is unknown)."""
    entry_point: str | None = None
    """The custom inference script under ``code/`` (``SAGEMAKER_PROGRAM``)."""
    script_loads_model: bool = False
    """The custom script defines ``model_fn``: it, not the stack's default loader, loads the model."""
    local_directory: Path | None = None
    """The local ``save_pretrained`` directory, when the model comes from one."""
    profile: ModelProfile | None = None
    """The model's size and shape, when known."""

    @property
    def architecture(self) -> str | None:
        """``config.json``'s first architecture, when known."""
        return self.profile.architecture if self.profile is not None else None


@dataclass(frozen=True)
class AutoRequest:
    """What ``Serving.AUTO`` decides from."""

    task: str | None
    """The model's task; ``None`` when unknown."""
    architecture: str | None = None
    """``config.json``'s first architecture; ``None`` when unknown."""
    custom_script: bool = False
    """Whether the model ships a custom ``inference.py``."""


class SizingKnobs(Protocol):
    """The instance-selection settings a memory model reads (``SizingOptions`` has them all)."""

    @property
    def quantize(self) -> str | None: ...
    @property
    def headroom(self) -> float: ...
    @property
    def max_input_tokens(self) -> int | None: ...
    @property
    def max_total_tokens(self) -> int | None: ...
    @property
    def max_batch_total_tokens(self) -> int | None: ...
    @property
    def max_batch_prefill_tokens(self) -> int | None: ...


@dataclass(frozen=True)
class MemoryDemand:
    """What a model needs once a serving stack has loaded it, before any instance is considered."""

    weights_gib: float
    """Accelerator memory of the weights as the stack loads them (cast or quantized)."""
    host_gib: float
    """Host memory the stack needs to load and serve the model."""
    kv_bytes_per_token: float = 0.0
    """KV-cache bytes one token takes (stacks that budget a KV cache); 0 for the others."""
    required_tokens: int = 0
    """Tokens of KV cache the stack must hold at once."""
    min_total_tokens: int = 0
    """The shortest sequence (input and output) the stack is sized to serve."""
    precision: str | None = None
    """How the stack loads the weights, when that differs from how they are stored."""

    @property
    def kv_cache_gib(self) -> float:
        """The KV cache budgeted, in GiB."""
        return self.required_tokens * self.kv_bytes_per_token / 2**30


@dataclass(frozen=True)
class GpuFit:
    """What a GPU instance leaves for the model: the facts a stack's sizing environment is computed from."""

    spec: InstanceSpec
    """The instance."""
    gpus_used: int
    """GPUs the stack runs the model on."""
    kv_capacity_tokens: int | None
    """Tokens of KV cache that fit in what remains after weights and headroom; ``None`` when not budgeted."""


@dataclass(frozen=True)
class EnvironmentEntry:
    """One ``environment`` entry the user gave, with what a stack needs to judge it."""

    key: str
    value: Any
    """The value (a string, or a token)."""
    user: Mapping[str, Any]
    """Everything the user gave in ``environment``."""
    sizing: Mapping[str, str]
    """What the stack's sizing (or its unsized defaults) wrote."""
    sized: bool
    """Whether the sizing checked the memory with those settings (``False`` without a model profile)."""
    instance_type: str | None
    """The instance type the container runs on (``None``: serverless)."""
    spec: InstanceSpec | None
    """Its catalogued shape (``None``: serverless or unknown)."""
    image_version: str | None
    """The catalogued version of the stack's image (``None``: a custom image)."""
    model: ModelFacts
    """The model."""


class Reporter(Protocol):
    """Where a stack reports what it finds while it checks: errors to fix, warnings and notes to read."""

    def error(self, prop: str, value: Any, problem: str) -> None: ...
    def warning(self, id: str, message: str) -> None: ...


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
    runs_custom_scripts: ClassVar[bool] = False
    """Whether the stack imports ``code/inference.py`` (only the inference toolkit does)."""
    token_variables: ClassVar[tuple[str, ...]] = ("HF_TOKEN",)
    """The variables the container reads a Hugging Face token from."""
    latency_p99_seconds: ClassVar[int] = 2
    """The default p99 model latency alarm threshold."""
    gpu_memory_note: ClassVar[str | None] = None
    """Why a GPU memory alarm would be wrong for this stack (``None``: the alarm applies)."""

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

    # ------------------------------------------------------------------------ tasks and AUTO
    def auto_selects(self, request: AutoRequest) -> bool:
        """Whether ``Serving.AUTO`` picks this stack (the inference toolkit is the fallback)."""
        return False

    def auto_note(self, request: AutoRequest) -> str | None:
        """An info message when ``Serving.AUTO`` passed this stack over for a model it usually serves."""
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

    # ------------------------------------------------------------------------- memory model
    @abc.abstractmethod
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        """What the model needs once loaded by this stack.

        :param custom_script: whether a ``model_fn`` of the user's loads the model (it decides the dtype).
        """

    def gpus_used(self, spec: InstanceSpec) -> int:
        """How many of ``spec``'s GPUs the stack runs the model on."""
        return 1

    def cpu_weights_gib(self, profile: ModelProfile, demand: MemoryDemand) -> float:
        """GiB the weights take in host memory on a CPU instance."""
        return demand.weights_gib

    def fit_problems(
        self, spec: InstanceSpec, profile: ModelProfile, knobs: SizingKnobs, *, gpus: int, picking: bool
    ) -> list[str]:
        """Why the stack cannot serve the model on GPU instance ``spec`` for reasons other than memory.

        :param picking: the instance was chosen automatically, not asked for by name or family.
        """
        return []

    def sizing_environment(
        self, profile: ModelProfile, fit: GpuFit, demand: MemoryDemand, knobs: SizingKnobs, subject: str
    ) -> dict[str, str]:
        """The container settings the sizing decided for a GPU instance (e.g. token limits)."""
        return {}

    def startup_timeout_seconds(self, weights_gib: float | None) -> int | None:
        """``ContainerStartupHealthCheckTimeoutInSeconds`` for weights of that size (``None``: unknown size).

        ``None`` leaves SageMaker's default. Default: 300 s + 10 s per GiB from 2 GiB on, at most 3600 s.
        """
        if weights_gib is None or weights_gib < 2:
            return None
        return int(min(3600, max(300, 300 + 10 * weights_gib)))

    def summary_environment_keys(self) -> tuple[str, ...]:
        """The sizing settings worth showing in summaries and ``recommend``."""
        return ()

    def no_fit_hint(self) -> str:
        """What to try when no catalogued instance holds the model."""
        return "serving=Serving.TGI with quantize='bitsandbytes-nf4' for a generative model"

    # ---------------------------------------------------------------------------- invoking
    def invoke_example(self, task: str | None) -> dict[str, Any]:
        """A request body the stack answers for ``task``, for example invocations."""
        return dict(_EXAMPLE_INPUTS.get(task, _DEFAULT_INPUT))


_PROCESSOR_EXAMPLES = {
    Processor.GPU: "a GPU instance (ml.g5.*, ml.g6.*, ml.p4d.*, ...)",
    Processor.CPU: "a CPU instance (ml.m5.*, ml.c5.*, ...)",
    Processor.NEURONX: "an Inferentia2 instance (ml.inf2.*)",
}


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
