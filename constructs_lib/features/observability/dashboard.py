"""A CloudWatch dashboard for an endpoint (``dashboard=True``): invocations, errors, latency, instances, alarms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from ..._core.tokens import is_unresolved
from ...contract.facts import EndpointFacts
from .alarms import has_gpus

if TYPE_CHECKING:
    from ...contract.metrics import EndpointMetrics

_DASHBOARD_NAME_MAX = 255


def create_dashboard(facts: EndpointFacts) -> cloudwatch.Dashboard:
    """The endpoint's dashboard, named after the endpoint."""
    name = facts.physical_endpoint_name
    dashboard = cloudwatch.Dashboard(
        facts.scope,
        "Dashboard",
        # Endpoint names (letters, digits, hyphens, <= 63) are valid dashboard names.
        dashboard_name=None if is_unresolved(name) else name[:_DASHBOARD_NAME_MAX],
    )
    dashboard.add_widgets(_invocations_widget(facts), _errors_widget(facts.metrics), _latency_widget(facts.metrics))
    if facts.instance_type is not None:
        dashboard.add_widgets(*_instance_widgets(facts))
    alarms = list(facts.alarms.by_key().values())
    if alarms:
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24))
    return dashboard


def _invocations_widget(facts: EndpointFacts) -> cloudwatch.GraphWidget:
    endpoint = facts.metrics
    return cloudwatch.GraphWidget(
        title="Invocations",
        left=[endpoint.metric_invocations(period=Duration.minutes(1), label="Invocations")],
        right=[endpoint.metric_invocations_per_instance(period=Duration.minutes(1), label="Per instance")]
        if facts.instance_type is not None
        else [],
        width=8,
    )


def _errors_widget(endpoint: EndpointMetrics) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title="Errors",
        left=[
            endpoint.metric_invocation_4xx_errors(period=Duration.minutes(1), label="4XX"),
            endpoint.metric_invocation_5xx_errors(period=Duration.minutes(1), label="5XX"),
        ],
        width=8,
    )


def _latency_widget(endpoint: EndpointMetrics) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title="Latency (microseconds)",
        left=[
            endpoint.metric_model_latency(label="Model latency (avg)"),
            endpoint.metric_model_latency(statistic=cloudwatch.Stats.p(99), label="Model latency p99"),
            endpoint.metric_overhead_latency(label="Overhead latency (avg)"),
        ],
        width=8,
    )


def _instance_widgets(facts: EndpointFacts) -> list[cloudwatch.IWidget]:
    """CPU, memory and disk of the instances, and GPU on GPU instances (serverless endpoints have none)."""
    endpoint = facts.metrics
    widgets: list[cloudwatch.IWidget] = [
        cloudwatch.GraphWidget(
            title="CPU and memory (%)",
            left=[endpoint.metric_cpu_utilization(label="CPU")],
            right=[endpoint.metric_memory_utilization(label="Memory")],
            width=8,
        ),
        cloudwatch.GraphWidget(title="Disk (%)", left=[endpoint.metric_disk_utilization(label="Disk")], width=8),
    ]
    if has_gpus(facts):
        widgets.append(
            cloudwatch.GraphWidget(
                title="GPU (%)",
                left=[endpoint.metric_gpu_utilization(label="GPU")],
                right=[endpoint.metric_gpu_memory_utilization(label="GPU memory")],
                width=8,
            )
        )
    return widgets
