"""CloudWatch alarms on an endpoint: ``EndpointAlarms`` (the ``alarms`` prop) and the alarms it creates.

The 5XX and latency alarms double as the default rollback alarms of ``deployment=...``
(``features.deployment``), so one metric never gets two alarms: every alarm is created through
:func:`make_alarm`, which keeps one per key in the endpoint's alarm registry (``EndpointFacts.alarms``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ..._core.errors import ConfigurationError, Problems, allowed_list, describe
from ..._core.tokens import is_number, is_whole
from ...catalogue.instances import Processor, processor_for
from ...contract.facts import EndpointFacts
from ...serving.base import Serving, ServingStack
from ...serving.registry import stack_of

ERRORS_5XX = "errors_5xx"
ERRORS_4XX = "errors_4xx"
MODEL_LATENCY = "model_latency"
GPU_MEMORY = "gpu_memory"
DISK = "disk"
ALARM_KEYS = (ERRORS_5XX, ERRORS_4XX, MODEL_LATENCY, GPU_MEMORY, DISK)
"""Keys of ``endpoint.alarms``."""
ROLLBACK_ALARM_KEYS = (ERRORS_5XX, MODEL_LATENCY)
"""The alarms the deployment guardrails roll back on by default."""

_ALARM_IDS = {
    ERRORS_5XX: "Invocation5XXErrors",
    ERRORS_4XX: "Invocation4XXErrors",
    MODEL_LATENCY: "ModelLatencyP99",
    GPU_MEMORY: "GPUMemoryUtilization",
    DISK: "DiskUtilization",
}


_PERCENT_FIELDS = (
    "error_5xx_rate_percent",
    "error_4xx_rate_percent",
    "gpu_memory_utilization_percent",
    "disk_utilization_percent",
)
_COUNT_FIELDS = ("evaluation_periods", "datapoints_to_alarm")
_DEFAULT_EVALUATION_PERIODS = 3
_DEFAULT_PERIOD_SECONDS = 60.0
_CONFIG_KEYS = frozenset({*_PERCENT_FIELDS, *_COUNT_FIELDS, "model_latency_p99_ms", "period_seconds"})


class EndpointAlarms:
    """CloudWatch alarms on an endpoint's errors, latency and instances (``alarms=EndpointAlarms(...)``).

    ``alarms=True`` is ``EndpointAlarms()``. A threshold set to ``None`` turns its alarm off.
    The 5XX and latency alarms double as the default rollback alarms of ``deployment=...``.
    Instance alarms exist only on instances: GPU memory on GPU instances, disk on all of them,
    neither on serverless endpoints.

    :param error_5xx_rate_percent: alarm when more than this percentage of invocations fail with a
        5XX error (0 alarms on any 5XX error).
    :default error_5xx_rate_percent: 1.0
    :param error_4xx_rate_percent: alarm when more than this percentage of invocations fail with a
        4XX error (client errors, often not the endpoint's fault).
    :default error_4xx_rate_percent: no 4XX alarm
    :param model_latency_p99: alarm when the p99 ``ModelLatency`` is above this.
    :default model_latency_p99: the serving stack's (30 seconds for the LLM servers: vLLM, SGLang, llama.cpp and TGI;
        2 seconds otherwise)
    :param gpu_memory_utilization_percent: alarm when the average GPU memory in use, per GPU, is above
        this percentage. Skipped with the LLM servers (vLLM, SGLang, llama.cpp, TGI), which reserve most GPU memory for
        their KV cache by design.
    :default gpu_memory_utilization_percent: 95.0
    :param disk_utilization_percent: alarm when the disk is fuller than this percentage.
    :default disk_utilization_percent: 90.0
    :param period: period of the alarms' metrics (a multiple of 60 s: SageMaker publishes endpoint
        metrics once a minute).
    :default period: Duration.minutes(1)
    :param evaluation_periods: how many periods the alarms look at.
    :default evaluation_periods: 3
    :param datapoints_to_alarm: how many of those periods must breach.
    :default datapoints_to_alarm: ``evaluation_periods`` (every period must breach)
    :param alarm_actions: actions when an alarm fires (e.g. ``cloudwatch_actions.SnsAction(topic)``).
    :default alarm_actions: none
    :param ok_actions: actions when an alarm returns to OK.
    :default ok_actions: none
    """

    def __init__(
        self,
        *,
        error_5xx_rate_percent: float | None = 1.0,
        error_4xx_rate_percent: float | None = None,
        model_latency_p99: Duration | None = None,
        gpu_memory_utilization_percent: float | None = 95.0,
        disk_utilization_percent: float | None = 90.0,
        period: Duration | None = None,
        evaluation_periods: int = _DEFAULT_EVALUATION_PERIODS,
        datapoints_to_alarm: int | None = None,
        alarm_actions: Sequence[cloudwatch.IAlarmAction] = (),
        ok_actions: Sequence[cloudwatch.IAlarmAction] = (),
    ) -> None:
        """Create the alarm settings (see the class for each parameter and its default)."""
        period = period if period is not None else Duration.minutes(1)
        _check_settings(
            (error_5xx_rate_percent, error_4xx_rate_percent, gpu_memory_utilization_percent, disk_utilization_percent),
            model_latency_p99,
            period,
            evaluation_periods,
            datapoints_to_alarm,
        )
        self.error_5xx_rate_percent = error_5xx_rate_percent
        self.error_4xx_rate_percent = error_4xx_rate_percent
        self.model_latency_p99 = model_latency_p99
        self.gpu_memory_utilization_percent = gpu_memory_utilization_percent
        self.disk_utilization_percent = disk_utilization_percent
        self.period: Duration = period
        self.evaluation_periods = evaluation_periods
        self.datapoints_to_alarm = datapoints_to_alarm
        self.alarm_actions: tuple[cloudwatch.IAlarmAction, ...] = tuple(alarm_actions)
        self.ok_actions: tuple[cloudwatch.IAlarmAction, ...] = tuple(ok_actions)

    @property
    def evaluation_window(self) -> Duration:
        """How long a problem must last before an alarm fires (``period`` x ``datapoints_to_alarm``)."""
        return Duration.seconds(self.period.to_seconds() * (self.datapoints_to_alarm or self.evaluation_periods))

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | bool) -> Self:
        """Alarm settings from the app config file: ``true`` or an object such as
        ``{"error_5xx_rate_percent": 2, "model_latency_p99_ms": 500, "gpu_memory_utilization_percent": null}``.

        Keys: the constructor's thresholds plus ``model_latency_p99_ms`` and ``period_seconds``
        (alarm actions are not JSON and must be given in code).
        """
        if data is True:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"alarms: {describe(data)} must be true or an object of alarm settings")
        unknown = sorted(set(data) - _CONFIG_KEYS)
        if unknown:
            raise ConfigurationError(
                f"alarms: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {allowed_list(_CONFIG_KEYS)}"
            )
        # The constructor's checks, on the file's keys and under their names, every problem at once.
        problems = Problems("alarms")
        kwargs: dict[str, Any] = {key: data[key] for key in (*_PERCENT_FIELDS, *_COUNT_FIELDS) if key in data}
        for key in _PERCENT_FIELDS:
            _check_percent(key, kwargs.get(key), problems)
        latency_ms = _config_number("model_latency_p99_ms", data.get("model_latency_p99_ms"), problems)
        if latency_ms is not None:
            if latency_ms <= 0 or latency_ms != int(latency_ms):
                problems.add("model_latency_p99_ms", data["model_latency_p99_ms"], "must be a whole number above 0")
            else:  # CDK's Duration.millis refuses fractions
                kwargs["model_latency_p99"] = Duration.millis(int(latency_ms))
        given_period = data.get("period_seconds") is not None
        period_seconds = _config_number("period_seconds", data.get("period_seconds"), problems)
        period_ok = not given_period or (
            period_seconds is not None and _check_period(period_seconds, problems, prop="period_seconds")
        )
        _check_evaluation(
            kwargs.get("evaluation_periods", _DEFAULT_EVALUATION_PERIODS),
            kwargs.get("datapoints_to_alarm"),
            (period_seconds or _DEFAULT_PERIOD_SECONDS) if period_ok else None,
            problems,
            period_name="period_seconds" if given_period else "the default period_seconds",
        )
        problems.raise_if_any()
        if period_seconds is not None:
            kwargs["period"] = Duration.seconds(period_seconds)
        return cls(**kwargs)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form ``from_config`` reads (alarm actions are left out: they are not JSON)."""
        config: dict[str, Any] = {key: getattr(self, key) for key in _PERCENT_FIELDS}
        config["model_latency_p99_ms"] = (
            None if self.model_latency_p99 is None else self.model_latency_p99.to_milliseconds()
        )
        config["period_seconds"] = self.period.to_seconds()
        config["evaluation_periods"] = self.evaluation_periods
        config["datapoints_to_alarm"] = self.datapoints_to_alarm
        return config

    def latency_threshold(self, serving: Serving | ServingStack) -> Duration:
        """The p99 latency threshold for an endpoint running ``serving`` (its stack's default unless given)."""
        if self.model_latency_p99 is not None:
            return self.model_latency_p99
        return Duration.seconds(stack_of(serving).latency_p99_seconds)


