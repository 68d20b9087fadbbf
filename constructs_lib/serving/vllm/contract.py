"""The Hugging Face vLLM image's contract: its catalogue family, the prefix of its server flags, and the
entrypoint generation of each image version."""

from __future__ import annotations

from ...catalogue import dlc

FAMILY = "huggingface-vllm"
"""The catalogue family (repository ``huggingface-vllm``)."""
PREFIX = "SM_VLLM_"
"""The entrypoint turns every ``SM_VLLM_<NAME>`` into the flag ``--<name>``."""
MODEL_DIR = "/opt/ml/model"
"""Where SageMaker puts the model artifacts."""

GENERATION_2 = (0, 22)
"""The first image version whose entrypoint reads ``HF_MODEL_ID`` and ``true``/``false`` flags, and offloads
KV cache to host memory with LMCache."""


def generation_2(version: str | None) -> bool:
    """Whether the image of ``version`` has the 0.22 entrypoint (a custom image is taken to be the newest)."""
    return version is None or dlc.version_key(version) >= GENERATION_2


def variable(flag: str) -> str:
    """The variable that carries ``flag``: ``max_model_len`` is ``SM_VLLM_MAX_MODEL_LEN``."""
    return f"{PREFIX}{flag.upper()}"
