"""Profiles of local ``save_pretrained`` directories (``model.local``): safetensors headers, shards, config aliases,
quantized checkpoints."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.model.local import profile_from_directory

from ..fake_hub import (
    BERT_PARAMETERS,
    BERT_TENSORS,
    safetensors_bytes,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")


def _write_config(directory: Path, config: dict[str, Any]) -> None:
    (directory / "config.json").write_text(json.dumps(config))


def test_profile_from_directory_single_file(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes(BERT_TENSORS, with_data=False))
    _write_config(
        tmp_path,
        {
            "architectures": ["BertForSequenceClassification"],
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "hidden_size": 768,
            "max_position_embeddings": 512,
        },
    )
    profile = profile_from_directory(tmp_path)
    assert profile.parameters == BERT_PARAMETERS
    assert profile.dtype == "float32"
    assert profile.source == "directory"
    assert profile.architecture == "BertForSequenceClassification"


def test_profile_from_directory_written_by_the_safetensors_package(tmp_path: Path) -> None:
    import numpy as np  # a pinned test tool (requirements-test.txt), like safetensors
    from safetensors.numpy import save_file

    save_file(
        {"a": np.zeros((4, 8), dtype=np.float16), "b": np.zeros((3,), dtype=np.float32)},
        str(tmp_path / "model.safetensors"),
    )
    profile = profile_from_directory(tmp_path)
    assert profile.parameters_by_dtype == {"float16": 32, "float32": 3}
    assert profile.dtype == "float16"
    assert profile.stored_weights_bytes == 32 * 2 + 3 * 4


def test_profile_from_sharded_directory_with_index(tmp_path: Path) -> None:
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(
        safetensors_bytes({"x": ("BF16", [100, 10]), "y": ("BF16", [10])}, with_data=True)
    )
    (tmp_path / "model-00002-of-00002.safetensors").write_bytes(
        safetensors_bytes({"z": ("BF16", [50, 2])}, with_data=True)
    )
    (tmp_path / "stray.safetensors").write_bytes(safetensors_bytes({"ignored": ("F32", [1000])}))
    index = {
        "metadata": {"total_size": 2220},
        "weight_map": {
            "x": "model-00001-of-00002.safetensors",
            "y": "model-00001-of-00002.safetensors",
            "z": "model-00002-of-00002.safetensors",
        },
    }
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    profile = profile_from_directory(tmp_path)
    assert profile.parameters == 1000 + 10 + 100
    assert profile.parameters_by_dtype == {"bfloat16": 1110}


def test_profile_from_sharded_directory_without_index(tmp_path: Path) -> None:
    (tmp_path / "a.safetensors").write_bytes(safetensors_bytes({"x": ("F16", [10, 10])}))
    (tmp_path / "b.safetensors").write_bytes(safetensors_bytes({"y": ("F16", [5])}))
    assert profile_from_directory(tmp_path).parameters == 105


def test_missing_shard_is_reported(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"x": "gone.safetensors"}}))
    with pytest.raises(ConfigurationError, match="missing shards"):
        profile_from_directory(tmp_path)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024},  # GPT-2
            {"num_layers": 12, "num_attention_heads": 12, "hidden_size": 768, "max_position_embeddings": 1024},
        ),
        (
            {"n_layers": 6, "n_heads": 12, "dim": 768, "max_position_embeddings": 512},  # DistilBERT
            {"num_layers": 6, "num_attention_heads": 12, "hidden_size": 768, "max_position_embeddings": 512},
        ),
        (
            {
                "architectures": ["LlavaForConditionalGeneration"],  # multimodal: the language model's shape
                "text_config": {
                    "num_hidden_layers": 32,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 8,
                    "hidden_size": 4096,
                    "max_position_embeddings": 8192,
                },
            },
            {"num_layers": 32, "num_key_value_heads": 8, "architecture": "LlavaForConditionalGeneration"},
        ),
        (
            {"num_hidden_layers": 61, "num_attention_heads": 128, "n_routed_experts": 256},  # DeepSeek-style MoE
            {"num_experts": 256},
        ),
        (
            {"num_hidden_layers": 32, "num_attention_heads": 32, "num_local_experts": 8},  # Mixtral-style MoE
            {"num_experts": 8},
        ),
    ],
)
def test_config_aliases(tmp_path: Path, config: dict[str, Any], expected: dict[str, Any]) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes({"w": ("BF16", [8, 8])}))
    _write_config(tmp_path, config)
    profile = profile_from_directory(tmp_path)
    for name, value in expected.items():
        assert getattr(profile, name) == value, name


def test_quantized_checkpoint_is_int4(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(
        safetensors_bytes({"qweight": ("I32", [512, 4096]), "scales": ("F16", [32, 4096])})
    )
    _write_config(tmp_path, {"quantization_config": {"quant_method": "awq", "bits": 4}, "torch_dtype": "float16"})
    profile = profile_from_directory(tmp_path)
    assert profile.dtype == "int4"
    assert profile.stored_weights_bytes == 512 * 4096 * 4 + 32 * 4096 * 2
    # Each int32 element packs eight 4-bit weights: the parameter count is that of the original model.
    assert profile.parameters == 512 * 4096 * 8 + 32 * 4096
    assert profile.parameters_by_dtype == {"int4": 512 * 4096 * 8, "float16": 32 * 4096}


def test_8bit_gptq_checkpoint_packs_four_weights_per_int32(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes({"qweight": ("I32", [256, 1024])}))
    _write_config(tmp_path, {"quantization_config": {"quant_method": "gptq", "bits": 8}})
    profile = profile_from_directory(tmp_path)
    assert (profile.dtype, profile.parameters) == ("int8", 256 * 1024 * 4)
    assert profile.stored_weights_bytes == 256 * 1024 * 4


@pytest.mark.parametrize(("method", "bits"), [("exl2", 4.0), ("exl2", 4.65), ("gptq", 3), ("awq", 4.0)])
def test_other_quantized_formats_build_a_profile(tmp_path: Path, method: str, bits: float) -> None:
    (tmp_path / "model.safetensors").write_bytes(
        safetensors_bytes({"q": ("I32", [512, 1024]), "scales": ("F16", [8, 1024])})
    )
    _write_config(tmp_path, {"quantization_config": {"quant_method": method, "bits": bits}})
    profile = profile_from_directory(tmp_path)
    assert profile.dtype == "int4"
    assert profile.stored_weights_bytes == 512 * 1024 * 4 + 8 * 1024 * 2  # the bytes on disk, whatever the packing


def test_int32_tensors_of_an_unquantized_model_are_not_unpacked(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(
        safetensors_bytes({"w": ("BF16", [64, 64]), "position_ids": ("I32", [1, 512])})
    )
    _write_config(tmp_path, {"torch_dtype": "bfloat16"})
    assert profile_from_directory(tmp_path).parameters == 64 * 64 + 512


def test_bin_only_directory_uses_file_sizes_and_torch_dtype(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model-00001-of-00002.bin").write_bytes(b"\0" * 3000)
    (tmp_path / "pytorch_model-00002-of-00002.bin").write_bytes(b"\0" * 1000)
    (tmp_path / "training_args.bin").write_bytes(b"\0" * 500)
    _write_config(tmp_path, {"torch_dtype": "float16", "num_hidden_layers": 2})
    profile = profile_from_directory(tmp_path)
    assert profile.weights_bytes == 4000
    assert profile.dtype == "float16"
    assert profile.parameters == 2000


@pytest.mark.parametrize("header", [b"{not json", b"\xff\xfe\x00garbage"])
def test_corrupt_safetensors_header_is_a_clear_error(tmp_path: Path, header: bytes) -> None:
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ConfigurationError, match="has a safetensors header that is not JSON"):
        profile_from_directory(tmp_path)


def test_directory_without_weights_is_an_error(tmp_path: Path) -> None:
    _write_config(tmp_path, {"num_hidden_layers": 2})
    with pytest.raises(ConfigurationError, match="no weights found"):
        profile_from_directory(tmp_path)