def _config_number(key: str, value: Any, problems: Problems) -> float | None:
    """``value`` of a config file key as a number; ``None`` when absent, or invalid (a problem is recorded)."""
    if value is None:
        return None
    if not is_number(value):
        problems.add(key, value, "must be a number")
        return None
    return float(value)


# CloudWatch's limits on an alarm's evaluation range (period x evaluation periods), enforced by
# PutMetricAlarm at deploy time: one day for periods under an hour, seven days otherwise.
_SHORT_PERIOD_RANGE = (86_400, "1 day", "under")
_LONG_PERIOD_RANGE = (604_800, "7 days", "of at least")


def _check_period(seconds: float, problems: Problems, *, prop: str = "period") -> bool:
    """Whether ``seconds`` is a period SageMaker's metrics can be alarmed on; records the problem if not."""
    # CloudWatch also takes 10, 20 and 30 s, but only for high-resolution metrics: SageMaker's are
    # per minute, and a sub-minute alarm on them sits in INSUFFICIENT_DATA most of the time.
    if seconds >= 60 and seconds % 60 == 0 and seconds <= 86_400:
        return True
    problems.add(
        prop,
        f"{seconds:g} seconds",
        "must be a multiple of 60 s up to 1 day (SageMaker publishes endpoint metrics once a minute)",
    )
    return False


