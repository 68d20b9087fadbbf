"""Metrics of an endpoint (and, with issue 5, alarms and a dashboard)."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch

from .features import EndpointFeature

VARIANT_NAME = "AllTraffic"


class EndpointMetrics:
    """CloudWatch metrics of an endpoint's production variant; mixed into ``EndpointBase``."""

    endpoint_name: str

    def metric(self, metric_name: str, *, namespace: str = "AWS/SageMaker", **props: Any) -> cloudwatch.Metric:
        """A CloudWatch metric of this endpoint's variant.

        :param metric_name: e.g. ``Invocations``.
        :param namespace: ``AWS/SageMaker`` for invocation metrics, ``/aws/sagemaker/Endpoints`` for
            instance metrics.
        :default namespace: ``"AWS/SageMaker"``
        """
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": VARIANT_NAME},
            **props,
        )


FEATURE = EndpointFeature()
