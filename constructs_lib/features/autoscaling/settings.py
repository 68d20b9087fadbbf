"""What autoscaling of an endpoint's instance count does (the ``autoscaling`` prop): ``AutoScaling``.

An Application Auto Scaling scalable target on ``endpoint/<name>/variant/AllTraffic`` (dimension
``sagemaker:variant:DesiredInstanceCount``), with any of:

- target tracking on ``SageMakerVariantInvocationsPerInstance``;
- scheduled capacity changes (cron, rate or at expressions);
- for asynchronous endpoints, target tracking on the queue (``ApproximateBacklogSizePerInstance``)
  and, with ``scale_to_zero``, a minimum of 0 instances plus a step scaling policy on
  ``HasBacklogWithoutCapacity`` that starts one instance when requests wait and none is running
  (the pattern AWS documents for async endpoints).

Only the main production variant scales; extra variants (``variants``) keep their instance count.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling

from ..._core.errors import ConfigurationError, Problems, check_config_keys, describe
from ..._core.tokens import duration_seconds, is_number, is_unresolved, is_whole

DEFAULT_BACKLOG_PER_INSTANCE = 5.0
"""Queued requests per instance that async endpoints with ``scale_to_zero`` aim for when no target is given."""

# Application Auto Scaling schedule expressions: cron (6 fields), rate, or a one-time at().
_CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")
_RATE = re.compile(r"^rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\)$")
_AT = re.compile(r"^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$")
_ACTION_NAME = re.compile(r"^[^:/\s]{1,256}$")
_SCHEDULE_FORMS = "'cron(0 8 * * ? *)' (6 fields), 'rate(1 hour)' or 'at(2030-01-01T08:00:00)'"


@functools.cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _time_zone_problem(time_zone: Any) -> str | None:
    """Why Application Auto Scaling would reject ``time_zone`` (it takes IANA names, case-sensitive)."""
    if not isinstance(time_zone, str) or not time_zone:
        return "must be an IANA time zone name, e.g. 'Europe/Paris'"
    if is_unresolved(time_zone):
        return None  # a deploy-time value
    known = _known_time_zones()
    # Without a time zone database on this machine (no tzdata), the name cannot be checked here.
    if not known or time_zone in known:
        return None
    close = [name for name in sorted(known) if name.lower() == time_zone.lower()] or difflib.get_close_matches(
        time_zone, known, n=1, cutoff=0.8
    )
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"is not an IANA time zone name (e.g. 'Europe/Paris', 'America/New_York', 'UTC'){hint}"


def _schedule_problem(expression: str) -> str | None:
    cron = _CRON.match(expression)
    if cron is not None:
        count = len(cron.group("fields").split())
        return None if count == 6 else f"has {count} cron fields; Application Auto Scaling needs 6: {_SCHEDULE_FORMS}"
    if _RATE.match(expression) or _AT.match(expression):
        return None
    return f"is not a schedule expression; expected {_SCHEDULE_FORMS}"


@dataclass(frozen=True, kw_only=True)
class ScheduledCapacity:
    """A scheduled change of the capacity range, e.g. more instances during office hours.

    Example::

        ScheduledCapacity(schedule=appscaling.Schedule.cron(hour="8", minute="0", week_day="MON-FRI"),
            min_capacity=2, name="office-hours")
    """

    schedule: appscaling.Schedule
    """When the change happens: ``Schedule.cron(...)``, ``.rate(...)``, ``.at(...)`` or ``.expression(...)``."""
    min_capacity: int | None = None
    """The new minimum instance count. At least one of ``min_capacity`` and ``max_capacity``.

    :default: - unchanged
    """
    max_capacity: int | None = None
    """The new maximum instance count. At least one of ``min_capacity`` and ``max_capacity``.

    :default: - unchanged
    """
    name: str | None = None
    """Name of the scheduled action (unique per endpoint; no ':' or '/').

    :default: - ``schedule-<n>`` by position in ``AutoScaling.schedules``
    """
    time_zone: str | None = None
    """IANA time zone of a cron expression, e.g. ``"Europe/Paris"``.

    :default: - UTC
    """

    def __post_init__(self) -> None:
        problems = Problems("ScheduledCapacity")
        self._check(problems, "autoscaling.schedules[]")
        problems.raise_if_any()

    def _check(self, problems: Problems, prefix: str) -> None:
        if not isinstance(self.schedule, appscaling.Schedule):
            problems.add(
                f"{prefix}.schedule", self.schedule, "must be an appscaling.Schedule, e.g. Schedule.cron(hour='8')"
            )
        elif not is_unresolved(self.schedule.expression_string):
            problem = _schedule_problem(self.schedule.expression_string)
            if problem:
                problems.add(f"{prefix}.schedule", self.schedule.expression_string, problem)
        if self.min_capacity is None and self.max_capacity is None:
            problems.add_message(f"{prefix}: give min_capacity, max_capacity or both: a schedule must change something")
        for name in ("min_capacity", "max_capacity"):
            value = getattr(self, name)
            if value is not None and not is_unresolved(value) and (not is_whole(value) or value < 0):
                problems.add(f"{prefix}.{name}", value, "must be a whole number of at least 0")
        low, high = self.min_capacity, self.max_capacity
        if is_whole(low) and is_whole(high) and low > high:  # type: ignore[operator]
            problems.add(f"{prefix}.min_capacity", low, f"is above max_capacity ({high})")
        if self.name is not None and (not isinstance(self.name, str) or not _ACTION_NAME.match(self.name)):
            problems.add(f"{prefix}.name", self.name, "must be 1-256 characters without ':', '/' or spaces")
        if self.time_zone is not None:
            problem = _time_zone_problem(self.time_zone)
            if problem:
                problems.add(f"{prefix}.time_zone", self.time_zone, problem)

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Self:
        """A ``ScheduledCapacity`` from JSON-able settings; the schedule is an expression string there.

        Example: ``{"schedule": "cron(0 8 ? * MON-FRI *)", "min_capacity": 2, "name": "office-hours"}``.

        :raises ConfigurationError: for unknown keys (naming the allowed ones) or invalid values.
        """
        check_config_keys("autoscaling.schedules[]", data, (f.name for f in fields(cls)))
        expression = data.get("schedule")
        if not isinstance(expression, str):
            raise ConfigurationError(
                f"autoscaling.schedules[].schedule: {describe(expression)} must be a schedule expression: "
                f"{_SCHEDULE_FORMS}"
            )
        problem = _schedule_problem(expression)
        if problem:
            raise ConfigurationError(f"autoscaling.schedules[].schedule: {describe(expression)} {problem}")
        return cls(**{**data, "schedule": appscaling.Schedule.expression(expression)})

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form :meth:`from_config` reads."""
        config: dict[str, Any] = {"schedule": self.schedule.expression_string}
        for name in ("min_capacity", "max_capacity", "name", "time_zone"):
            if getattr(self, name) is not None:
                config[name] = getattr(self, name)
        return config


