"""Guarded deployments: how an endpoint update shifts traffic, and which alarms roll it back.

``DeploymentGuardrails`` renders the endpoint's ``DeploymentConfig``: a blue/green update
(all at once, canary or linear traffic shifting) or a rolling update, each with automatic
rollback on CloudWatch alarms. By default the rollback alarms are the endpoint's 5XX error-rate
and p99 model-latency alarms (``features.observability``), shared with ``alarms=...``. They watch metrics
whose dimensions hold the endpoint's physical name, not the endpoint's ``GetAtt``: the endpoint
references the alarms, the alarms never reference the endpoint, so there is no dependency cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Self

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker

from ..._core.errors import ConfigurationError, Problems, allowed_list, describe
from ..._core.tokens import duration_seconds, is_number, whole_seconds
from .capacity import ROLLBACK_PROPS, SIZE_PROPS, CapacitySize, DeploymentType, rollback_size_of, size_of

WAIT_RANGE = (0, 3600)
"""Allowed wait intervals and termination waits, in seconds."""
MAX_EXECUTION_RANGE = (600, 28800)
"""Allowed ``MaximumExecutionTimeoutInSeconds``."""
MAX_ROLLBACK_ALARMS = 10
"""``AutoRollbackConfiguration.Alarms`` holds at most 10 alarms."""
DEFAULT_WAIT = Duration.minutes(5)


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
        if wait_interval is None:
            problems.add("wait_interval", None, "must be a Duration, e.g. Duration.minutes(5) (or left out: 5 minutes)")
        check_duration("wait_interval", wait_interval, WAIT_RANGE, problems)
        check_duration("termination_wait", termination_wait, WAIT_RANGE, problems)
        check_duration("max_execution_timeout", max_execution_timeout, MAX_EXECUTION_RANGE, problems)
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
            not problems  # the durations are whole seconds in range
            and max_execution_timeout is not None
            and is_resolved(max_execution_timeout)
            and is_resolved(wait_interval)
            and is_resolved(termination_wait)
        ):
            waits = whole_seconds(wait_interval) + (whole_seconds(termination_wait) if termination_wait else 0)
            if whole_seconds(max_execution_timeout) <= waits:
                problems.add(
                    "max_execution_timeout",
                    f"{whole_seconds(max_execution_timeout)} seconds",
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
        :default wait_interval: Duration.minutes(5)
        :param termination_wait: extra wait before terminating the old fleet (0 to 3600 s).
        :default termination_wait: SageMaker's default (0)
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :default max_execution_timeout: SageMaker's default
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
        :default auto_rollback_alarms: a 5XX error-rate alarm and a p99 model-latency alarm
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
        :default percent: 10 when ``instances`` is not given either
        :param instances: canary size in instances (at most half the instance count).
        :default instances: the size is a percentage
        :param wait_interval: baking period after each shift (0 to 3600 s).
        :param termination_wait: extra wait before terminating the old fleet (0 to 3600 s).
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
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
        :default step_percent: 20 when ``step_instances`` is not given either
        :param step_instances: step size in instances (10 % to 50 % of the instance count).
        :default step_instances: the step is a percentage
        :param wait_interval: baking period after each step (0 to 3600 s).
        :param termination_wait: extra wait before terminating the old fleet (0 to 3600 s).
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
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
        size = size_of(kind, percent, instances, problems, default_percent=default_percent)
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
        :default batch_percent: 25 when ``batch_instances`` is not given either
        :param batch_instances: batch size in instances (at most half the instance count).
        :default batch_instances: the batch is a percentage
        :param wait_interval: baking period after each batch (0 to 3600 s).
        :param rollback_batch_percent: batch size of a rollback in percent (1 to 100).
        :default rollback_batch_percent: 100 % (the whole old fleet at once)
        :param rollback_batch_instances: batch size of a rollback in instances.
        :default rollback_batch_instances: the rollback batch is a percentage
        :param max_execution_timeout: time limit of the deployment (600 to 28800 s).
        :param auto_rollback_alarms: alarms that roll the deployment back; ``[]`` for none.
        """
        problems = Problems("DeploymentGuardrails.rolling")
        size = size_of(DeploymentType.ROLLING, batch_percent, batch_instances, problems, default_percent=25)
        rollback = rollback_size_of(rollback_batch_percent, rollback_batch_instances, problems)
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
        sizes = set(SIZE_PROPS[kind][:2]) if kind in SIZE_PROPS else set()
        extra = set(ROLLBACK_PROPS) if kind is DeploymentType.ROLLING else {"termination_wait_seconds"}
        allowed = common | sizes | extra
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigurationError(
                f"deployment ({kind.value}): unknown key(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {allowed_list(allowed)}"
            )
        kwargs: dict[str, Any] = {key: data[key] for key in sizes | set(ROLLBACK_PROPS) if key in data}
        for key, arg, allowed_seconds in (
            ("wait_seconds", "wait_interval", WAIT_RANGE),
            ("termination_wait_seconds", "termination_wait", WAIT_RANGE),
            ("max_execution_timeout_seconds", "max_execution_timeout", MAX_EXECUTION_RANGE),
        ):
            if data.get(key) is not None:
                kwargs[arg] = Duration.seconds(_config_seconds(f"deployment.{key}", data[key], allowed_seconds))
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
        config: dict[str, Any] = {"type": self.type.value, "wait_seconds": whole_seconds(self.wait_interval)}
        if self.size is not None:
            percent_key, instances_key, _ = SIZE_PROPS[self.type]
            config[percent_key if self.size.is_percent else instances_key] = self.size.value
        if self.rollback_size is not None:
            key = ROLLBACK_PROPS[0] if self.rollback_size.is_percent else ROLLBACK_PROPS[1]
            config[key] = self.rollback_size.value
        if self.termination_wait is not None:
            config["termination_wait_seconds"] = whole_seconds(self.termination_wait)
        if self.max_execution_timeout is not None:
            config["max_execution_timeout_seconds"] = whole_seconds(self.max_execution_timeout)
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
        wait = whole_seconds(self.wait_interval)
        timeout = None if self.max_execution_timeout is None else whole_seconds(self.max_execution_timeout)
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
                termination_wait_in_seconds=None
                if self.termination_wait is None
                else whole_seconds(self.termination_wait),
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
def is_resolved(value: Duration | None) -> bool:
    return value is None or (isinstance(value, Duration) and not value.is_unresolved())


def _config_seconds(prop: str, value: Any, allowed: tuple[int, int]) -> int:
    """A number of seconds from the config file, checked here so that the error names the file's key."""
    low, high = allowed
    if not is_number(value) or value != int(value) or not low <= value <= high:
        raise ConfigurationError(f"{prop}: {describe(value)} must be whole seconds from {low} to {high}")
    return int(value)


def check_duration(prop: str, value: Any, allowed: tuple[int, int], problems: Problems) -> None:
    """Record a ``Duration`` prop that is not whole seconds within ``allowed`` (``None`` and tokens pass)."""
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
