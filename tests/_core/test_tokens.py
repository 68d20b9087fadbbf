"""CDK tokens and numbers: ``_core.tokens`` tells tokens from plain values, NaN/infinity are refused, and deferred
values are computed when the template is synthesized."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnResource
from aws_cdk.assertions import Template

from constructs_lib import (
    AutoScaling,
    ConfigurationError,
    ModelVariant,
)
from constructs_lib._core.tokens import deferred, is_unresolved

from ..support import (
    SST2,
    new_stack,
)


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        ["a", "b"],
        3,
        2.5,
        True,
        None,
    ],
)
def test_plain_values_are_not_tokens(value: Any) -> None:
    assert is_unresolved(value) is False


def test_token_check_agrees_with_cdk_for_every_token_kind() -> None:
    from aws_cdk import Aws, Token

    tokens = [Aws.REGION, f"prefix-{Aws.ACCOUNT_ID}", Token.as_list(Aws.NOTIFICATION_ARNS), Token.as_number(Aws.REGION)]
    for token in tokens:
        assert Token.is_unresolved(token)
        assert is_unresolved(token), token


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinity_are_rejected_before_they_reach_jsii(bad: float) -> None:
    # jsii cannot serialise them: the kernel would die with a JSON error instead of a message.
    with pytest.raises(ConfigurationError, match=r"variants\['b'\].weight: -?(nan|inf) must be a number of at least 0"):
        ModelVariant(name="b", model_id=SST2, task="text-classification", weight=bad)
    with pytest.raises(ConfigurationError, match=r"target_invocations_per_instance: -?(nan|inf) must be a number"):
        AutoScaling(max_capacity=2, target_invocations_per_instance=bad)


def test_a_deferred_value_is_what_its_producer_gives_when_the_template_is_synthesized() -> None:
    stack = new_stack()
    state = {"tags": [{"Key": "n", "Value": "before"}]}
    CfnResource(stack, "Topic", type="AWS::SNS::Topic", properties={"Tags": deferred(lambda: state["tags"])})
    state["tags"] = [{"Key": "n", "Value": "after"}]  # changed after the resource was created
    assert is_unresolved(deferred(lambda: 1))
    properties = Template.from_stack(stack).to_json()["Resources"]["Topic"]["Properties"]
    assert properties == {"Tags": [{"Key": "n", "Value": "after"}]}
