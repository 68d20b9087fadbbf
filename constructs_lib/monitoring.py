"""Observability of an endpoint: metrics (on every endpoint), alarms, a dashboard, and tag checks.

``EndpointMetrics`` is mixed into ``EndpointBase``: the generic ``metric()`` fills in the namespace
and the ``EndpointName``/``VariantName`` dimensions, and each ``metric_xxx`` picks a statistic and
documents it. ``EndpointAlarms`` describes the alarms ``alarms=...`` creates; the deployment
guardrails (``deployment.py``) reuse the 5XX and latency alarms for automatic rollback, so one
metric never gets two alarms.

Metric dimensions use the endpoint's physical name, which is known at synth time, not the
``GetAtt`` of the endpoint: alarms on these metrics therefore never depend on the endpoint, and
the endpoint can reference them in ``AutoRollbackConfiguration`` without a dependency cycle.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ._core.errors import ConfigurationError, Problems, allowed_list, describe
from ._core.tokens import is_number, is_unresolved
from .catalogue.instances import Processor, instance_spec, processor_for
from .features import EndpointFeature
from .images import Serving

if TYPE_CHECKING:
    from .endpoint import EndpointBase

VARIANT_NAME = "AllTraffic"

INVOCATION_NAMESPACE = "AWS/SageMaker"
"""Namespace of the invocation metrics (``Invocations``, ``ModelLatency``, errors, ...)."""
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
"""Namespace of the instance metrics (``CPUUtilization``, ``GPUMemoryUtilization``, ...)."""


class EndpointMetrics:
    """CloudWatch metrics of an endpoint's production variant; mixed into ``EndpointBase``.

    Every ``metric_xxx`` takes the fields of ``cloudwatch.MetricOptions`` (``period``,
    ``statistic``, ``label``, ``color``, ``dimensions_map``, ...) as keyword arguments. No ``unit`` is
    set: a unit on an alarm filters datapoints, and a mismatch leaves the alarm without data.
    """

    physical_endpoint_name: str

    @property
    def endpoint_name(self) -> str:
        """Name of the endpoint (implemented by ``EndpointBase``)."""
        raise NotImplementedError

    def metric(
        self,
        metric_name: str,
        *,
        namespace: str = INVOCATION_NAMESPACE,
        variant_name: str = VARIANT_NAME,
        **props: Any,
    ) -> cloudwatch.Metric:
        """A CloudWatch metric of this endpoint's variant.

        The ``EndpointName`` dimension is the endpoint's physical name (known at synth time), so
        alarms on the metric do not depend on the endpoint resource.

        :param metric_name: e.g. ``Invocations``.
        :param namespace: ``AWS/SageMaker`` for invocation metrics, ``/aws/sagemaker/Endpoints`` for
            instance metrics.
        :param variant_name: the production variant.
        :param props: ``cloudwatch.MetricOptions`` fields; ``dimensions_map`` entries are added to
            (and override) the endpoint's dimensions.
        :default namespace: ``"AWS/SageMaker"``
        :default variant_name: ``"AllTraffic"``
        """
        dimensions = {"EndpointName": self.physical_endpoint_name, "VariantName": variant_name}
        dimensions.update(props.pop("dimensions_map", None) or {})
        return cloudwatch.Metric(namespace=namespace, metric_name=metric_name, dimensions_map=dimensions, **props)

    # ---------------------------------------------------------------- invocation metrics
    def metric_invocations(self, **props: Any) -> cloudwatch.Metric:
        """Number of requests sent to the variant (``Invocations``).

        :default: - sum over 5 minutes
        """
        return self.metric("Invocations", **_defaults(props, statistic=cloudwatch.Stats.SUM))

    def metric_invocations_per_instance(self, **props: Any) -> cloudwatch.Metric:
        """Requests per instance (``InvocationsPerInstance``), what target tracking scales on.

        :default: - sum over 5 minutes
        """
        return self.metric("InvocationsPerInstance", **_defaults(props, statistic=cloudwatch.Stats.SUM))

    def metric_model_latency(self, **props: Any) -> cloudwatch.Metric:
        """Time the model container takes to respond, in microseconds (``ModelLatency``).

        :default: - average over 5 minutes
        """
        return self.metric("ModelLatency", **_defaults(props, statistic=cloudwatch.Stats.AVERAGE))

    def metric_overhead_latency(self, **props: Any) -> cloudwatch.Metric:
        """Time SageMaker adds on top of the model latency, in microseconds (``OverheadLatency``).

        :default: - average over 5 minutes
        """
        return self.metric("OverheadLatency", **_defaults(props, statistic=cloudwatch.Stats.AVERAGE))

    def metric_invocation_4xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 4XX status (``Invocation4XXErrors``).

        :default: - sum over 5 minutes
        """
        return self.metric("Invocation4XXErrors", **_defaults(props, statistic=cloudwatch.Stats.SUM))

    def metric_invocation_5xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 5XX status (``Invocation5XXErrors``).

        :default: - sum over 5 minutes
        """
        return self.metric("Invocation5XXErrors", **_defaults(props, statistic=cloudwatch.Stats.SUM))

    # ------------------------------------------------------------------ instance metrics
    def metric_cpu_utilization(self, **props: Any) -> cloudwatch.Metric:
        """CPU use, in percent of one core summed over cores (0 to 100 x vCPUs) (``CPUUtilization``).

        :default: - average over 5 minutes
        """
        return self._instance_metric("CPUUtilization", props)

    def metric_memory_utilization(self, **props: Any) -> cloudwatch.Metric:
        """Memory in use, in percent (``MemoryUtilization``).

        :default: - average over 5 minutes
        """
        return self._instance_metric("MemoryUtilization", props)

    def metric_gpu_utilization(self, **props: Any) -> cloudwatch.Metric:
        """GPU use, in percent summed over GPUs (0 to 100 x GPUs) (``GPUUtilization``).

        :default: - average over 5 minutes
        """
        return self._instance_metric("GPUUtilization", props)

    def metric_gpu_memory_utilization(self, **props: Any) -> cloudwatch.Metric:
        """GPU memory in use, in percent summed over GPUs (0 to 100 x GPUs) (``GPUMemoryUtilization``).

        :default: - average over 5 minutes
        """
        return self._instance_metric("GPUMemoryUtilization", props)

    def metric_disk_utilization(self, **props: Any) -> cloudwatch.Metric:
        """Disk space in use, in percent (``DiskUtilization``).

        :default: - average over 5 minutes
        """
        return self._instance_metric("DiskUtilization", props)

    def _instance_metric(self, name: str, props: dict[str, Any]) -> cloudwatch.Metric:
        return self.metric(name, namespace=INSTANCE_NAMESPACE, **_defaults(props, statistic=cloudwatch.Stats.AVERAGE))

    # ------------------------------------------------------------- alarms and dashboard
    @property
    def alarms(self) -> Mapping[str, cloudwatch.Alarm]:
        """The alarms the construct created, by key (see ``ALARM_KEYS``): from ``alarms=...`` and
        the default rollback alarms of ``deployment=...``. Empty when neither is set.
        """
        return dict(_registry(self))

    @property
    def dashboard(self) -> cloudwatch.Dashboard | None:
        """The dashboard created with ``dashboard=True`` (``None`` otherwise)."""
        found: cloudwatch.Dashboard | None = self.__dict__.get("_constructs_lib_dashboard")
        return found


def _defaults(props: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    merged = dict(defaults)
    merged.update(props)
    return merged


def _registry(endpoint: object) -> dict[str, cloudwatch.Alarm]:
    registry: dict[str, cloudwatch.Alarm] = endpoint.__dict__.setdefault("_constructs_lib_alarms", {})
    return registry


# ----------------------------------------------------------------------------------- alarms
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

# Plain numbers, not Durations: a Duration is a jsii object, and creating one at import time
# would make every import of the library pay a round trip to the jsii kernel.
TGI_LATENCY_P99_SECONDS = 30
"""Default p99 model latency threshold for TGI, in seconds: a whole generation is one invocation."""
DEFAULT_LATENCY_P99_SECONDS = 2
"""Default p99 model latency threshold for the inference toolkit and TEI, in seconds."""

_PERCENT_FIELDS = (
    "error_5xx_rate_percent",
    "error_4xx_rate_percent",
    "gpu_memory_utilization_percent",
    "disk_utilization_percent",
)
_DEFAULT_EVALUATION_PERIODS = 3
_CONFIG_KEYS = frozenset(
    {*_PERCENT_FIELDS, "model_latency_p99_ms", "period_seconds", "evaluation_periods", "datapoints_to_alarm"}
)


class EndpointAlarms:
    """CloudWatch alarms on an endpoint's errors, latency and instances (``alarms=EndpointAlarms(...)``).

    ``alarms=True`` is ``EndpointAlarms()``. A threshold set to ``None`` turns its alarm off.
    The 5XX and latency alarms double as the default rollback alarms of ``deployment=...``.
    Instance alarms exist only on instances: GPU memory on GPU instances, disk on all of them,
    neither on serverless endpoints.

    :param error_5xx_rate_percent: alarm when more than this percentage of invocations fail with a
        5XX error (0 alarms on any 5XX error).
    :param error_4xx_rate_percent: alarm when more than this percentage of invocations fail with a
        4XX error (client errors, often not the endpoint's fault).
    :param model_latency_p99: alarm when the p99 ``ModelLatency`` is above this.
    :param gpu_memory_utilization_percent: alarm when the average GPU memory in use, per GPU, is above
        this percentage. Skipped with TGI, which reserves most GPU memory for its KV cache by design.
    :param disk_utilization_percent: alarm when the disk is fuller than this percentage.
    :param period: period of the alarms' metrics (a multiple of 60 s: SageMaker publishes endpoint
        metrics once a minute).
    :param evaluation_periods: how many periods the alarms look at.
    :param datapoints_to_alarm: how many of those periods must breach.
    :param alarm_actions: actions when an alarm fires (e.g. ``cloudwatch_actions.SnsAction(topic)``).
    :param ok_actions: actions when an alarm returns to OK.
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
        """Create the alarm settings.

        :default error_5xx_rate_percent: 1.0
        :default error_4xx_rate_percent: - no 4XX alarm
        :default model_latency_p99: - 30 seconds with TGI, 2 seconds otherwise
        :default gpu_memory_utilization_percent: 95.0
        :default disk_utilization_percent: 90.0
        :default period: Duration.minutes(1)
        :default evaluation_periods: 3
        :default datapoints_to_alarm: - ``evaluation_periods`` (every period must breach)
        :default alarm_actions: - none
        :default ok_actions: - none
        """
        problems = Problems("EndpointAlarms")
        for name, value in (
            ("error_5xx_rate_percent", error_5xx_rate_percent),
            ("error_4xx_rate_percent", error_4xx_rate_percent),
            ("gpu_memory_utilization_percent", gpu_memory_utilization_percent),
            ("disk_utilization_percent", disk_utilization_percent),
        ):
            _check_percent(name, value, problems)
        if model_latency_p99 is not None:
            if not isinstance(model_latency_p99, Duration):
                problems.add("model_latency_p99", model_latency_p99, "must be a Duration, e.g. Duration.seconds(2)")
            elif not model_latency_p99.is_unresolved() and model_latency_p99.to_milliseconds() <= 0:
                problems.add("model_latency_p99", model_latency_p99.to_human_string(), "must be positive")
        period = period if period is not None else Duration.minutes(1)
        if not isinstance(period, Duration):
            problems.add("period", period, "must be a Duration, e.g. Duration.minutes(1)")
        elif not period.is_unresolved():
            _check_period(period.to_milliseconds() / 1000, problems)
        if not _is_int(evaluation_periods) or evaluation_periods < 1:
            problems.add("evaluation_periods", evaluation_periods, "must be a whole number of at least 1")
        else:
            if datapoints_to_alarm is not None and (
                not _is_int(datapoints_to_alarm) or not 1 <= datapoints_to_alarm <= evaluation_periods
            ):
                problems.add(
                    "datapoints_to_alarm",
                    datapoints_to_alarm,
                    f"must be a whole number from 1 to {evaluation_periods}",
                )
            if isinstance(period, Duration) and not period.is_unresolved():
                _check_evaluation_range(period.to_milliseconds() / 1000, evaluation_periods, problems)
        problems.raise_if_any()
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
        kwargs: dict[str, Any] = {key: data[key] for key in _PERCENT_FIELDS if key in data}
        for key in ("evaluation_periods", "datapoints_to_alarm"):
            if key in data:
                kwargs[key] = data[key]
        # The keys that differ from the constructor's are checked here, so errors name the key in the file.
        problems = Problems("alarms")
        if data.get("model_latency_p99_ms") is not None:
            latency_ms = _number("alarms.model_latency_p99_ms", data["model_latency_p99_ms"])
            if latency_ms <= 0:
                problems.add("alarms.model_latency_p99_ms", data["model_latency_p99_ms"], "must be positive")
            kwargs["model_latency_p99"] = Duration.millis(latency_ms)
        if data.get("period_seconds") is not None:
            period_seconds = _number("alarms.period_seconds", data["period_seconds"])
            _check_period(period_seconds, problems, prop="alarms.period_seconds")
            evaluation_periods = kwargs.get("evaluation_periods", _DEFAULT_EVALUATION_PERIODS)
            if not problems and _is_int(evaluation_periods) and evaluation_periods >= 1:
                _check_evaluation_range(period_seconds, evaluation_periods, problems, period_name="period_seconds")
            kwargs["period"] = Duration.seconds(period_seconds)
        problems.raise_if_any()
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

    def latency_threshold(self, serving: Serving) -> Duration:
        """The p99 latency threshold for an endpoint running ``serving``."""
        if self.model_latency_p99 is not None:
            return self.model_latency_p99
        return Duration.seconds(TGI_LATENCY_P99_SECONDS if serving is Serving.TGI else DEFAULT_LATENCY_P99_SECONDS)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(prop: str, value: Any) -> float:
    if not is_number(value):
        raise ConfigurationError(f"{prop}: {describe(value)} must be a number")
    return float(value)


