"""Instance selection: the memory model, the instance picked for each fake Hub profile, explicit checks."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from constructs_lib._core.errors import ConfigurationError
from constructs_lib.model.hub_lookup import lookup_hub_profile
from constructs_lib.model.profile import ModelProfile
from constructs_lib.sizing import SizingOptions, fit_table, plan_deployment, served_weights_gib
from constructs_lib.sizing.planner import serving_stack
from tests.fake_hub import (
    AWQ70B_FLOAT16,
    AWQ70B_ID,
    AWQ70B_INT32,
    BERT_ID,
    BGE_ID,
    BIN_ID,
    LLAMA8B_ID,
    LLAMA70B_ID,
    MIXTRAL_ID,
    FakeHub,
)


class Serving(str, enum.Enum):  # noqa: UP042 - the shape of constructs_lib.images.Serving
    """Stands in for ``constructs_lib.images.Serving`` (str-valued members pass as serving kinds)."""

    AUTO = "auto"
    INFERENCE_TOOLKIT = "inference-toolkit"
    TGI = "tgi"
    TEI = "tei"


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModelProfile]]:
    context = tmp_path_factory.mktemp("sizing") / "hub.context.json"
    with FakeHub() as hub:
        yield {
            model_id: lookup_hub_profile(model_id, context_file=context, endpoint=hub.url)
            for model_id in (BERT_ID, LLAMA8B_ID, LLAMA70B_ID, MIXTRAL_ID, BGE_ID, BIN_ID, AWQ70B_ID)
        }


QWEN_LIKE = ModelProfile(
    parameters=7_615_616_512,
    num_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    hidden_size=3584,
    max_position_embeddings=32768,
    task="text-generation",
)


# --------------------------------------------------------------------------- picks per profile


@pytest.mark.parametrize(
    ("model_id", "serving", "instance"),
    [
        # 0.4 GiB x 1.15 + 1 GiB = 1.5 GiB: the cheapest GPU (T4, $0.74/h).
        (BERT_ID, "inference-toolkit", "ml.g4dn.xlarge"),
        (BIN_ID, "inference-toolkit", "ml.g4dn.xlarge"),
        (BGE_ID, "tei", "ml.g4dn.xlarge"),
        # 15.0 GiB weights + 2.0 GiB KV (4 x 4096 tokens x 128 KiB) x 1.15 + 1 = 20.5 GiB <= one L4 (22.4).
        (LLAMA8B_ID, "tgi", "ml.g6.xlarge"),
        # The toolkit's default handler loads bf16 weights as float32: 29.9 GiB x 1.15 + 1 = 35.4 GiB on one
        # GPU, more than an L4 or A10G holds; one L40S (44.9 GiB) does.
        (LLAMA8B_ID, "inference-toolkit", "ml.g6e.2xlarge"),
        # 131.4 GiB + 5.0 GiB KV -> 160.9 GiB on 4 x L40S (179.6 GiB), cheaper than 8 x L4/A10G.
        (LLAMA70B_ID, "tgi", "ml.g6e.12xlarge"),
        # 87.0 GiB + 2.0 GiB KV -> 106.3 GiB on 4 x L40S.
        (MIXTRAL_ID, "tgi", "ml.g6e.12xlarge"),
    ],
)
def test_cheapest_instance_for_each_profile(
    profiles: dict[str, ModelProfile], model_id: str, serving: str, instance: str
) -> None:
    plan = plan_deployment(profiles[model_id], serving=serving, instance_type=None)
    assert plan.instance_type == instance
    assert plan.fit.fits and plan.fit.reason is None
    assert plan.candidates[0] == plan.fit
    assert instance in plan.summary and model_id in plan.summary


def test_tgi_environment_for_8b(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type=None)
    assert dict(plan.environment) == {
        "SM_NUM_GPUS": "1",
        "MAX_INPUT_TOKENS": "3072",
        "MAX_TOTAL_TOKENS": "4096",
        "MAX_BATCH_PREFILL_TOKENS": "3122",
    }
    assert plan.fit.needed_gpu_gib == pytest.approx(20.5, abs=0.05)
    assert plan.fit.available_gpu_gib == 22.4
    assert plan.fit.kv_cache_gib == 2.0
    assert plan.startup_health_check_timeout_seconds == 749  # 600 + 10 s per GiB of weights
    assert "15.0 GiB weights + 2.0 GiB KV cache" in plan.summary
    assert "$1.01/h" in plan.summary


def test_tgi_environment_for_70b_shards_over_four_gpus(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[LLAMA70B_ID], serving="tgi", instance_type=None)
    assert plan.environment["SM_NUM_GPUS"] == "4"
    assert plan.environment["MAX_TOTAL_TOKENS"] == "16384"
    assert plan.environment["MAX_INPUT_TOKENS"] == "15360"
    assert int(plan.environment["MAX_BATCH_PREFILL_TOKENS"]) >= int(plan.environment["MAX_INPUT_TOKENS"])
    assert plan.startup_health_check_timeout_seconds == 1914


def test_max_total_tokens_is_bounded_by_the_model_context(profiles: dict[str, ModelProfile]) -> None:
    mixtral = plan_deployment(profiles[MIXTRAL_ID], serving="tgi", instance_type="ml.p5e.48xlarge")
    assert mixtral.environment["MAX_TOTAL_TOKENS"] == "32768"  # the 32768 cap and the model's context
    short = replace(profiles[MIXTRAL_ID], max_position_embeddings=2048)
    plan = plan_deployment(short, serving="tgi", instance_type="ml.p5e.48xlarge")
    assert plan.environment["MAX_TOTAL_TOKENS"] == "2048"
    assert plan.environment["MAX_INPUT_TOKENS"] == "1024"


def test_small_models_need_no_longer_health_check(profiles: dict[str, ModelProfile]) -> None:
    assert (
        plan_deployment(
            profiles[BERT_ID], serving="inference-toolkit", instance_type=None
        ).startup_health_check_timeout_seconds
        is None
    )
    assert plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type=None).environment == {}


def test_serving_enum_members_and_auto(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[LLAMA8B_ID], serving=Serving.TGI, instance_type=None)
    assert plan.instance_type == "ml.g6.xlarge"
    assert serving_stack(Serving.AUTO, profiles[BGE_ID]).key == "tei"
    assert serving_stack("auto", profiles[LLAMA8B_ID]).key == "tgi"
    assert serving_stack("auto", profiles[BERT_ID]).key == "inference-toolkit"
    with pytest.raises(ConfigurationError, match="serving: 'vllm' is not allowed"):
        serving_stack("vllm", profiles[BERT_ID])


# --------------------------------------------------------------------------- explicit instance types


def test_explicit_instance_too_small_reports_numbers_and_suggestion(profiles: dict[str, ModelProfile]) -> None:
    with pytest.raises(ConfigurationError) as error:
        plan_deployment(profiles[LLAMA70B_ID], serving="tgi", instance_type="ml.g5.12xlarge")
    text = str(error.value)
    assert "instance_type: 'ml.g5.12xlarge' cannot serve the model with tgi" in text
    assert "needs 160.9 GiB GPU memory, 4 x A10G has 89.6 GiB usable" in text
    assert "131.4 GiB of weights" in text
    assert "The cheapest instance that fits is ml.g6e.12xlarge" in text


def test_explicit_instance_with_no_fit_anywhere_suggests_quantization() -> None:
    huge = ModelProfile(
        parameters=1_000_000_000_000,
        num_layers=120,
        num_attention_heads=128,
        num_key_value_heads=8,
        hidden_size=16384,
        model_id="x/huge",
    )
    with pytest.raises(ConfigurationError, match="No catalogued instance fits; consider a 4-bit AWQ or GPTQ"):
        plan_deployment(huge, serving="tgi", instance_type="ml.g5.48xlarge")
    with pytest.raises(ConfigurationError, match="instance_type: no GPU instance can serve the model with tgi"):
        plan_deployment(huge, serving="tgi", instance_type=None)


def test_explicit_instance_that_fits(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type="ml.g5.48xlarge")
    assert plan.instance_type == "ml.g5.48xlarge"
    assert plan.environment["SM_NUM_GPUS"] == "8"
    assert plan.environment["MAX_TOTAL_TOKENS"] == "32768"  # lots of room: the default cap
    assert plan.candidates == ()
    assert "checked ml.g5.48xlarge" in plan.summary


def test_unknown_instance_type() -> None:
    with pytest.raises(ConfigurationError, match=re.escape("instance_type: 'ml.g5.huge' is not a known")):
        plan_deployment(ModelProfile(parameters=10), serving="tgi", instance_type="ml.g5.huge")


def test_shards_must_divide_attention_heads() -> None:
    with pytest.raises(ConfigurationError, match="8 does not divide the model's 28 attention heads"):
        plan_deployment(QWEN_LIKE, serving="tgi", instance_type="ml.g5.48xlarge")
    table = fit_table(QWEN_LIKE, serving="tgi")
    eight = [fit for fit in table if fit.spec.accelerators == 8]
    assert eight and all(not fit.fits for fit in eight)
    assert plan_deployment(QWEN_LIKE, serving="tgi", instance_type="ml.g5.12xlarge").environment["SM_NUM_GPUS"] == "4"


def test_shards_must_divide_key_value_heads() -> None:
    profile = ModelProfile(
        parameters=10**9, num_layers=8, num_attention_heads=24, num_key_value_heads=6, hidden_size=1536
    )
    with pytest.raises(ConfigurationError, match="4 does not divide the model's 6 key/value heads"):
        plan_deployment(profile, serving="tgi", instance_type="ml.g6.12xlarge")
    replicated = ModelProfile(
        parameters=10**9, num_layers=8, num_attention_heads=24, num_key_value_heads=3, hidden_size=1536
    )
    with pytest.raises(ConfigurationError, match="cannot replicate the model's 3 key/value heads over 4 GPUs"):
        plan_deployment(replicated, serving="tgi", instance_type="ml.g6.12xlarge")


def test_tgi_runs_on_t4_when_asked_for_and_never_on_v100(profiles: dict[str, ModelProfile]) -> None:
    # TGI's docs list H100, A100, A10G and T4 for its optimized models.
    plan = plan_deployment(profiles[BERT_ID], serving="tgi", instance_type="ml.g4dn.xlarge")
    assert plan.instance_type == "ml.g4dn.xlarge" and plan.environment["SM_NUM_GPUS"] == "1"
    with pytest.raises(ConfigurationError, match=r"TGI's optimized models need a T4 or newer GPU .*V100"):
        plan_deployment(profiles[BERT_ID], serving="tgi", instance_type="ml.p3.2xlarge")


def test_automatic_tgi_pick_passes_t4_over_unless_its_family_is_named(profiles: dict[str, ModelProfile]) -> None:
    # g4dn is the cheapest GPU, but without bfloat16 or FlashAttention-2 it is no default for TGI.
    assert plan_deployment(profiles[BERT_ID], serving="tgi", instance_type=None).instance_type == "ml.g6.xlarge"
    table = fit_table(profiles[BERT_ID], serving="tgi")
    t4 = next(fit for fit in table if fit.spec.name == "ml.g4dn.xlarge")
    assert not t4.fits and "instance_type='ml.g4dn.xlarge'" in (t4.reason or "")
    chosen = plan_deployment(
        profiles[BERT_ID], serving="tgi", instance_type=None, options=SizingOptions(families=["g4dn"])
    )
    assert chosen.instance_type == "ml.g4dn.xlarge"


def test_toolkit_uses_one_gpu_even_on_multi_gpu_instances(profiles: dict[str, ModelProfile]) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("one A10G has 22.4 GiB usable")):
        plan_deployment(profiles[MIXTRAL_ID], serving="inference-toolkit", instance_type="ml.g5.48xlarge")


def test_cpu_instance_checks_host_memory(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type="ml.m5.xlarge")
    assert plan.fit.fits and plan.fit.needed_host_gib == pytest.approx(0.41 * 1.2 + 2, abs=0.01)
    assert plan_deployment(profiles[BGE_ID], serving="tei", instance_type="ml.c5.xlarge").fit.fits
    # 8.03B parameters loaded as float32: 29.9 GiB x 1.2 + 2 GiB.
    with pytest.raises(ConfigurationError, match=re.escape("needs 37.9 GiB host memory, ml.m5.xlarge has 16 GiB")):
        plan_deployment(profiles[LLAMA8B_ID], serving="inference-toolkit", instance_type="ml.m5.xlarge")
    with pytest.raises(ConfigurationError, match="TGI needs a GPU instance"):
        plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type="ml.m5.24xlarge")


def test_tokens_are_not_checked(profiles: dict[str, ModelProfile]) -> None:
    from aws_cdk import Token

    token = Token.as_string({"Ref": "InstanceType"})
    plan = plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type=token)
    assert plan.instance_type == token and plan.environment == {}


# --------------------------------------------------------------------------- options


def test_quantize_lowers_the_size(profiles: dict[str, ModelProfile]) -> None:
    big = profiles[LLAMA70B_ID]
    assert big.weights_gib("bitsandbytes-nf4") < big.weights_gib("fp8") < big.weights_gib()
    plan = plan_deployment(big, serving="tgi", instance_type=None, options=SizingOptions(quantize="bitsandbytes-nf4"))
    assert plan.instance_type == "ml.g6.12xlarge"  # 36.1 GiB + 5 GiB KV -> 51.3 GiB on 4 x L4
    assert plan.environment["HF_MODEL_QUANTIZE"] == "bitsandbytes-nf4"
    assert "quantized bitsandbytes-nf4" in plan.summary


def test_fp8_needs_ada_or_hopper(profiles: dict[str, ModelProfile]) -> None:
    with pytest.raises(ConfigurationError, match="quantize='fp8' needs an Ada or Hopper GPU"):
        plan_deployment(
            profiles[LLAMA8B_ID], serving="tgi", instance_type="ml.g5.2xlarge", options=SizingOptions(quantize="fp8")
        )


def test_families_restrict_the_choice(profiles: dict[str, ModelProfile]) -> None:
    options = SizingOptions(families=["g5"])
    plan = plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type=None, options=options)
    assert plan.instance_type == "ml.g5.xlarge"
    assert {fit.spec.family for fit in plan.candidates} == {"g5"}


def test_max_price(profiles: dict[str, ModelProfile]) -> None:
    with pytest.raises(ConfigurationError) as error:
        plan_deployment(
            profiles[LLAMA70B_ID], serving="tgi", instance_type=None, options=SizingOptions(max_price_per_hour=10.0)
        )
    assert "no GPU instance within max_price_per_hour $10.00" in str(error.value)
    assert "ml.g6e.12xlarge" in str(error.value)
    cheap = SizingOptions(max_price_per_hour=1.0)
    assert (
        plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type=None, options=cheap).instance_type
        == "ml.g4dn.xlarge"
    )
    # Two instances of g4dn.xlarge cost $1.47/h: above the limit.
    with pytest.raises(ConfigurationError, match="max_price_per_hour"):
        plan_deployment(
            profiles[BERT_ID],
            serving="inference-toolkit",
            instance_type=None,
            options=SizingOptions(max_price_per_hour=1.0, min_instance_count=2),
        )


def test_price_overrides_change_the_pick(profiles: dict[str, ModelProfile]) -> None:
    options = SizingOptions(prices={"ml.g5.xlarge": 0.9})
    assert (
        plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type=None, options=options).instance_type
        == "ml.g5.xlarge"
    )


def test_ties_go_to_fewer_gpus() -> None:
    options = SizingOptions(prices={"ml.g6.12xlarge": 1.006})  # same price as ml.g6.xlarge
    plan = plan_deployment(QWEN_LIKE, serving="tgi", instance_type=None, options=options)
    assert plan.instance_type == "ml.g6.xlarge"


def test_fit_table_lists_fitting_first_then_cheapest(profiles: dict[str, ModelProfile]) -> None:
    table = fit_table(profiles[LLAMA8B_ID], serving="tgi")
    fitting = [fit for fit in table if fit.fits]
    rest = table[len(fitting) :]
    assert fitting and rest and all(not fit.fits for fit in rest)
    prices = [fit.price_per_hour or 0.0 for fit in fitting]
    assert prices == sorted(prices)
    assert all(fit.spec.accelerators for fit in table)
    assert all(fit.reason for fit in rest)


def test_user_token_limits(profiles: dict[str, ModelProfile]) -> None:
    llama = profiles[LLAMA8B_ID]
    options = SizingOptions(max_input_tokens=6000, max_total_tokens=8192, max_batch_total_tokens=40000)
    plan = plan_deployment(llama, serving="tgi", instance_type=None, options=options)
    assert plan.environment["MAX_INPUT_TOKENS"] == "6000"
    assert plan.environment["MAX_TOTAL_TOKENS"] == "8192"
    assert plan.environment["MAX_BATCH_TOTAL_TOKENS"] == "40000"
    assert plan.environment["MAX_BATCH_PREFILL_TOKENS"] == "6050"
    # 32768 tokens x 4 sequences x 128 KiB = 16 GiB of KV cache: does not fit one A10G.
    with pytest.raises(ConfigurationError) as error:
        plan_deployment(
            llama, serving="tgi", instance_type="ml.g5.xlarge", options=SizingOptions(max_total_tokens=32768)
        )
    assert "needs 36.6 GiB GPU memory, one A10G has 22.4 GiB usable" in str(error.value)
    assert "16.0 GiB of KV cache for 131072 tokens" in str(error.value)
    with pytest.raises(ConfigurationError, match="exceeds the model's context of 32768 tokens"):
        plan_deployment(
            profiles[MIXTRAL_ID],
            serving="tgi",
            instance_type="ml.p5e.48xlarge",
            options=SizingOptions(max_total_tokens=65536),
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


def test_unknown_architecture_uses_the_kv_fallback() -> None:
    bare = ModelProfile(parameters=7_000_000_000, dtype="float16")
    plan = plan_deployment(bare, serving="tgi", instance_type=None)
    # 13.0 GiB + 16384 tokens x 560 kB (8e-5 B/token/param) = 8.5 GiB KV -> needs 2 x A10G/L4-class memory.
    assert plan.fit.kv_cache_gib == pytest.approx(8.54, abs=0.01)
    assert plan.fit.fits and plan.fit.needed_gpu_gib > 22.4


def test_plan_environment_is_deterministic(tmp_path: Path, profiles: dict[str, ModelProfile]) -> None:
    first = plan_deployment(profiles[MIXTRAL_ID], serving="tgi", instance_type=None)
    second = plan_deployment(profiles[MIXTRAL_ID], serving="tgi", instance_type=None)
    assert first == second


# --------------------------------------------------------------------------- precision and quantization


def test_prequantized_awq_checkpoint_is_sized_by_what_it_stores(profiles: dict[str, ModelProfile]) -> None:
    awq = profiles[AWQ70B_ID]
    assert awq.dtype == "int4"
    assert awq.parameters == AWQ70B_INT32 * 8 + AWQ70B_FLOAT16  # not the 11B the int32 elements count
    stored_gib = (AWQ70B_INT32 * 4 + AWQ70B_FLOAT16 * 2) / 2**30
    assert stored_gib == pytest.approx(37.0, abs=0.1)
    for quantize in (None, "awq"):
        plan = plan_deployment(awq, serving="tgi", instance_type=None, options=SizingOptions(quantize=quantize))
        # 37.0 GiB + 5.0 GiB KV: more than one L4 or L40S holds.
        assert plan.fit.gpus_used > 1 and plan.fit.needed_gpu_gib > 45
    with pytest.raises(ConfigurationError, match=re.escape("'ml.g6.xlarge' cannot serve the model with tgi")):
        plan_deployment(awq, serving="tgi", instance_type="ml.g6.xlarge", options=SizingOptions(quantize="awq"))


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


def test_toolkit_default_handler_is_sized_in_float32(profiles: dict[str, ModelProfile]) -> None:
    llama = profiles[LLAMA8B_ID]
    stored = llama.weights_gib()
    assert served_weights_gib(llama, serving="inference-toolkit") == pytest.approx(2 * stored)
    # A custom model_fn chooses the dtype itself: sized as stored.
    assert served_weights_gib(llama, serving="inference-toolkit", custom_script=True) == pytest.approx(stored)
    assert served_weights_gib(llama, serving="tgi") == pytest.approx(stored)
    plan = plan_deployment(llama, serving="inference-toolkit", instance_type="ml.g6e.2xlarge")
    assert "loaded in float32 by the toolkit's default handler" in plan.summary
    scripted = plan_deployment(llama, serving="inference-toolkit", instance_type="ml.g6.2xlarge", custom_script=True)
    assert scripted.fit.fits and "model_fn decides the dtype" in scripted.summary
    with pytest.raises(ConfigurationError, match="loaded in float32"):
        plan_deployment(llama, serving="inference-toolkit", instance_type="ml.g6.2xlarge")


def test_float32_checkpoints_are_served_in_float16_by_tgi_and_tei(profiles: dict[str, ModelProfile]) -> None:
    bge = profiles[BGE_ID]  # stored in float32
    assert served_weights_gib(bge, serving="tei") == pytest.approx(bge.weights_gib() / 2)
    assert served_weights_gib(bge, serving="inference-toolkit") == pytest.approx(bge.weights_gib())
    fp32_llm = replace(profiles[LLAMA8B_ID], dtype="float32", parameters_by_dtype={"float32": 8_030_261_248})
    plan = plan_deployment(fp32_llm, serving="tgi", instance_type=None)
    assert plan.instance_type == "ml.g6.xlarge"  # 15.0 GiB in float16, not 29.9 GiB
    assert "float32 weights served in float16" in plan.summary


def test_bin_only_profile_is_cast_by_its_dtype(profiles: dict[str, ModelProfile]) -> None:
    legacy = profiles[BIN_ID]  # weights_bytes from the file size, float32 per config.json
    assert served_weights_gib(legacy, serving="tgi") == pytest.approx(legacy.weights_gib() / 2)
    half = replace(legacy, dtype="float16")
    assert served_weights_gib(half, serving="inference-toolkit") == pytest.approx(half.weights_gib() * 2)


def test_no_fit_within_constraints_names_the_constraint_to_relax(profiles: dict[str, ModelProfile]) -> None:
    options = SizingOptions(max_price_per_hour=0.5)
    with pytest.raises(ConfigurationError) as error:
        plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type=None, options=options)
    message = str(error.value)
    assert "no GPU instance within max_price_per_hour $0.50" in message
    assert "above max_price_per_hour" in message  # why the largest was excluded
    assert "Without instance_selection.max_price_per_hour, the cheapest instance that fits is ml.g4dn.xlarge" in message
    assert "omit instance_type" not in message


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("text-generation", "tgi"),
        ("text2text-generation", "inference-toolkit"),
        ("image-text-to-text", "inference-toolkit"),
        ("feature-extraction", "tei"),
        ("sentence-similarity", "tei"),
        ("fill-mask", "inference-toolkit"),
        (None, "inference-toolkit"),
    ],
)
def test_recommend_and_synth_pick_the_same_serving_stack(task: str | None, expected: str) -> None:
    from constructs_lib.images import Serving as RealServing
    from constructs_lib.images import resolve_serving as synth_serving

    assert serving_stack("auto", ModelProfile(parameters=10**8, task=task)).key == expected
    assert synth_serving(RealServing.AUTO, task=task, custom_script=False).value == expected


def test_tei_on_cpu_is_sized_in_float32(profiles: dict[str, ModelProfile]) -> None:
    half = replace(profiles[BGE_ID], dtype="float16", parameters_by_dtype={"float16": 335_141_888})
    plan = plan_deployment(half, serving="tei", instance_type="ml.c5.xlarge")
    assert plan.fit.needed_host_gib == pytest.approx(half.weights_gib() * 2 * 1.2 + 2, abs=0.01)
