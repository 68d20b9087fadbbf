"""GGUF models (llama.cpp's format): which models a repository or directory holds, and what a file's header says.

A repository usually holds one file per quantization (``...-Q4_K_M.gguf``, ``...-Q8_0.gguf``); a large model is
split into ``<name>-00001-of-00003.gguf`` files that count as one model, named by its first file (what llama.cpp
is pointed at). ``mmproj-*.gguf`` files are vision projectors, not models.

The header is read, never the tensors: magic ``GGUF``, version, counts, then key/value metadata, of which the
architecture's context length, layers and attention heads size the KV cache. Only a prefix of the file is needed
(the metadata comes first); a prefix that ends before the keys are found gives what was found.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .profile import ModelProfile

_SPLIT = re.compile(r"^(?P<base>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")
_QUANT = re.compile(r"(?i)(?:^|[-_.])((?:I?Q\d[_A-Z0-9]*|F16|BF16|F32|FP16))(?=\.gguf$|-\d{5}-of-)")
HEADER_PREFIX_BYTES = 4 * 2**20
"""How much of a GGUF file is read for its metadata (the tokenizer's vocabulary may come before the keys)."""
_BITS_BY_QUANTIZATION = (("F32", 32.0), ("BF16", 16.0), ("F16", 16.0), ("FP16", 16.0), ("Q8", 8.5), ("Q6", 6.6),
                         ("Q5", 5.5), ("Q4", 4.8), ("IQ4", 4.5), ("Q3", 3.9), ("IQ3", 3.5), ("Q2", 3.0), ("IQ2", 2.5),
                         ("IQ1", 1.8))  # fmt: skip
"""Bits per parameter by quantization (llama.cpp's quantize table, rounded), to estimate the parameters from a
file's size when the Hub does not report them."""
_DEFAULT_BITS = 4.8


@dataclass(frozen=True)
class GgufModel:
    """One model of a repository or directory: a file, or the files of a split model."""

    name: str
    """The file llama.cpp is pointed at: the only file, or the first of a split model."""
    files: tuple[str, ...]
    """All its files."""
    size: int
    """Bytes of all its files."""

    @property
    def quantization(self) -> str | None:
        """The quantization its name says (``Q4_K_M``), when it says one."""
        found = _QUANT.search(self.name.rsplit("/", 1)[-1])
        return found[1].upper() if found else None

    def describe(self) -> str:
        """``model-Q4_K_M.gguf (4.6 GiB)``."""
        parts = f", {len(self.files)} files" if len(self.files) > 1 else ""
        return f"{self.name} ({self.size / 2**30:.1f} GiB{parts})"


def is_projector(name: str) -> bool:
    """Whether a GGUF file is a multimodal projector (``mmproj``), not a model."""
    return name.rsplit("/", 1)[-1].lower().startswith("mmproj")


def gguf_models(files: Mapping[str, int]) -> dict[str, GgufModel]:
    """The GGUF models among ``files`` (path -> size), by the name llama.cpp is pointed at."""
    singles: dict[str, GgufModel] = {}
    splits: dict[tuple[str, str], list[str]] = {}
    for path in sorted(files):
        if not path.lower().endswith(".gguf") or is_projector(path):
            continue
        split = _SPLIT.match(path)
        if split is None:
            singles[path] = GgufModel(path, (path,), int(files[path] or 0))
        else:
            splits.setdefault((split["base"], split["count"]), []).append(path)
    for (base, count), parts in splits.items():
        first = f"{base}-00001-of-{count}.gguf"
        name = first if first in parts else parts[0]
        singles[name] = GgufModel(name, tuple(parts), sum(int(files[p] or 0) for p in parts))
    return dict(sorted(singles.items()))


def choose_model(files: Mapping[str, int], given: str | None) -> tuple[GgufModel | None, str | None]:
    """The model to serve: ``given`` (a file name, or any file of a split model), else the only one; or why not."""
    models = gguf_models(files)
    if given is not None:
        for model in models.values():
            if given in model.files or given == model.name:
                return model, None
        found = ", ".join(model.describe() for model in models.values()) or "none"
        return None, f"is not a GGUF model of the repository or directory; its GGUF models: {found}"
    if len(models) == 1:
        return next(iter(models.values())), None
    if not models:
        return None, None
    listed = "; ".join(model.describe() for model in models.values())
    return None, f"is needed: the model has {len(models)} GGUF models (quantizations), pick one: {listed}"


@dataclass(frozen=True)
class GgufFacts:
    """What a GGUF header says about the model (``None``: not in the header, or not in the prefix read)."""

    architecture: str | None = None
    context_length: int | None = None
    block_count: int | None = None
    head_count: int | None = None
    head_count_kv: int | None = None
    embedding_length: int | None = None
    key_length: int | None = None


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise EOFError
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def number(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        return self.take(self.number("<Q")).decode("utf-8", "replace")

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.number(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = self.number("<I"), self.number("<Q")
            if item in _SCALARS:  # skipped whole: only scalars the sizing reads matter
                self.take(struct.calcsize(_SCALARS[item]) * count)
            else:
                for _ in range(count):
                    self.value(item)
            return None
        raise ValueError(f"unknown GGUF value type {kind}")


def read_gguf_facts(data: bytes) -> GgufFacts | None:
    """The facts in a GGUF header (a prefix of the file is enough); ``None`` when ``data`` is not GGUF (v2 or v3)."""
    reader = _Reader(data)
    values: dict[str, Any] = {}
    try:
        if reader.take(4) != b"GGUF" or reader.number("<I") not in (2, 3):
            return None
        reader.number("<Q")  # tensors
        count = reader.number("<Q")
        for _ in range(count):
            key = reader.string()
            values[key] = reader.value(reader.number("<I"))
    except (EOFError, ValueError, struct.error):
        pass  # the prefix ended, or a value this reader does not know: keep what was read
    arch = values.get("general.architecture")
    if not isinstance(arch, str):
        return GgufFacts() if values else None

    def number(key: str) -> int | None:
        found = values.get(f"{arch}.{key}")
        return found if isinstance(found, int) and not isinstance(found, bool) and found > 0 else None

    return GgufFacts(
        architecture=arch,
        context_length=number("context_length"),
        block_count=number("block_count"),
        head_count=number("attention.head_count"),
        head_count_kv=number("attention.head_count_kv"),
        embedding_length=number("embedding_length"),
        key_length=number("attention.key_length"),
    )


def read_local_facts(path: Path) -> GgufFacts | None:
    """The facts in the header of a local GGUF file."""
    with path.open("rb") as handle:
        return read_gguf_facts(handle.read(HEADER_PREFIX_BYTES))


def gguf_profile(
    files: Mapping[str, int],
    facts: GgufFacts | None,
    *,
    parameters: int | None = None,
    context_length: int | None = None,
    **extra: Any,
) -> ModelProfile:
    """The profile of a model that has only GGUF weights: sized by its smallest GGUF model until one is chosen.

    :param parameters: the parameter count, when the Hub reports it.
    :default parameters: estimated from the size.
    :param context_length: the context, when the Hub reports it.
    :default context_length: the header's.
    """
    models = gguf_models(files)
    smallest_model = min(models.values(), key=lambda m: m.size, default=None)
    smallest = smallest_model.size if smallest_model else 0
    facts = facts or GgufFacts()
    head_dim = facts.key_length or (
        facts.embedding_length // facts.head_count if facts.embedding_length and facts.head_count else None
    )
    return ModelProfile(
        parameters=parameters or max(1, int(smallest * 8 / bits_per_weight(smallest_model))),
        dtype="int4",
        weights_bytes=smallest or None,
        num_layers=facts.block_count,
        num_attention_heads=facts.head_count,
        num_key_value_heads=facts.head_count_kv,
        hidden_size=facts.embedding_length,
        head_dim=head_dim,
        max_position_embeddings=facts.context_length or context_length,
        weight_formats=("gguf",),
        gguf_files=dict(sorted(files.items())),
        **extra,
    )


def bits_per_weight(model: GgufModel | None) -> float:
    """Bits per parameter of ``model``'s quantization (4.8, a Q4_K_M, when its name says none)."""
    label = model.quantization if model is not None else None
    if label is None:
        return _DEFAULT_BITS
    return next((bits for prefix, bits in _BITS_BY_QUANTIZATION if label.startswith(prefix)), _DEFAULT_BITS)


def gguf_files(entries: Iterable[tuple[str, int | None]]) -> dict[str, int]:
    """The GGUF files among ``entries`` (path, size), projectors included (they are files of the model)."""
    return {name: int(size or 0) for name, size in entries if name.lower().endswith(".gguf")}
