"""What every serving stack shares (``serving.base``): the ``Serving`` names and the default start-up timeout."""

from __future__ import annotations

from constructs_lib import (
    ModelProfile,
    Serving,
    plan_deployment,
)

from ..fake_hub import (
    BERT_ID,
)


def test_serving_values_are_strings() -> None:
    assert [s.value for s in Serving] == ["auto", "inference-toolkit", "tgi", "tei", "vllm", "sglang", "llamacpp"]
    assert Serving("tgi") is Serving.TGI and Serving("vllm") is Serving.VLLM


def test_small_models_need_no_longer_health_check(profiles: dict[str, ModelProfile]) -> None:
    assert (
        plan_deployment(
            profiles[BERT_ID], serving="inference-toolkit", instance_type=None
        ).startup_health_check_timeout_seconds
        is None
    )
    assert plan_deployment(profiles[BERT_ID], serving="inference-toolkit", instance_type=None).environment == {}
