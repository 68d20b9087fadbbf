"""The planner (``sizing.planner``): the instance picked for each fake Hub profile, explicit instances,
families and prices, and the serving stack a preview resolves."""

from __future__ import annotations

import enum
import re
from dataclasses import replace
from pathlib import Path

import pytest

from constructs_lib import (
    ConfigurationError,
    ModelProfile,
    SizingOptions,
    fit_table,
    plan_deployment,
)
from constructs_lib.sizing.planner import served_weights_gib, serving_stack

from ..fake_hub import (
    AWQ70B_FLOAT16,
    AWQ70B_ID,
    AWQ70B_INT32,
    BERT_ID,
    BGE_ID,
    BIN_ID,
    LLAMA8B_ID,
    LLAMA70B_ID,
    MIXTRAL_ID,
)
from ..support import (
    QWEN_LIKE,
    picked_hub_endpoint,
)


class _StandInServing(str, enum.Enum):  # noqa: UP042 - the shape of constructs_lib.Serving
    """Stands in for ``constructs_lib.Serving`` (str-valued members pass as serving kinds)."""

    AUTO = "auto"
    INFERENCE_TOOLKIT = "inference-toolkit"
    TGI = "tgi"
    TEI = "tei"
    VLLM = "vllm"


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


def test_serving_enum_members_and_auto(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[LLAMA8B_ID], serving=_StandInServing.TGI, instance_type=None)
    assert plan.instance_type == "ml.g6.xlarge"
    assert serving_stack(_StandInServing.AUTO, profiles[BGE_ID]).key == "tei"
    assert serving_stack("auto", profiles[LLAMA8B_ID]).key == "vllm"
    assert serving_stack(_StandInServing.VLLM, profiles[LLAMA8B_ID]).key == "vllm"
    assert serving_stack("auto", profiles[BERT_ID]).key == "inference-toolkit"
    assert serving_stack("sglang", profiles[LLAMA8B_ID]).key == "sglang"
    # A catalogued image family without a serving stack of its own is no serving value.
    with pytest.raises(
        ConfigurationError,
        match="serving: 'tei-cpu' is not allowed; allowed: auto, inference-toolkit, llamacpp, sglang, tei, tgi, vllm",
    ):
        serving_stack("tei-cpu", profiles[BERT_ID])


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


def test_quantize_lowers_the_size(profiles: dict[str, ModelProfile]) -> None:
    big = profiles[LLAMA70B_ID]
    assert big.weights_gib("bitsandbytes-nf4") < big.weights_gib("fp8") < big.weights_gib()
    plan = plan_deployment(big, serving="tgi", instance_type=None, options=SizingOptions(quantize="bitsandbytes-nf4"))
    assert plan.instance_type == "ml.g6.12xlarge"  # 36.1 GiB + 5 GiB KV -> 51.3 GiB on 4 x L4
    assert plan.environment["HF_MODEL_QUANTIZE"] == "bitsandbytes-nf4"
    assert "quantized bitsandbytes-nf4" in plan.summary


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
    # Cheapest first; the instances without a catalogued price (g7e, p5.4xlarge, ...) after every priced one.
    priced = [fit.price_per_hour for fit in fitting if fit.price_per_hour is not None]
    assert priced and priced == sorted(priced)
    assert [fit.price_per_hour is None for fit in fitting] == [False] * len(priced) + [True] * (
        len(fitting) - len(priced)
    )
    assert len(priced) < len(fitting)
    assert all(fit.spec.accelerators for fit in table)
    assert all(fit.reason for fit in rest)


def test_plan_environment_is_deterministic(tmp_path: Path, profiles: dict[str, ModelProfile]) -> None:
    first = plan_deployment(profiles[MIXTRAL_ID], serving="tgi", instance_type=None)
    second = plan_deployment(profiles[MIXTRAL_ID], serving="tgi", instance_type=None)
    assert first == second


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


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("text-generation", "vllm"),
        ("text2text-generation", "inference-toolkit"),
        ("image-text-to-text", "vllm"),
        ("feature-extraction", "tei"),
        ("sentence-similarity", "tei"),
        ("fill-mask", "inference-toolkit"),
        (None, "inference-toolkit"),
    ],
)
def test_recommend_and_synth_pick_the_same_serving_stack(task: str | None, expected: str) -> None:
    from constructs_lib import Serving as RealServing
    from constructs_lib.serving.registry import resolve_serving as synth_serving

    assert serving_stack("auto", ModelProfile(parameters=10**8, task=task)).key == expected
    assert synth_serving(RealServing.AUTO, task=task, custom_script=False).value == expected


def test_the_preview_resolves_as_the_construct_does() -> None:
    gpt2 = ModelProfile(
        parameters=124_000_000, dtype="float32", task="feature-extraction", architecture="GPT2LMHeadModel"
    )
    bert = ModelProfile(parameters=33_000_000, dtype="float32", task="feature-extraction", architecture="BertModel")
    assert serving_stack("auto", gpt2).key == "inference-toolkit"
    assert serving_stack("auto", bert).key == "tei"
    assert serving_stack("tei", gpt2).key == "tei"


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
@pytest.mark.parametrize(
    ("instance_type", "options", "expected"),
    [
        (
            "ml.g6.xlarge",
            SizingOptions(families=["g5"]),
            "instance_type: 'ml.g6.xlarge' is of family 'g6', outside instance_selection.families ['g5']",
        ),
        (
            "ml.g5.12xlarge",
            SizingOptions(max_price_per_hour=2.0),
            "instance_type: 'ml.g5.12xlarge' costs ~$",
        ),
        (
            "ml.g5.12xlarge",
            SizingOptions(max_price_per_hour=2.0),
            "above instance_selection.max_price_per_hour $2.00: drop one of the two",
        ),
    ],
)
def test_explicit_instance_type_outside_the_selection_constraints_is_an_error(
    instance_type: str, options: SizingOptions, expected: str
) -> None:
    # Ignoring the constraint silently would hide which of the two settings is the mistake.
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(BERT_ID, instance_type=instance_type, instance_selection=options)
    assert expected in str(error.value)


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_explicit_instance_type_inside_the_selection_constraints_is_used() -> None:
    options = SizingOptions(families=["g5", "g6"], max_price_per_hour=2.0)
    _, endpoint = picked_hub_endpoint(BERT_ID, instance_type="ml.g6.xlarge", instance_selection=options)
    assert endpoint.instance_type == "ml.g6.xlarge"


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_price_cap_of_an_explicit_instance_type_counts_every_instance() -> None:
    options = SizingOptions(max_price_per_hour=1.5)
    _, endpoint = picked_hub_endpoint(BERT_ID, instance_type="ml.g5.xlarge", instance_selection=options)
    assert endpoint.instance_type == "ml.g5.xlarge"
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(BERT_ID, instance_type="ml.g5.xlarge", instance_count=2, instance_selection=options)
    assert "for 2 instance(s), above instance_selection.max_price_per_hour $1.50" in str(error.value)
    # As an automatic pick would be: priced for at least min_instance_count instances.
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(
            BERT_ID,
            instance_type="ml.g5.xlarge",
            instance_selection=SizingOptions(max_price_per_hour=1.5, min_instance_count=2),
        )
    assert "for 2 instance(s), above instance_selection.max_price_per_hour $1.50" in str(error.value)