def _check_evaluation_range(
    period_seconds: float, evaluation_periods: int, problems: Problems, *, period_name: str = "period"
) -> None:
    if period_seconds <= 0:
        return  # no range to speak of: the period itself is reported
    limit, span, which = _SHORT_PERIOD_RANGE if period_seconds < 3600 else _LONG_PERIOD_RANGE
    # Compared as counts, not as seconds: a count too large for a float would overflow the product.
    if evaluation_periods > limit // period_seconds:
        total = f"{period_seconds * evaluation_periods:g} s" if evaluation_periods < 2**53 else "more than that"
        problems.add(
            "evaluation_periods",
            evaluation_periods,
            f"times {period_name} ({period_seconds:g} s) is {total}; "
            f"CloudWatch allows at most {limit:,} s ({span}) for a period {which} 1 hour: "
            f"at most {int(limit // period_seconds)} evaluation periods of {period_seconds:g} s",
        )


_SYNTH_TIME = (
    "must be known at synth time: CloudWatch alarms need a literal period and threshold (CDK computes the "
    "threshold in microseconds and checks the period), so a deploy-time value cannot be used"
)


def _check_settings(
    percents: tuple[Any, ...], model_latency_p99: Any, period: Any, evaluation_periods: Any, datapoints_to_alarm: Any
) -> None:
    """Raise one error naming every invalid setting; ``percents`` are the values of ``_PERCENT_FIELDS``."""
    problems = Problems("EndpointAlarms")
    for name, value in zip(_PERCENT_FIELDS, percents, strict=True):
        _check_percent(name, value, problems)
    _check_latency(model_latency_p99, problems)
    period_seconds = _checked_period_seconds(period, problems)
    _check_evaluation(evaluation_periods, datapoints_to_alarm, period_seconds, problems)
    problems.raise_if_any()


