"""Scaling a component's copies and scale to zero (components/scaling.py): the four parts, their dependencies,
the defaults on an endpoint with ``min_instances=0``, and rolling updates (deployment.py)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration

from constructs_lib import ComponentDeployment, ComponentScaling

from ..support import SST2, error_of, resources, warnings_of
from .support import (
    ALARM,
    COMPONENT,
    POLICY,
    TARGET,
    component_named,
    depends_on,
    logical_id,
    shared_endpoint,
    template_of,
)


def _zero_endpoint(**model: Any) -> Any:
    endpoint = shared_endpoint(min_instances=0, max_instances=2)
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", **model)
    return endpoint


def test_min_instances_zero_gives_every_component_the_four_parts_of_scale_to_zero() -> None:
    endpoint = _zero_endpoint(copies=2)
    (sentiment,) = endpoint.components
    template = template_of(endpoint)
    component_id = logical_id(template, COMPONENT, "Sentiment")
    target_id = logical_id(template, TARGET, "Sentiment")

    (target,) = resources(template, TARGET).values()
    assert target["Properties"] == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"inference-component/{sentiment.component_name}",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        "MinCapacity": 0,
        "MaxCapacity": 2,
        "RoleARN": target["Properties"]["RoleARN"],
        "Tags": target["Properties"]["Tags"],
    }
    # The resource id is a plain string: without the explicit dependency the target may be registered first.
    assert component_id in depends_on(template, target_id)

    policies = {p["Properties"]["PolicyType"]: p["Properties"] for p in resources(template, POLICY).values()}
    assert set(policies) == {"TargetTrackingScaling", "StepScaling"}
    tracking = policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    }
    assert tracking["TargetValue"] == 5
    step = policies["StepScaling"]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "ChangeInCapacity"
    assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    for policy in policies.values():
        assert policy["ScalingTargetId"] == {"Ref": target_id}

    (alarm,) = resources(template, ALARM).values()
    step_id = logical_id(template, POLICY, "ScaleOutFromZero")
    assert alarm["Properties"]["MetricName"] == "NoCapacityInvocationFailures"
    assert alarm["Properties"]["Dimensions"] == [{"Name": "InferenceComponentName", "Value": sentiment.component_name}]
    assert (alarm["Properties"]["Threshold"], alarm["Properties"]["Period"]) == (1, 60)
    assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Properties"]["AlarmActions"] == [{"Ref": step_id}]
    assert sentiment.scalable_target is not None


def test_min_instances_zero_renders_min_instance_count_zero() -> None:
    template = template_of(_zero_endpoint())
    config = next(iter(resources(template, "AWS::SageMaker::EndpointConfig").values()))
    assert config["Properties"]["ProductionVariants"][0]["ManagedInstanceScaling"]["MinInstanceCount"] == 0


def test_a_component_whose_autoscaling_keeps_a_copy_gets_no_wake_up_and_warns() -> None:
    scaling = ComponentScaling(max_copies=3, min_copies=1, target_invocations_per_copy=100)
    endpoint = _zero_endpoint(autoscaling=scaling)
    template = template_of(endpoint)
    (target,) = resources(template, TARGET).values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (1, 3)
    (policy,) = resources(template, POLICY).values()
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerInferenceComponentInvocationsPerCopy"
    )
    assert resources(template, ALARM) == {}
    (sentiment,) = endpoint.components
    assert warnings_of(sentiment, "the endpoint never scales to zero instances while it exists")


def test_without_scale_to_zero_a_component_has_a_fixed_copy_count() -> None:
    endpoint = shared_endpoint()
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=2)
    template = template_of(endpoint)
    assert resources(template, TARGET) == {} and resources(template, POLICY) == {}
    assert component_named(template, "Sentiment")["RuntimeConfig"] == {"CopyCount": 2}


def test_autoscaling_on_an_always_on_endpoint_scales_from_one_with_its_cooldowns() -> None:
    scaling = ComponentScaling(
        max_copies=4,
        target_concurrent_requests_per_copy=8,
        scale_in_cooldown=Duration.minutes(10),
        scale_out_cooldown=Duration.seconds(60),
    )
    endpoint = shared_endpoint()
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", autoscaling=scaling)
    template = template_of(endpoint)
    (target,) = resources(template, TARGET).values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (1, 4)
    (policy,) = resources(template, POLICY).values()
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (8, 600, 60)
    assert resources(template, ALARM) == {}


def test_the_packing_counts_max_copies_towards_max_instances() -> None:
    scaling = ComponentScaling(max_copies=6, target_invocations_per_copy=10)
    endpoint = shared_endpoint()
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", autoscaling=scaling)
    config = next(iter(resources(template_of(endpoint), "AWS::SageMaker::EndpointConfig").values()))
    # 6 one-GPU copies need two 4-GPU instances at their peak: managed instance scaling may go to 2.
    assert config["Properties"]["ProductionVariants"][0]["ManagedInstanceScaling"]["MaxInstanceCount"] == 2


def test_from_config_reads_cooldowns_in_seconds_and_refuses_unknown_keys() -> None:
    scaling = ComponentScaling.from_config({"max_copies": 2, "target_invocations_per_copy": 5, "scale_in_cooldown": 90})
    assert scaling.scale_in_cooldown.to_seconds() == 90
    assert "autoscaling.max_copies: is required" in error_of(
        lambda: ComponentScaling.from_config({"target_invocations_per_copy": 5})
    )
    assert "colour" in error_of(lambda: ComponentScaling.from_config({"max_copies": 1, "colour": "red"}))


# --------------------------------------------------------------------------------------- deployment
def test_a_rolling_update_renders_batch_wait_and_a_default_rollback_alarm() -> None:
    endpoint = shared_endpoint()
    deployment = ComponentDeployment.rolling(wait_interval=Duration.minutes(2))
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=2, deployment=deployment)
    template = template_of(endpoint)
    config = component_named(template, "Sentiment")["DeploymentConfig"]
    policy = config["RollingUpdatePolicy"]
    assert policy["MaximumBatchSize"] == {"Type": "CAPACITY_PERCENT", "Value": 50}
    assert policy["WaitIntervalInSeconds"] == 120
    (alarm_id,) = [key for key in resources(template, ALARM) if "RollbackAlarm" in key]
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": {"Ref": alarm_id}}]}
    alarm = resources(template, ALARM)[alarm_id]["Properties"]
    assert alarm["Threshold"] == 1 and alarm["EvaluationPeriods"] == 3