def _default_scale_in_cooldown() -> Duration:
    return Duration.minutes(5)


def _default_scale_out_cooldown() -> Duration:
    return Duration.minutes(5)


@dataclass(frozen=True, kw_only=True)
class AutoScaling:
    """Scale the endpoint's instance count (the ``autoscaling`` prop).

    ``instance_count`` is the count the endpoint starts with; it must lie within
    ``[min_capacity, max_capacity]``. Give at least one way to scale: a target, a schedule, or
    ``scale_to_zero``.

    Example::

        HubModelEndpoint(stack, "Sentiment", model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            instance_type="ml.g5.xlarge",
            autoscaling=AutoScaling(max_capacity=4, target_invocations_per_instance=200))
    """

    max_capacity: int
    """Most instances the endpoint scales out to (at least 1)."""
    min_capacity: int | None = None
    """Fewest instances the endpoint scales in to. 0 only with ``scale_to_zero``.

    :default: - 1, or 0 with ``scale_to_zero``
    """
    target_invocations_per_instance: float | None = None
    """Target tracking on ``SageMakerVariantInvocationsPerInstance``: requests per instance per minute
    to aim for (load-test your model to find it).

    :default: - no invocation-based scaling
    """
    target_backlog_per_instance: float | None = None
    """Async endpoints only: target tracking on ``ApproximateBacklogSizePerInstance``, the queued
    requests per instance to aim for.

    :default: - 5 with ``scale_to_zero``, else no backlog-based scaling
    """
    scale_in_cooldown: Duration = field(default_factory=_default_scale_in_cooldown)
    """How long after a scale-in before another scale-in.

    :default: Duration.minutes(5)
    """
    scale_out_cooldown: Duration = field(default_factory=_default_scale_out_cooldown)
    """How long after a scale-out before another one. Instances take minutes to start serving a model,
    so a short cooldown adds instances before the previous ones help.

    :default: Duration.minutes(5)
    """
    schedules: Sequence[ScheduledCapacity] = ()
    """Scheduled changes of ``min_capacity``/``max_capacity``.

    :default: - none
    """
    scale_to_zero: bool = False
    """Async endpoints only: scale in to 0 instances when the queue is empty and back out when
    requests arrive (adds a step scaling policy on ``HasBacklogWithoutCapacity``).

    :default: False
    """

    def __post_init__(self) -> None:
        # A tuple: frozen and hashable; a lone value (e.g. a string) is kept whole so the check reports it.
        schedules = self.schedules
        object.__setattr__(self, "schedules", tuple(schedules) if isinstance(schedules, list | tuple) else (schedules,))
        problems = Problems("AutoScaling")
        self._check(problems)
        problems.raise_if_any()

    @property
    def effective_min_capacity(self) -> int:
        """``min_capacity`` with its default applied."""
        if self.min_capacity is not None:
            return self.min_capacity
        return 0 if self.scale_to_zero else 1

    @property
    def effective_backlog_target(self) -> float | None:
        """``target_backlog_per_instance`` with its default applied."""
        if self.target_backlog_per_instance is None and self.scale_to_zero:
            return DEFAULT_BACKLOG_PER_INSTANCE
        return self.target_backlog_per_instance

    def _check(self, problems: Problems) -> None:
        high, low = self.max_capacity, self.min_capacity
        high_ok = is_whole(high) and high >= 1
        if not is_unresolved(high) and not high_ok:
            problems.add("autoscaling.max_capacity", high, "must be a whole number of at least 1")
        if low is not None and not is_unresolved(low):
            if not is_whole(low) or low < 0:
                problems.add("autoscaling.min_capacity", low, "must be a whole number of at least 0")
            elif high_ok and low > high:
                problems.add("autoscaling.min_capacity", low, f"is above max_capacity ({high})")
            elif low == 0 and self.scale_to_zero is not True:
                problems.add(
                    "autoscaling.min_capacity",
                    0,
                    "needs scale_to_zero=True (async endpoints only): without it nothing scales the endpoint "
                    "back out from 0 instances; use at least 1",
                )
            elif low != 0 and self.scale_to_zero is True:
                problems.add(
                    "autoscaling.min_capacity", low, "contradicts scale_to_zero=True (minimum 0); leave it unset or 0"
                )
        check_targets_and_cooldowns(self, ("target_invocations_per_instance", "target_backlog_per_instance"), problems)
        if not isinstance(self.scale_to_zero, bool):
            problems.add("autoscaling.scale_to_zero", self.scale_to_zero, "must be True or False")
        names: list[str] = []
        for index, schedule in enumerate(self.schedules):
            if not isinstance(schedule, ScheduledCapacity):
                problems.add(f"autoscaling.schedules[{index}]", schedule, "must be a ScheduledCapacity")
                continue
            names.append(schedule.name or schedule_name(index))
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            problems.add("autoscaling.schedules", duplicates, "repeat a name; scheduled action names must be unique")
        has_policy = (
            self.target_invocations_per_instance is not None
            or self.target_backlog_per_instance is not None
            or self.schedules
            or self.scale_to_zero is True
        )
        if not has_policy:
            problems.add_message(
                "autoscaling: no way to scale given; set target_invocations_per_instance, "
                "target_backlog_per_instance (async), schedules or scale_to_zero=True (async)"
            )

    _DURATIONS = ("scale_in_cooldown", "scale_out_cooldown")

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Self:
        """An ``AutoScaling`` from JSON-able settings: cooldowns in seconds, schedules as expression strings.

        Example: ``{"max_capacity": 4, "target_invocations_per_instance": 200, "scale_in_cooldown": 600,
        "schedules": [{"schedule": "cron(0 8 ? * MON-FRI *)", "min_capacity": 2}]}``.

        :raises ConfigurationError: for unknown keys (naming the allowed ones) or invalid values.
        """
        check_config_keys("autoscaling", data, (f.name for f in fields(cls)))
        values = dict(data)
        for name in cls._DURATIONS:
            if name in values:
                seconds = values[name]
                if not is_whole(seconds) or seconds < 0:
                    raise ConfigurationError(f"autoscaling.{name}: {describe(seconds)} must be whole seconds (>= 0)")
                values[name] = Duration.seconds(seconds)
        schedules = values.get("schedules", ())
        if not isinstance(schedules, list | tuple):
            raise ConfigurationError(f"autoscaling.schedules: {describe(schedules)} must be a list of schedules")
        values["schedules"] = tuple(ScheduledCapacity.from_config(item) for item in schedules)
        if "max_capacity" not in values:
            raise ConfigurationError("autoscaling.max_capacity: is required (the most instances to scale out to)")
        return cls(**values)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form :meth:`from_config` reads."""
        config: dict[str, Any] = {"max_capacity": self.max_capacity}
        for name in ("min_capacity", "target_invocations_per_instance", "target_backlog_per_instance"):
            if getattr(self, name) is not None:
                config[name] = getattr(self, name)
        for name in self._DURATIONS:
            config[name] = int(getattr(self, name).to_seconds())
        if self.schedules:
            config["schedules"] = [schedule.to_config() for schedule in self.schedules]
        if self.scale_to_zero:
            config["scale_to_zero"] = True
        return config


def schedule_name(index: int) -> str:
    return f"schedule-{index + 1}"


def check_targets_and_cooldowns(settings: Any, targets: Sequence[str], problems: Problems) -> None:
    """Record problems, as ``autoscaling.<name>``, with the target values of ``settings`` named ``targets`` (numbers
    above 0, or ``None``) and its ``scale_in_cooldown`` and ``scale_out_cooldown`` (Durations of whole seconds)."""
    for name in targets:
        value = getattr(settings, name)
        if value is not None and not is_unresolved(value) and (not is_number(value) or value <= 0):
            problems.add(f"autoscaling.{name}", value, "must be a number above 0")
    for name in ("scale_in_cooldown", "scale_out_cooldown"):
        cooldown = getattr(settings, name)
        if not isinstance(cooldown, Duration):
            problems.add(f"autoscaling.{name}", cooldown, "must be a Duration, e.g. Duration.minutes(5)")
        elif not cooldown.is_unresolved() and not duration_seconds(cooldown).is_integer():
            # Application Auto Scaling counts whole seconds.
            problems.add(f"autoscaling.{name}", f"{duration_seconds(cooldown):g} seconds", "must be whole seconds")