# CloudWatch's limits on an alarm's evaluation range (period x evaluation periods), enforced by
# PutMetricAlarm at deploy time: one day for periods under an hour, seven days otherwise.
_SHORT_PERIOD_RANGE = (86_400, "1 day", "under")
_LONG_PERIOD_RANGE = (604_800, "7 days", "of at least")


def _check_period(seconds: float, problems: Problems, *, prop: str = "period") -> None:
    # CloudWatch also takes 10, 20 and 30 s, but only for high-resolution metrics: SageMaker's are
    # per minute, and a sub-minute alarm on them sits in INSUFFICIENT_DATA most of the time.
    if not (seconds >= 60 and seconds % 60 == 0 and seconds <= 86_400):
        problems.add(
            prop,
            f"{seconds:g} seconds",
            "must be a multiple of 60 s up to 1 day (SageMaker publishes endpoint metrics once a minute)",
        )


def _check_evaluation_range(
    period_seconds: float, evaluation_periods: int, problems: Problems, *, period_name: str = "period"
) -> None:
    limit, span, which = _SHORT_PERIOD_RANGE if period_seconds < 3600 else _LONG_PERIOD_RANGE
    if period_seconds * evaluation_periods > limit:
        problems.add(
            "evaluation_periods",
            evaluation_periods,
            f"times {period_name} ({period_seconds:g} s) is {period_seconds * evaluation_periods:g} s; "
            f"CloudWatch allows at most {limit:,} s ({span}) for a period {which} 1 hour: "
            f"at most {int(limit // period_seconds)} evaluation periods of {period_seconds:g} s",
        )


