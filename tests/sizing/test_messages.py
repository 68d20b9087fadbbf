"""What the planner says when nothing fits (``sizing.messages``): the numbers, and what to change."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    ConfigurationError,
    HubModelEndpoint,
    ModelProfile,
    SizingOptions,
    fit_table,
    plan_deployment,
)

from ..fake_hub import (
    BERT_ID,
    LLAMA70B_ID,
)
from ..support import (
    new_stack,
    picked_hub_endpoint,
)


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
    # Each LLM server names its own way to shrink the model; the other stacks suggest vLLM (no longer TGI). Twice
    # as large: vLLM's CUDA 13 image runs on 8 x B300 (1918.8 GiB), which the CUDA 12.4 images do not.
    huger = replace(huge, parameters=2 * huge.parameters)
    hints = {
        "vllm": "a 4-bit AWQ or GPTQ checkpoint of the model, or engine_args={'quantization': 'fp8'}",
        "tgi": "a 4-bit AWQ or GPTQ checkpoint of the model, or quantize='bitsandbytes-nf4'",
        "inference-toolkit": "serving=Serving.VLLM with a 4-bit AWQ or GPTQ checkpoint, for a generative model",
    }
    for serving, hint in hints.items():
        with pytest.raises(ConfigurationError, match=re.escape(f"No catalogued instance fits; consider {hint}")):
            plan_deployment(huger, serving=serving, instance_type="ml.g5.48xlarge")
    with pytest.raises(ConfigurationError, match="instance_type: no GPU instance can serve the model with tgi"):
        plan_deployment(huge, serving="tgi", instance_type=None)


def test_no_fit_within_constraints_names_the_constraint_to_relax(profiles: dict[str, ModelProfile]) -> None:
    options = SizingOptions(max_price_per_hour=0.5)
    with pytest.raises(ConfigurationError) as error:
        plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type=None, options=options)
    message = str(error.value)
    assert "no GPU instance within max_price_per_hour $0.50" in message
    # Why the largest was excluded: a Blackwell GPU, which the toolkit's CUDA 12.4 image does not run on.
    assert (
        "the largest considered, ml.p6-b300.48xlarge: B300 (ml.p6-b300.48xlarge) is a Blackwell GPU, which needs "
        "CUDA 12.8 or newer, and the image is built for CUDA 12.4" in message
    )
    # The instances that fit are excluded by the price.
    table = fit_table(profiles[BERT_ID], serving="inference-toolkit", options=options)
    t4 = next(fit for fit in table if fit.spec.name == "ml.g4dn.xlarge")
    assert not t4.fits and t4.reason == "costs $0.74/h, above max_price_per_hour $0.50"
    assert "Without instance_selection.max_price_per_hour, the cheapest instance that fits is ml.g4dn.xlarge" in message
    assert "omit instance_type" not in message


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_explicit_instance_too_small_is_an_error_with_the_numbers_and_the_cheapest_fit() -> None:
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA70B_ID, instance_type="ml.g5.12xlarge")
    message = str(error.value)
    assert "instance_type" in message and "ml.g5.12xlarge" in message
    assert "GiB" in message and "ml.g6e.12xlarge" in message


# ------------------------------------------------------------------ prices and regions in the plan summary
def test_catalogue_prices_are_labelled_as_us_east_1_prices_and_the_users_as_theirs(
    profiles: dict[str, ModelProfile],
) -> None:
    picked = plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type=None)
    assert re.search(r"~\$\d+\.\d\d/h \(indicative us-east-1 price\)", picked.summary)
    mine = SizingOptions(prices={picked.instance_type: 0.5})
    priced = plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type=None, options=mine)
    assert "~$0.50/h (instance_selection.prices)" in priced.summary
    assert "us-east-1" not in priced.summary


@pytest.mark.parametrize(
    ("region", "where"),
    [("eu-west-3", "in eu-west-3"), ("us-east-1", "in us-east-1"), (None, "in the deploy-time region")],
)
@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_the_plan_says_that_availability_in_the_region_was_not_checked(region: str | None, where: str) -> None:
    """AWS's pages reachable here do not say which hosting families each region offers (see catalogue.instances)."""
    stack = new_stack(region=region)
    endpoint = HubModelEndpoint(stack, "Bert", model_id=BERT_ID, instance_type="ml.g5.xlarge")
    assert endpoint.deployment_plan is not None
    summary = endpoint.deployment_plan.summary
    assert summary.endswith(
        f"; availability of g5 instances {where} was not checked (AWS publishes SageMaker hosting availability per "
        "region only on its pricing page)"
    )
    infos = Annotations.from_stack(stack).find_info("*", Match.string_like_regexp("was not checked"))
    assert len(infos) == 1 and summary in json.dumps(infos[0].entry.data)
    assert "(indicative us-east-1 price)" in summary  # also in eu-west-3: no other region's prices are sourced
