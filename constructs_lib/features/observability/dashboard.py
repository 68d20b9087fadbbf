"""A CloudWatch dashboard for an endpoint (``dashboard=True``): invocations, errors, latency, instances, alarms."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from ..._core.tokens import is_unresolved
from ...contract.facts import EndpointFacts
from .alarms import has_gpus

_DASHBOARD_NAME_MAX = 255


def create_dashboard(facts: EndpointFacts) -> cloudwatch.Dashboard:
    """The endpoint's dashboard, named after the endpoint."""
    endpoint = facts.metrics
    name = facts.physical_endpoint_name
    dashboard = cloudwatch.Dashboard(
        facts.scope,
        "Dashboard",
        # Endpoint names (letters, digits, hyphens, <= 63) are valid dashboard names.
        dashboard_name=None if is_unresolved(name) else name[:_DASHBOARD_NAME_MAX],
    )
    latency_p99 = endpoint.metric_model_latency(statistic=cloudwatch.Stats.p(99), label="Model latency p99")
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Invocations",
            left=[endpoint.metric_invocations(period=Duration.minutes(1), label="Invocations")],
            right=[endpoint.metric_invocations_per_instance(period=Duration.minutes(1), label="Per instance")]
            if facts.instance_type is not None
            else [],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Errors",
            left=[
                endpoint.metric_invocation_4xx_errors(period=Duration.minutes(1), label="4XX"),
                endpoint.metric_invocation_5xx_errors(period=Duration.minutes(1), label="5XX"),
            ],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Latency (microseconds)",
            left=[
                endpoint.metric_model_latency(label="Model latency (avg)"),
                latency_p99,
                endpoint.metric_overhead_latency(label="Overhead latency (avg)"),
            ],
            width=8,
        ),
    )
    if facts.instance_type is not None:
        instance_widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="CPU and memory (%)",
                left=[endpoint.metric_cpu_utilization(label="CPU")],
                right=[endpoint.metric_memory_utilization(label="Memory")],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Disk (%)", left=[endpoint.metric_disk_utilization(label="Disk")], width=8),
        ]
        if has_gpus(facts):
            instance_widgets.append(
                cloudwatch.GraphWidget(
                    title="GPU (%)",
                    left=[endpoint.metric_gpu_utilization(label="GPU")],
                    right=[endpoint.metric_gpu_memory_utilization(label="GPU memory")],
                    width=8,
                )
            )
        dashboard.add_widgets(*instance_widgets)
    alarms = list(facts.alarms.values())
    if alarms:
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24))
    return dashboard