def _check_percent(prop: str, value: Any, problems: Problems) -> None:
    if value is None:
        return
    if not is_number(value) or not 0 <= value <= 100:
        problems.add(prop, value, "must be a percentage from 0 to 100 (or None to turn the alarm off)")


def alarm_settings(props: Mapping[str, Any]) -> EndpointAlarms:
    """The alarm settings of an endpoint: its ``alarms`` prop, or the defaults."""
    given = props.get("alarms")
    return given if isinstance(given, EndpointAlarms) else EndpointAlarms()


def rollback_alarms(endpoint: EndpointBase, props: Mapping[str, Any]) -> list[cloudwatch.IAlarm]:
    """The 5XX-rate and p99-latency alarms (created once, shared with ``alarms=...``).

    Thresholds come from ``alarms=EndpointAlarms(...)`` when given (even if a threshold there is
    ``None``: rollback needs the alarm), the defaults otherwise.
    """
    settings = alarm_settings(props)
    return [
        _error_rate_alarm(endpoint, settings, ERRORS_5XX, settings.error_5xx_rate_percent or 0.0),
        _latency_alarm(endpoint, settings),
    ]


def _alarm_scope(endpoint: EndpointBase) -> Construct:
    scope = endpoint.node.try_find_child("Alarms")
    return scope if isinstance(scope, Construct) else Construct(endpoint, "Alarms")


