"""What a model needs, read from the Hugging Face Hub or a local directory: ``ModelProfile``.

Hub lookups behave like CDK context lookups: every answer is written to ``hub.context.json``
(next to ``cdk.json`` by default) and read back *before* any network call, so later synths are
deterministic and work offline. Commit the file like ``cdk.context.json``.

Nothing here downloads weights: parameter counts come from the Hub's safetensors metadata (or
safetensors headers, 8-byte length plus JSON), shapes from ``config.json``.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._core.errors import ConfigurationError, allowed_list, describe
from .tasks import task_problem

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
CONTEXT_FILE_NAME = "hub.context.json"
CONTEXT_FILE_ENV = "CONSTRUCTS_LIB_HUB_CONTEXT"
DEFAULT_TIMEOUT_SECONDS = 10.0
_GIB = 1024**3


class HubModelNotFoundError(ConfigurationError):
    """The Hub answered that the model does not exist (or is private to the caller)."""


class HubRevisionNotFoundError(ConfigurationError):
    """The Hub has the model but not the revision asked for."""


class HubAccessError(ConfigurationError):
    """The model is gated or private on the Hub, and the synth-time lookup has no token for it."""


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
        if self.parameters_by_dtype is not None:
            unknown = sorted(set(self.parameters_by_dtype) - set(DTYPE_BYTES))
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
        if self.source not in PROFILE_SOURCES:
            problems.append(
                f"model_profile.source: {describe(self.source)} is not allowed; allowed: "
                f"{allowed_list(PROFILE_SOURCES)}"
            )
        if problems:
            raise ConfigurationError("; ".join(problems))

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

        :param quantize: a TGI ``HF_MODEL_QUANTIZE`` value (see ``sizing.QUANTIZE_BYTES_PER_PARAMETER``).
            :default: - the weights as stored
        :param float_bytes: bytes per parameter the serving stack loads floating-point weights in
            (4 for float32, 2 for float16); quantized weights keep their size.
            :default: - the weights as stored
        """
        stored = self.stored_weights_bytes
        if quantize is not None:
            from .sizing import quantized_bytes_per_parameter  # sizing imports this module

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

        :param dtype_bytes: bytes per cached element. :default: 2 (float16/bfloat16 cache)
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
        """Inverse of ``to_json``; unknown keys (from newer versions) are ignored."""
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {key: value for key, value in data.items() if key in known}
        return cls(**kwargs)


# --------------------------------------------------------------------------- config.json


