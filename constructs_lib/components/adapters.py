"""LoRA adapters as inference components: the adapter's artifact, its rank, and what its base must run.

An adapter component names its base (``BaseInferenceComponentName``) and its artifact (``Container.ArtifactUrl``, a
``.tar.gz`` with the adapter's files at the archive root: ``adapter_config.json`` and the weights); it reserves
nothing and has no copies of its own: SageMaker loads it into the base's running server. Only a server that loads
adapters at run time can be the base (``ServingStack.adapter_environment``: vLLM), and it needs settings for it, which
the base gets: with vLLM, ``SM_VLLM_ENABLE_LORA``, ``VLLM_ALLOW_RUNTIME_LORA_UPDATING`` and a ``max_lora_rank`` that
holds the highest rank of its adapters, read from a local adapter's ``adapter_config.json`` (the ``r`` of PEFT).
Deleting the base deletes its adapters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._core.errors import ConfigurationError, Problems, describe
from ..model_data.sources import ModelData
from ..serving.base import ServingStack

ADAPTER_CONFIG = "adapter_config.json"
"""The file PEFT writes next to an adapter's weights, with its rank (``r``)."""


@dataclass(frozen=True)
class AdapterArtifact:
    """Where an adapter's files come from, and its LoRA rank when it can be read."""

    data: ModelData
    """The ``.tar.gz`` in S3, a local archive, or a local directory packaged with its files at the archive root."""
    rank: int | None
    """``r`` from a local directory's ``adapter_config.json`` (``None``: an archive, not read)."""


def adapter_artifact(value: Any, problems: Problems) -> AdapterArtifact | None:
    """``adapter_data`` as an artifact: an S3 ``.tar.gz``, a local ``.tar.gz`` or a local adapter directory."""
    if isinstance(value, str) and value.startswith("s3://") and value.endswith("/"):
        problems.add(
            "adapter_data",
            value,
            "is an S3 prefix, and an adapter's ArtifactUrl must be a .tar.gz with the adapter files at the archive "
            "root; archive them (`tar czf adapter.tar.gz -C adapter_dir .`) or pass the local directory",
        )
        return None
    try:
        data = ModelData.parse(value, prop="adapter_data")
    except ConfigurationError as error:
        problems.add_message(str(error))
        return None
    directory = data.local_directory
    if directory is None:
        return AdapterArtifact(data, None)
    return AdapterArtifact(data, _rank(directory, problems))


def _rank(directory: Path, problems: Problems) -> int | None:
    config_path = directory / ADAPTER_CONFIG
    try:
        config = json.loads(config_path.read_text())
    except OSError:
        problems.add(
            "adapter_data",
            str(directory),
            f"has no {ADAPTER_CONFIG}, so it is not a PEFT adapter directory: pass the directory that "
            "save_pretrained wrote the adapter to (adapter_config.json and adapter_model.safetensors)",
        )
        return None
    except ValueError as error:
        problems.add("adapter_data", str(config_path), f"is not valid JSON: {error}")
        return None
    rank = config.get("r") if isinstance(config, dict) else None
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        problems.add(
            "adapter_data",
            str(config_path),
            f"has no LoRA rank ('r' is {describe(rank)}): only LoRA adapters load into a base at run time",
        )
        return None
    return rank


def check_base(base_name: str, stack: ServingStack, engine_args: Mapping[str, Any], problems: Problems) -> None:
    """Whether the base's server loads adapters at run time, and its flags let it."""
    if stack.adapter_environment(None) is None:
        problems.add(
            "base",
            base_name,
            f"is served by {stack.name}, which does not load LoRA adapters at run time; an adapter's base must be "
            "served by vLLM (serving=Serving.VLLM, or Serving.AUTO for a text-generation model on a GPU instance)",
        )
    if engine_args.get("enable_lora") is False:
        problems.add(
            "base",
            base_name,
            "has engine_args={'enable_lora': False}, and adapters need it on: drop the flag (the base gets it)",
        )


def lora_environment(
    stack: ServingStack, ranks: Sequence[int | None], engine_args: Mapping[str, Any]
) -> dict[str, str]:
    """The base's settings for its adapters (none without adapters): the server's, with a ``max_lora_rank`` that
    holds the highest known rank unless ``engine_args`` sets one.

    :raises ConfigurationError: when a known rank is above the ``max_lora_rank`` given, or above what the server loads.
    """
    if not ranks:
        return {}
    known = [rank for rank in ranks if rank is not None]
    given = engine_args.get("max_lora_rank")
    if given is not None and known and max(known) > int(given):
        raise ConfigurationError(
            f"engine_args['max_lora_rank']: {given} is below the rank of an adapter of this base ({max(known)}, "
            "from its adapter_config.json): the server refuses to load it; raise it, or drop it to have it derived"
        )
    rank = None if given is not None or not known else max(known)
    environment = stack.adapter_environment(rank)
    assert environment is not None  # check_base refused stacks without adapters
    return environment
