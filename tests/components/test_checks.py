"""What a component endpoint refuses, with the reason, and the checks of ``add_model``'s props
(components/checks.py, model.py)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from constructs_lib import ComponentScaling, ConfigurationError, FineTunedEndpoint, HubModelEndpoint, Serving

from ..support import SST2, TUNED_URI, error_of, new_stack
from .support import QWEN7B, shared_endpoint, with_classifier


@pytest.mark.parametrize(
    ("prop", "reason"),
    [
        ("serverless", "a serverless endpoint has no instances to place components on"),
        ("async_inference", "InvokeEndpointAsync takes no InferenceComponentName"),
        ("variants", "an endpoint with inference components has one production variant whose instances"),
        ("data_capture", "SageMaker does not document it for endpoints with inference components"),
        ("deployment", "endpoint-level blue/green and rolling deployments replace the instances"),
        ("network_isolation", "SageMaker does not document it for endpoints with inference components"),
        ("instance_count", "managed instance scaling decides the count: use min_instances and max_instances"),
        ("model_id", "belongs to a model: add models with add_model(id, ...)"),
    ],
)
def test_the_endpoint_refuses_what_component_endpoints_cannot_do(prop: str, reason: str) -> None:
    error = error_of(lambda: shared_endpoint(**{prop: object()}))
    assert f"{prop}: '(given)' is not supported here: {reason}" in error


def test_every_refused_and_unknown_prop_is_reported_at_once() -> None:
    error = error_of(lambda: shared_endpoint(serverless=1, async_inference=2, colour="blue"))
    assert "has 3 invalid props" in error
    assert "unknown prop(s) colour; allowed: encryption_key, endpoint_name, instance_type" in error


@pytest.mark.parametrize(
    ("prop", "reason"),
    [
        (
            "instance_type",
            "belongs to the endpoint, which every component shares: pass it to InferenceComponentEndpoint",
        ),
        ("serverless", "a serverless endpoint has no instances to place components on"),
        ("async_inference", "InvokeEndpointAsync takes no InferenceComponentName"),
        ("data_capture", "SageMaker does not document it for endpoints with inference components"),
        ("variants", "an endpoint with inference components has one production variant whose instances"),
        ("alarms", "this library's alarms watch an endpoint's variant; alarm on each component's metric_*() instead"),
    ],
)
def test_add_model_refuses_endpoint_props_and_what_components_cannot_do(prop: str, reason: str) -> None:
    endpoint = shared_endpoint()
    error = error_of(lambda: endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", **{prop: 1}))
    assert error.startswith("InferenceComponentEndpoint 'TestStack/Shared': add_model 'Sentiment'")
    assert f"{prop}: '(given)' is not supported here: {reason}" in error


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"task": "text-classification"}, "model_id / model_data: neither given; pass exactly one"),
        ({"model_id": SST2, "model_data": TUNED_URI}, "model_id / model_data: both given; pass exactly one"),
        ({"model_data": TUNED_URI, "revision": "main"}, "revision: 'main' only applies to a Hub model (model_id)"),
        ({"model_id": SST2, "entry_point": "serve.py"}, "entry_point: 'serve.py' only applies with code_dir"),
        ({"model_id": SST2, "copies": -1}, "copies: -1 must be a whole number of at least 0"),
        ({"model_id": SST2, "accelerators": 1.5}, "accelerators: 1.5 must be a whole number of GPUs"),
        ({"model_id": SST2, "memory_mb": 64}, "memory_mb: 64 must be a whole number of MB, at least 128"),
        ({"model_id": SST2, "cpu_cores": 0.3}, "cpu_cores: 0.3 must be a number of cores from 0.25 in steps of 0.25"),
        (
            {"model_id": SST2, "autoscaling": {"max_copies": 2}},
            "autoscaling: {'max_copies': 2} must be a ComponentScaling",
        ),
        ({"model_id": SST2, "copies": 0}, "copies: 0 starts the component with no copy, and nothing would ever start"),
        ({"model_id": SST2, "task": "text-clasification"}, "text-clasification"),
    ],
)
def test_bad_model_props_fail_naming_the_prop_value_and_what_is_allowed(props: dict[str, Any], message: str) -> None:
    props.setdefault("task", "text-classification")
    error = error_of(lambda: shared_endpoint().add_model("Sentiment", **props))
    assert message in error


def test_copies_must_lie_within_the_autoscaling_range() -> None:
    scaling = ComponentScaling(max_copies=2, target_invocations_per_copy=10)
    error = error_of(
        lambda: shared_endpoint().add_model(
            "Sentiment", model_id=SST2, task="text-classification", copies=3, autoscaling=scaling
        )
    )
    assert "copies: 3 is outside autoscaling's range 1..2 (min_copies..max_copies)" in error


def test_component_scaling_needs_exactly_one_target() -> None:
    with pytest.raises(ConfigurationError, match="give exactly one of target_invocations_per_copy and"):
        ComponentScaling(max_copies=2)
    with pytest.raises(ConfigurationError, match="give exactly one of"):
        ComponentScaling(max_copies=2, target_invocations_per_copy=1, target_concurrent_requests_per_copy=1)
    with pytest.raises(ConfigurationError, match=r"autoscaling.min_copies: 3 is above max_copies \(2\)"):
        ComponentScaling(max_copies=2, min_copies=3, target_invocations_per_copy=1)


def test_a_component_goes_through_the_endpoints_serving_checks() -> None:
    """The same task, serving-stack and server-flag checks, and messages, as HubModelEndpoint."""
    endpoint = with_classifier()
    assert "serving: 'VLLM' cannot serve task 'text-classification': vLLM serves" in error_of(
        lambda: endpoint.add_model("Wrong", model_id=SST2, task="text-classification", serving=Serving.VLLM)
    )
    for flags in ({"max_model_len": "long"}, {"dtype": "float7"}):
        component = error_of(partial(endpoint.add_model, "Flags", model_id=QWEN7B, engine_args=flags))
        alone = error_of(
            partial(
                HubModelEndpoint, new_stack(), "E", model_id=QWEN7B, instance_type="ml.g5.12xlarge", engine_args=flags
            )
        )
        assert component.split("add_model 'Flags': ")[1] == alone.split("'TestStack/E': ")[1]


def _without_subject(message: str) -> str:
    return message.split("': ", 1)[1] if "add_model" not in message else message.split("add_model 'Tuned': ", 1)[1]


def test_a_local_model_directory_goes_through_the_fine_tuned_checks(tmp_path: Any) -> None:
    """The same message as FineTunedEndpoint's for a directory whose task cannot be inferred."""
    (tmp_path / "notes.txt").write_text("no config.json, no weights")
    component = error_of(lambda: shared_endpoint().add_model("Tuned", model_data=str(tmp_path)))
    endpoint = error_of(lambda: FineTunedEndpoint(new_stack(), "Tuned", model_data=str(tmp_path)))
    assert _without_subject(component) == _without_subject(endpoint)
    assert "task" in component


def test_a_script_goes_through_the_custom_script_checks(tmp_path: Any) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def predict_fn(data, model):\n    return data\n")  # no model_fn, no model
    error = error_of(lambda: shared_endpoint().add_model("Custom", code_dir=str(code)))
    assert "model_data" in error or "model_id" in error
