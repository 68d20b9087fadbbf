"""Autoscaling of an endpoint's instance count (the ``autoscaling`` prop): the scalable target and its policies.

An Application Auto Scaling scalable target on ``endpoint/<name>/variant/AllTraffic`` (dimension
``sagemaker:variant:DesiredInstanceCount``), with any of:

- target tracking on ``SageMakerVariantInvocationsPerInstance``;
- scheduled capacity changes (cron, rate or at expressions);
- for asynchronous endpoints, target tracking on the queue (``ApproximateBacklogSizePerInstance``)
  and, with ``scale_to_zero``, a minimum of 0 instances plus a step scaling policy on
  ``HasBacklogWithoutCapacity`` that starts one instance when requests wait and none is running
  (the pattern AWS documents for async endpoints).

Only the main production variant scales; extra variants (``variants``) keep their instance count.
The target is the endpoint's ``scalable_target``: add policies of your own to it.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..._core.errors import Problems
from ..._core.names import INVOCATION_METRICS_NAMESPACE, VARIANT_NAME
from ..._core.tokens import is_unresolved, is_whole
from ...contract.facts import EndpointFacts, EndpointResources, FeatureOutputs
from ..base import EndpointFeature
from .settings import AutoScaling, schedule_name

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
"""The dimension SageMaker endpoints scale on."""

_SLR_PATH = "aws-service-role/sagemaker.application-autoscaling.amazonaws.com"
_SLR_NAME = "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"


class AutoScalingFeature(EndpointFeature):
    """The ``autoscaling`` prop: scalable target, target tracking, schedules, scale to zero."""

    def __init__(self, props: Any) -> None:
        self._settings = props.get("autoscaling")

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        settings = self._settings
        if not isinstance(settings, AutoScaling):
            problems.add("autoscaling", settings, "must be an AutoScaling, e.g. AutoScaling(max_capacity=4, ...)")
            return
        if facts.serverless:
            problems.add_message(
                "autoscaling / serverless: both given; serverless endpoints scale by themselves up to "
                "serverless.max_concurrency; drop autoscaling"
            )
            return
        spec = facts.instance_spec
        if spec is not None and spec.burstable:
            problems.add(
                "autoscaling",
                "(given)",
                f"cannot scale instance_type {spec.name}: burstable ml.t* instances do not support autoscaling; "
                "use e.g. ml.m5.large or ml.c5.large",
            )
        if not facts.asynchronous:
            if settings.scale_to_zero is True:
                problems.add_message(
                    "autoscaling.scale_to_zero / async_inference: scale_to_zero needs async_inference: a real-time "
                    "endpoint must keep an instance to answer requests; add async_inference=AsyncInference() "
                    "or use min_capacity >= 1"
                )
            if settings.target_backlog_per_instance is not None:
                problems.add_message(
                    "autoscaling.target_backlog_per_instance / async_inference: the backlog metric exists only "
                    "for async endpoints; add async_inference or use target_invocations_per_instance"
                )
        count = facts.instance_count
        low, high = settings.effective_min_capacity, settings.max_capacity
        if all(is_whole(v) and not is_unresolved(v) for v in (count, low, high)) and not low <= count <= high:
            problems.add(
                "instance_count",
                count,
                f"is outside autoscaling's range {low}..{high} (min_capacity..max_capacity); the endpoint starts "
                "with instance_count instances",
            )

    def apply(self, facts: EndpointFacts, resources: EndpointResources) -> FeatureOutputs:
        return FeatureOutputs(scalable_target=_build(facts, resources, self._settings))


def service_linked_role(scope: Construct) -> iam.IRole:
    """The role Application Auto Scaling manages SageMaker variants and inference components with, imported
    under ``scope``."""
    # A service-linked role, created by RegisterScalableTarget when missing. Without it the L2 would create an
    # unused service role.
    arn = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/{_SLR_PATH}/{_SLR_NAME}"
    return iam.Role.from_role_arn(scope, "ServiceLinkedRole", arn, mutable=False)


def _endpoint_metric(facts: EndpointFacts, name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=INVOCATION_METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"EndpointName": facts.physical_endpoint_name},
        statistic="Average",
        period=Duration.minutes(1),
    )


def _build(facts: EndpointFacts, resources: EndpointResources, settings: AutoScaling) -> appscaling.ScalableTarget:
    scope = Construct(facts.scope, "AutoScaling")
    target = appscaling.ScalableTarget(
        scope,
        "Target",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        # endpoint_name is the endpoint's GetAtt: the target is registered once the endpoint exists.
        resource_id=f"endpoint/{resources.endpoint.attr_endpoint_name}/variant/{VARIANT_NAME}",
        scalable_dimension=SCALABLE_DIMENSION,
        min_capacity=settings.effective_min_capacity,
        max_capacity=settings.max_capacity,
        role=service_linked_role(scope),
    )
    if settings.target_invocations_per_instance is not None:
        target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=settings.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=settings.scale_in_cooldown,
            scale_out_cooldown=settings.scale_out_cooldown,
        )
    backlog = settings.effective_backlog_target
    if backlog is not None:
        target.scale_to_track_metric(
            "BacklogPerInstance",
            target_value=backlog,
            custom_metric=_endpoint_metric(facts, "ApproximateBacklogSizePerInstance"),
            scale_in_cooldown=settings.scale_in_cooldown,
            scale_out_cooldown=settings.scale_out_cooldown,
        )
    if settings.scale_to_zero:
        _scale_out_from_zero(facts, scope, target, settings)
    for index, schedule in enumerate(settings.schedules):
        target.scale_on_schedule(
            schedule.name or schedule_name(index),
            schedule=schedule.schedule,
            min_capacity=schedule.min_capacity,
            max_capacity=schedule.max_capacity,
            time_zone=TimeZone.of(schedule.time_zone) if schedule.time_zone else None,
        )
    return target


def _scale_out_from_zero(
    facts: EndpointFacts, scope: Construct, target: appscaling.ScalableTarget, settings: AutoScaling
) -> None:
    # Target tracking cannot scale out from 0 (there is no per-instance metric without instances):
    # HasBacklogWithoutCapacity is 1 when requests wait and no instance runs; add one instance then.
    scale_out_by_one_when(
        scope,
        target,
        "HasBacklogWithoutCapacity",
        cooldown=settings.scale_out_cooldown,
        aggregation=appscaling.MetricAggregationType.AVERAGE,
        metric=_endpoint_metric(facts, "HasBacklogWithoutCapacity"),
        evaluation_periods=2,
        datapoints_to_alarm=2,
        treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        alarm_description=f"Requests wait for {facts.physical_endpoint_name}, which has no instance: start one",
    )


def scale_out_by_one_when(
    scope: Construct,
    target: appscaling.ScalableTarget,
    alarm_id: str,
    *,
    cooldown: Duration | None,
    aggregation: appscaling.MetricAggregationType,
    **alarm: Any,
) -> cloudwatch.Alarm:
    """Add one unit of ``target`` (an instance, a copy) whenever an alarm on ``alarm['metric']`` reaches 1: how
    a target at zero wakes up, since target tracking has no per-unit metric to follow there. A
    ``StepScalingAction`` with its own alarm, because the L2 step policy requires two intervals."""
    action = appscaling.StepScalingAction(
        scope,
        "ScaleOutFromZero",
        scaling_target=target,
        adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown=cooldown,
        metric_aggregation_type=aggregation,
    )
    action.add_adjustment(adjustment=1, lower_bound=0)
    created = cloudwatch.Alarm(
        scope,
        alarm_id,
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        **alarm,
    )
    created.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(action))
    return created


FEATURE_CLASS = AutoScalingFeature
