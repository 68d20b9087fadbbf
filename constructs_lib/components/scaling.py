"""Scaling a component's copies (``ComponentScaling``), and the four parts scale to zero needs.

The copies of a component scale with Application Auto Scaling on ``inference-component/<name>``, dimension
``sagemaker:inference-component:DesiredCopyCount``; managed instance scaling then adds or releases instances to
place them. A component that may reach zero copies gets all four parts SageMaker documents ("Scale an endpoint to
zero instances"):

1. the scalable target with ``MinCapacity`` 0, which depends on the component explicitly (its resource id is a
   plain string, so CloudFormation would otherwise register it before the component exists);
2. target tracking on invocations or concurrent requests per copy, which scales in to 0 when traffic stops;
3. a step scaling policy that adds one copy, because target tracking cannot scale out from 0 (there is no
   per-copy metric without copies);
4. the alarm on ``NoCapacityInvocationFailures`` of the component that runs it: requests that found no copy.

Without the last two a component at zero copies would never wake. Waking takes minutes (an instance starts when
the endpoint has none, then the model downloads and loads), and requests fail until a copy serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._core.errors import ConfigurationError, Problems, check_config_keys, describe
from .._core.tokens import is_unresolved, is_whole
from ..features.autoscaling import scale_out_by_one_when, service_linked_role
from ..features.autoscaling.settings import check_targets_and_cooldowns

SCALABLE_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
"""The dimension inference components scale on."""
DEFAULT_CONCURRENT_REQUESTS_PER_COPY = 5.0
"""The target of a component that scales to zero without a ``ComponentScaling`` of its own."""
WAKE_PERIOD = Duration.minutes(1)
"""The period of the wake-up alarm: SageMaker's invocation metrics are per minute."""


def _five_minutes() -> Duration:
    return Duration.minutes(5)


@dataclass(frozen=True, kw_only=True)
class ComponentScaling:
    """Scale a component's copies with its load (``add_model(autoscaling=...)``).

    Give exactly one target. The component starts with ``copies`` copies, which must lie within
    ``[min_copies, max_copies]``.

    Example::

        shared.add_model("Chat", model_id="Qwen/Qwen2.5-7B-Instruct", task="text-generation",
            autoscaling=ComponentScaling(max_copies=4, target_concurrent_requests_per_copy=8))
    """

    max_copies: int
    """The most copies the component scales out to (at least 1)."""
    min_copies: int | None = None
    """The fewest copies it scales in to; 0 lets it scale to zero (and wake on the next request).

    :default: - 0 on an endpoint with ``min_instances=0``, else 1
    """
    target_invocations_per_copy: float | None = None
    """Target tracking on ``SageMakerInferenceComponentInvocationsPerCopy``: requests per copy per minute.

    :default: - none; give this or ``target_concurrent_requests_per_copy``
    """
    target_concurrent_requests_per_copy: float | None = None
    """Target tracking on ``SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution``: requests in flight
    per copy (reacts in seconds rather than minutes: the choice for LLMs).

    :default: - none; give this or ``target_invocations_per_copy``
    """
    scale_in_cooldown: Duration = field(default_factory=_five_minutes)
    """How long after a scale-in before another one.

    :default: Duration.minutes(5)
    """
    scale_out_cooldown: Duration = field(default_factory=_five_minutes)
    """How long after a scale-out before another one (a copy takes minutes to start serving).

    :default: Duration.minutes(5)
    """

    def __post_init__(self) -> None:
        problems = Problems("ComponentScaling")
        self._check(problems)
        problems.raise_if_any()

    def _check(self, problems: Problems) -> None:
        high, low = self.max_copies, self.min_copies
        if not is_unresolved(high) and not (is_whole(high) and high >= 1):
            problems.add("autoscaling.max_copies", high, "must be a whole number of at least 1")
        if low is not None and not is_unresolved(low):
            if not is_whole(low) or low < 0:
                problems.add("autoscaling.min_copies", low, "must be a whole number of at least 0")
            elif is_whole(high) and low > high:
                problems.add("autoscaling.min_copies", low, f"is above max_copies ({high})")
        targets = [self.target_invocations_per_copy, self.target_concurrent_requests_per_copy]
        if sum(target is not None for target in targets) != 1:
            problems.add_message(
                "autoscaling: give exactly one of target_invocations_per_copy and target_concurrent_requests_per_copy "
                f"(given: {describe(targets)}): the metric the copies are scaled on"
            )
        check_targets_and_cooldowns(
            self, ("target_invocations_per_copy", "target_concurrent_requests_per_copy"), problems
        )

    def effective_min_copies(self, min_instances: int) -> int:
        """``min_copies`` with its default applied on an endpoint with ``min_instances``."""
        if self.min_copies is not None:
            return self.min_copies
        return 0 if min_instances == 0 else 1

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Self:
        """Scaling from the app's JSON: cooldowns in seconds, e.g. ``{"max_copies": 4,
        "target_concurrent_requests_per_copy": 8, "scale_in_cooldown": 600}``.

        :raises ConfigurationError: for unknown keys (naming the allowed ones) or invalid values.
        """
        check_config_keys("autoscaling", data, (f.name for f in fields(cls)))
        if "max_copies" not in data:
            raise ConfigurationError("autoscaling.max_copies: is required (the most copies to scale out to)")
        values = dict(data)
        for name in ("scale_in_cooldown", "scale_out_cooldown"):
            if name in values:
                seconds = values[name]
                if not is_whole(seconds) or seconds < 0:
                    raise ConfigurationError(f"autoscaling.{name}: {describe(seconds)} must be whole seconds (>= 0)")
                values[name] = Duration.seconds(seconds)
        return cls(**values)


