"""Autoscaling (``features.autoscaling``): scalable target, target tracking, schedules, scale to zero, and every
invalid combination."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk.assertions import Template

from constructs_lib import (
    AsyncInference,
    AutoScaling,
    ConfigurationError,
    FineTunedEndpoint,
    ScheduledCapacity,
    ServerlessInference,
)

from ..support import (
    TUNED_URI,
    build_on_g5,
    build_on_g5_error,
    new_stack,
    only,
    resources,
)

MORNING = "cron(0 8 ? * MON-FRI *)"


def policies(template: Template) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy")


@pytest.mark.parametrize("kind", ["hub", "tuned", "custom"])
def test_target_tracking_on_invocations_per_instance(kind: str, code_dir: Path) -> None:
    stack = new_stack()
    build_on_g5(
        kind,
        stack,
        code_dir,
        instance_count=2,
        autoscaling=AutoScaling(min_capacity=2, max_capacity=6, target_invocations_per_instance=150),
    )
    template = Template.from_stack(stack)

    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ServiceNamespace"] == "sagemaker"
    # The resource id uses the endpoint's GetAtt: the target is registered after the endpoint exists.
    resource_id = json.dumps(target["ResourceId"])
    assert '"endpoint/"' in resource_id and "EndpointName" in resource_id and "/variant/AllTraffic" in resource_id
    assert "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint" in json.dumps(target["RoleARN"])
    (policy,) = policies(template).values()
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 150
    assert config["PredefinedMetricSpecification"] == {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert (config["ScaleInCooldown"], config["ScaleOutCooldown"]) == (300, 300)
    # No extra IAM role for Application Auto Scaling: it uses its service-linked role.
    roles = resources(template, "AWS::IAM::Role").values()
    assert roles  # the endpoint's own: without a role the all() below would hold for nothing
    assert all("application-autoscaling" not in json.dumps(r["Properties"]["AssumeRolePolicyDocument"]) for r in roles)


def test_cooldowns_and_schedules() -> None:
    stack = new_stack()
    settings = AutoScaling(
        max_capacity=4,
        target_invocations_per_instance=100,
        scale_in_cooldown=Duration.minutes(10),
        scale_out_cooldown=Duration.seconds(120),
        schedules=[
            ScheduledCapacity(schedule=appscaling.Schedule.expression(MORNING), min_capacity=2, name="office-hours"),
            ScheduledCapacity(
                schedule=appscaling.Schedule.cron(hour="20", minute="0"), max_capacity=1, time_zone="Europe/Paris"
            ),
        ],
    )
    build_on_g5("tuned", stack, autoscaling=settings)
    template = Template.from_stack(stack)

    config = next(iter(policies(template).values()))["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert (config["ScaleInCooldown"], config["ScaleOutCooldown"]) == (600, 120)
    actions = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]["ScheduledActions"]
    assert actions[0] == {
        "ScalableTargetAction": {"MinCapacity": 2},
        "Schedule": MORNING,
        "ScheduledActionName": "office-hours",
    }
    assert actions[1]["ScheduledActionName"] == "schedule-2"
    assert actions[1]["ScalableTargetAction"] == {"MaxCapacity": 1}
    assert actions[1]["Timezone"] == "Europe/Paris"


def test_schedule_only_autoscaling_has_no_policy() -> None:
    stack = new_stack()
    schedule = ScheduledCapacity(schedule=appscaling.Schedule.expression("rate(1 day)"), min_capacity=1)
    build_on_g5("tuned", stack, autoscaling=AutoScaling(max_capacity=2, schedules=[schedule]))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 1)
    assert policies(template) == {}


@pytest.mark.parametrize("kind", ["hub", "tuned"])
def test_async_scale_to_zero_uses_backlog_tracking_and_a_step_policy_from_zero(kind: str) -> None:
    stack = new_stack()
    endpoint = build_on_g5(
        kind,
        stack,
        instance_type="ml.m5.xlarge",
        async_inference=AsyncInference(),
        autoscaling=AutoScaling(max_capacity=3, scale_to_zero=True),
    )
    template = Template.from_stack(stack)

    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 3)
    by_type = {p["Properties"]["PolicyType"]: p["Properties"] for p in policies(template).values()}
    assert set(by_type) == {"TargetTrackingScaling", "StepScaling"}
    tracking = by_type["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 5
    assert tracking["CustomizedMetricSpecification"] == {
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint.physical_endpoint_name}],
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Average",
    }
    step = by_type["StepScaling"]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "ChangeInCapacity"
    assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    alarm = only(template, "AWS::CloudWatch::Alarm")["Properties"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": endpoint.physical_endpoint_name}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    step_id = next(k for k, p in policies(template).items() if p["Properties"]["PolicyType"] == "StepScaling")
    assert alarm["AlarmActions"] == [{"Ref": step_id}]
    # The endpoint starts with one instance; SageMaker requires at least one at creation.
    variant = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]["ProductionVariants"][0]
    assert variant["InitialInstanceCount"] == 1


def test_async_backlog_target_without_scale_to_zero() -> None:
    stack = new_stack()
    build_on_g5(
        "tuned",
        stack,
        instance_type="ml.m5.xlarge",
        async_inference=AsyncInference(),
        autoscaling=AutoScaling(max_capacity=3, target_backlog_per_instance=20),
    )
    template = Template.from_stack(stack)
    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["MinCapacity"] == 1
    (policy,) = policies(template).values()
    assert policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 20
    template.resource_count_is("AWS::CloudWatch::Alarm", 0)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"max_capacity": 0, "target_invocations_per_instance": 1}, "autoscaling.max_capacity: 0 must be a whole"),
        ({"max_capacity": 2.5, "target_invocations_per_instance": 1}, "autoscaling.max_capacity: 2.5 must be a whole"),
        (
            {"max_capacity": 2, "min_capacity": 3, "target_invocations_per_instance": 1},
            "autoscaling.min_capacity: 3 is above max_capacity (2)",
        ),
        (
            {"max_capacity": 2, "min_capacity": -1, "target_invocations_per_instance": 1},
            "autoscaling.min_capacity: -1 must be a whole number of at least 0",
        ),
        (
            {"max_capacity": 2, "min_capacity": 0, "target_invocations_per_instance": 1},
            "autoscaling.min_capacity: 0 needs scale_to_zero=True",
        ),
        (
            {"max_capacity": 2, "min_capacity": 1, "scale_to_zero": True},
            "autoscaling.min_capacity: 1 contradicts scale_to_zero=True",
        ),
        ({"max_capacity": 2, "target_invocations_per_instance": 0}, "target_invocations_per_instance: 0 must be"),
        ({"max_capacity": 2, "target_invocations_per_instance": "100"}, "target_invocations_per_instance: '100'"),
        ({"max_capacity": 2, "target_backlog_per_instance": -1}, "target_backlog_per_instance: -1 must be a number"),
        (
            {"max_capacity": 2, "target_invocations_per_instance": 1, "scale_in_cooldown": 300},
            "autoscaling.scale_in_cooldown: 300 must be a Duration",
        ),
        ({"max_capacity": 2}, "autoscaling: no way to scale given"),
        (
            {"max_capacity": 2, "schedules": ["cron(0 8 * * ? *)"]},
            "autoscaling.schedules[0]: 'cron(0 8 * * ? *)' must be a ScheduledCapacity",
        ),
    ],
)
def test_invalid_settings(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        AutoScaling(**kwargs)
    assert expected in str(error.value)


@pytest.mark.parametrize("time_zone", ["Europe/Paris", "America/New_York", "UTC", "Etc/GMT+9", "Pacific/Tahiti"])
def test_iana_time_zones_are_accepted(time_zone: str) -> None:
    schedule = ScheduledCapacity(schedule=appscaling.Schedule.expression(MORNING), min_capacity=1, time_zone=time_zone)
    assert schedule.to_config()["time_zone"] == time_zone


def test_deploy_time_time_zone_is_not_checked() -> None:
    stack = new_stack()
    time_zone = CfnParameter(stack, "TimeZone", default="Europe/Paris").value_as_string
    schedule = ScheduledCapacity(schedule=appscaling.Schedule.expression(MORNING), min_capacity=1, time_zone=time_zone)
    assert schedule.time_zone == time_zone


def test_duplicate_schedule_names() -> None:
    schedule = appscaling.Schedule.expression(MORNING)
    with pytest.raises(ConfigurationError) as error:
        AutoScaling(
            max_capacity=2,
            schedules=[
                ScheduledCapacity(schedule=schedule, min_capacity=1, name="a"),
                ScheduledCapacity(schedule=schedule, min_capacity=2, name="a"),
            ],
        )
    assert "autoscaling.schedules: ['a'] repeat a name" in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"schedule": appscaling.Schedule.expression("cron(0 8 * * ?)")}, "has 5 cron fields; Application Auto"),
        ({"schedule": appscaling.Schedule.expression("every day")}, "'every day' is not a schedule expression"),
        ({"schedule": "cron(0 8 * * ? *)"}, "must be an appscaling.Schedule"),
        ({"min_capacity": None}, "give min_capacity, max_capacity or both"),
        ({"min_capacity": 3, "max_capacity": 2}, "schedules[].min_capacity: 3 is above max_capacity (2)"),
        ({"min_capacity": -1}, "schedules[].min_capacity: -1 must be a whole number of at least 0"),
        ({"name": "a/b"}, "schedules[].name: 'a/b' must be 1-256 characters without ':', '/'"),
        ({"time_zone": ""}, "schedules[].time_zone: '' must be an IANA time zone name"),
        # Application Auto Scaling takes IANA names only, case-sensitive, and fails the deploy otherwise.
        ({"time_zone": "europe/paris"}, "'europe/paris' is not an IANA time zone name (e.g. 'Europe/Paris', "),
        ({"time_zone": "europe/paris"}, "did you mean 'Europe/Paris'?"),
        ({"time_zone": "Asia/Tokio"}, "did you mean 'Asia/Tokyo'?"),
        ({"time_zone": "PST"}, "schedules[].time_zone: 'PST' is not an IANA time zone name"),
    ],
)
def test_invalid_schedules(kwargs: dict[str, Any], expected: str) -> None:
    values: dict[str, Any] = {"schedule": appscaling.Schedule.expression(MORNING), "min_capacity": 1}
    values.update(kwargs)
    with pytest.raises(ConfigurationError) as error:
        ScheduledCapacity(**values)
    assert expected in str(error.value)


def test_rejects_serverless() -> None:
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "E",
            model_data=TUNED_URI,
            task="fill-mask",
            serverless=ServerlessInference(),
            autoscaling=AutoScaling(max_capacity=2, target_invocations_per_instance=10),
        )
    assert "autoscaling / serverless: both given" in str(error.value)


def test_rejects_burstable_instances() -> None:
    message = build_on_g5_error(
        "tuned",
        autoscaling=AutoScaling(max_capacity=2, target_invocations_per_instance=10),
        instance_type="ml.t2.medium",
    )
    assert "cannot scale instance_type ml.t2.medium: burstable ml.t* instances do not support autoscaling" in message


def test_rejects_scale_to_zero_and_backlog_without_async() -> None:
    message = build_on_g5_error(
        "tuned", autoscaling=AutoScaling(max_capacity=2, scale_to_zero=True, target_backlog_per_instance=3)
    )
    assert "autoscaling.scale_to_zero / async_inference: scale_to_zero needs async_inference" in message
    assert "autoscaling.target_backlog_per_instance / async_inference" in message


@pytest.mark.parametrize(("count", "low", "high"), [(3, 1, 2), (1, 2, 4)])
def test_rejects_instance_count_outside_the_range(count: int, low: int, high: int) -> None:
    settings = AutoScaling(min_capacity=low, max_capacity=high, target_invocations_per_instance=10)
    message = build_on_g5_error("tuned", autoscaling=settings, instance_count=count)
    assert f"instance_count: {count} is outside autoscaling's range {low}..{high}" in message


def test_rejects_wrong_type() -> None:
    assert "autoscaling: {'max_capacity': 2} must be an AutoScaling" in build_on_g5_error(
        "tuned", autoscaling={"max_capacity": 2}
    )


def test_from_config_round_trip() -> None:
    data = {
        "max_capacity": 4,
        "min_capacity": 2,
        "target_invocations_per_instance": 200,
        "scale_in_cooldown": 600,
        "scale_out_cooldown": 120,
        "schedules": [
            {"schedule": MORNING, "min_capacity": 3, "name": "office-hours", "time_zone": "Europe/Paris"},
            {"schedule": "rate(1 day)", "max_capacity": 2},
        ],
    }
    settings = AutoScaling.from_config(data)
    assert settings.scale_in_cooldown.to_seconds() == 600
    assert settings.schedules[0].schedule.expression_string == MORNING
    assert settings.to_config() == data
    assert AutoScaling.from_config(settings.to_config()).to_config() == data
    zero = AutoScaling.from_config({"max_capacity": 2, "scale_to_zero": True})
    assert zero.effective_min_capacity == 0 and zero.effective_backlog_target == 5.0
    assert zero.to_config() == {
        "max_capacity": 2,
        "scale_in_cooldown": 300,
        "scale_out_cooldown": 300,
        "scale_to_zero": True,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"max_capacity": 2, "target": 5}, "autoscaling: unknown key(s) target; allowed: max_capacity, min_capacity"),
        ({"target_invocations_per_instance": 5}, "autoscaling.max_capacity: is required"),
        ({"max_capacity": 2, "scale_in_cooldown": "5m"}, "autoscaling.scale_in_cooldown: '5m' must be whole seconds"),
        ({"max_capacity": 2, "schedules": {"schedule": MORNING}}, "autoscaling.schedules: {'schedule'"),
        (
            {"max_capacity": 2, "schedules": [{"schedule": MORNING, "min": 1}]},
            "autoscaling.schedules[]: unknown key(s) min; allowed: max_capacity, min_capacity, name, schedule, "
            "time_zone",
        ),
        (
            {"max_capacity": 2, "schedules": [{"schedule": "cron(0 8 * * ?)", "min_capacity": 1}]},
            "autoscaling.schedules[].schedule: 'cron(0 8 * * ?)' has 5 cron fields",
        ),
        ({"max_capacity": 2, "schedules": [{"min_capacity": 1}]}, "schedules[].schedule: None must be a schedule"),
    ],
)
def test_from_config_errors(data: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        AutoScaling.from_config(data)
    assert expected in str(error.value)


def test_fractional_autoscaling_cooldown_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"autoscaling.scale_out_cooldown: '1.5 seconds' must be whole"):
        AutoScaling(max_capacity=2, target_invocations_per_instance=10, scale_out_cooldown=Duration.millis(1500))
