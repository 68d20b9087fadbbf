"""A ``ModelProfile`` from ``config.json`` and safetensors headers: of a local directory, or of the Hub's answers.

Nothing here loads tensors: parameter counts come from safetensors metadata (8-byte length plus a JSON
header), shapes from ``config.json``.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._core.errors import ConfigurationError, describe
from .gguf import gguf_files, gguf_models, gguf_profile, read_local_facts
from .modalities import checkpoint_modalities
from .profile import DTYPE_BYTES, MODEL_DTYPES, ModelProfile, normalise_dtype
from .weight_files import fallback_weights_bytes, weight_formats


def _first_int(config: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass(frozen=True)
class ConfigFacts:
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


def config_facts(config: Mapping[str, Any]) -> ConfigFacts:
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
    return ConfigFacts(
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


def _main_dtype(counts: Mapping[str, int], facts: ConfigFacts) -> str:
    """The dtype that describes the checkpoint: a quantization config wins, then the float dtype with
    the most parameters, then ``torch_dtype``, then bfloat16."""
    if facts.quantized_dtype:
        return facts.quantized_dtype
    candidates = [(count, dtype) for dtype, count in counts.items() if dtype in MODEL_DTYPES]
    if candidates:
        return max(candidates)[1]
    return facts.dtype or "bfloat16"


def _normalise_counts(raw: Mapping[str, int], facts: ConfigFacts) -> dict[str, int]:
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


def build_profile(
    counts: Mapping[str, int] | None,
    weights_bytes: int | None,
    facts: ConfigFacts,
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
    raise ConfigurationError("no weights found (no safetensors metadata, and no .bin, .h5 or .msgpack files)")


SAFETENSORS_MAX_HEADER_BYTES = 100_000_000
"""A header longer than this is not a safetensors header (the format's own limit is 100 MB)."""


def safetensors_header_length(prefix: bytes, where: str) -> int:
    """The header length a safetensors file starts with (8 bytes, little-endian), checked for plausibility."""
    if len(prefix) < 8:
        raise ConfigurationError(f"model weights: {where!r} is not a safetensors file (too short)")
    (length,) = struct.unpack("<Q", prefix[:8])
    if length > SAFETENSORS_MAX_HEADER_BYTES:
        raise ConfigurationError(f"model weights: {where!r} has an implausible safetensors header")
    return int(length)


def parse_safetensors_header(raw: bytes, where: str) -> dict[str, Any]:
    """The JSON header of a safetensors file, from the bytes after the length."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ConfigurationError(
            f"model weights: {where!r} has a safetensors header that is not JSON (a truncated or corrupt file)"
        ) from None
    if not isinstance(header, dict):
        raise ConfigurationError(f"model weights: {where!r} has a malformed safetensors header")
    return header


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, read without touching the tensor data."""
    with open(path, "rb") as handle:
        length = safetensors_header_length(handle.read(8), str(path))
        return parse_safetensors_header(handle.read(length), str(path))


def count_safetensors_parameters(header: Mapping[str, Any], counts: dict[str, int]) -> None:
    """Add the elements of each tensor of a safetensors header to ``counts``, per safetensors dtype."""
    for name, tensor in header.items():
        if name == "__metadata__" or not isinstance(tensor, Mapping):
            continue
        dtype = str(tensor.get("dtype", ""))
        counts[dtype] = counts.get(dtype, 0) + math.prod(int(d) for d in tensor.get("shape", []))


SAFETENSORS_INDEX = "model.safetensors.index.json"
"""The index of a sharded safetensors checkpoint: its ``weight_map`` names the shard of each tensor."""


def safetensors_index_shards(index: Any) -> list[str]:
    """The shard files a ``model.safetensors.index.json`` names, sorted (none when it has no ``weight_map``)."""
    weight_map = index.get("weight_map") if isinstance(index, Mapping) else None
    return sorted({str(name) for name in weight_map.values()}) if isinstance(weight_map, Mapping) else []


def _count_safetensors(paths: list[Path]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in paths:
        count_safetensors_parameters(read_safetensors_header(path), counts)
    return counts


def _read_json_object(path: Path) -> Mapping[str, Any] | None:
    """A JSON object file of the model directory (``None`` when missing, unreadable or not an object)."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _load_json(path: Path) -> Any:
    """A JSON file the profile needs; one that cannot be read or parsed is a ``ConfigurationError`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"model directory: {str(path)!r} cannot be read ({error})") from None
    except ValueError as error:
        raise ConfigurationError(f"model directory: {str(path)!r} is not valid JSON ({error})") from None


def directory_listing(root: Path) -> list[tuple[str, int]]:
    """The files of a model directory that say what its weights are (path, bytes): the top-level files, and GGUF
    files one folder down (where GGUF repositories keep each quantization)."""
    listing = [(entry.name, entry.stat().st_size) for entry in root.iterdir() if entry.is_file()]
    listing += [(str(path.relative_to(root)), path.stat().st_size) for path in root.glob("*/*.gguf") if path.is_file()]
    return listing


def profile_from_directory(path: str | os.PathLike[str]) -> ModelProfile:
    """Profile a local ``save_pretrained`` directory from safetensors headers and ``config.json``.

    Tensors are never loaded. Sharded checkpoints are read through ``model.safetensors.index.json``
    (or all ``*.safetensors`` files). Directories with only ``pytorch_model*.bin`` weights fall back
    to file sizes, with the dtype from ``config.json``'s ``torch_dtype`` (then TensorFlow ``.h5`` and Flax
    ``.msgpack`` files, in float32 unless ``config.json`` says otherwise).
    """
    root = Path(path)
    if not root.is_dir():
        raise ConfigurationError(f"model directory: {describe(str(path))} is not a directory")
    config: Mapping[str, Any] = {}
    config_path = root / "config.json"
    if config_path.is_file():
        loaded = _load_json(config_path)
        config = loaded if isinstance(loaded, dict) else {}
    facts = config_facts(config)
    index_path = root / SAFETENSORS_INDEX
    if index_path.is_file():
        shards = safetensors_index_shards(_load_json(index_path))
        files = [root / name for name in shards]
        missing = [str(f.name) for f in files if not f.is_file()]
        if missing:
            raise ConfigurationError(f"model directory: {str(root)!r} index names missing shards {missing}")
    else:
        files = sorted(root.glob("*.safetensors"))
    counts = _count_safetensors(files) if files else None
    listing = directory_listing(root)
    formats = weight_formats(name for name, _ in listing)
    ggufs = gguf_files(listing)
    if formats == ("gguf",):
        first = min(gguf_models(ggufs).values(), key=lambda m: m.size)
        return gguf_profile(ggufs, read_local_facts(root / first.files[0]), source="directory")
    weights_bytes = None if counts else fallback_weights_bytes(listing)
    names = [name for name, _ in listing]
    modalities = checkpoint_modalities(config, names, _read_json_object(root / "preprocessor_config.json"))
    try:
        return build_profile(
            counts, weights_bytes, facts, source="directory", weight_formats=formats, gguf_files=ggufs or None,
            modalities=modalities,
        )  # fmt: skip
    except ConfigurationError as error:
        raise ConfigurationError(f"model directory {str(root)!r}: {error}") from None
