"""Rules every container environment follows (``serving.environment``): SageMaker's limits, no token in plain text."""

from __future__ import annotations

import pytest

from ..support import (
    hub_error,
)


def test_too_many_environment_entries() -> None:
    # 99 of the user's own plus HF_MODEL_ID and HF_TASK set by the library: one too many.
    message = hub_error(task="text-classification", environment={f"KEY_{i}": "v" for i in range(99)})
    assert "environment: '101 entries' is too many" in message and "at most 100" in message


def test_environment_value_over_1024_bytes() -> None:
    message = hub_error(environment={"BIG": "x" * 1025})
    assert "environment['BIG']" in message and "over 1024 bytes" in message


def test_environment_key_over_1024_bytes() -> None:
    assert "is a key over 1024 bytes" in hub_error(environment={"K" * 1025: "v"})


def test_token_in_environment_points_to_hf_token_secret() -> None:
    message = hub_error(environment={"HF_TOKEN": "hf_secret"})
    assert "environment['HF_TOKEN']" in message and "hf_token_secret" in message
    assert "hf_secret" not in message


@pytest.mark.parametrize("variable", ["HUGGINGFACE_TOKEN", "hf_token", "MY_SECRET"])
def test_token_value_in_any_variable_is_an_error(variable: str) -> None:
    token = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    message = hub_error(task="text-classification", environment={variable: token})
    assert f"environment[{variable!r}]: '***' puts a Hugging Face token in plain text" in message
    assert token not in message