def _make_alarm(
    endpoint: EndpointBase,
    settings: EndpointAlarms,
    key: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
) -> cloudwatch.Alarm:
    registry = _registry(endpoint)
    if key in registry:
        return registry[key]
    alarm = cloudwatch.Alarm(
        _alarm_scope(endpoint),
        _ALARM_IDS[key],
        metric=metric,
        threshold=threshold,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=settings.evaluation_periods,
        datapoints_to_alarm=settings.datapoints_to_alarm,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"{description} on SageMaker endpoint {endpoint.physical_endpoint_name}",
    )
    for action in settings.alarm_actions:
        alarm.add_alarm_action(action)
    for action in settings.ok_actions:
        alarm.add_ok_action(action)
    registry[key] = alarm
    return alarm


def _error_rate_alarm(endpoint: EndpointBase, settings: EndpointAlarms, key: str, percent: float) -> cloudwatch.Alarm:
    errors = (
        endpoint.metric_invocation_5xx_errors(period=settings.period)
        if key == ERRORS_5XX
        else endpoint.metric_invocation_4xx_errors(period=settings.period)
    )
    rate = cloudwatch.MathExpression(
        expression="100 * FILL(errors, 0) / invocations",
        using_metrics={"errors": errors, "invocations": endpoint.metric_invocations(period=settings.period)},
        period=settings.period,
        label=f"{key[-3:].upper()} error rate (%)",
    )
    return _make_alarm(
        endpoint,
        settings,
        key,
        metric=rate,
        threshold=percent,
        description=f"More than {percent:g}% of invocations failed with {key[-3:].upper()} errors",
    )


