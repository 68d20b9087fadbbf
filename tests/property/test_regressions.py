"""Plain regression tests for the crashes the property tests found: each draw raised a TypeError, OSError,
ValueError or jsii error from inside the library, or a ConfigurationError that named no property. Each now gives a
ConfigurationError that names the property and the bad value (deploy-time alarm durations: see
tests/features/test_observability.py::test_durations_unknown_at_synth_time_are_errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import Aws, CfnParameter, Duration
from aws_cdk import aws_applicationautoscaling as appscaling

from constructs_lib import (
    AsyncInference,
    CustomScriptEndpoint,
    DataCapture,
    DeploymentGuardrails,
    EndpointAlarms,
    FineTunedEndpoint,
    HubModelEndpoint,
    ModelProfile,
    ScheduledCapacity,
    SizingOptions,
)
from constructs_lib._core.errors import ConfigurationError
from constructs_lib.features.deployment.capacity import DeploymentType

from ..support import SST2, error_of, new_stack, write_bert_model_dir, write_script


def test_a_code_dir_too_long_for_the_file_system_is_not_an_existing_directory() -> None:
    # Path.is_dir raised OSError (ENAMETOOLONG) instead of answering False.
    message = error_of(lambda: CustomScriptEndpoint(new_stack(), "Endpoint", code_dir="d" * 5000, model_id=SST2))
    assert "code_dir" in message and "is not an existing directory" in message


def test_a_model_data_path_too_long_for_the_file_system_is_a_configuration_error() -> None:
    message = error_of(
        lambda: FineTunedEndpoint(new_stack(), "Endpoint", model_data="m" * 5000, task="text-classification")
    )
    assert "model_data" in message


def test_fine_tuned_environment_that_is_not_a_mapping_names_environment(tmp_path: Path) -> None:
    # With a local model directory, _entry_point called .get on whatever environment was (AttributeError).
    model = write_bert_model_dir(tmp_path)
    message = error_of(
        lambda: FineTunedEndpoint(
            new_stack(),
            "Endpoint",
            model_data=str(model),
            task="text-classification",
            environment="SAGEMAKER_PROGRAM=inference.py",  # type: ignore[arg-type]
        )
    )
    assert "environment" in message


def test_a_local_model_directory_without_weights_names_model_data(tmp_path: Path) -> None:
    # The profile's error said "model directory: ..." and named no prop.
    directory = write_script(tmp_path / "code")
    message = error_of(
        lambda: FineTunedEndpoint(new_stack(), "Endpoint", model_data=str(directory), task="text-classification")
    )
    assert message.startswith("model_data: ") or "model_data: " in message


def test_a_task_that_is_not_a_string_is_a_configuration_error() -> None:
    # check_task handed any object to Token.is_unresolved, which jsii cannot serialize (guarded twice now:
    # there and in is_unresolved itself).
    message = error_of(
        lambda: HubModelEndpoint(new_stack(), "Endpoint", model_id=SST2, task=object())  # type: ignore[arg-type]
    )
    assert "task" in message and "must be a string" in message


def test_content_types_that_are_not_strings_are_named_not_hashed() -> None:
    # The duplicate check put the values in a set: TypeError on a list among them.
    message = error_of(lambda: DataCapture(json_content_types=[["application/json"]]))  # type: ignore[list-item]
    assert "data_capture.json_content_types" in message


def test_guardrails_without_a_wait_interval_say_so() -> None:
    message = error_of(lambda: DeploymentGuardrails(type=DeploymentType.ALL_AT_ONCE, wait_interval=None))  # type: ignore[arg-type]
    assert "wait_interval" in message and "must be a Duration" in message


def test_guardrails_with_a_fractional_wait_do_not_reach_the_total_time_check() -> None:
    # The total-time check converted the durations CDK refuses to convert (fractions of a second).
    message = error_of(
        lambda: DeploymentGuardrails.all_at_once(
            wait_interval=Duration.millis(1500), max_execution_timeout=Duration.minutes(20)
        )
    )
    assert "wait_interval" in message


def test_a_fractional_latency_in_milliseconds_is_a_whole_number_error() -> None:
    # Duration.millis(1.5) raised a jsii error.
    message = error_of(lambda: EndpointAlarms.from_config({"model_latency_p99_ms": 1.5}))
    assert "alarms: model_latency_p99_ms: 1.5 must be a whole number" in message


@pytest.mark.parametrize(
    ("kwargs", "prop"),
    [
        ({"prices": ["ml.g5.xlarge"]}, "instance_selection.prices"),
        ({"prices": {1: 1.0, "ml.nope": 1.0}}, "instance_selection.prices"),
        ({"quantize": ["fp8"]}, "instance_selection.quantize"),
    ],
)
def test_sizing_options_of_the_wrong_shape_name_the_option(kwargs: dict[str, object], prop: str) -> None:
    # Each was a TypeError: an unhashable list in a set, or sorting an int with a str.
    message = error_of(lambda: SizingOptions(**kwargs))  # type: ignore[arg-type]
    assert prop in message


@pytest.mark.parametrize(
    ("kwargs", "prop"),
    [
        ({"parameters_by_dtype": ["bfloat16"]}, "model_profile.parameters_by_dtype"),
        ({"parameters_by_dtype": {1: 10, "int3": 10}}, "model_profile.parameters_by_dtype"),
        ({"architecture": 7}, "model_profile.architecture"),
        ({"model_id": ["org/name"]}, "model_profile.model_id"),
    ],
)
def test_model_profile_fields_of_the_wrong_type_name_the_field(kwargs: dict[str, object], prop: str) -> None:
    message = error_of(lambda: ModelProfile(parameters=10**9, **kwargs))  # type: ignore[arg-type]
    assert prop in message


@pytest.mark.parametrize("data", [[], "x", {"dtype": "float16"}])
def test_a_model_profile_entry_without_parameters_is_a_configuration_error(data: object) -> None:
    # from_json called cls(**data) (TypeError: missing 'parameters', or not a mapping).
    message = error_of(lambda: ModelProfile.from_json(data))  # type: ignore[arg-type]
    assert "model_profile" in message and "parameters" in message


def test_a_model_profile_of_the_wrong_type_with_a_local_model_directory_names_model_profile(tmp_path: Path) -> None:
    # Choosing the stack that would run a shipped script read model_profile.architecture of whatever was given
    # (AttributeError on a bool).
    model = write_bert_model_dir(tmp_path)
    write_script(model / "code")
    message = error_of(
        lambda: FineTunedEndpoint(new_stack(), "Endpoint", model_data=str(model), model_profile=False)  # type: ignore[arg-type]
    )
    assert "model_profile" in message


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"type": "canary", "max_execution_timeout_seconds": 100}, "deployment.max_execution_timeout_seconds"),
        ({"type": "all_at_once", "wait_seconds": 1.5}, "deployment.wait_seconds"),
        ({"type": "linear", "termination_wait_seconds": 3601}, "deployment.termination_wait_seconds"),
    ],
)
def test_deployment_config_seconds_out_of_range_name_the_files_key(config: dict[str, object], key: str) -> None:
    # The range check ran on the Duration, and its error named the constructor's argument (max_execution_timeout),
    # which the config file does not have.
    message = error_of(lambda: DeploymentGuardrails.from_config(config))
    assert message.startswith(f"{key}: ") and "must be whole seconds from" in message


def test_a_string_token_for_the_async_concurrency_is_a_configuration_error() -> None:
    # A string token passed the check (tokens are not judged) and failed CDK's type check (TypeError).
    message = error_of(lambda: AsyncInference(max_concurrent_invocations_per_instance=Aws.REGION))  # type: ignore[arg-type]
    assert "async_inference.max_concurrent_invocations_per_instance" in message


def test_a_number_token_for_the_async_concurrency_builds() -> None:
    stack = new_stack()
    count = CfnParameter(stack, "Concurrency", type="Number").value_as_number
    assert AsyncInference(max_concurrent_invocations_per_instance=count).max_concurrent_invocations_per_instance


def test_a_negative_alarm_period_in_the_config_file_names_the_key() -> None:
    # The period was built as a Duration after its problem was recorded: CDK raised DurationAmountsCannotNegative.
    message = error_of(lambda: EndpointAlarms.from_config({"period_seconds": -1}))
    assert "alarms: period_seconds: '-1 seconds'" in message


def test_a_schedule_that_changes_nothing_names_the_autoscaling_prop() -> None:
    # Found by the app config's property test: the message named "schedules[]", no prop of the endpoint.
    with pytest.raises(
        ConfigurationError, match=r"autoscaling\.schedules\[\]: give min_capacity, max_capacity or both"
    ):
        ScheduledCapacity(schedule=appscaling.Schedule.cron(hour="8"))


def test_a_zero_alarm_period_with_many_evaluation_periods_is_a_clear_error() -> None:
    # Found by the property run: the range check divided by the zero period (ZeroDivisionError).
    message = error_of(lambda: EndpointAlarms(period=Duration.seconds(0), evaluation_periods=5000))
    assert "period: '0 seconds' must be a multiple of 60 s" in message
