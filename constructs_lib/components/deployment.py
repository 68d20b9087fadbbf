"""How an update of a component replaces its copies (``ComponentDeployment``): a rolling update.

Without one, SageMaker replaces the copies as it sees fit. A rolling update starts new copies batch by batch (each
batch between 5% and 50% of the copy count), waits ``wait_interval`` after each while it watches the rollback
alarms, and rolls back on an alarm. By default the rollback alarm is one the component gets: more than 1% of its
invocations failing with a 5XX error over three minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker

from .._core.errors import ConfigurationError, Problems, check_config_keys, describe
from .._core.tokens import is_unresolved, is_whole, whole_seconds
from ..features.deployment.guardrails import (
    DEFAULT_WAIT,
    MAX_EXECUTION_RANGE,
    MAX_ROLLBACK_ALARMS,
    WAIT_RANGE,
    check_duration,
)

BATCH_PERCENT = (5, 50)
"""The share of the copy count one batch may replace."""
DEFAULT_BATCH_PERCENT = 50
DEFAULT_ROLLBACK_ERROR_RATE_PERCENT = 1.0
"""The default rollback alarm: above this share of invocations failing with 5XX errors."""


@dataclass(frozen=True)
class BatchSize:
    """A batch of copies: a percentage of the copy count (``CAPACITY_PERCENT``) or a number (``COPY_COUNT``)."""

    type: str
    value: int

    @property
    def is_percent(self) -> bool:
        return self.type == "CAPACITY_PERCENT"

    def describe(self) -> str:
        return f"{self.value}%" if self.is_percent else f"{self.value} copies"

    def render(self) -> sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty:
        return sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty(type=self.type, value=self.value)


class ComponentDeployment:
    """How updates of a component replace its copies (``add_model(deployment=...)``). Create one with
    :meth:`rolling`."""

    def __init__(
        self,
        *,
        batch: BatchSize,
        wait_interval: Duration,
        rollback_batch: BatchSize | None,
        max_execution_timeout: Duration | None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None,
        problems: Problems,
    ) -> None:
        """Use :meth:`rolling`; this checks the values it passes."""
        check_duration("wait_interval", wait_interval, WAIT_RANGE, problems)
        check_duration("max_execution_timeout", max_execution_timeout, MAX_EXECUTION_RANGE, problems)
        if auto_rollback_alarms is not None:
            if isinstance(auto_rollback_alarms, str | bytes) or not isinstance(auto_rollback_alarms, Sequence):
                problems.add("auto_rollback_alarms", auto_rollback_alarms, "must be a list of cloudwatch.IAlarm")
            elif len(auto_rollback_alarms) > MAX_ROLLBACK_ALARMS:
                problems.add(
                    "auto_rollback_alarms",
                    f"{len(auto_rollback_alarms)} alarms",
                    f"are too many: SageMaker watches at most {MAX_ROLLBACK_ALARMS}",
                )
            elif any(not hasattr(alarm, "alarm_name") for alarm in auto_rollback_alarms):
                problems.add("auto_rollback_alarms", list(auto_rollback_alarms), "must all be cloudwatch.IAlarm")
        problems.raise_if_any()
        self.batch: BatchSize = batch
        """Copies started per step."""
        self.wait_interval: Duration = wait_interval
        """How long SageMaker watches the alarms after each batch."""
        self.rollback_batch: BatchSize | None = rollback_batch
        """Copies restored per step of a rollback (``None``: all at once)."""
        self.max_execution_timeout: Duration | None = max_execution_timeout
        """Time limit of the update (``None``: SageMaker's)."""
        self.auto_rollback_alarms: tuple[cloudwatch.IAlarm, ...] | None = (
            None if auto_rollback_alarms is None else tuple(auto_rollback_alarms)
        )
        """Alarms that roll the update back (``None``: the component's 5XX-rate alarm)."""

    @classmethod
    def rolling(
        cls,
        *,
        batch_percent: int | None = None,
        batch_copies: int | None = None,
        wait_interval: Duration = DEFAULT_WAIT,
        rollback_batch_percent: int | None = None,
        rollback_batch_copies: int | None = None,
        max_execution_timeout: Duration | None = None,
        auto_rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
    ) -> Self:
        """Replace the copies batch by batch, watching the alarms after each batch.

        :param batch_percent: batch size in percent of the copy count (5 to 50).
        :default batch_percent: 50 when ``batch_copies`` is not given either
        :param batch_copies: batch size in copies (5% to 50% of the copy count).
        :default batch_copies: the batch is a percentage
        :param wait_interval: how long to watch the alarms after each batch (0 to 3600 s).
        :default wait_interval: Duration.minutes(5)
        :param rollback_batch_percent: batch size of a rollback in percent (1 to 100).
        :default rollback_batch_percent: all copies at once
        :param rollback_batch_copies: batch size of a rollback in copies.
        :default rollback_batch_copies: all copies at once
        :param max_execution_timeout: time limit of the update (600 to 28800 s).
        :default max_execution_timeout: SageMaker's default
        :param auto_rollback_alarms: alarms that roll the update back; ``[]`` for none.
        :default auto_rollback_alarms: an alarm on the component's 5XX error rate above 1%
        """
        problems = Problems("ComponentDeployment.rolling")
        batch = _size("batch", batch_percent, batch_copies, problems, BATCH_PERCENT, DEFAULT_BATCH_PERCENT)
        rollback = _size("rollback_batch", rollback_batch_percent, rollback_batch_copies, problems, (1, 100), None)
        return cls(
            batch=batch or BatchSize("CAPACITY_PERCENT", DEFAULT_BATCH_PERCENT),
            wait_interval=wait_interval,
            rollback_batch=rollback,
            max_execution_timeout=max_execution_timeout,
            auto_rollback_alarms=auto_rollback_alarms,
            problems=problems,
        )

    def check_copies(self, copies: int, problems: Problems) -> None:
        """A batch of copies must be 5% to 50% of the component's ``copies`` (checked unless autoscaling changes
        the count)."""
        low, high = BATCH_PERCENT
        if self.batch.is_percent or is_unresolved(self.batch.value):
            return
        if not copies * low / 100 <= self.batch.value <= copies * high / 100:
            problems.add(
                "deployment",
                f"a batch of {self.batch.describe()}",
                f"is not {low}% to {high}% of the component's {copies} copies, as SageMaker requires"
                + ("; use batch_percent, or more copies" if copies < 2 else ""),
            )

    def render(
        self, alarms: Sequence[cloudwatch.IAlarm]
    ) -> sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty:
        """The component's ``DeploymentConfig`` with these rollback alarms."""
        component = sagemaker.CfnInferenceComponent
        rollback = (
            component.AutoRollbackConfigurationProperty(
                alarms=[component.AlarmProperty(alarm_name=alarm.alarm_name) for alarm in alarms]
            )
            if alarms
            else None
        )
        return component.InferenceComponentDeploymentConfigProperty(
            rolling_update_policy=component.InferenceComponentRollingUpdatePolicyProperty(
                maximum_batch_size=self.batch.render(),
                wait_interval_in_seconds=whole_seconds(self.wait_interval),
                maximum_execution_timeout_in_seconds=whole_seconds(self.max_execution_timeout),
                rollback_maximum_batch_size=self.rollback_batch.render() if self.rollback_batch else None,
            ),
            auto_rollback_configuration=rollback,
        )

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Self:
        """A rolling update from the app's JSON, e.g. ``{"type": "rolling", "batch_percent": 25, "wait_seconds": 300}``
        (``"auto_rollback": false`` for no rollback alarm; alarms of your own need code).

        :raises ConfigurationError: for unknown keys (naming the allowed ones) or invalid values.
        """
        keys = ("type", "batch_percent", "batch_copies", "rollback_batch_percent", "rollback_batch_copies")
        check_config_keys("deployment", data, (*keys, "wait_seconds", "max_execution_timeout_seconds", "auto_rollback"))
        if data.get("type", "rolling") != "rolling":
            raise ConfigurationError(
                f"deployment.type: {describe(data['type'])} is not allowed: components update by rolling copies "
                "(endpoint-level blue/green does not apply to them); allowed: rolling"
            )
        kwargs: dict[str, Any] = {key: data[key] for key in keys[1:] if key in data}
        for key, arg in (("wait_seconds", "wait_interval"), ("max_execution_timeout_seconds", "max_execution_timeout")):
            if key in data:
                if not is_whole(data[key]):
                    raise ConfigurationError(
                        f"deployment.{key}: {describe(data[key])} must be a whole number of seconds"
                    )
                kwargs[arg] = Duration.seconds(data[key])
        auto_rollback = data.get("auto_rollback", True)
        if not isinstance(auto_rollback, bool):
            raise ConfigurationError(f"deployment.auto_rollback: {describe(auto_rollback)} must be true or false")
        if not auto_rollback:
            kwargs["auto_rollback_alarms"] = []
        return cls.rolling(**kwargs)


def _size(
    prop: str, percent: Any, copies: Any, problems: Problems, percent_range: tuple[int, int], default: int | None
) -> BatchSize | None:
    """A batch from its two props: a percentage, or a number of copies; the default percentage when neither."""
    if percent is not None and copies is not None:
        problems.add_message(f"give {prop}_percent or {prop}_copies, not both")
        return None
    if copies is not None:
        if not is_unresolved(copies) and (not is_whole(copies) or copies < 1):
            problems.add(f"{prop}_copies", copies, "must be a whole number of at least 1")
            return None
        return BatchSize("COPY_COUNT", copies)
    value = default if percent is None else percent
    if value is None:
        return None
    low, high = percent_range
    if not is_unresolved(value) and (not is_whole(value) or not low <= value <= high):
        problems.add(f"{prop}_percent", value, f"must be a whole percentage from {low} to {high}")
        return None
    return BatchSize("CAPACITY_PERCENT", value)
