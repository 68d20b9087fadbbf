"""``SizingOptions`` (``sizing.options``): validation, and quantization methods against the checkpoint."""

from __future__ import annotations

import re

import pytest

from constructs_lib import (
    ConfigurationError,
    ModelProfile,
    SizingOptions,
    fit_table,
    plan_deployment,
)

from ..fake_hub import (
    AWQ70B_ID,
    LLAMA8B_ID,
)


def test_sizing_options_validation() -> None:
    with pytest.raises(ConfigurationError) as error:
        SizingOptions(
            families=["g5", "x9"],
            headroom=2,
            min_instance_count=0,
            quantize="int3",
            max_price_per_hour=-1,
            prices={"ml.nope": 1.0},
        )
    text = str(error.value)
    for name in ("families", "headroom", "min_instance_count", "quantize", "max_price_per_hour", "prices"):
        assert f"instance_selection.{name}" in text
    with pytest.raises(ConfigurationError, match=r"instance_selection\.max_input_tokens: 4096 must be less than"):
        SizingOptions(max_input_tokens=4096, max_total_tokens=4096)
    with pytest.raises(ConfigurationError, match=r"instance_selection\.families: 'g5' must be a non-empty list"):
        SizingOptions(families="g5")


@pytest.mark.parametrize("method", ["awq", "gptq", "marlin", "exl2"])
def test_prequantized_methods_need_a_quantized_checkpoint(profiles: dict[str, ModelProfile], method: str) -> None:
    expected = (
        f"instance_selection.quantize: '{method}' loads a checkpoint already quantized with {method}, and "
        f"{LLAMA8B_ID} is stored in bfloat16"
    )
    with pytest.raises(ConfigurationError, match=re.escape(expected)) as error:
        plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type=None, options=SizingOptions(quantize=method))
    assert "bitsandbytes-nf4" in str(error.value)  # what can quantize it instead
    with pytest.raises(ConfigurationError, match=re.escape(expected)):
        fit_table(profiles[LLAMA8B_ID], serving="tgi", options=SizingOptions(quantize=method))


def test_packed_weights_without_a_quantization_config_are_not_rejected() -> None:
    # AutoGPTQ checkpoints describe their quantization in quantize_config.json, not config.json.
    autogptq = ModelProfile(
        parameters=1_200_000_000, dtype="float16", parameters_by_dtype={"int32": 900_000_000, "float16": 300_000_000}
    )
    plan = plan_deployment(
        autogptq, serving="tgi", instance_type="ml.g5.xlarge", options=SizingOptions(quantize="gptq")
    )
    assert plan.environment["HF_MODEL_QUANTIZE"] == "gptq"


def test_on_the_fly_quantization_of_a_quantized_checkpoint_is_rejected(profiles: dict[str, ModelProfile]) -> None:
    expected = r"'bitsandbytes' quantizes 16-bit weights.*already quantized \(int4\)"
    with pytest.raises(ConfigurationError, match=expected):
        plan_deployment(
            profiles[AWQ70B_ID], serving="tgi", instance_type=None, options=SizingOptions(quantize="bitsandbytes")
        )
