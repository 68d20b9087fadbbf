"""Guarded deployments (``features.deployment``): DeploymentConfig rendering, rollback alarms without cycles,
validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    DeploymentGuardrails,
    DeploymentType,
    EndpointAlarms,
    FineTunedEndpoint,
    HubModelEndpoint,
    ModelVariant,
    ServerlessInference,
    Serving,
)

from ..support import (
    SST2,
    TUNED_URI,
    error_of,
    hub,
    new_stack,
    only,
    resources,
    synth,
)


def deployment_config(template: Template) -> dict[str, Any]:
    config: dict[str, Any] = only(template, "AWS::SageMaker::Endpoint")["Properties"]["DeploymentConfig"]
    return config


def rollback_refs(template: Template) -> list[Any]:
    return [a["AlarmName"] for a in deployment_config(template)["AutoRollbackConfiguration"]["Alarms"]]


@pytest.mark.parametrize(
    ("guardrails", "count", "expected"),
    [
        pytest.param(
            DeploymentGuardrails.all_at_once(termination_wait=Duration.minutes(2)),
            1,
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
                    "TerminationWaitInSeconds": 120,
                }
            },
            id="all-at-once",
        ),
        pytest.param(
            DeploymentGuardrails.canary(
                percent=10, wait_interval=Duration.minutes(10), max_execution_timeout=Duration.hours(1)
            ),
            1,
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "WaitIntervalInSeconds": 600,
                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                    },
                    "MaximumExecutionTimeoutInSeconds": 3600,
                }
            },
            id="canary-percent",
        ),
        pytest.param(
            DeploymentGuardrails.canary(instances=1),
            4,
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "WaitIntervalInSeconds": 300,
                        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    }
                }
            },
            id="canary-instances",
        ),
        pytest.param(
            DeploymentGuardrails.linear(step_percent=25, wait_interval=Duration.seconds(240)),
            1,
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "LINEAR",
                        "WaitIntervalInSeconds": 240,
                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                    }
                }
            },
            id="linear",
        ),
        pytest.param(
            DeploymentGuardrails.rolling(
                batch_instances=2, rollback_batch_percent=50, max_execution_timeout=Duration.hours(2)
            ),
            4,
            {
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2},
                    "WaitIntervalInSeconds": 300,
                    "MaximumExecutionTimeoutInSeconds": 7200,
                    "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                }
            },
            id="rolling",
        ),
    ],
)
def test_each_policy_renders_its_deployment_config(
    guardrails: DeploymentGuardrails, count: int, expected: dict[str, Any]
) -> None:
    template = synth(lambda s: hub(s, deployment=guardrails, instance_count=count))

    config = deployment_config(template)
    assert {k: v for k, v in config.items() if k != "AutoRollbackConfiguration"} == expected
    assert len(config["AutoRollbackConfiguration"]["Alarms"]) == 2


def test_no_deployment_prop_leaves_sagemaker_default_and_creates_no_alarm() -> None:
    template = synth(lambda s: hub(s))

    assert "DeploymentConfig" not in only(template, "AWS::SageMaker::Endpoint")["Properties"]
    template.resource_count_is("AWS::CloudWatch::Alarm", 0)


def test_default_rollback_alarms_watch_the_literal_endpoint_name_without_a_cycle() -> None:
    stack = new_stack()
    endpoint = hub(stack, endpoint_name="sentiment-prod", deployment=DeploymentGuardrails.canary(percent=10))
    template = Template.from_stack(stack)  # raises on a dependency cycle

    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 2
    endpoint_id = stack.get_logical_id(endpoint.cfn_endpoint)
    for alarm in alarms.values():
        text = json.dumps(alarm)
        # No Ref/GetAtt/DependsOn on the endpoint: only the endpoint depends on the alarms.
        assert endpoint_id not in text
        assert '{"Name": "EndpointName", "Value": "sentiment-prod"}' in text
        assert "DependsOn" not in alarm
    assert sorted(ref["Ref"] for ref in rollback_refs(template)) == sorted(alarms)
    latency = next(a for a in alarms.values() if a["Properties"].get("MetricName") == "ModelLatency")
    assert latency["Properties"]["ExtendedStatistic"] == "p99"
    assert latency["Properties"]["Threshold"] == 2_000_000  # 2 s in microseconds
    errors = next(a for a in alarms.values() if "Metrics" in a["Properties"])
    assert errors["Properties"]["Metrics"][0]["Expression"] == "100 * FILL(errors, 0) / invocations"
    assert errors["Properties"]["Threshold"] == 1
    assert set(endpoint.alarms) == {"errors_5xx", "model_latency"}


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda s, d: hub(s, deployment=d), id="hub"),
        pytest.param(
            lambda s, d: FineTunedEndpoint(
                s, "Tuned", model_data=TUNED_URI, task="fill-mask", instance_type="ml.m5.xlarge", deployment=d
            ),
            id="tuned",
        ),
        pytest.param(
            lambda s, d: CustomScriptEndpoint(
                s, "Custom", code_dir=s.code_dir, model_id=SST2, instance_type="ml.m5.xlarge", deployment=d
            ),
            id="custom-hub",
        ),
    ],
)
def test_guardrails_work_on_all_three_constructs(build: Any, code_dir: Path) -> None:
    stack = new_stack()
    stack.code_dir = code_dir  # type: ignore[attr-defined]
    build(stack, DeploymentGuardrails.linear(step_percent=20))
    template = Template.from_stack(stack)

    assert deployment_config(template)["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "LINEAR"
    assert len(rollback_refs(template)) == 2


def test_custom_rollback_alarms_replace_the_default_ones() -> None:
    stack = new_stack()
    mine = cloudwatch.Alarm(
        stack,
        "Mine",
        metric=cloudwatch.Metric(namespace="Custom", metric_name="BadAnswers"),
        threshold=5,
        evaluation_periods=1,
    )
    hub(stack, deployment=DeploymentGuardrails.all_at_once(auto_rollback_alarms=[mine]))
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::CloudWatch::Alarm", 1)
    assert rollback_refs(template) == [{"Ref": stack.get_logical_id(mine.node.default_child)}]  # type: ignore[arg-type]


def test_empty_rollback_alarms_turn_automatic_rollback_off() -> None:
    template = synth(lambda s: hub(s, deployment=DeploymentGuardrails.canary(auto_rollback_alarms=[])))

    assert "AutoRollbackConfiguration" not in deployment_config(template)
    template.resource_count_is("AWS::CloudWatch::Alarm", 0)


def test_rollback_alarms_are_shared_with_alarms_prop_and_use_its_thresholds() -> None:
    settings = EndpointAlarms(error_5xx_rate_percent=5, model_latency_p99=Duration.millis(800))
    template = synth(lambda s: hub(s, alarms=settings, deployment=DeploymentGuardrails.canary()))

    alarms = resources(template, "AWS::CloudWatch::Alarm")
    # 5XX, latency, GPU memory, disk: the rollback ones are not duplicated.
    assert len(alarms) == 4
    latency = [a for a in alarms.values() if a["Properties"].get("MetricName") == "ModelLatency"]
    assert len(latency) == 1
    assert latency[0]["Properties"]["Threshold"] == 800_000
    errors = [a for a in alarms.values() if "Metrics" in a["Properties"]]
    assert len(errors) == 1 and errors[0]["Properties"]["Threshold"] == 5
    refs = {ref["Ref"] for ref in rollback_refs(template)}
    assert refs == {*(k for k, a in alarms.items() if a in latency + errors)}


@pytest.mark.parametrize("serving", [Serving.AUTO, Serving.TGI], ids=["vllm", "tgi"])
def test_llm_rollback_latency_threshold_allows_for_generation(serving: Serving) -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s,
            "Llm",
            model_id="Qwen/Qwen2.5-0.5B-Instruct",
            task="text-generation",
            instance_type="ml.g5.2xlarge",
            deployment=DeploymentGuardrails.all_at_once(),
            serving=serving,
        )
    )
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"MetricName": "ModelLatency", "Threshold": 30_000_000})


def test_serverless_endpoint_accepts_blue_green_by_percentage() -> None:
    template = synth(
        lambda s: hub(s, instance_type=None, serverless=ServerlessInference(), deployment=DeploymentGuardrails.canary())
    )
    assert deployment_config(template)["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"


@pytest.mark.parametrize(
    "guardrails",
    [
        DeploymentGuardrails.all_at_once(),
        DeploymentGuardrails.canary(),
        DeploymentGuardrails.linear(),
        DeploymentGuardrails.rolling(),
    ],
    ids=lambda guardrails: guardrails.type.value,
)
def test_guardrails_on_inferentia1_are_a_synth_error_naming_the_instance(guardrails: DeploymentGuardrails) -> None:
    # SageMaker ignores deployment guardrails on Inf1 and updates all at once, without baking or rollback.
    # No such endpoint must synthesize: the instance catalogue has no Inf1 type (Inferentia2 only).
    message = error_of(lambda: hub(new_stack(), instance_type="ml.inf1.xlarge", deployment=guardrails))
    assert "instance_type: 'ml.inf1.xlarge' is not a known SageMaker hosting instance type" in message


def test_baking_shorter_than_alarm_window_warns() -> None:
    stack = new_stack()
    hub(stack, deployment=DeploymentGuardrails.canary(wait_interval=Duration.seconds(60)))

    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("bakes for 60 seconds per step"))


def test_timeout_shorter_than_all_baking_periods_warns() -> None:
    stack = new_stack()
    guardrails = DeploymentGuardrails.linear(
        step_percent=10, wait_interval=Duration.minutes(5), max_execution_timeout=Duration.minutes(30)
    )
    hub(stack, deployment=guardrails)

    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("10 baking period"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DeploymentGuardrails.all_at_once(wait_interval=Duration.hours(2)), "wait_interval: '7200 seconds'"),
        (lambda: DeploymentGuardrails.all_at_once(wait_interval=Duration.millis(1500)), "whole seconds from 0 to 3600"),
        (lambda: DeploymentGuardrails.all_at_once(termination_wait=Duration.hours(2)), "termination_wait"),
        (lambda: DeploymentGuardrails.canary(max_execution_timeout=Duration.minutes(5)), "from 600 to 28800"),
        (lambda: DeploymentGuardrails.canary(max_execution_timeout=Duration.hours(9)), "from 600 to 28800"),
        (lambda: DeploymentGuardrails.canary(percent=60), "percent: 60 must be a whole percentage from 1 to 50"),
        (lambda: DeploymentGuardrails.canary(percent=10, instances=1), "give percent or instances, not both"),
        (lambda: DeploymentGuardrails.canary(instances=0), "instances: 0 must be a whole number of at least 1"),
        (lambda: DeploymentGuardrails.linear(step_percent=5), "step_percent: 5 must be a whole percentage from 10"),
        (lambda: DeploymentGuardrails.rolling(batch_percent=75), "batch_percent: 75 must be a whole percentage from 5"),
        (lambda: DeploymentGuardrails.rolling(rollback_batch_percent=0), "rollback_batch_percent: 0"),
        (lambda: DeploymentGuardrails.canary(wait_interval=5), "must be a Duration"),  # type: ignore[arg-type]
        (
            lambda: DeploymentGuardrails.all_at_once(
                wait_interval=Duration.minutes(50),
                termination_wait=Duration.minutes(20),
                max_execution_timeout=Duration.minutes(60),
            ),
            "must be longer than wait_interval + termination_wait (4200 seconds)",
        ),
    ],
)
def test_invalid_values_are_rejected_at_construction(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        make()
    assert message in str(error.value)


def test_too_many_rollback_alarms_are_rejected() -> None:
    stack = new_stack()
    metric = cloudwatch.Metric(namespace="Custom", metric_name="M")
    alarms = [cloudwatch.Alarm(stack, f"A{i}", metric=metric, threshold=1, evaluation_periods=1) for i in range(11)]
    with pytest.raises(ConfigurationError, match="11 alarms' are too many: SageMaker watches at most 10"):
        DeploymentGuardrails.canary(auto_rollback_alarms=alarms)


def test_several_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as error:
        DeploymentGuardrails.rolling(batch_percent=90, wait_interval=Duration.hours(3))
    assert "2 invalid props" in str(error.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"instance_type": None, "serverless": ServerlessInference(), "deployment": DeploymentGuardrails.rolling()},
            "is not possible on a serverless endpoint",
        ),
        (
            {
                "instance_type": None,
                "serverless": ServerlessInference(),
                "deployment": DeploymentGuardrails.canary(instances=1),
            },
            "a serverless endpoint has none; give a percentage instead",
        ),
        (
            {"instance_count": 2, "deployment": DeploymentGuardrails.canary(instances=2)},
            "is more than half of the variant's 2 instance(s)",
        ),
        (
            {"instance_count": 1, "deployment": DeploymentGuardrails.rolling(batch_instances=1)},
            "use a percentage, or more instances",
        ),
        (
            {"instance_count": 20, "deployment": DeploymentGuardrails.linear(step_instances=1)},
            "is less than 10% of the variant's 20 instances",
        ),
        (
            {
                "instance_count": 4,
                "deployment": DeploymentGuardrails.rolling(batch_instances=1, rollback_batch_instances=5),
            },
            "rollback batch of 5 instance(s)' is more than the variant's 4 instance(s)",
        ),
        ({"deployment": {"type": "canary"}}, "must be a DeploymentGuardrails"),
        (
            {
                "variants": [ModelVariant(name="roberta", model_id="FacebookAI/roberta-base", task="fill-mask")],
                "deployment": DeploymentGuardrails.rolling(),
            },
            "is not possible on a multi-variant endpoint",
        ),
    ],
)
def test_invalid_combinations_are_rejected_at_synth(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        hub(new_stack(), **kwargs)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "config",
    [
        {"type": "all_at_once", "wait_seconds": 0, "termination_wait_seconds": 60},
        {"type": "canary", "percent": 10, "wait_seconds": 300},
        {"type": "canary", "instances": 1, "wait_seconds": 600, "max_execution_timeout_seconds": 3600},
        {"type": "linear", "step_percent": 25, "wait_seconds": 120, "auto_rollback": False},
        {"type": "rolling", "batch_percent": 20, "wait_seconds": 300, "rollback_batch_instances": 2},
    ],
)
def test_from_config_round_trips(config: dict[str, Any]) -> None:
    guardrails = DeploymentGuardrails.from_config(config)

    assert guardrails.type is DeploymentType(config["type"])
    assert guardrails.to_config() == config
    assert DeploymentGuardrails.from_config(json.loads(json.dumps(guardrails.to_config()))).to_config() == config


def test_from_config_defaults_match_the_factories() -> None:
    guardrails = DeploymentGuardrails.from_config({"type": "canary"})

    assert guardrails.to_config() == {"type": "canary", "percent": 10, "wait_seconds": 300}
    assert guardrails.auto_rollback_alarms is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "canary", "step_percent": 10}, "unknown key(s) 'step_percent'"),
        ({"type": "rolling", "termination_wait_seconds": 10}, "unknown key(s) 'termination_wait_seconds'"),
        ({"type": "blue-green"}, "deployment.type: 'blue-green' is not a deployment type"),
        ({"percent": 10}, "deployment.type: None is not a deployment type"),
        ({"type": "canary", "wait_seconds": "300"}, "deployment.wait_seconds: '300' must be whole seconds from 0"),
        ({"type": "canary", "auto_rollback": "no"}, "deployment.auto_rollback: 'no' must be true or false"),
        ({"type": "linear", "step_percent": 70}, "step_percent: 70"),
        (["canary"], "must be an object"),
    ],
)
def test_from_config_rejects_bad_input(config: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        DeploymentGuardrails.from_config(config)
    assert message in str(error.value)


def test_to_config_refuses_custom_alarms() -> None:
    stack = new_stack()
    alarm = cloudwatch.Alarm(
        stack, "A", metric=cloudwatch.Metric(namespace="C", metric_name="M"), threshold=1, evaluation_periods=1
    )
    with pytest.raises(ConfigurationError, match="cannot be written to a config file"):
        DeploymentGuardrails.canary(auto_rollback_alarms=[alarm]).to_config()
