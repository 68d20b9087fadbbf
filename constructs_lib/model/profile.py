"""What instance sizing needs to know about a model: ``ModelProfile``, its dtypes and its memory.

Build one by hand, from a local directory (``model.local``) or from the Hub (``model.hub_lookup``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .._core.errors import ConfigurationError, allowed_list, describe
from ..catalogue.tasks import task_problem
from .modalities import MODALITIES
from .quantization import quantized_bytes_per_parameter
from .weight_files import WEIGHT_FORMATS

DTYPE_BYTES: Mapping[str, float] = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "float8": 1,
    "bool": 1,
    "int4": 0.5,
}
"""Bytes per parameter for each normalised dtype name."""

MODEL_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16", "int8", "float8", "int4")
"""The dtypes a model's weights can be served in (``ModelProfile.dtype``)."""

FLOAT_DTYPES: frozenset[str] = frozenset({"float64", "float32", "float16", "bfloat16"})
"""Dtypes a serving stack may cast on loading (quantized weights stay as they are)."""

_DTYPE_ALIASES: Mapping[str, str] = {
    "f64": "float64", "float64": "float64", "double": "float64",
    "f32": "float32", "float32": "float32", "float": "float32", "fp32": "float32",
    "f16": "float16", "float16": "float16", "half": "float16", "fp16": "float16",
    "bf16": "bfloat16", "bfloat16": "bfloat16",
    "i64": "int64", "int64": "int64", "i32": "int32", "int32": "int32", "i16": "int16", "int16": "int16",
    "i8": "int8", "int8": "int8", "u8": "uint8", "uint8": "uint8", "bool": "bool",
    "f8_e4m3": "float8", "f8_e5m2": "float8", "f8_e4m3fn": "float8", "float8_e4m3fn": "float8",
    "float8_e5m2": "float8", "float8": "float8", "fp8": "float8",
    "int4": "int4", "i4": "int4", "f4": "int4",
}  # fmt: skip

PROFILE_SOURCES: tuple[str, ...] = ("hub", "directory", "explicit")
_GIB = 1024**3


def _non_negative_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def normalise_dtype(name: str) -> str | None:
    """The normalised dtype name for a safetensors (``BF16``), torch (``torch.bfloat16``) or plain name."""
    key = str(name).lower().removeprefix("torch.")
    return _DTYPE_ALIASES.get(key)