def _latency_alarm(endpoint: EndpointBase, settings: EndpointAlarms) -> cloudwatch.Alarm:
    threshold = settings.latency_threshold(endpoint.serving)
    return _make_alarm(
        endpoint,
        settings,
        MODEL_LATENCY,
        metric=endpoint.metric_model_latency(statistic=cloudwatch.Stats.p(99), period=settings.period),
        threshold=threshold.to_milliseconds() * 1000,  # ModelLatency is in microseconds
        description=f"p99 model latency above {threshold.to_human_string()}",
    )


def _create_alarms(endpoint: EndpointBase, settings: EndpointAlarms) -> None:
    if settings.error_5xx_rate_percent is not None:
        _error_rate_alarm(endpoint, settings, ERRORS_5XX, settings.error_5xx_rate_percent)
    if settings.error_4xx_rate_percent is not None:
        _error_rate_alarm(endpoint, settings, ERRORS_4XX, settings.error_4xx_rate_percent)
    _latency_alarm(endpoint, settings)
    if endpoint.instance_type is None:
        return  # serverless: no instance metrics
    if settings.gpu_memory_utilization_percent is not None and _has_gpus(endpoint):
        if endpoint.serving is Serving.TGI:
            Annotations.of(endpoint).add_info(
                "No GPU memory alarm: TGI reserves most of the GPU memory for its KV cache by design."
            )
        else:
            gpus = _gpu_count(endpoint)
            _make_alarm(
                endpoint,
                settings,
                GPU_MEMORY,
                metric=endpoint.metric_gpu_memory_utilization(period=settings.period),
                # GPUMemoryUtilization is summed over the instance's GPUs (0 to 100 x GPUs).
                threshold=settings.gpu_memory_utilization_percent * gpus,
                description=f"GPU memory above {settings.gpu_memory_utilization_percent:g}% per GPU ({gpus} GPUs)",
            )
    if settings.disk_utilization_percent is not None:
        _make_alarm(
            endpoint,
            settings,
            DISK,
            metric=endpoint.metric_disk_utilization(period=settings.period),
            threshold=settings.disk_utilization_percent,
            description=f"Disk above {settings.disk_utilization_percent:g}%",
        )


