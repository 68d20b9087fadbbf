"""Which weight files a checkpoint has: their formats, and their size when no safetensors header says more.

Read from file names only (the Hub's file list, or a directory listing), top-level files only: subfolders
hold exports for other runtimes (``onnx/``, ``openvino/``) that the servers here do not load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WEIGHT_FORMATS: tuple[str, ...] = ("safetensors", "pytorch", "tensorflow", "flax", "gguf")
"""The weight formats a ``ModelProfile`` names."""

TRANSFORMERS_5_DROPPED: frozenset[str] = frozenset({"tensorflow", "flax"})
"""Formats transformers 5 no longer loads (it removed TensorFlow and JAX)."""

_FORMAT_OF = (
    (re.compile(r".*\.safetensors$"), "safetensors"),
    (re.compile(r".*\.bin$"), "pytorch"),
    (re.compile(r"(tf_)?model.*\.h5$"), "tensorflow"),
    (re.compile(r"(flax_)?model.*\.msgpack$"), "flax"),
    (re.compile(r".*\.gguf$"), "gguf"),
)
_NOT_WEIGHTS = frozenset({"training_args.bin", "optimizer.bin", "scheduler.bin", "rng_state.bin"})


def weight_format(name: str) -> str | None:
    """The format of a weight file (``None``: not one): top-level files, and GGUF files in subfolders too (GGUF
    repositories often keep each quantization in a folder); ``mmproj`` projectors are not weights."""
    base = name.rsplit("/", 1)[-1]
    if base.lower().endswith(".gguf"):
        return None if base.lower().startswith("mmproj") else "gguf"
    if "/" in name or name in _NOT_WEIGHTS:
        return None
    return next((fmt for pattern, fmt in _FORMAT_OF if pattern.fullmatch(name)), None)


def weight_formats(names: Iterable[str]) -> tuple[str, ...]:
    """The formats of the weight files among ``names``, in ``WEIGHT_FORMATS`` order."""
    found = {fmt for name in names if (fmt := weight_format(name)) is not None}
    return tuple(fmt for fmt in WEIGHT_FORMATS if fmt in found)


def only_dropped_by_transformers_5(formats: Iterable[str] | None) -> bool:
    """Whether the checkpoint has weights, all of them in formats transformers 5 cannot load."""
    found = set(formats or ())
    return bool(found) and found <= TRANSFORMERS_5_DROPPED


def fallback_weights_bytes(files: Iterable[tuple[str, int | None]]) -> int | None:
    """The size of the weights without safetensors: PyTorch ``.bin`` files (``pytorch_model*`` first), else
    TensorFlow ``.h5``, else Flax ``.msgpack`` files."""
    sized = [(name, size or 0) for name, size in files]
    for wanted in ("pytorch", "tensorflow", "flax"):
        chosen = [(n, s) for n, s in sized if weight_format(n) == wanted]
        if wanted == "pytorch":
            chosen = [(n, s) for n, s in chosen if n.startswith("pytorch_model")] or chosen
        total = sum(size for _, size in chosen)
        if total:
            return total
    return None