def _check_latency(model_latency_p99: Any, problems: Problems) -> None:
    if model_latency_p99 is None:
        return
    if not isinstance(model_latency_p99, Duration):
        problems.add("model_latency_p99", model_latency_p99, "must be a Duration, e.g. Duration.seconds(2)")
    elif model_latency_p99.is_unresolved():
        problems.add("model_latency_p99", model_latency_p99.to_string(), _SYNTH_TIME)
    elif model_latency_p99.to_milliseconds() <= 0:
        problems.add("model_latency_p99", model_latency_p99.to_human_string(), "must be positive")


def _checked_period_seconds(period: Any, problems: Problems) -> float | None:
    """Check ``period``; its length in seconds when it is a Duration known at synth time, else ``None``."""
    if not isinstance(period, Duration):
        problems.add("period", period, "must be a Duration, e.g. Duration.minutes(1)")
        return None
    if period.is_unresolved():
        problems.add("period", period.to_string(), _SYNTH_TIME)
        return None
    seconds = period.to_milliseconds() / 1000
    _check_period(seconds, problems)
    return seconds


def _check_evaluation(
    evaluation_periods: Any,
    datapoints_to_alarm: Any,
    period_seconds: float | None,
    problems: Problems,
    *,
    period_name: str = "period",
) -> None:
    if not is_whole(evaluation_periods) or evaluation_periods < 1:
        problems.add("evaluation_periods", evaluation_periods, "must be a whole number of at least 1")
        return  # both checks below need a valid count
    if datapoints_to_alarm is not None and (
        not is_whole(datapoints_to_alarm) or not 1 <= datapoints_to_alarm <= evaluation_periods
    ):
        problems.add(
            "datapoints_to_alarm", datapoints_to_alarm, f"must be a whole number from 1 to {evaluation_periods}"
        )
    if period_seconds is not None:
        _check_evaluation_range(period_seconds, evaluation_periods, problems, period_name=period_name)


def _check_percent(prop: str, value: Any, problems: Problems) -> None:
    if value is None:
        return
    if not is_number(value) or not 0 <= value <= 100:
        problems.add(prop, value, "must be a percentage from 0 to 100 (or None to turn the alarm off)")


def alarm_settings(props: Any) -> EndpointAlarms:
    """The alarm settings of an endpoint: its ``alarms`` prop, or the defaults."""
    given = props.get("alarms")
    return given if isinstance(given, EndpointAlarms) else EndpointAlarms()


def rollback_alarms(facts: EndpointFacts, settings: EndpointAlarms) -> list[cloudwatch.IAlarm]:
    """The 5XX-rate and p99-latency alarms (created once, shared with ``alarms=...``).

    Thresholds come from ``alarms=EndpointAlarms(...)`` when given (even if a threshold there is
    ``None``: rollback needs the alarm), the defaults otherwise.
    """
    return [
        _error_rate_alarm(facts, settings, ERRORS_5XX, settings.error_5xx_rate_percent or 0.0),
        _latency_alarm(facts, settings),
    ]


