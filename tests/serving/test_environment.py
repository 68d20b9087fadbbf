"""Rules every container environment follows (``serving.environment``): SageMaker's limits, no token in plain text."""

from __future__ import annotations

import pytest

from ..support import (
    entry_text,
    hub_endpoint,
    hub_error,
    warnings_of,
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


# ------------------------------------------------------------------ keys that differ only in case
def _case_warnings(endpoint: object) -> list[str]:
    return [entry_text(w) for w in warnings_of(endpoint, "environment-key-case")]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "right", "props"),
    [
        ("hf_task", "HF_TASK", {"task": "text-classification"}),  # written by the library
        ("Hf_Model_Id", "HF_MODEL_ID", {}),
        ("sagemaker_model_server_workers", "SAGEMAKER_MODEL_SERVER_WORKERS", {}),  # a toolkit knob
        ("hf_api_token_file", None, {}),  # read by nobody in any case: not a misspelling
    ],
)
def test_a_toolkit_key_that_differs_only_in_case_warns_with_the_right_spelling(
    key: str, right: str | None, props: dict[str, object]
) -> None:
    endpoint = hub_endpoint(environment={key: "1"}, **props)
    warnings = _case_warnings(endpoint)
    if right is None:
        assert warnings == []
        return
    assert len(warnings) == 1
    assert f"environment key {key!r} differs only in case from {right!r}, which the container reads" in warnings[0]
    assert f"rename it to {right!r}" in warnings[0]


def test_a_vllm_flag_variable_in_lower_case_warns_with_the_prefix_the_image_matches() -> None:
    endpoint = hub_endpoint(
        "Qwen/Qwen2.5-7B-Instruct", task="text-generation", instance_type="ml.g6e.xlarge",
        environment={"sm_vllm_max_num_seqs": "64", "Sm_Vllm_Max_Model_Len": "8192", "SM_VLLM_ENFORCE_EAGER": "true"},
    )  # fmt: skip
    warnings = _case_warnings(endpoint)
    assert len(warnings) == 2
    assert "'sm_vllm_max_num_seqs' differs only in case from 'SM_VLLM_MAX_NUM_SEQS'" in warnings[0]
    assert "'Sm_Vllm_Max_Model_Len' differs only in case from 'SM_VLLM_MAX_MODEL_LEN'" in warnings[1]


def test_the_right_spelling_does_not_warn() -> None:
    endpoint = hub_endpoint(environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "2", "MY_SETTING": "x"})
    assert _case_warnings(endpoint) == []
