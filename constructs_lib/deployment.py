"""Guarded deployments: how an endpoint update shifts traffic, and which alarms roll it back.

``DeploymentGuardrails`` renders the endpoint's ``DeploymentConfig``: a blue/green update
(all at once, canary or linear traffic shifting) or a rolling update, each with automatic
rollback on CloudWatch alarms. By default the rollback alarms are the endpoint's 5XX error-rate
and p99 model-latency alarms (``monitoring.py``), shared with ``alarms=...``. They watch metrics
whose dimensions hold the endpoint's physical name, not the endpoint's ``GetAtt``: the endpoint
references the alarms, the alarms never reference the endpoint, so there is no dependency cycle.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker

from ._core.errors import ConfigurationError, Problems, allowed_list, describe
from ._core.tokens import duration_seconds, is_number, is_unresolved
from .features import EndpointFeature
from .monitoring import alarm_settings, rollback_alarms

if TYPE_CHECKING:
    from .endpoint import EndpointBase

WAIT_RANGE = (0, 3600)
"""Allowed wait intervals and termination waits, in seconds."""
MAX_EXECUTION_RANGE = (600, 28800)
"""Allowed ``MaximumExecutionTimeoutInSeconds``."""
MAX_ROLLBACK_ALARMS = 10
"""``AutoRollbackConfiguration.Alarms`` holds at most 10 alarms."""
DEFAULT_WAIT = Duration.minutes(5)


class DeploymentType(enum.StrEnum):
    """How an update shifts traffic to the new fleet."""

    ALL_AT_ONCE = "all_at_once"
    """Blue/green: all traffic at once, then a baking period."""
    CANARY = "canary"
    """Blue/green: a small share first, then the rest."""
    LINEAR = "linear"
    """Blue/green: equal steps."""
    ROLLING = "rolling"
    """Rolling: replace instances in batches (needs fewer spare instances than blue/green)."""


@dataclass(frozen=True)
class CapacitySize:
    """A share of the variant's instances: a percentage (``CAPACITY_PERCENT``) or a count (``INSTANCE_COUNT``)."""

    type: str
    """``CAPACITY_PERCENT`` or ``INSTANCE_COUNT``."""
    value: int

    @property
    def is_percent(self) -> bool:
        return self.type == "CAPACITY_PERCENT"

    def render(self) -> sagemaker.CfnEndpoint.CapacitySizeProperty:
        return sagemaker.CfnEndpoint.CapacitySizeProperty(type=self.type, value=self.value)

    def describe(self) -> str:
        return f"{self.value}%" if self.is_percent else f"{self.value} instance(s)"


# Per deployment type: (percent prop, instances prop, percent range) of the traffic step.
_SIZE_PROPS: dict[DeploymentType, tuple[str, str, tuple[int, int]]] = {
    DeploymentType.CANARY: ("percent", "instances", (1, 50)),
    DeploymentType.LINEAR: ("step_percent", "step_instances", (10, 50)),
    DeploymentType.ROLLING: ("batch_percent", "batch_instances", (5, 50)),
}
_ROLLBACK_PROPS = ("rollback_batch_percent", "rollback_batch_instances")


