"""The facts a serving stack is given: the model, the request for an image, what AUTO decides from, the
memory a model needs, the settings an endpoint configures, and the entries a user gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..catalogue.instances import InstanceSpec, Processor

if TYPE_CHECKING:
    from ..model.profile import ModelProfile


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
    artifact_files: Mapping[str, int] | None = None
    """The files a local directory or archive puts in ``/opt/ml/model`` (path -> bytes); ``None`` for the Hub
    and S3, whose files are not read."""

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
    processor: Processor | None = None
    """The processor of the instance type asked for (``None``: the instance is to be chosen, or is a token)."""
    families: tuple[str, ...] | None = None
    """The instance families ``instance_selection`` allows (``None``: any)."""
    profile: ModelProfile | None = None
    """The model's profile, when known (its weight formats, for one)."""
    model_file: str | None = None
    """The ``gguf_file`` prop: a GGUF file to serve (only llama.cpp serves one)."""


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
    @property
    def min_context_tokens(self) -> int | None: ...
    @property
    def concurrent_sequences(self) -> int | None: ...


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
class StackSettings:
    """What an endpoint tells its serving stack beyond the model: server flags, the image, the environment."""

    engine_args: Mapping[str, str | int | float | bool] = field(default_factory=dict)
    """The ``engine_args`` prop: server flags."""
    image_version: str | None = None
    """The catalogued version of the stack's image (``None``: a custom image, taken to be the newest)."""
    environment: Mapping[str, Any] = field(default_factory=dict)
    """The ``environment`` prop."""
    cuda_version: str | None = None
    """The CUDA of the stack's GPU image (``None``: unknown, or no GPU image)."""
    model_file: str | None = None
    """The ``gguf_file`` prop: the file of the model to serve, for servers that are pointed at one (llama.cpp)."""

    @property
    def version(self) -> tuple[int, ...] | None:
        """``image_version`` as numbers, for comparisons (``None``: a custom image)."""
        if self.image_version is None:
            return None
        return tuple(int(part) for part in self.image_version.split(".") if part.isdigit())


@dataclass(frozen=True)
class GpuEvaluation:
    """How a GPU instance holds a model, as a stack's memory model sees it."""

    gpus: int
    """GPUs the stack runs the model on."""
    needed_gib: float
    """GPU memory the model needs on them."""
    available_gib: float
    """GPU memory they offer to the stack."""
    kv_cache_gib: float = 0.0
    """KV cache budgeted."""
    kv_capacity_tokens: int | None = None
    """Tokens of KV cache that fit in what remains after weights and overheads (``None``: not budgeted)."""
    reasons: tuple[str, ...] = ()
    """Why the model does not fit (empty when it does)."""


@dataclass(frozen=True)
class EnvironmentEntry:
    """One entry the user gave (an ``environment`` variable, or a server flag in ``engine_args``), with what a
    stack needs to judge it."""

    key: str
    """The variable, or the flag's name."""
    value: Any
    """The value (a string, a token, or for a flag a number or boolean)."""
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
    engine_args: Mapping[str, Any] = field(default_factory=dict)
    """Everything the user gave in ``engine_args``."""


class Reporter(Protocol):
    """Where a stack reports what it finds while it checks: errors to fix, warnings and notes to read."""

    def error(self, prop: str, value: Any, problem: str) -> None: ...
    def warning(self, id: str, message: str) -> None: ...