def default_scaling(copies: int) -> ComponentScaling:
    """How a component without ``autoscaling`` scales on an endpoint with ``min_instances=0``: between 0 and its
    ``copies``, on concurrent requests per copy."""
    return ComponentScaling(
        max_copies=max(copies, 1),
        min_copies=0,
        target_concurrent_requests_per_copy=DEFAULT_CONCURRENT_REQUESTS_PER_COPY,
    )


@dataclass(frozen=True)
class ScalingParts:
    """What scales one component, for users who add policies of their own."""

    target: appscaling.ScalableTarget
    """The scalable target of the copy count."""
    wake_alarm: cloudwatch.Alarm | None
    """The alarm that adds a copy when requests find none (``None``: the component never reaches zero copies)."""


def build_scaling(
    scope: Construct,
    *,
    component: sagemaker.CfnInferenceComponent,
    component_name: str,
    scaling: ComponentScaling,
    min_copies: int,
    no_capacity: cloudwatch.Metric,
) -> ScalingParts:
    """The scalable target, its target tracking and, with ``min_copies`` 0, the wake-up policy and its alarm.

    :param no_capacity: the component's ``NoCapacityInvocationFailures`` (any statistic: the alarm takes the maximum).
    """
    scope = Construct(scope, "Scaling")
    target = appscaling.ScalableTarget(
        scope,
        "Target",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=f"inference-component/{component_name}",
        scalable_dimension=SCALABLE_DIMENSION,
        min_capacity=min_copies,
        max_capacity=scaling.max_copies,
        role=service_linked_role(scope),
    )
    # The resource id names the component by a plain string: without this the target may be registered first.
    target.node.add_dependency(component)
    target.scale_to_track_metric(
        "TargetTracking",
        target_value=_target(scaling),
        predefined_metric=_metric(scaling),
        scale_in_cooldown=scaling.scale_in_cooldown,
        scale_out_cooldown=scaling.scale_out_cooldown,
    )
    wake = _wake_up(scope, target, scaling, component_name, no_capacity) if min_copies == 0 else None
    return ScalingParts(target, wake)


def _target(scaling: ComponentScaling) -> float:
    value = scaling.target_concurrent_requests_per_copy
    return value if value is not None else float(scaling.target_invocations_per_copy or 0)


def _metric(scaling: ComponentScaling) -> appscaling.PredefinedMetric:
    if scaling.target_concurrent_requests_per_copy is not None:
        return appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION
    return appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY


def _wake_up(
    scope: Construct,
    target: appscaling.ScalableTarget,
    scaling: ComponentScaling,
    component_name: str,
    no_capacity: cloudwatch.Metric,
) -> cloudwatch.Alarm:
    """One more copy as soon as a request finds none: a step policy, and the alarm that runs it."""
    return scale_out_by_one_when(
        scope,
        target,
        "NoCapacity",
        cooldown=scaling.scale_out_cooldown,
        aggregation=appscaling.MetricAggregationType.MAXIMUM,
        metric=no_capacity.with_(statistic=cloudwatch.Stats.MAXIMUM, period=WAKE_PERIOD),
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"Requests to inference component {component_name} found no copy: start one",
    )
