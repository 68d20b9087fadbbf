"""The metrics every endpoint has (``contract.metrics``): namespaces, names, dimensions and statistics."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from ..support import (
    hub,
    new_stack,
)


@pytest.mark.parametrize(
    ("method", "namespace", "name", "statistic"),
    [
        ("metric_invocations", "AWS/SageMaker", "Invocations", "Sum"),
        ("metric_invocations_per_instance", "AWS/SageMaker", "InvocationsPerInstance", "Sum"),
        ("metric_model_latency", "AWS/SageMaker", "ModelLatency", "Average"),
        ("metric_overhead_latency", "AWS/SageMaker", "OverheadLatency", "Average"),
        ("metric_invocation_4xx_errors", "AWS/SageMaker", "Invocation4XXErrors", "Sum"),
        ("metric_invocation_5xx_errors", "AWS/SageMaker", "Invocation5XXErrors", "Sum"),
        ("metric_cpu_utilization", "/aws/sagemaker/Endpoints", "CPUUtilization", "Average"),
        ("metric_memory_utilization", "/aws/sagemaker/Endpoints", "MemoryUtilization", "Average"),
        ("metric_gpu_utilization", "/aws/sagemaker/Endpoints", "GPUUtilization", "Average"),
        ("metric_gpu_memory_utilization", "/aws/sagemaker/Endpoints", "GPUMemoryUtilization", "Average"),
        ("metric_disk_utilization", "/aws/sagemaker/Endpoints", "DiskUtilization", "Average"),
    ],
)
def test_each_metric_has_namespace_name_dimensions_and_documented_statistic(
    method: str, namespace: str, name: str, statistic: str
) -> None:
    endpoint = hub(new_stack(), endpoint_name="sentiment")
    metric: cloudwatch.Metric = getattr(endpoint, method)()

    assert (metric.namespace, metric.metric_name, metric.statistic) == (namespace, name, statistic)
    assert metric.dimensions == {"EndpointName": "sentiment", "VariantName": "AllTraffic"}
    assert metric.period.to_seconds() == 300
    assert f"default: - {statistic.lower() if statistic != 'Sum' else 'sum'}" in (
        getattr(type(endpoint), method).__doc__ or ""
    )

    custom: cloudwatch.Metric = getattr(endpoint, method)(
        statistic="p90", period=Duration.minutes(1), label="mine", dimensions_map={"VariantName": "Blue"}
    )
    assert (custom.statistic, custom.period.to_seconds(), custom.label) == ("p90", 60, "mine")
    assert custom.dimensions == {"EndpointName": "sentiment", "VariantName": "Blue"}


def test_metric_dimension_is_the_physical_name_known_at_synth() -> None:
    endpoint = hub(new_stack())

    assert (endpoint.metric_invocations().dimensions or {})["EndpointName"] == endpoint.physical_endpoint_name
    assert not endpoint.physical_endpoint_name.startswith("${Token")


def test_generic_metric_takes_any_name_and_namespace() -> None:
    endpoint = hub(new_stack(), endpoint_name="sentiment")
    metric = endpoint.metric("ModelSetupTime", namespace="AWS/SageMaker", statistic="Maximum")

    assert (metric.metric_name, metric.statistic, (metric.dimensions or {})["EndpointName"]) == (
        "ModelSetupTime",
        "Maximum",
        "sentiment",
    )