def _first_int(config: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass(frozen=True)
class _ConfigFacts:
    num_layers: int | None = None
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None
    hidden_size: int | None = None
    head_dim: int | None = None
    max_position_embeddings: int | None = None
    architecture: str | None = None
    num_experts: int | None = None
    dtype: str | None = None
    quantized_dtype: str | None = None
    quantization_bits: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _config_facts(config: Mapping[str, Any]) -> _ConfigFacts:
    """Read layer/head/width facts from a transformers ``config.json`` (any of the common spellings)."""
    architectures = config.get("architectures")
    architecture = architectures[0] if isinstance(architectures, list) and architectures else None
    text = config.get("text_config") or config.get("llm_config") or config.get("language_config")
    cfg: Mapping[str, Any] = {**config, **text} if isinstance(text, Mapping) else config
    heads = _first_int(cfg, "num_attention_heads", "n_head", "n_heads", "num_heads")
    kv_heads = _first_int(cfg, "num_key_value_heads", "n_head_kv", "num_kv_heads", "multi_query_group_num")
    if kv_heads is None and cfg.get("multi_query") is True:
        kv_heads = 1
    raw_dtype = cfg.get("torch_dtype") or cfg.get("dtype") or config.get("torch_dtype") or config.get("dtype")
    dtype = normalise_dtype(raw_dtype) if isinstance(raw_dtype, str) else None
    quantized: str | None = None
    packed_bits: int | None = None
    quant = cfg.get("quantization_config")
    if isinstance(quant, Mapping):
        bits = quant.get("bits") or quant.get("w_bit")
        method = str(quant.get("quant_method", "")).lower()
        if bits == 4 or quant.get("load_in_4bit"):
            quantized = "int4"
        elif bits == 8 or quant.get("load_in_8bit"):
            quantized = "int8"
        elif method in ("fp8", "fbgemm_fp8", "compressed-tensors"):
            quantized = "float8"
        elif method in _PREQUANTIZED_FORMATS:
            quantized = "int4"  # 2-, 3-bit GPTQ, EXL2 at 4.65 bits per weight...: low-bit, as an estimate
        if method in ("awq", "gptq") and quantized in ("int4", "int8") and not isinstance(bits, bool):
            # Only these two pack whole 4- or 8-bit weights into int32 elements (32 // bits each).
            packed_bits = 4 if quantized == "int4" else 8
    return _ConfigFacts(
        num_layers=_first_int(cfg, "num_hidden_layers", "n_layer", "n_layers", "num_layers"),
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        hidden_size=_first_int(cfg, "hidden_size", "n_embd", "dim", "d_model"),
        head_dim=_first_int(cfg, "head_dim"),
        max_position_embeddings=_first_int(
            cfg, "max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "max_sequence_length"
        ),
        architecture=architecture if isinstance(architecture, str) else None,
        num_experts=_first_int(cfg, "num_local_experts", "n_routed_experts", "num_experts", "moe_num_experts"),
        dtype=dtype if dtype in MODEL_DTYPES else None,
        quantized_dtype=quantized,
        quantization_bits=packed_bits,
    )


_PREQUANTIZED_FORMATS = frozenset({"awq", "gptq", "exl2", "marlin", "aqlm", "hqq"})
"""``quant_method`` values of checkpoints whose weights are stored already quantized."""


def _main_dtype(counts: Mapping[str, int], facts: _ConfigFacts) -> str:
    """The dtype that describes the checkpoint: a quantization config wins, then the float dtype with
    the most parameters, then ``torch_dtype``, then bfloat16."""
    if facts.quantized_dtype:
        return facts.quantized_dtype
    candidates = [(count, dtype) for dtype, count in counts.items() if dtype in MODEL_DTYPES]
    if candidates:
        return max(candidates)[1]
    return facts.dtype or "bfloat16"


def _normalise_counts(raw: Mapping[str, int], facts: _ConfigFacts) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, count in raw.items():
        dtype = normalise_dtype(name)
        if dtype is None:
            raise ConfigurationError(f"model weights: unknown safetensors dtype {describe(name)}")
        counts[dtype] = counts.get(dtype, 0) + int(count)
    bits = facts.quantization_bits
    if bits and facts.quantized_dtype and "int32" in counts:
        # AWQ and GPTQ checkpoints pack 32 / bits quantized weights into each int32 element; the Hub
        # and safetensors count the int32 elements. Counted as such, a 70B AWQ model would look like
        # 11B parameters and be sized as one quantized to a sixth of its real size.
        counts[facts.quantized_dtype] = counts.get(facts.quantized_dtype, 0) + counts.pop("int32") * (32 // bits)
    return counts


def _build_profile(
    counts: Mapping[str, int] | None,
    weights_bytes: int | None,
    facts: _ConfigFacts,
    **extra: Any,
) -> ModelProfile:
    arch: dict[str, Any] = {
        "num_layers": facts.num_layers,
        "num_attention_heads": facts.num_attention_heads,
        "num_key_value_heads": facts.num_key_value_heads,
        "hidden_size": facts.hidden_size,
        "head_dim": facts.head_dim,
        "max_position_embeddings": facts.max_position_embeddings,
        "architecture": facts.architecture,
        "num_experts": facts.num_experts,
    }
    if counts:
        normalised = _normalise_counts(counts, facts)
        return ModelProfile(
            parameters=sum(normalised.values()),
            dtype=_main_dtype(normalised, facts),
            parameters_by_dtype=normalised,
            **arch,
            **extra,
        )
    if weights_bytes:
        dtype = facts.quantized_dtype or facts.dtype or "float32"
        # Parameters are an estimate here: file size / bytes per parameter.
        parameters = max(1, int(weights_bytes / DTYPE_BYTES[dtype]))
        return ModelProfile(parameters=parameters, dtype=dtype, weights_bytes=weights_bytes, **arch, **extra)
    raise ConfigurationError("no weights found (no safetensors metadata and no .bin files)")


# --------------------------------------------------------------------------- local directory


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, read without touching the tensor data."""
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ConfigurationError(f"model weights: {str(path)!r} is not a safetensors file (too short)")
        (length,) = struct.unpack("<Q", prefix)
        if length > 100_000_000:
            raise ConfigurationError(f"model weights: {str(path)!r} has an implausible safetensors header")
        try:
            header = json.loads(handle.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ConfigurationError(
                f"model weights: {str(path)!r} has a safetensors header that is not JSON (a truncated or corrupt file)"
            ) from None
    if not isinstance(header, dict):
        raise ConfigurationError(f"model weights: {str(path)!r} has a malformed safetensors header")
    return header


def _count_safetensors(paths: list[Path]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in paths:
        for name, tensor in read_safetensors_header(path).items():
            if name == "__metadata__" or not isinstance(tensor, Mapping):
                continue
            dtype = str(tensor.get("dtype", ""))
            counts[dtype] = counts.get(dtype, 0) + math.prod(int(d) for d in tensor.get("shape", []))
    return counts


def profile_from_directory(path: str | os.PathLike[str]) -> ModelProfile:
    """Profile a local ``save_pretrained`` directory from safetensors headers and ``config.json``.

    Tensors are never loaded. Sharded checkpoints are read through ``model.safetensors.index.json``
    (or all ``*.safetensors`` files). Directories with only ``pytorch_model*.bin`` weights fall back
    to file sizes, with the dtype from ``config.json``'s ``torch_dtype``.
    """
    root = Path(path)
    if not root.is_dir():
        raise ConfigurationError(f"model directory: {describe(str(path))} is not a directory")
    config: Mapping[str, Any] = {}
    config_path = root / "config.json"
    if config_path.is_file():
        loaded = json.loads(config_path.read_text(encoding="utf-8"))
        config = loaded if isinstance(loaded, dict) else {}
    facts = _config_facts(config)
    index_path = root / "model.safetensors.index.json"
    if index_path.is_file():
        index = json.loads(index_path.read_text(encoding="utf-8"))
        shards = sorted({str(name) for name in index.get("weight_map", {}).values()})
        files = [root / name for name in shards]
        missing = [str(f.name) for f in files if not f.is_file()]
        if missing:
            raise ConfigurationError(f"model directory: {str(root)!r} index names missing shards {missing}")
    else:
        files = sorted(root.glob("*.safetensors"))
    counts = _count_safetensors(files) if files else None
    weights_bytes = None
    if not counts:
        bins = sorted(root.glob("pytorch_model*.bin")) or sorted(
            p for p in root.glob("*.bin") if p.name not in ("training_args.bin", "optimizer.bin")
        )
        weights_bytes = sum(p.stat().st_size for p in bins) or None
    try:
        return _build_profile(counts, weights_bytes, facts, source="directory")
    except ConfigurationError as error:
        raise ConfigurationError(f"model directory {str(root)!r}: {error}") from None


# --------------------------------------------------------------------------- context file


def default_context_file(start: Path | None = None) -> Path:
    """``$CONSTRUCTS_LIB_HUB_CONTEXT``, else ``hub.context.json`` next to the nearest ``cdk.json``
    (searching from ``start``, default the working directory, upward), else in ``start``."""
    env = os.environ.get(CONTEXT_FILE_ENV)
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "cdk.json").is_file():
            return directory / CONTEXT_FILE_NAME
    return here / CONTEXT_FILE_NAME


def context_key(model_id: str, revision: str | None) -> str:
    """The ``hub.context.json`` key: ``hub:<model_id>@<revision or main>``."""
    return f"hub:{model_id}@{revision or 'main'}"


def read_context(path: Path) -> dict[str, Any]:
    """The cached answers in ``path`` (empty when the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{str(path)!r} is not valid JSON ({error}); fix or delete it") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{str(path)!r} must hold a JSON object")
    return data


def write_context_entry(path: Path, key: str, value: Mapping[str, Any]) -> None:
    """Merge one answer into ``path`` atomically (sorted, indented JSON, stable across runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = read_context(path)
    data[key] = value
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- Hub lookups


def _hub_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", "")
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    try:
        from huggingface_hub import constants

        return bool(getattr(constants, "HF_HUB_OFFLINE", False))
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return False


def _connection_errors() -> tuple[type[BaseException], ...]:
    """Connection failures of the HTTP clients huggingface_hub uses (requests in 0.x, httpx in 1.x+)."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module_name, names in (("requests", ("ConnectionError", "Timeout")), ("httpx", ("TransportError",))):
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # pragma: no cover - depends on the huggingface_hub version
            continue
        errors += [getattr(module, name) for name in names if hasattr(module, name)]
    return tuple(errors)


class HubLookup:
    """Reads model profiles from the Hugging Face Hub, cached in a ``hub.context.json`` file.

    :param token: Hub token for private or gated models.
        :default: - the token huggingface_hub finds (``HF_TOKEN`` or a saved login)
    :param context_file: cache file. :default: - ``default_context_file()``
    :param endpoint: Hub URL. :default: - ``HF_ENDPOINT``, else https://huggingface.co
    :param timeout: seconds per request. :default: 10
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        context_file: Path | None = None,
        endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.token = token
        self.context_file = Path(context_file) if context_file is not None else default_context_file()
        self.endpoint = endpoint
        self.timeout = timeout

    def cached(self, model_id: str, revision: str | None = None) -> ModelProfile | None:
        """The cached profile, or ``None`` (never touches the network)."""
        entry = read_context(self.context_file).get(context_key(model_id, revision))
        if entry is None:
            return None
        try:
            if not isinstance(entry, Mapping):
                raise TypeError(f"expected an object, found {type(entry).__name__}")
            return ModelProfile.from_json(entry)
        except (TypeError, ValueError, ConfigurationError) as error:
            raise ConfigurationError(
                f"{str(self.context_file)!r}: entry {context_key(model_id, revision)!r} is invalid ({error}); "
                "delete it to look the model up again"
            ) from None

    def profile(self, model_id: str, revision: str | None = None) -> ModelProfile:
        """The profile of ``model_id``: from the cache if present, else from the Hub (then cached)."""
        cached = self.cached(model_id, revision)
        if cached is not None:
            return cached
        if _hub_offline():
            raise self._offline_error(model_id, revision, "HF_HUB_OFFLINE is set")
        profile = self._fetch(model_id, revision)
        write_context_entry(self.context_file, context_key(model_id, revision), profile.to_json())
        return profile

    # -- errors

    def _offline_error(self, model_id: str, revision: str | None, why: str) -> ConfigurationError:
        key = context_key(model_id, revision)
        return ConfigurationError(
            f"model_id: {model_id!r} could not be looked up: the lookup could not reach the Hugging Face Hub "
            f"({why}) and {str(self.context_file)!r} has no cached answer for {key!r}. Fill the cache by running "
            f"`cdk synth` once online, or `python -m constructs_lib recommend {model_id}` online (then commit "
            f"{CONTEXT_FILE_NAME}), or pass model_profile=ModelProfile(...) to skip the lookup."
        )

    def _gated_error(self, model_id: str, kind: str) -> HubAccessError:
        return HubAccessError(
            f"model_id: {model_id!r} is {kind} on the Hugging Face Hub: the endpoint needs hf_token_secret "
            "(a Secrets Manager secret holding a Hub token that has access), and the synth-time lookup needs a "
            "token too (set HF_TOKEN, or pass model_profile=ModelProfile(...) to skip the lookup). For gated "
            "models, accept the licence on the model page first."
        )

    # -- network

    def _fetch(self, model_id: str, revision: str | None) -> ModelProfile:
        from huggingface_hub import errors as hf_errors

        try:
            return self._fetch_unchecked(model_id, revision)
        except hf_errors.OfflineModeIsEnabled:
            raise self._offline_error(model_id, revision, "HF_HUB_OFFLINE is set") from None
        except hf_errors.GatedRepoError:
            raise self._gated_error(model_id, "gated") from None
        except hf_errors.RepositoryNotFoundError:
            raise HubModelNotFoundError(
                f"model_id: {model_id!r} was not found on the Hugging Face Hub: check the spelling "
                "(organisation/name); a private repository needs a token with access (HF_TOKEN) and "
                "hf_token_secret on the endpoint"
            ) from None
        except hf_errors.RevisionNotFoundError:
            raise HubRevisionNotFoundError(
                f"revision: {revision!r} was not found in {model_id!r} on the Hugging Face Hub "
                "(use a branch, tag or commit hash that exists)"
            ) from None
        except hf_errors.LocalEntryNotFoundError as error:  # hf_hub_download could not connect
            raise self._offline_error(model_id, revision, f"connection failed: {error}") from None
        except hf_errors.HfHubHTTPError as error:
            status = getattr(getattr(error, "response", None), "status_code", None)
            raise ConfigurationError(
                f"model_id: {model_id!r} could not be looked up: the Hugging Face Hub answered HTTP {status}. "
                "Try again, or pass model_profile=ModelProfile(...)"
            ) from None
        except _connection_errors() as error:
            raise self._offline_error(model_id, revision, f"connection failed: {type(error).__name__}") from None

    def _fetch_unchecked(self, model_id: str, revision: str | None) -> ModelProfile:
        from huggingface_hub import HfApi, get_token
        from huggingface_hub import errors as hf_errors

        api = HfApi(endpoint=self.endpoint, token=self.token)
        info = api.model_info(model_id, revision=revision, files_metadata=True, timeout=self.timeout)
        gated = bool(getattr(info, "gated", False))
        private = bool(getattr(info, "private", False))
        if (gated or private) and not (self.token or get_token()):
            raise self._gated_error(model_id, "gated" if gated else "private")

        config = self._download_config(api, model_id, revision)
        if config is None:
            info_config = getattr(info, "config", None)
            config = info_config if isinstance(info_config, dict) else {}
        facts = _config_facts(config)

        counts: dict[str, int] | None = None
        weights_bytes: int | None = None
        safetensors = getattr(info, "safetensors", None)
        parameters = getattr(safetensors, "parameters", None) if safetensors is not None else None
        if parameters:
            counts = {str(k): int(v) for k, v in parameters.items()}
        else:
            try:
                metadata = api.get_safetensors_metadata(model_id, revision=revision)
                counts = {str(k): int(v) for k, v in metadata.parameter_count.items()}
            except hf_errors.NotASafetensorsRepoError:
                weights_bytes = _bin_weights_bytes(getattr(info, "siblings", None) or [])
        try:
            return _build_profile(
                counts,
                weights_bytes,
                facts,
                task=_servable_task(getattr(info, "pipeline_tag", None)),
                gated=gated,
                private=private,
                model_id=model_id,
                revision=revision,
                source="hub",
            )
        except ConfigurationError as error:
            raise ConfigurationError(
                f"model_id: {model_id!r} cannot be sized from the Hub: {error}; pass model_profile=ModelProfile(...)"
            ) from None

    def _download_config(self, api: Any, model_id: str, revision: str | None) -> dict[str, Any] | None:
        from huggingface_hub import errors as hf_errors

        with tempfile.TemporaryDirectory(prefix="constructs-lib-hub-") as cache_dir:
            try:
                path = api.hf_hub_download(
                    model_id,
                    "config.json",
                    revision=revision,
                    cache_dir=cache_dir,
                    etag_timeout=self.timeout,
                )
            except hf_errors.LocalEntryNotFoundError:
                raise
            except hf_errors.EntryNotFoundError:
                return None
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else None


def _bin_weights_bytes(siblings: list[Any]) -> int | None:
    files = [(str(s.rfilename), getattr(s, "size", None)) for s in siblings]
    bins = [(name, size) for name, size in files if "/" not in name and name.endswith(".bin")]
    preferred = [(n, s) for n, s in bins if n.startswith("pytorch_model")] or [
        (n, s) for n, s in bins if n not in ("training_args.bin", "optimizer.bin")
    ]
    total = sum(int(size) for _, size in preferred if size)
    return total or None


def _servable_task(pipeline_tag: str | None) -> str | None:
    """The Hub's pipeline tag when the serving stacks know it as a task; other tags (e.g.
    ``text-ranking``) are not a default ``HF_TASK``, and must not make the profile invalid."""
    if pipeline_tag is None or task_problem(pipeline_tag) is not None:
        return None
    return pipeline_tag


def lookup_hub_profile(
    model_id: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    context_file: Path | None = None,
    endpoint: str | None = None,
) -> ModelProfile:
    """The profile of a Hub model, cached in ``hub.context.json`` like a CDK context lookup.

    A cached answer is returned without any network call. Otherwise the Hub is asked
    (``model_info`` with file metadata, safetensors headers, ``config.json``) and the answer is
    merged into the cache file.

    :param revision: branch, tag or commit. :default: - the main branch
    :param token: Hub token for gated/private models. :default: - ``HF_TOKEN`` or a saved login
    :param context_file: cache file. :default: - ``$CONSTRUCTS_LIB_HUB_CONTEXT``, else
        ``hub.context.json`` next to the nearest ``cdk.json``, else in the working directory
    :param endpoint: Hub URL. :default: - ``HF_ENDPOINT``, else https://huggingface.co
    :raises ConfigurationError: offline without a cached answer, unknown, gated or private model.
    """
    return HubLookup(token=token, context_file=context_file, endpoint=endpoint).profile(model_id, revision)