class DeploymentGuardrails:
    """How endpoint updates shift traffic and which alarms roll them back (``deployment=...``).

    Create one with a factory: ``all_at_once``, ``canary``, ``linear`` or ``rolling``.
    ``auto_rollback_alarms`` defaults to two alarms the construct creates (5XX error rate and p99
    model latency, thresholds from ``alarms=EndpointAlarms(...)`` when given, see
    ``EndpointAlarms``); pass your own alarms instead, or ``[]`` for no automatic rollback.
    """

    def __init__(
        self,
        *,
        type: DeploymentType,
        wait_interval: Duration,
        size: CapacitySize | None = None,
        rollback_size: CapacitySize | None = None,
        termination_wait: Duration | None = None,
        max_execution_timeout: Duration | None = None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
        _problems: Problems | None = None,
    ) -> None:
        """Use the factories; this checks the values they pass."""
        problems = _problems or Problems(f"DeploymentGuardrails.{type.value}")
        _check_duration("wait_interval", wait_interval, WAIT_RANGE, problems)
        _check_duration("termination_wait", termination_wait, WAIT_RANGE, problems)
        _check_duration("max_execution_timeout", max_execution_timeout, MAX_EXECUTION_RANGE, problems)
        if auto_rollback_alarms is not None:
            if isinstance(auto_rollback_alarms, str | bytes) or not isinstance(auto_rollback_alarms, Sequence):
                problems.add("auto_rollback_alarms", auto_rollback_alarms, "must be a list of cloudwatch.IAlarm")
            else:
                if len(auto_rollback_alarms) > MAX_ROLLBACK_ALARMS:
                    problems.add(
                        "auto_rollback_alarms",
                        f"{len(auto_rollback_alarms)} alarms",
                        f"are too many: SageMaker watches at most {MAX_ROLLBACK_ALARMS}",
                    )
                for alarm in auto_rollback_alarms:
                    if not hasattr(alarm, "alarm_name"):
                        problems.add("auto_rollback_alarms", alarm, "is not a cloudwatch.IAlarm")
        if (
            max_execution_timeout is not None
            and _resolved(max_execution_timeout)
            and _resolved(wait_interval)
            and _resolved(termination_wait)
        ):
            waits = _seconds(wait_interval) + (_seconds(termination_wait) if termination_wait else 0)
            if _seconds(max_execution_timeout) <= waits:
                problems.add(
                    "max_execution_timeout",
                    f"{_seconds(max_execution_timeout)} seconds",
                    f"must be longer than wait_interval + termination_wait ({waits} seconds)",
                )
        problems.raise_if_any()
        self.type: DeploymentType = type
        """How traffic shifts."""
        self.wait_interval: Duration = wait_interval
        """Baking period after each step, during which SageMaker watches the alarms."""
        self.size: CapacitySize | None = size
        """Canary size, linear step or rolling batch (``None`` for all at once)."""
        self.rollback_size: CapacitySize | None = rollback_size
        """Rolling only: batch size of a rollback (``None``: all at once)."""
        self.termination_wait: Duration | None = termination_wait
        """Blue/green only: extra wait before the old fleet is terminated."""
        self.max_execution_timeout: Duration | None = max_execution_timeout
        """Time limit of the whole deployment."""
        self.auto_rollback_alarms: tuple[cloudwatch.IAlarm, ...] | None = (
            None if auto_rollback_alarms is None else tuple(auto_rollback_alarms)
        )
        """Alarms that roll the deployment back (``None``: the construct's default alarms)."""

    # ---------------------------------------------------------------------------- factories
    @classmethod
    def all_at_once(
        cls,
        *,
        wait_interval: Duration = DEFAULT_WAIT,
        termination_wait: Duration | None = None,
        max_execution_timeout: Duration | None = None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
    ) -> Self:
        """Blue/green: shift all traffic to the new fleet, bake, then terminate the old fleet.

        :param wait_interval: baking period after the shift (0 to 3600 s).
        :param termination_wait: extra wait before terminating the old fleet (0 to 3600 s).
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
        :default wait_interval: Duration.minutes(5)
        :default termination_wait: - SageMaker's default (0)
        :default max_execution_timeout: - SageMaker's default
        :default auto_rollback_alarms: - a 5XX error-rate alarm and a p99 model-latency alarm
        """
        return cls(
            type=DeploymentType.ALL_AT_ONCE,
            wait_interval=wait_interval,
            termination_wait=termination_wait,
            max_execution_timeout=max_execution_timeout,
            auto_rollback_alarms=auto_rollback_alarms,
        )

    @classmethod
    def canary(
        cls,
        *,
        percent: int | None = None,
        instances: int | None = None,
        wait_interval: Duration = DEFAULT_WAIT,
        termination_wait: Duration | None = None,
        max_execution_timeout: Duration | None = None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
    ) -> Self:
        """Blue/green: shift a canary share of the traffic, bake, then shift the rest.

        Give ``percent`` or ``instances`` (at most half the variant's instances).

        :param percent: canary size in percent of the capacity (1 to 50).
        :param instances: canary size in instances (at most half the instance count).
        :param wait_interval: baking period after each shift (0 to 3600 s).
        :param termination_wait: extra wait before terminating the old fleet (0 to 3600 s).
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
        :default percent: - 10 when ``instances`` is not given either
        :default instances: - the size is a percentage
        :default wait_interval: Duration.minutes(5)
        :default termination_wait: - SageMaker's default (0)
        :default max_execution_timeout: - SageMaker's default
        :default auto_rollback_alarms: - a 5XX error-rate alarm and a p99 model-latency alarm
        """
        return cls._blue_green_steps(
            DeploymentType.CANARY,
            "DeploymentGuardrails.canary",
            percent,
            instances,
            default_percent=10,
            wait_interval=wait_interval,
            termination_wait=termination_wait,
            max_execution_timeout=max_execution_timeout,
            auto_rollback_alarms=auto_rollback_alarms,
        )

    @classmethod
    def linear(
        cls,
        *,
        step_percent: int | None = None,
        step_instances: int | None = None,
        wait_interval: Duration = DEFAULT_WAIT,
        termination_wait: Duration | None = None,
        max_execution_timeout: Duration | None = None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
    ) -> Self:
        """Blue/green: shift traffic in equal steps, baking after each.

        Give ``step_percent`` or ``step_instances`` (10 % to 50 % of the variant's instances).

        :param step_percent: step size in percent of the capacity (10 to 50).
        :param step_instances: step size in instances (10 % to 50 % of the instance count).
        :param wait_interval: baking period after each step (0 to 3600 s).
        :param termination_wait: extra wait before terminating the old fleet (0 to 3600 s).
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
        :default step_percent: - 20 when ``step_instances`` is not given either
        :default step_instances: - the step is a percentage
        :default wait_interval: Duration.minutes(5)
        :default termination_wait: - SageMaker's default (0)
        :default max_execution_timeout: - SageMaker's default
        :default auto_rollback_alarms: - a 5XX error-rate alarm and a p99 model-latency alarm
        """
        return cls._blue_green_steps(
            DeploymentType.LINEAR,
            "DeploymentGuardrails.linear",
            step_percent,
            step_instances,
            default_percent=20,
            wait_interval=wait_interval,
            termination_wait=termination_wait,
            max_execution_timeout=max_execution_timeout,
            auto_rollback_alarms=auto_rollback_alarms,
        )

    @classmethod
    def _blue_green_steps(
        cls,
        kind: DeploymentType,
        subject: str,
        percent: int | None,
        instances: int | None,
        *,
        default_percent: int,
        wait_interval: Duration,
        termination_wait: Duration | None,
        max_execution_timeout: Duration | None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None,
    ) -> Self:
        """The shared body of :meth:`canary` and :meth:`linear`: a sized blue/green traffic shift."""
        problems = Problems(subject)
        size = _size(kind, percent, instances, problems, default_percent=default_percent)
        return cls(
            type=kind,
            size=size,
            wait_interval=wait_interval,
            termination_wait=termination_wait,
            max_execution_timeout=max_execution_timeout,
            auto_rollback_alarms=auto_rollback_alarms,
            _problems=problems,
        )

    @classmethod
    def rolling(
        cls,
        *,
        batch_percent: int | None = None,
        batch_instances: int | None = None,
        wait_interval: Duration = DEFAULT_WAIT,
        rollback_batch_percent: int | None = None,
        rollback_batch_instances: int | None = None,
        max_execution_timeout: Duration | None = None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
    ) -> Self:
        """Rolling: replace the instances batch by batch, baking after each batch.

        Needs fewer spare instances than blue/green (useful for scarce GPU instances). Not
        possible on serverless or multi-variant endpoints. Give ``batch_percent`` or
        ``batch_instances`` (5 % to 50 % of the variant's instances).

        :param batch_percent: batch size in percent of the capacity (5 to 50).
        :param batch_instances: batch size in instances (at most half the instance count).
        :param wait_interval: baking period after each batch (0 to 3600 s).
        :param rollback_batch_percent: batch size of a rollback in percent (1 to 100).
        :param rollback_batch_instances: batch size of a rollback in instances.
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
        :default batch_percent: - 25 when ``batch_instances`` is not given either
        :default batch_instances: - the batch is a percentage
        :default wait_interval: Duration.minutes(5)
        :default rollback_batch_percent: - 100 % (the whole old fleet at once)
        :default rollback_batch_instances: - the rollback batch is a percentage
        :default max_execution_timeout: - SageMaker's default
        :default auto_rollback_alarms: - a 5XX error-rate alarm and a p99 model-latency alarm
        """
        problems = Problems("DeploymentGuardrails.rolling")
        size = _size(DeploymentType.ROLLING, batch_percent, batch_instances, problems, default_percent=25)
        rollback = _rollback_size(rollback_batch_percent, rollback_batch_instances, problems)
        return cls(
            type=DeploymentType.ROLLING,
            size=size,
            rollback_size=rollback,
            wait_interval=wait_interval,
            max_execution_timeout=max_execution_timeout,
            auto_rollback_alarms=auto_rollback_alarms,
            _problems=problems,
        )

    # ------------------------------------------------------------------------------ config
    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Self:
        """Guardrails from the app config file, e.g. ``{"type": "canary", "percent": 10, "wait_seconds": 300}``.

        Keys: ``type`` (``all_at_once``, ``canary``, ``linear``, ``rolling``), the factory's size
        keys (``percent``/``instances``, ``step_percent``/``step_instances``,
        ``batch_percent``/``batch_instances``, ``rollback_batch_percent``/``rollback_batch_instances``),
        ``wait_seconds``, ``termination_wait_seconds`` (blue/green), ``max_execution_timeout_seconds``
        and ``auto_rollback`` (``false`` for no automatic rollback; custom alarms need code).
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"deployment: {describe(data)} must be an object with a 'type'")
        raw_type = data.get("type")
        try:
            kind = DeploymentType(str(raw_type))
        except ValueError:
            raise ConfigurationError(
                f"deployment.type: {describe(raw_type)} is not a deployment type; "
                f"allowed: {allowed_list(t.value for t in DeploymentType)}"
            ) from None
        common = {"type", "wait_seconds", "max_execution_timeout_seconds", "auto_rollback"}
        sizes = set(_SIZE_PROPS[kind][:2]) if kind in _SIZE_PROPS else set()
        extra = set(_ROLLBACK_PROPS) if kind is DeploymentType.ROLLING else {"termination_wait_seconds"}
        allowed = common | sizes | extra
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigurationError(
                f"deployment ({kind.value}): unknown key(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {allowed_list(allowed)}"
            )
        kwargs: dict[str, Any] = {key: data[key] for key in sizes | set(_ROLLBACK_PROPS) if key in data}
        for key, arg in (
            ("wait_seconds", "wait_interval"),
            ("termination_wait_seconds", "termination_wait"),
            ("max_execution_timeout_seconds", "max_execution_timeout"),
        ):
            if data.get(key) is not None:
                kwargs[arg] = Duration.seconds(_config_number(f"deployment.{key}", data[key]))
        auto_rollback = data.get("auto_rollback", True)
        if not isinstance(auto_rollback, bool):
            raise ConfigurationError(f"deployment.auto_rollback: {describe(auto_rollback)} must be true or false")
        if not auto_rollback:
            kwargs["auto_rollback_alarms"] = []
        if kind is DeploymentType.ALL_AT_ONCE:
            return cls.all_at_once(**kwargs)
        if kind is DeploymentType.CANARY:
            return cls.canary(**kwargs)
        if kind is DeploymentType.LINEAR:
            return cls.linear(**kwargs)
        return cls.rolling(**kwargs)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form ``from_config`` reads. Custom rollback alarms cannot be written."""
        if self.auto_rollback_alarms:
            raise ConfigurationError(
                "DeploymentGuardrails.to_config: custom auto_rollback_alarms are CDK objects and cannot be "
                "written to a config file"
            )
        config: dict[str, Any] = {"type": self.type.value, "wait_seconds": _seconds(self.wait_interval)}
        if self.size is not None:
            percent_key, instances_key, _ = _SIZE_PROPS[self.type]
            config[percent_key if self.size.is_percent else instances_key] = self.size.value
        if self.rollback_size is not None:
            key = _ROLLBACK_PROPS[0] if self.rollback_size.is_percent else _ROLLBACK_PROPS[1]
            config[key] = self.rollback_size.value
        if self.termination_wait is not None:
            config["termination_wait_seconds"] = _seconds(self.termination_wait)
        if self.max_execution_timeout is not None:
            config["max_execution_timeout_seconds"] = _seconds(self.max_execution_timeout)
        if self.auto_rollback_alarms is not None:
            config["auto_rollback"] = False
        return config

    # ------------------------------------------------------------------------------ render
    def render(self, alarms: Sequence[cloudwatch.IAlarm]) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
        """The endpoint's ``DeploymentConfig`` with these rollback alarms."""
        rollback = (
            sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name) for alarm in alarms]
            )
            if alarms
            else None
        )
        wait = _seconds(self.wait_interval)
        timeout = None if self.max_execution_timeout is None else _seconds(self.max_execution_timeout)
        if self.type is DeploymentType.ROLLING:
            assert self.size is not None
            return sagemaker.CfnEndpoint.DeploymentConfigProperty(
                rolling_update_policy=sagemaker.CfnEndpoint.RollingUpdatePolicyProperty(
                    maximum_batch_size=self.size.render(),
                    wait_interval_in_seconds=wait,
                    maximum_execution_timeout_in_seconds=timeout,
                    rollback_maximum_batch_size=self.rollback_size.render() if self.rollback_size else None,
                ),
                auto_rollback_configuration=rollback,
            )
        routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type=self.type.name,
            wait_interval_in_seconds=wait,
            canary_size=self.size.render() if self.type is DeploymentType.CANARY and self.size else None,
            linear_step_size=self.size.render() if self.type is DeploymentType.LINEAR and self.size else None,
        )
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=routing,
                termination_wait_in_seconds=None if self.termination_wait is None else _seconds(self.termination_wait),
                maximum_execution_timeout_in_seconds=timeout,
            ),
            auto_rollback_configuration=rollback,
        )

    def steps(self, instance_count: int | None) -> int | None:
        """How many baking periods a deployment has (``None`` when it depends on an unknown count)."""
        if self.type is DeploymentType.ALL_AT_ONCE:
            return 1
        if self.type is DeploymentType.CANARY:
            return 2
        assert self.size is not None
        if self.size.is_percent:
            return math.ceil(100 / self.size.value)
        if instance_count is None:
            return None
        return math.ceil(instance_count / self.size.value)


