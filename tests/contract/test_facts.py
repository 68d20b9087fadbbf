"""``contract.facts``: the alarm registry features share."""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk import aws_cloudwatch as cloudwatch

from constructs_lib.contract.facts import AlarmRegistry


def _alarm(stack: Stack, id: str) -> cloudwatch.Alarm:
    metric = cloudwatch.Metric(namespace="AWS/SageMaker", metric_name="Invocation5XXErrors")
    return cloudwatch.Alarm(stack, id, metric=metric, threshold=1, evaluation_periods=1)


def test_the_first_feature_to_ask_creates_the_alarm_and_later_ones_share_it() -> None:
    stack = Stack(App(), "S")
    registry = AlarmRegistry()
    created: list[str] = []

    def create(id: str) -> cloudwatch.Alarm:
        created.append(id)
        return _alarm(stack, id)

    first = registry.get_or_create("errors_5xx", lambda: create("Errors"))
    again = registry.get_or_create("errors_5xx", lambda: create("Twice"))
    latency = registry.get_or_create("model_latency", lambda: create("Latency"))
    assert again is first and latency is not first
    assert created == ["Errors", "Latency"]
    view = registry.by_key()
    assert list(view) == ["errors_5xx", "model_latency"]
    view.clear()  # a copy: the registry keeps its alarms
    assert list(registry.by_key()) == ["errors_5xx", "model_latency"]
