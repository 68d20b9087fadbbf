"""CloudWatch metrics of an endpoint: the ``metric()`` / ``metric_*`` methods every endpoint has.

The generic ``metric()`` fills in the namespace and the ``EndpointName``/``VariantName`` dimensions,
and each ``metric_xxx`` picks a statistic and documents it, as ``IEndpointInstanceProductionVariant``
does in aws-sagemaker-alpha. Metric dimensions use the endpoint's physical name, which is known at
synth time, not the ``GetAtt`` of the endpoint: alarms on these metrics therefore never depend on the
endpoint, and the endpoint can reference them in ``AutoRollbackConfiguration`` without a dependency
cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._core.names import CONTAINER_METRICS_NAMESPACE, INVOCATION_METRICS_NAMESPACE, VARIANT_NAME

if TYPE_CHECKING:
    # Imported where a metric is made: an app that reads no metric (no alarms, no dashboard) does not load
    # aws_cloudwatch, about 35 to 70 ms of every `cdk synth` here.
    from aws_cdk import aws_cloudwatch as cloudwatch

SUM = "Sum"
"""``cloudwatch.Stats.SUM``."""
AVERAGE = "Average"
"""``cloudwatch.Stats.AVERAGE``."""


class InvocationMetrics:
    """The invocation metrics endpoints and inference components share; ``metric()`` adds the dimensions."""

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A CloudWatch metric with the dimensions of what it measures (an endpoint's variant, a component)."""
        raise NotImplementedError

    def metric_invocations(self, **props: Any) -> cloudwatch.Metric:
        """Number of requests sent to the variant or component (``Invocations``).

        :default: - sum over 5 minutes
        """
        return self.metric("Invocations", **with_defaults(props, statistic=SUM))

    def metric_model_latency(self, **props: Any) -> cloudwatch.Metric:
        """Time the model's container takes to respond, in microseconds (``ModelLatency``).

        :default: - average over 5 minutes
        """
        return self.metric("ModelLatency", **with_defaults(props, statistic=AVERAGE))

    def metric_invocation_4xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 4XX status (``Invocation4XXErrors``).

        :default: - sum over 5 minutes
        """
        return self.metric("Invocation4XXErrors", **with_defaults(props, statistic=SUM))

    def metric_invocation_5xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 5XX status (``Invocation5XXErrors``).

        :default: - sum over 5 minutes
        """
        return self.metric("Invocation5XXErrors", **with_defaults(props, statistic=SUM))


class EndpointMetrics(InvocationMetrics):
    """CloudWatch metrics of an endpoint's production variant; mixed into ``EndpointBase``.

    Every ``metric_xxx`` takes the fields of ``cloudwatch.MetricOptions`` (``period``,
    ``statistic``, ``label``, ``color``, ``dimensions_map``, ...) as keyword arguments. No ``unit`` is
    set: a unit on an alarm filters datapoints, and a mismatch leaves the alarm without data.
    """

    physical_endpoint_name: str
    """The endpoint's name as known at synth time: the ``EndpointName`` dimension of every metric."""

    def metric(
        self,
        metric_name: str,
        *,
        namespace: str = INVOCATION_METRICS_NAMESPACE,
        variant_name: str = VARIANT_NAME,
        **props: Any,
    ) -> cloudwatch.Metric:
        """A CloudWatch metric of this endpoint's variant.

        The ``EndpointName`` dimension is the endpoint's physical name (known at synth time), so
        alarms on the metric do not depend on the endpoint resource.

        :param metric_name: e.g. ``Invocations``.
        :param namespace: ``AWS/SageMaker`` for invocation metrics, ``/aws/sagemaker/Endpoints`` for
            instance metrics.
        :default namespace: ``"AWS/SageMaker"``
        :param variant_name: the production variant.
        :default variant_name: ``"AllTraffic"``
        :param props: ``cloudwatch.MetricOptions`` fields; ``dimensions_map`` entries are added to
            (and override) the endpoint's dimensions.
        """
        dimensions = {"EndpointName": self.physical_endpoint_name, "VariantName": variant_name}
        dimensions.update(props.pop("dimensions_map", None) or {})
        from aws_cdk import aws_cloudwatch as cloudwatch

        return cloudwatch.Metric(namespace=namespace, metric_name=metric_name, dimensions_map=dimensions, **props)

    # ---------------------------------------------------------------- invocation metrics
    def metric_invocations_per_instance(self, **props: Any) -> cloudwatch.Metric:
        """Requests per instance (``InvocationsPerInstance``), what target tracking scales on.

        :default: - sum over 5 minutes
        """
        return self.metric("InvocationsPerInstance", **with_defaults(props, statistic=SUM))

    def metric_overhead_latency(self, **props: Any) -> cloudwatch.Metric:
        """Time SageMaker adds on top of the model latency, in microseconds (``OverheadLatency``).

        :default: - average over 5 minutes
        """
        return self.metric("OverheadLatency", **with_defaults(props, statistic=AVERAGE))

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
        return self.metric(name, namespace=CONTAINER_METRICS_NAMESPACE, **with_defaults(props, statistic=AVERAGE))


def with_defaults(props: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """``MetricOptions`` keyword arguments: ``props`` over ``defaults`` (a metric method's statistic)."""
    merged = dict(defaults)
    merged.update(props)
    return merged
