"""``ModelProfile`` (``model.profile``): validation, JSON, weights and KV-cache sizes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError, ModelProfile

from ..fake_hub import (
    LLAMA8B_ID,
    LLAMA70B_ID,
    FakeHub,
)
from ..support import (
    lookup,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")


def test_gqa_and_head_dim(fake_hub: FakeHub, context: Path) -> None:
    llama = lookup(fake_hub, LLAMA8B_ID, context)
    assert llama.head_dim == 128
    # 2 (K and V) x 32 layers x 8 kv heads x 128 dims x 2 bytes
    assert llama.kv_cache_bytes_per_token() == 131072
    big = lookup(fake_hub, LLAMA70B_ID, context)
    assert big.head_dim is None and big.effective_head_dim == 8192 // 64
    assert big.kv_cache_bytes_per_token() == 2 * 80 * 8 * 128 * 2


def test_profile_validation_names_the_field() -> None:
    with pytest.raises(ConfigurationError, match=r"model_profile\.parameters: 0 must be a positive integer"):
        ModelProfile(parameters=0)
    with pytest.raises(ConfigurationError, match=r"model_profile\.dtype: 'fp64' is not allowed"):
        ModelProfile(parameters=10, dtype="fp64")
    with pytest.raises(ConfigurationError, match=r"model_profile\.num_layers"):
        ModelProfile(parameters=10, num_layers=-1)


def test_profile_task_must_be_a_known_task() -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, task="classify")
    assert "model_profile.task: 'classify' is not a known Hugging Face task; allowed: " in str(error.value)
    assert ModelProfile(parameters=10, task=None).task is None
    assert ModelProfile(parameters=10, task="sentiment-analysis").task == "sentiment-analysis"


@pytest.mark.parametrize("name", ["gated", "private"])
def test_profile_gated_and_private_must_be_bools(name: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, **{name: "no"})
    assert f"model_profile.{name}: 'no' must be True or False" in str(error.value)
    with pytest.raises(ConfigurationError, match=rf"model_profile\.{name}: 1 must be True or False"):
        ModelProfile(parameters=10, **{name: 1})


@pytest.mark.parametrize("count", [0, -5, True, 1.5, "10"])
def test_profile_parameters_by_dtype_counts_must_be_positive_integers(count: Any) -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, parameters_by_dtype={"bfloat16": count})
    assert f"model_profile.parameters_by_dtype['bfloat16']: {count!r} must be a positive integer" in str(error.value)


def test_profile_parameters_by_dtype_keys_must_be_known_dtypes() -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, parameters_by_dtype={"fp64": 10})
    assert "model_profile.parameters_by_dtype: dtypes ['fp64'] are unknown; allowed: " in str(error.value)


def test_profile_json_round_trip() -> None:
    profile = ModelProfile(
        parameters=1000,
        dtype="float16",
        parameters_by_dtype={"float16": 900, "float32": 100},
        num_layers=2,
        num_attention_heads=4,
        model_id="a/b",
        source="hub",
    )
    restored = ModelProfile.from_json(json.loads(json.dumps(profile.to_json())))
    assert restored == profile
    assert restored.stored_weights_bytes == 900 * 2 + 100 * 4


def test_weights_and_quantized_weights() -> None:
    profile = ModelProfile(parameters=2**30, dtype="bfloat16")
    assert profile.weights_gib() == 2.0
    assert profile.weights_gib("awq") == pytest.approx(0.55)
    assert profile.weights_gib("fp8") == pytest.approx(1.05)
    explicit = ModelProfile(parameters=2**30, weights_bytes=3 * 2**30)
    assert explicit.weights_gib() == 3.0


def test_kv_cache_defaults() -> None:
    mha = ModelProfile(parameters=10, num_layers=2, num_attention_heads=4, hidden_size=64)
    assert mha.kv_cache_bytes_per_token() == 2 * 2 * 4 * 16 * 2
    assert mha.kv_cache_bytes_per_token(dtype_bytes=1) == 2 * 2 * 4 * 16
    assert ModelProfile(parameters=10).kv_cache_bytes_per_token() is None