def _has_gpus(endpoint: EndpointBase) -> bool:
    return endpoint.instance_type is not None and processor_for(endpoint.instance_type) is Processor.GPU


def _gpu_count(endpoint: EndpointBase) -> int:
    spec = instance_spec(endpoint.instance_type) if endpoint.instance_type else None
    return max(spec.accelerators, 1) if spec is not None else 1


# -------------------------------------------------------------------------------- dashboard
_DASHBOARD_NAME_MAX = 255


def _create_dashboard(endpoint: EndpointBase) -> cloudwatch.Dashboard:
    name = endpoint.physical_endpoint_name
    dashboard = cloudwatch.Dashboard(
        endpoint,
        "Dashboard",
        # Endpoint names (letters, digits, hyphens, <= 63) are valid dashboard names.
        dashboard_name=None if is_unresolved(name) else name[:_DASHBOARD_NAME_MAX],
    )
    latency_p99 = endpoint.metric_model_latency(statistic=cloudwatch.Stats.p(99), label="Model latency p99")
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Invocations",
            left=[endpoint.metric_invocations(period=Duration.minutes(1), label="Invocations")],
            right=[endpoint.metric_invocations_per_instance(period=Duration.minutes(1), label="Per instance")]
            if endpoint.instance_type is not None
            else [],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Errors",
            left=[
                endpoint.metric_invocation_4xx_errors(period=Duration.minutes(1), label="4XX"),
                endpoint.metric_invocation_5xx_errors(period=Duration.minutes(1), label="5XX"),
            ],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Latency (microseconds)",
            left=[
                endpoint.metric_model_latency(label="Model latency (avg)"),
                latency_p99,
                endpoint.metric_overhead_latency(label="Overhead latency (avg)"),
            ],
            width=8,
        ),
    )
    if endpoint.instance_type is not None:
        instance_widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title="CPU and memory (%)",
                left=[endpoint.metric_cpu_utilization(label="CPU")],
                right=[endpoint.metric_memory_utilization(label="Memory")],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Disk (%)", left=[endpoint.metric_disk_utilization(label="Disk")], width=8),
        ]
        if _has_gpus(endpoint):
            instance_widgets.append(
                cloudwatch.GraphWidget(
                    title="GPU (%)",
                    left=[endpoint.metric_gpu_utilization(label="GPU")],
                    right=[endpoint.metric_gpu_memory_utilization(label="GPU memory")],
                    width=8,
                )
            )
        dashboard.add_widgets(*instance_widgets)
    alarms = list(_registry(endpoint).values())
    if alarms:
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24))
    return dashboard