def create_alarms(facts: EndpointFacts, settings: EndpointAlarms) -> None:
    """Every alarm ``settings`` turns on that the endpoint can have (instance alarms only on instances)."""
    if settings.error_5xx_rate_percent is not None:
        _error_rate_alarm(facts, settings, ERRORS_5XX, settings.error_5xx_rate_percent)
    if settings.error_4xx_rate_percent is not None:
        _error_rate_alarm(facts, settings, ERRORS_4XX, settings.error_4xx_rate_percent)
    _latency_alarm(facts, settings)
    if facts.instance_type is None:
        return  # serverless: no instance metrics
    if settings.gpu_memory_utilization_percent is not None and has_gpus(facts):
        if facts.serving.gpu_memory_note is not None:
            Annotations.of(facts.scope).add_info(facts.serving.gpu_memory_note)
        else:
            gpus = max(facts.instance_spec.accelerators, 1) if facts.instance_spec is not None else 1
            make_alarm(
                facts,
                settings,
                GPU_MEMORY,
                metric=facts.metrics.metric_gpu_memory_utilization(period=settings.period),
                # GPUMemoryUtilization is summed over the instance's GPUs (0 to 100 x GPUs).
                threshold=settings.gpu_memory_utilization_percent * gpus,
                description=f"GPU memory above {settings.gpu_memory_utilization_percent:g}% per GPU ({gpus} GPUs)",
            )
    if settings.disk_utilization_percent is not None:
        make_alarm(
            facts,
            settings,
            DISK,
            metric=facts.metrics.metric_disk_utilization(period=settings.period),
            threshold=settings.disk_utilization_percent,
            description=f"Disk above {settings.disk_utilization_percent:g}%",
        )


def has_gpus(facts: EndpointFacts) -> bool:
    """Whether the endpoint runs on GPU instances (it has GPU metrics)."""
    return facts.instance_type is not None and processor_for(facts.instance_type) is Processor.GPU


def make_alarm(
    facts: EndpointFacts,
    settings: EndpointAlarms,
    key: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
) -> cloudwatch.Alarm:
    """The endpoint's alarm ``key``: created under ``<endpoint>/Alarms`` on first use, then shared."""

    def create() -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            _alarm_scope(facts.scope),
            _ALARM_IDS[key],
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=settings.evaluation_periods,
            datapoints_to_alarm=settings.datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{description} on SageMaker endpoint {facts.physical_endpoint_name}",
        )
        for action in settings.alarm_actions:
            alarm.add_alarm_action(action)
        for action in settings.ok_actions:
            alarm.add_ok_action(action)
        return alarm

    return facts.alarms.get_or_create(key, create)


def _alarm_scope(endpoint: Construct) -> Construct:
    scope = endpoint.node.try_find_child("Alarms")
    return scope if isinstance(scope, Construct) else Construct(endpoint, "Alarms")


def _error_rate_alarm(facts: EndpointFacts, settings: EndpointAlarms, key: str, percent: float) -> cloudwatch.Alarm:
    metrics = facts.metrics
    errors = (
        metrics.metric_invocation_5xx_errors(period=settings.period)
        if key == ERRORS_5XX
        else metrics.metric_invocation_4xx_errors(period=settings.period)
    )
    rate = cloudwatch.MathExpression(
        expression="100 * FILL(errors, 0) / invocations",
        using_metrics={"errors": errors, "invocations": metrics.metric_invocations(period=settings.period)},
        period=settings.period,
        label=f"{key[-3:].upper()} error rate (%)",
    )
    return make_alarm(
        facts,
        settings,
        key,
        metric=rate,
        threshold=percent,
        description=f"More than {percent:g}% of invocations failed with {key[-3:].upper()} errors",
    )


def _latency_alarm(facts: EndpointFacts, settings: EndpointAlarms) -> cloudwatch.Alarm:
    threshold = settings.latency_threshold(facts.serving)
    return make_alarm(
        facts,
        settings,
        MODEL_LATENCY,
        metric=facts.metrics.metric_model_latency(statistic=cloudwatch.Stats.p(99), period=settings.period),
        threshold=threshold.to_milliseconds() * 1000,  # ModelLatency is in microseconds
        description=f"p99 model latency above {threshold.to_human_string()}",
    )