@dataclass(frozen=True)
class ModelProfile:
    """What instance sizing needs to know about a model: its size and its attention shape.

    Build one by hand (``ModelProfile(parameters=8_030_261_248, num_layers=32, ...)``), from a
    local ``save_pretrained`` directory (``profile_from_directory``), or from the Hub
    (``lookup_hub_profile``).
    """

    parameters: int
    """Total parameter count (all experts of a mixture-of-experts model)."""
    dtype: str = "bfloat16"
    """Dtype the weights are stored and served in: float32, float16, bfloat16, int8, float8 or int4.

    :default: "bfloat16"
    """
    parameters_by_dtype: Mapping[str, int] | None = None
    """Parameter counts per normalised dtype, as read from safetensors metadata.

    :default: - only ``parameters`` and ``dtype`` are used
    """
    weights_bytes: int | None = None
    """Exact size of the weights in bytes (e.g. the sum of checkpoint file sizes); overrides
    ``parameters`` x bytes per ``dtype`` when set.

    :default: - computed from the parameter counts
    """
    num_layers: int | None = None
    """Transformer layers (``num_hidden_layers``).

    :default: - unknown
    """
    num_attention_heads: int | None = None
    """Attention (query) heads per layer; TGI shards must divide it.

    :default: - unknown
    """
    num_key_value_heads: int | None = None
    """Key/value heads per layer (grouped-query attention).

    :default: - same as ``num_attention_heads``
    """
    hidden_size: int | None = None
    """Model width.

    :default: - unknown
    """
    head_dim: int | None = None
    """Width of one attention head.

    :default: - ``hidden_size / num_attention_heads``
    """
    max_position_embeddings: int | None = None
    """Longest sequence the model supports (bounds TGI's ``MAX_TOTAL_TOKENS``).

    :default: - unknown
    """
    task: str | None = None
    """Hub ``pipeline_tag``, e.g. ``text-generation``.

    :default: - unknown
    """
    gated: bool = False
    """True when the Hub repository is gated (a token is needed to download it).

    :default: False
    """
    private: bool = False
    """True when the Hub repository is private.

    :default: False
    """
    architecture: str | None = None
    """First entry of ``config.json``'s ``architectures``, e.g. ``LlamaForCausalLM``.

    :default: - unknown
    """
    num_experts: int | None = None
    """Experts per layer of a mixture-of-experts model.

    :default: - not a mixture-of-experts model
    """
    model_id: str | None = None
    """Hub model id the profile describes.

    :default: - none
    """
    revision: str | None = None
    """Hub revision the profile describes.

    :default: - the main branch
    """
    weight_formats: tuple[str, ...] | None = None
    """The formats of the checkpoint's weight files: ``safetensors``, ``pytorch``, ``tensorflow``, ``flax``,
    ``gguf`` (a model with only TensorFlow or Flax weights needs a transformers-4 toolkit image).

    :default: - unknown
    """
    modalities: tuple[str, ...] | None = None
    """What the checkpoint handles: ``text``, ``image``, ``audio``, ``video`` (from ``config.json``'s model type,
    sub-configs and processor files). A task for another modality is a synth error.

    :default: - unknown: tasks are not checked against it (profiles cached before this field existed)
    """
    gguf_files: Mapping[str, int] | None = None
    """The GGUF files of the repository or directory, by path, with their sizes in bytes (llama.cpp serves one).

    :default: - none
    """
    source: str = "explicit"
    """Where the profile came from: "hub", "directory" or "explicit".

    :default: "explicit"
    """

    def __post_init__(self) -> None:
        problems: list[str] = []
        if isinstance(self.parameters, bool) or not isinstance(self.parameters, int) or self.parameters <= 0:
            problems.append(f"model_profile.parameters: {describe(self.parameters)} must be a positive integer")
        if self.dtype not in MODEL_DTYPES:
            problems.append(
                f"model_profile.dtype: {describe(self.dtype)} is not allowed; allowed: {allowed_list(MODEL_DTYPES)}"
            )
        if self.parameters_by_dtype is not None and not isinstance(self.parameters_by_dtype, Mapping):
            problems.append(
                f"model_profile.parameters_by_dtype: {describe(self.parameters_by_dtype)} must be a mapping of dtype "
                "names to parameter counts"
            )
        elif self.parameters_by_dtype is not None:
            unknown = sorted(str(d) for d in self.parameters_by_dtype if not isinstance(d, str) or d not in DTYPE_BYTES)
            if unknown:
                problems.append(
                    f"model_profile.parameters_by_dtype: dtypes {describe(unknown)} are unknown; "
                    f"allowed: {allowed_list(DTYPE_BYTES)}"
                )
            for dtype, count in self.parameters_by_dtype.items():
                if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
                    problems.append(
                        f"model_profile.parameters_by_dtype[{dtype!r}]: {describe(count)} must be a positive integer"
                    )
        if self.task is not None:
            problem = task_problem(self.task) if isinstance(self.task, str) else "must be a string or None"
            if problem:
                problems.append(f"model_profile.task: {describe(self.task)} {problem}")
        for name in ("gated", "private"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                problems.append(f"model_profile.{name}: {describe(value)} must be True or False")
        for name in ("architecture", "model_id", "revision"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                problems.append(f"model_profile.{name}: {describe(value)} must be a string or None")
        for name in (
            "weights_bytes",
            "num_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "hidden_size",
            "head_dim",
            "max_position_embeddings",
            "num_experts",
        ):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                problems.append(f"model_profile.{name}: {describe(value)} must be a positive integer or None")
        for name, allowed in (("weight_formats", WEIGHT_FORMATS), ("modalities", MODALITIES)):
            if (problem := self._names_problem(name, allowed)) is not None:
                problems.append(problem)
        if self.gguf_files is not None and (
            not isinstance(self.gguf_files, Mapping)
            or any(not isinstance(k, str) or not _non_negative_int(v) for k, v in self.gguf_files.items())
        ):
            problems.append(
                f"model_profile.gguf_files: {describe(self.gguf_files)} must map file paths to sizes in bytes"
            )
        if self.source not in PROFILE_SOURCES:
            problems.append(
                f"model_profile.source: {describe(self.source)} is not allowed; allowed: "
                f"{allowed_list(PROFILE_SOURCES)}"
            )
        if problems:
            raise ConfigurationError("; ".join(problems))

    def _names_problem(self, name: str, allowed: tuple[str, ...]) -> str | None:
        """A tuple-of-names field (``weight_formats``, ``modalities``) that holds anything but allowed names; a
        list (read back from JSON) becomes a tuple."""
        value = getattr(self, name)
        if value is None:
            return None
        if isinstance(value, list):
            value = tuple(value)
            object.__setattr__(self, name, value)
        if not isinstance(value, tuple) or any(not isinstance(item, str) or item not in allowed for item in value):
            return f"model_profile.{name}: {describe(value)} is not a list of {name}; allowed: {allowed_list(allowed)}"
        return None

    @property
    def dtype_bytes(self) -> float:
        """Bytes per parameter of ``dtype``."""
        return DTYPE_BYTES[self.dtype]

    @property
    def stored_weights_bytes(self) -> int:
        """Size of the weights as stored: ``weights_bytes``, else the sum over ``parameters_by_dtype``,
        else ``parameters`` x bytes per ``dtype``."""
        if self.weights_bytes is not None:
            return self.weights_bytes
        if self.parameters_by_dtype:
            return int(sum(count * DTYPE_BYTES[dtype] for dtype, count in self.parameters_by_dtype.items()))
        return int(self.parameters * self.dtype_bytes)

    def weights_gib(self, quantize: str | None = None, *, float_bytes: float | None = None) -> float:
        """GiB of accelerator memory the weights take, optionally after TGI quantization or a cast.

        :param quantize: a TGI ``HF_MODEL_QUANTIZE`` value (see ``model.quantization.QUANTIZE_BYTES_PER_PARAMETER``).
        :default quantize: the weights as stored
        :param float_bytes: bytes per parameter the serving stack loads floating-point weights in
            (4 for float32, 2 for float16); quantized weights keep their size.
        :default float_bytes: the weights as stored
        """
        stored = self.stored_weights_bytes
        if quantize is not None:
            return min(stored, self.parameters * quantized_bytes_per_parameter(quantize)) / _GIB
        if float_bytes is None:
            return stored / _GIB
        return self._loaded_bytes(float_bytes) / _GIB

    def _loaded_bytes(self, float_bytes: float) -> float:
        def loaded(dtype: str) -> float:
            return float_bytes if dtype in FLOAT_DTYPES else DTYPE_BYTES[dtype]

        if self.parameters_by_dtype:
            return sum(count * loaded(dtype) for dtype, count in self.parameters_by_dtype.items())
        if self.weights_bytes is not None:
            return self.weights_bytes * loaded(self.dtype) / DTYPE_BYTES[self.dtype]
        return self.parameters * loaded(self.dtype)

    @property
    def effective_head_dim(self) -> int | None:
        """``head_dim``, else ``hidden_size // num_attention_heads``, else ``None``."""
        if self.head_dim:
            return self.head_dim
        if self.hidden_size and self.num_attention_heads:
            return self.hidden_size // self.num_attention_heads
        return None

    @property
    def effective_key_value_heads(self) -> int | None:
        """``num_key_value_heads``, else ``num_attention_heads`` (multi-head attention)."""
        return self.num_key_value_heads or self.num_attention_heads

    def kv_cache_bytes_per_token(self, dtype_bytes: int = 2) -> int | None:
        """KV-cache bytes one token takes over all layers: 2 (K and V) x layers x kv heads x head dim x bytes.

        :param dtype_bytes: bytes per cached element.
        :default dtype_bytes: 2 (float16/bfloat16 cache)
        :returns: ``None`` when the profile lacks the layer or head counts.
        """
        head_dim = self.effective_head_dim
        kv_heads = self.effective_key_value_heads
        if not (self.num_layers and kv_heads and head_dim):
            return None
        return 2 * self.num_layers * kv_heads * head_dim * dtype_bytes

    def describe_size(self) -> str:
        """e.g. ``8.03B params (bfloat16)``."""
        if self.parameters >= 10**9:
            count = f"{self.parameters / 1e9:.2f}B"
        else:
            count = f"{self.parameters / 1e6:.0f}M"
        moe = f", {self.num_experts} experts" if self.num_experts else ""
        return f"{count} params ({self.dtype}{moe})"

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the ``hub.context.json`` entry)."""
        data = asdict(self)
        if self.parameters_by_dtype is not None:
            data["parameters_by_dtype"] = dict(sorted(self.parameters_by_dtype.items()))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelProfile:
        """Inverse of ``to_json``; unknown keys (from newer versions) are ignored.

        :raises ConfigurationError: when ``data`` is not an object with ``parameters``, or a field is invalid.
        """
        if not isinstance(data, Mapping) or "parameters" not in data:
            raise ConfigurationError(
                f"model_profile: {describe(data)} must be an object with at least 'parameters' (ModelProfile.to_json)"
            )
        known = set(cls.__dataclass_fields__)
        kwargs = {key: value for key, value in data.items() if key in known}
        return cls(**kwargs)