# ------------------------------------------------------------------------------------- tags
MAX_TAGS = 50
_TAG_KEY_MAX = 128
_TAG_VALUE_MAX = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def tag_problem(text: str, *, key: bool) -> str | None:
    """Why ``text`` is not a valid tag key (``key=True``) or value, or ``None`` when it is."""
    if not isinstance(text, str):
        return "must be a string"
    limit, low = (_TAG_KEY_MAX, 1) if key else (_TAG_VALUE_MAX, 0)
    if not low <= len(text) <= limit:
        return f"must be {low} to {limit} characters long (is {len(text)})"
    bad = sorted({c for c in text if not _tag_char_ok(c)})
    if bad:
        return f"contains {', '.join(map(repr, bad))}: tags allow only letters, digits, spaces and _ . : / = + - @"
    if key and text.lower().startswith("aws:"):
        return "starts with 'aws:', which is reserved for AWS"
    return None


def _tag_char_ok(char: str) -> bool:
    return char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in "LZN"


def safe_tag_value(value: str) -> str:
    """``value`` made into a valid tag value: invalid characters become ``_``, cut to 256 characters."""
    return "".join(c if _tag_char_ok(c) else "_" for c in value)[:_TAG_VALUE_MAX]


def _check_tags(endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems) -> None:
    tags = props.get("tags")
    if tags is None:
        return
    if not isinstance(tags, Mapping):
        problems.add("tags", tags, "must be a mapping of tag keys to values")
        return
    for key, value in tags.items():
        if is_unresolved(key):
            continue
        problem = tag_problem(key, key=True)
        if problem:
            problems.add("tags", key, f"is not a valid tag key: {problem}")
        if is_unresolved(value):
            continue
        problem = tag_problem(value, key=False)
        if problem:
            problems.add(f"tags[{key!r}]", value, f"is not a valid tag value: {problem}")
    from .endpoint import MODEL_ID_TAG

    count = len(tags) + (1 if endpoint.hub_model_id and MODEL_ID_TAG not in tags else 0)
    if count > MAX_TAGS:
        problems.add(
            "tags",
            f"{len(tags)} tags",
            f"are too many: AWS allows at most {MAX_TAGS} tags per resource, and the endpoint adds "
            f"{count - len(tags)} of its own ({MODEL_ID_TAG})",
        )


# ---------------------------------------------------------------------------------- feature
class _ObservabilityFeature(EndpointFeature):
    """``alarms``, ``dashboard`` and the checks of ``tags`` (the base applies the tags)."""

    props = ("alarms", "dashboard", "tags")

    def validate(self, endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems) -> None:
        alarms = props.get("alarms")
        if alarms is not None and not isinstance(alarms, bool | EndpointAlarms):
            problems.add("alarms", alarms, "must be True, False or an EndpointAlarms(...)")
        dashboard = props.get("dashboard", False)
        if not isinstance(dashboard, bool):
            problems.add("dashboard", dashboard, "must be True or False")
        _check_tags(endpoint, props, problems)

    def apply(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> None:
        alarms = props.get("alarms")
        if alarms:
            _create_alarms(endpoint, alarm_settings(props))
        if props.get("dashboard"):
            endpoint.__dict__["_constructs_lib_dashboard"] = _create_dashboard(endpoint)


FEATURE: EndpointFeature = _ObservabilityFeature()

__all__ = [
    "ALARM_KEYS",
    "EndpointAlarms",
    "EndpointMetrics",
    "FEATURE",
    "ROLLBACK_ALARM_KEYS",
]
