"""Tiny GGUF files built on the fly: a real GGUF v3 header (magic, counts, typed key/value metadata) and no tensors,
which is all the library reads of one."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_UINT32, _FLOAT32, _STRING, _ARRAY, _UINT64 = 4, 6, 8, 9, 10


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _value(value: Any) -> tuple[int, bytes]:
    if isinstance(value, str):
        return _STRING, _string(value)
    if isinstance(value, float):
        return _FLOAT32, struct.pack("<f", value)
    if isinstance(value, list):  # a list of strings, like the tokenizer's vocabulary
        return _ARRAY, struct.pack("<IQ", _STRING, len(value)) + b"".join(_string(item) for item in value)
    if isinstance(value, tuple):  # a tuple of numbers, like token types
        return _ARRAY, struct.pack("<IQ", _UINT32, len(value)) + b"".join(struct.pack("<I", n) for n in value)
    if value >= 2**32:
        return _UINT64, struct.pack("<Q", value)
    return _UINT32, struct.pack("<I", value)


def gguf_bytes(metadata: Mapping[str, Any], *, version: int = 3, tensors: int = 0) -> bytes:
    """A GGUF header holding ``metadata`` (strings, ints, floats, string lists, int tuples)."""
    body = b"".join(
        _string(key) + struct.pack("<I", _value(value)[0]) + _value(value)[1] for key, value in metadata.items()
    )
    return b"GGUF" + struct.pack("<IQQ", version, tensors, len(metadata)) + body


def llama_gguf(
    *,
    context: int = 131072,
    layers: int = 32,
    heads: int = 32,
    kv_heads: int = 8,
    embedding: int = 4096,
    vocabulary: int = 64,
    architecture: str = "llama",
) -> bytes:
    """The header of a Llama-shaped GGUF model, with a small vocabulary before the shape keys (as llama.cpp's
    converter writes the tokenizer after ``general.*``, a reader must skip arrays to find what comes after)."""
    return gguf_bytes(
        {
            "general.architecture": architecture,
            "general.name": "tiny",
            "tokenizer.ggml.tokens": [f"t{i}" for i in range(vocabulary)],
            "tokenizer.ggml.token_type": tuple(1 for _ in range(vocabulary)),
            f"{architecture}.context_length": context,
            f"{architecture}.block_count": layers,
            f"{architecture}.attention.head_count": heads,
            f"{architecture}.attention.head_count_kv": kv_heads,
            f"{architecture}.embedding_length": embedding,
            f"{architecture}.rope.freq_base": 500000.0,
        }
    )


def write_gguf_directory(directory: Path, files: Mapping[str, bytes]) -> Path:
    """A local model directory of GGUF files (``files``: path -> content)."""
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return directory