# ---------------------------------------------------------------------------------- helpers
def _resolved(value: Duration | None) -> bool:
    return value is None or (isinstance(value, Duration) and not value.is_unresolved())


def _seconds(value: Duration) -> int:
    return int(value.to_seconds())


def _config_number(prop: str, value: Any) -> float:
    if not is_number(value):
        raise ConfigurationError(f"{prop}: {describe(value)} must be a number of seconds")
    return float(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_duration(prop: str, value: Any, allowed: tuple[int, int], problems: Problems) -> None:
    if value is None:
        return
    if not isinstance(value, Duration):
        problems.add(prop, value, "must be a Duration, e.g. Duration.minutes(5)")
        return
    if value.is_unresolved():
        return
    seconds = duration_seconds(value)
    low, high = allowed
    if seconds != int(seconds) or not low <= seconds <= high:
        problems.add(prop, f"{seconds:g} seconds", f"must be whole seconds from {low} to {high}")


def _size(
    kind: DeploymentType, percent: Any, instances: Any, problems: Problems, *, default_percent: int
) -> CapacitySize | None:
    percent_prop, instances_prop, (low, high) = _SIZE_PROPS[kind]
    if percent is not None and instances is not None:
        problems.add_message(f"give {percent_prop} or {instances_prop}, not both")
        return None
    if instances is not None:
        if is_unresolved(instances):
            return CapacitySize("INSTANCE_COUNT", instances)
        if not _is_int(instances) or instances < 1:
            problems.add(instances_prop, instances, "must be a whole number of at least 1")
            return None
        return CapacitySize("INSTANCE_COUNT", instances)
    value = default_percent if percent is None else percent
    if is_unresolved(value):
        return CapacitySize("CAPACITY_PERCENT", value)
    if not _is_int(value) or not low <= value <= high:
        problems.add(percent_prop, value, f"must be a whole percentage from {low} to {high}")
        return None
    return CapacitySize("CAPACITY_PERCENT", value)


def _rollback_size(percent: Any, instances: Any, problems: Problems) -> CapacitySize | None:
    if percent is not None and instances is not None:
        problems.add_message("give rollback_batch_percent or rollback_batch_instances, not both")
        return None
    if instances is not None:
        if not is_unresolved(instances) and (not _is_int(instances) or instances < 1):
            problems.add("rollback_batch_instances", instances, "must be a whole number of at least 1")
            return None
        return CapacitySize("INSTANCE_COUNT", instances)
    if percent is not None:
        if not is_unresolved(percent) and (not _is_int(percent) or not 1 <= percent <= 100):
            problems.add("rollback_batch_percent", percent, "must be a whole percentage from 1 to 100")
            return None
        return CapacitySize("CAPACITY_PERCENT", percent)
    return None


# ---------------------------------------------------------------------------------- feature
class _DeploymentFeature(EndpointFeature):
    """Renders ``deployment=...`` into the endpoint's ``DeploymentConfig``."""

    props = ("deployment",)

    def validate(self, endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems) -> None:
        guardrails = props.get("deployment")
        if guardrails is None:
            return
        if not isinstance(guardrails, DeploymentGuardrails):
            problems.add(
                "deployment",
                guardrails,
                "must be a DeploymentGuardrails, e.g. DeploymentGuardrails.canary(percent=10)",
            )
            return
        kind = guardrails.type
        instance_type = endpoint.instance_type
        serverless = instance_type is None
        if instance_type is not None and not is_unresolved(instance_type) and instance_type.startswith("ml.inf1."):
            problems.add(
                "deployment",
                kind.value,
                f"cannot be used on {instance_type}: SageMaker ignores deployment guardrails on Inf1 instances "
                "and falls back to an all-at-once update without baking or rollback",
            )
        if kind is DeploymentType.ROLLING:
            if serverless:
                problems.add(
                    "deployment",
                    kind.value,
                    "is not possible on a serverless endpoint: rolling updates replace instances; "
                    "use DeploymentGuardrails.canary/linear/all_at_once",
                )
            if props.get("variants"):
                problems.add(
                    "deployment",
                    kind.value,
                    "is not possible on a multi-variant endpoint (variants=...); use a blue/green policy",
                )
        size = guardrails.size
        for capacity, prop in ((size, "size"), (guardrails.rollback_size, "rollback size")):
            if capacity is None or capacity.is_percent:
                continue
            if serverless:
                problems.add(
                    "deployment",
                    f"{kind.value} {prop} of {capacity.describe()}",
                    "counts instances, but a serverless endpoint has none; give a percentage instead",
                )
        self._check_instance_share(endpoint, guardrails, props, problems)

    @staticmethod
    def _check_instance_share(
        endpoint: EndpointBase, guardrails: DeploymentGuardrails, props: Mapping[str, Any], problems: Problems
    ) -> None:
        size = guardrails.size
        count = props.get("instance_count", 1)
        if (
            size is None
            or size.is_percent
            or endpoint.instance_type is None
            or props.get("autoscaling") is not None  # the count changes; SageMaker checks at deploy time
            or not _is_int(count)
            or is_unresolved(size.value)
        ):
            return
        kind = guardrails.type
        low = 0.1 if kind is DeploymentType.LINEAR else (0.05 if kind is DeploymentType.ROLLING else 0.0)
        if size.value > count / 2:
            problems.add(
                "deployment",
                f"{kind.value} of {size.describe()}",
                f"is more than half of the variant's {count} instance(s); SageMaker allows at most 50%"
                + ("" if count > 1 else ": use a percentage, or more instances"),
            )
        elif size.value < count * low:
            problems.add(
                "deployment",
                f"{kind.value} of {size.describe()}",
                f"is less than {low:.0%} of the variant's {count} instances, the smallest step SageMaker allows",
            )
        rollback = guardrails.rollback_size
        if rollback is not None and not rollback.is_percent and _is_int(rollback.value) and rollback.value > count:
            problems.add(
                "deployment",
                f"rollback batch of {rollback.describe()}",
                f"is more than the variant's {count} instance(s)",
            )

    def endpoint_properties(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> dict[str, Any]:
        guardrails: DeploymentGuardrails | None = props.get("deployment")
        if guardrails is None:
            return {}
        alarms: Sequence[cloudwatch.IAlarm]
        if guardrails.auto_rollback_alarms is None:
            alarms = rollback_alarms(endpoint, props)
            self._warn_short_baking(endpoint, guardrails, props)
        else:
            alarms = guardrails.auto_rollback_alarms
        self._warn_timeout(endpoint, guardrails, props)
        return {"deployment_config": guardrails.render(alarms)}

    @staticmethod
    def _warn_short_baking(endpoint: EndpointBase, guardrails: DeploymentGuardrails, props: Mapping[str, Any]) -> None:
        if not _resolved(guardrails.wait_interval):
            return
        window = alarm_settings(props).evaluation_window
        if _seconds(guardrails.wait_interval) < window.to_seconds():
            Annotations.of(endpoint).add_warning_v2(
                "constructs-lib:rollback-window",
                f"The deployment bakes for {_seconds(guardrails.wait_interval)} seconds per step, less than the "
                f"{window.to_seconds():g} seconds the rollback alarms need to fire: a regression may pass "
                "unnoticed. Raise wait_interval or shorten the alarms' period/evaluation_periods.",
            )

    @staticmethod
    def _warn_timeout(endpoint: EndpointBase, guardrails: DeploymentGuardrails, props: Mapping[str, Any]) -> None:
        timeout = guardrails.max_execution_timeout
        if timeout is None or not _resolved(timeout) or not _resolved(guardrails.wait_interval):
            return
        count = props.get("instance_count", 1)
        steps = guardrails.steps(count if _is_int(count) else None)
        if steps is None:
            return
        termination = _seconds(guardrails.termination_wait) if guardrails.termination_wait else 0
        total = steps * _seconds(guardrails.wait_interval) + termination
        if _seconds(timeout) <= total:
            Annotations.of(endpoint).add_warning_v2(
                "constructs-lib:deployment-timeout",
                f"max_execution_timeout ({_seconds(timeout)} s) is not longer than the deployment's waits alone "
                f"({steps} baking period(s) of {_seconds(guardrails.wait_interval)} s + {termination} s termination "
                "wait): the update will likely time out and roll back.",
            )


FEATURE: EndpointFeature = _DeploymentFeature()

__all__ = ["FEATURE", "CapacitySize", "DeploymentGuardrails", "DeploymentType"]
