"""What the Hugging Face inference toolkit (2.6.0) expects of a user's script, as data.

The rules that use these tables are described in :mod:`constructs_lib.scripts.handlers`.
"""

from __future__ import annotations

__all__ = ["HANDLER_ARGUMENTS"]

#: The arguments the toolkit passes to each handler, without the optional trailing ``context``.
HANDLER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "model_fn": ("model_dir",),
    "input_fn": ("input_data", "content_type"),
    "predict_fn": ("data", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "input_data", "content_type", "accept"),
}
_HANDLERS = tuple(HANDLER_ARGUMENTS)
_STEP_HANDLERS = ("input_fn", "predict_fn", "output_fn")

# Top-level modules the inference worker has imported before it imports the user module: an entry
# point with one of these names makes ``importlib.import_module`` return the cached module instead.
_PREIMPORTED_MODULES = frozenset(
    {
        "abc",
        "importlib",
        "inspect",
        "json",
        "logging",
        "os",
        "sys",
        "time",
        "mms",
        "sagemaker_inference",
        "sagemaker_huggingface_inference_toolkit",
        "transformers",
        "torch",
        "numpy",
        "huggingface_hub",
        "PIL",
        "retrying",
    }
)

# Decorators known to keep the wrapped function's signature visible to ``inspect.signature``.
_SIGNATURE_PRESERVING_DECORATORS = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.enable_grad",
        "no_grad",
        "inference_mode",
        "functools.lru_cache",
        "functools.cache",
        "lru_cache",
        "cache",
    }
)
