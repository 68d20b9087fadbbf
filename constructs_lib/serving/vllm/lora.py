"""LoRA adapters on vLLM: the settings a base model needs so that adapters load at run time.

An adapter inference component names its base; SageMaker then loads the adapter into the base's running vLLM
through its dynamic LoRA API. vLLM accepts that only with ``--enable-lora`` and
``VLLM_ALLOW_RUNTIME_LORA_UPDATING`` (without it the adapter reports InService but every request fails), and
only adapters up to ``--max-lora-rank`` (16 by default), which must be one of the ranks vLLM's kernels are
built for (``MaxLoRARanks`` in ``vllm/config/lora.py``).
"""

from __future__ import annotations

from ..._core.errors import ConfigurationError

RUNTIME_UPDATES = "VLLM_ALLOW_RUNTIME_LORA_UPDATING"
"""The variable that lets vLLM load and unload adapters while it serves."""
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The values vLLM accepts for ``max_lora_rank``."""
DEFAULT_MAX_LORA_RANK = 16
"""vLLM's ``max_lora_rank`` when none is given."""


def max_lora_rank(rank: int) -> int:
    """The smallest ``max_lora_rank`` vLLM accepts that holds adapters of ``rank``.

    :raises ConfigurationError: when ``rank`` is above the largest vLLM supports.
    """
    for allowed in LORA_RANKS:
        if allowed >= rank:
            return allowed
    raise ConfigurationError(
        f"adapter_data: a LoRA rank of {rank} is above {LORA_RANKS[-1]}, the largest vLLM loads (max_lora_rank "
        f"is one of {', '.join(map(str, LORA_RANKS))}); train the adapter with a lower r"
    )
