"""Observability (``features.observability``): ``alarms=...`` and ``dashboard=...``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from constructs_lib import (
    ConfigurationError,
    EndpointAlarms,
    FineTunedEndpoint,
    HubModelEndpoint,
    ServerlessInference,
    Serving,
)
from constructs_lib.features.observability.alarms import ALARM_KEYS

from ..support import (
    error_of,
    hub,
    new_stack,
    only,
    resources,
    synth,
)


def alarms_by_metric(template: Template) -> dict[str, dict[str, Any]]:
    """Alarm properties keyed by metric name (``Invocation5XXErrors`` for the 5XX-rate expression)."""
    found: dict[str, dict[str, Any]] = {}
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "Metrics" in props:
            name = next(m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if m["Id"] == "errors")
        else:
            name = props["MetricName"]
        found[name] = props
    return found


def dashboard_body(template: Template) -> str:
    body = only(template, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]
    return json.dumps(body)


def test_alarms_true_on_a_gpu_instance() -> None:
    stack = new_stack()
    endpoint = hub(stack, alarms=True)
    template = Template.from_stack(stack)

    alarms = alarms_by_metric(template)
    assert set(alarms) == {"Invocation5XXErrors", "ModelLatency", "GPUMemoryUtilization", "DiskUtilization"}
    assert alarms["Invocation5XXErrors"]["Threshold"] == 1
    assert alarms["ModelLatency"]["ExtendedStatistic"] == "p99"
    assert alarms["ModelLatency"]["Threshold"] == 2_000_000
    assert alarms["GPUMemoryUtilization"]["Threshold"] == 95
    assert alarms["GPUMemoryUtilization"]["Namespace"] == "/aws/sagemaker/Endpoints"
    assert alarms["DiskUtilization"]["Threshold"] == 90
    for props in alarms.values():
        assert props["EvaluationPeriods"] == 3
        assert props["TreatMissingData"] == "notBreaching"
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert "Unit" not in props
    assert set(endpoint.alarms) == {"errors_5xx", "model_latency", "gpu_memory", "disk"}
    assert set(endpoint.alarms) <= set(ALARM_KEYS)


def test_gpu_memory_threshold_scales_with_the_number_of_gpus() -> None:
    template = synth(lambda s: hub(s, instance_type="ml.g5.12xlarge", alarms=True))

    assert alarms_by_metric(template)["GPUMemoryUtilization"]["Threshold"] == 380  # 95 % x 4 GPUs


def test_cpu_instance_gets_no_gpu_alarm() -> None:
    template = synth(lambda s: hub(s, instance_type="ml.m5.xlarge", alarms=True))

    assert set(alarms_by_metric(template)) == {"Invocation5XXErrors", "ModelLatency", "DiskUtilization"}


@pytest.mark.parametrize("serving", [Serving.AUTO, Serving.TGI], ids=["vllm", "tgi"])
def test_vllm_and_tgi_get_no_gpu_memory_alarm_and_a_longer_latency_threshold(serving: Serving) -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s,
            "Llm",
            model_id="Qwen/Qwen2.5-0.5B-Instruct",
            task="text-generation",
            instance_type="ml.g5.2xlarge",
            alarms=True,
            serving=serving,
        )
    )
    alarms = alarms_by_metric(template)
    assert "GPUMemoryUtilization" not in alarms
    assert alarms["ModelLatency"]["Threshold"] == 30_000_000


def test_serverless_gets_only_invocation_alarms() -> None:
    template = synth(lambda s: hub(s, instance_type=None, serverless=ServerlessInference(), alarms=True))

    assert set(alarms_by_metric(template)) == {"Invocation5XXErrors", "ModelLatency"}


def test_custom_alarm_settings_and_actions() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Pager")
    settings = EndpointAlarms(
        error_5xx_rate_percent=0,
        error_4xx_rate_percent=10,
        model_latency_p99=Duration.millis(250),
        gpu_memory_utilization_percent=None,
        disk_utilization_percent=None,
        period=Duration.minutes(5),
        evaluation_periods=4,
        datapoints_to_alarm=2,
        alarm_actions=[actions.SnsAction(topic)],
        ok_actions=[actions.SnsAction(topic)],
    )
    endpoint = hub(stack, alarms=settings)
    template = Template.from_stack(stack)

    alarms = alarms_by_metric(template)
    assert set(alarms) == {"Invocation5XXErrors", "Invocation4XXErrors", "ModelLatency"}
    assert alarms["Invocation5XXErrors"]["Threshold"] == 0
    assert alarms["Invocation4XXErrors"]["Threshold"] == 10
    assert alarms["ModelLatency"]["Threshold"] == 250_000
    assert alarms["ModelLatency"]["Period"] == 300
    topic_ref = {"Ref": stack.get_logical_id(topic.node.default_child)}  # type: ignore[arg-type]
    for props in alarms.values():
        assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (4, 2)
        assert props["AlarmActions"] == [topic_ref]
        assert props["OKActions"] == [topic_ref]
    assert settings.evaluation_window.to_seconds() == 600
    assert set(endpoint.alarms) == {"errors_5xx", "errors_4xx", "model_latency"}


def test_no_alarms_by_default_and_alarms_false() -> None:
    for kwargs in ({}, {"alarms": False}):
        stack = new_stack()
        endpoint = hub(stack, **kwargs)
        Template.from_stack(stack).resource_count_is("AWS::CloudWatch::Alarm", 0)
        assert endpoint.alarms == {}
        assert endpoint.dashboard is None


@pytest.mark.parametrize(
    ("period", "evaluation_periods"),
    [(Duration.minutes(1), 1440), (Duration.minutes(59), 24), (Duration.hours(1), 168), (Duration.days(1), 7)],
)
def test_evaluation_ranges_at_cloudwatch_limits_are_accepted(period: Duration, evaluation_periods: int) -> None:
    settings = EndpointAlarms(period=period, evaluation_periods=evaluation_periods)
    assert settings.evaluation_window.to_seconds() == period.to_seconds() * evaluation_periods


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"error_5xx_rate_percent": 101}, "error_5xx_rate_percent: 101 must be a percentage from 0 to 100"),
        ({"disk_utilization_percent": -1}, "disk_utilization_percent: -1"),
        ({"gpu_memory_utilization_percent": True}, "gpu_memory_utilization_percent: True"),
        ({"model_latency_p99": Duration.seconds(0)}, "model_latency_p99: '0 seconds' must be positive"),
        ({"model_latency_p99": 500}, "model_latency_p99: 500 must be a Duration"),
        ({"period": Duration.seconds(45)}, "period: '45 seconds' must be a multiple of 60 s up to 1 day"),
        # Sub-minute periods are for high-resolution metrics; SageMaker's are per minute.
        ({"period": Duration.seconds(10)}, "period: '10 seconds' must be a multiple of 60 s"),
        ({"period": Duration.days(2)}, "period: '172800 seconds' must be a multiple of 60 s up to 1 day"),
        (
            {"period": Duration.minutes(1), "evaluation_periods": 1441},
            "evaluation_periods: 1441 times period (60 s) is 86460 s; CloudWatch allows at most 86,400 s (1 day) "
            "for a period under 1 hour: at most 1440 evaluation periods of 60 s",
        ),
        (
            {"period": Duration.hours(1), "evaluation_periods": 169},
            "evaluation_periods: 169 times period (3600 s) is 608400 s; CloudWatch allows at most 604,800 s (7 days)",
        ),
        ({"evaluation_periods": 0}, "evaluation_periods: 0 must be a whole number of at least 1"),
        (
            {"evaluation_periods": 2, "datapoints_to_alarm": 3},
            "datapoints_to_alarm: 3 must be a whole number from 1 to 2",
        ),
    ],
)
def test_invalid_alarm_settings_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        EndpointAlarms(**kwargs)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alarms": "yes"}, "alarms: 'yes' must be True, False or an EndpointAlarms(...)"),
        ({"dashboard": "yes"}, "dashboard: 'yes' must be True or False"),
    ],
)
def test_invalid_observability_props_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        hub(new_stack(), **kwargs)
    assert message in str(error.value)


def test_dashboard_on_a_gpu_instance_has_gpu_widgets_and_the_endpoint_name() -> None:
    stack = new_stack()
    endpoint = hub(stack, endpoint_name="sentiment-prod", dashboard=True, alarms=True)
    template = Template.from_stack(stack)

    dashboard = only(template, "AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == "sentiment-prod"
    body = dashboard_body(template)
    for text in ("Invocations", "Invocation5XXErrors", "ModelLatency", "OverheadLatency", "CPUUtilization"):
        assert text in body
    assert "GPUUtilization" in body and "GPUMemoryUtilization" in body
    assert "GPU (%)" in body
    assert "alarm" in body  # the alarm status widget
    assert endpoint.dashboard is not None


def test_dashboard_on_a_cpu_instance_has_no_gpu_widgets() -> None:
    template = synth(lambda s: hub(s, instance_type="ml.m5.xlarge", dashboard=True))

    body = dashboard_body(template)
    assert "CPUUtilization" in body and "DiskUtilization" in body
    assert "GPUUtilization" not in body and "GPU (%)" not in body


def test_dashboard_on_serverless_has_no_instance_widgets() -> None:
    template = synth(lambda s: hub(s, instance_type=None, serverless=ServerlessInference(), dashboard=True))

    body = dashboard_body(template)
    assert "Invocations" in body and "ModelLatency" in body
    assert "CPUUtilization" not in body and "InvocationsPerInstance" not in body


def test_dashboard_name_is_derived_from_the_generated_endpoint_name() -> None:
    stack = new_stack()
    endpoint = FineTunedEndpoint(
        stack,
        "Tuned",
        model_data="s3://my-bucket/m.tar.gz",
        task="fill-mask",
        instance_type="ml.m5.xlarge",
        dashboard=True,
    )
    dashboard = only(Template.from_stack(stack), "AWS::CloudWatch::Dashboard")

    assert dashboard["Properties"]["DashboardName"] == endpoint.physical_endpoint_name
    assert len(endpoint.physical_endpoint_name) <= 255


def test_alarm_config_round_trips() -> None:
    config = {
        "error_5xx_rate_percent": 2.5,
        "error_4xx_rate_percent": None,
        "gpu_memory_utilization_percent": None,
        "disk_utilization_percent": 80,
        "model_latency_p99_ms": 500,
        "period_seconds": 300,
        "evaluation_periods": 2,
        "datapoints_to_alarm": 1,
    }
    settings = EndpointAlarms.from_config(config)

    assert settings.model_latency_p99 is not None and settings.model_latency_p99.to_milliseconds() == 500
    assert settings.to_config() == config
    assert EndpointAlarms.from_config(json.loads(json.dumps(settings.to_config()))).to_config() == config


def test_alarm_config_true_is_the_defaults() -> None:
    assert EndpointAlarms.from_config(True).to_config() == EndpointAlarms().to_config()
    assert EndpointAlarms.from_config({}).to_config() == EndpointAlarms().to_config()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"latency_ms": 5}, "alarms: unknown key(s) 'latency_ms'"),
        ({"alarm_actions": []}, "unknown key(s) 'alarm_actions'"),
        ({"model_latency_p99_ms": "fast"}, "alarms: model_latency_p99_ms: 'fast' must be a number"),
        ({"error_5xx_rate_percent": 200}, "error_5xx_rate_percent: 200"),
        (False, "must be true or an object"),
        # The file's keys, not the constructor's (period, model_latency_p99), are named.
        ({"period_seconds": 30}, "alarms: period_seconds: '30 seconds' must be a multiple of 60 s up to 1 day"),
        ({"period_seconds": "1m"}, "alarms: period_seconds: '1m' must be a number"),
        ({"model_latency_p99_ms": 0}, "alarms: model_latency_p99_ms: 0 must be a whole number above 0"),
        ({"evaluation_periods": 0}, "alarms: evaluation_periods: 0 must be a whole number of at least 1"),
        (
            {"period_seconds": 600, "evaluation_periods": 200},
            "evaluation_periods: 200 times period_seconds (600 s) is 120000 s; CloudWatch allows at most 86,400 s",
        ),
        ({"period_seconds": 86400, "evaluation_periods": 8}, "at most 7 evaluation periods of 86400 s"),
    ],
)
def test_alarm_config_rejects_bad_input(config: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        EndpointAlarms.from_config(config)
    assert message in str(error.value)


def test_every_invalid_key_of_an_alarm_config_is_reported_at_once_under_the_file_s_names() -> None:
    config = {
        "error_5xx_rate_percent": -1,
        "model_latency_p99_ms": "fast",
        "period_seconds": 30,
        "evaluation_periods": 2,
        "datapoints_to_alarm": 3,
    }
    with pytest.raises(ConfigurationError) as error:
        EndpointAlarms.from_config(config)
    lines = str(error.value).splitlines()
    assert lines[0] == "alarms has 4 invalid props:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  - error_5xx_rate_percent",
        "  - model_latency_p99_ms",
        "  - period_seconds",
        "  - datapoints_to_alarm",
    ]
    assert "alarms." not in str(error.value)


def test_every_invalid_alarm_setting_is_reported_at_once_in_the_order_of_the_props() -> None:
    with pytest.raises(ConfigurationError) as error:
        EndpointAlarms(
            error_5xx_rate_percent=101,
            error_4xx_rate_percent=-1,
            model_latency_p99=500,  # type: ignore[arg-type]
            gpu_memory_utilization_percent=True,
            disk_utilization_percent=200,
            period=Duration.seconds(30),
            evaluation_periods=3000,
            datapoints_to_alarm=0,
        )
    lines = str(error.value).splitlines()
    assert lines[0] == "EndpointAlarms has 8 invalid props:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  - error_5xx_rate_percent",
        "  - error_4xx_rate_percent",
        "  - gpu_memory_utilization_percent",
        "  - disk_utilization_percent",
        "  - model_latency_p99",
        "  - period",
        "  - datapoints_to_alarm",
        "  - evaluation_periods",  # the evaluation range, judged even when the period is invalid
    ]


def test_an_invalid_evaluation_count_is_the_only_evaluation_problem_reported() -> None:
    with pytest.raises(ConfigurationError) as error:
        EndpointAlarms(period="1 minute", evaluation_periods=0, datapoints_to_alarm=5)  # type: ignore[arg-type]
    assert str(error.value) == (
        "EndpointAlarms has 2 invalid props:\n"
        "  - period: '1 minute' must be a Duration, e.g. Duration.minutes(1)\n"
        "  - evaluation_periods: 0 must be a whole number of at least 1"
    )


def test_durations_unknown_at_synth_time_are_errors() -> None:
    """CDK cannot build an alarm from a deploy-time period (it checks the period's value) and folds a deploy-time
    latency into a meaningless threshold: both must be literals, and the error says so for each (the property
    tests found both: a RuntimeError from CDK, and a template whose threshold ignores the parameter)."""
    stack = new_stack()
    seconds = CfnParameter(stack, "Seconds", type="Number").value_as_number
    message = error_of(
        lambda: EndpointAlarms(model_latency_p99=Duration.millis(seconds), period=Duration.seconds(seconds))
    )
    assert "model_latency_p99: " in message and "period: " in message
    assert message.count("must be known at synth time") == 2


def widget_titles(template: Template) -> list[str]:
    """The dashboard's widget titles, in layout order."""
    body = only(template, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(part if isinstance(part, str) else "<token>" for part in parts)
    return re.findall(r'"title":"([^"]*)"', text)


def test_dashboard_widgets_are_traffic_then_instances_then_alarms() -> None:
    template = synth(lambda s: hub(s, dashboard=True, alarms=True))

    assert widget_titles(template) == [
        "Invocations",
        "Errors",
        "Latency (microseconds)",
        "CPU and memory (%)",
        "Disk (%)",
        "GPU (%)",
        "Alarms",
    ]


def test_serverless_dashboard_without_alarms_has_the_traffic_widgets_only() -> None:
    template = synth(lambda s: hub(s, instance_type=None, serverless=ServerlessInference(), dashboard=True))

    assert widget_titles(template) == ["Invocations", "Errors", "Latency (microseconds)"]
    assert "Per instance" not in dashboard_body(template)
