"""CDK tokens and numbers: ``_core.tokens`` tells tokens from plain values, and NaN/infinity are refused."""

from __future__ import annotations

from typing import Any

import pytest

from constructs_lib import (
    AutoScaling,
    ConfigurationError,
    ModelVariant,
)
from constructs_lib._core.tokens import is_unresolved

from ..support import (
    SST2,
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
