"""``IHuggingFaceEndpoint``: an endpoint as the rest of CDK sees it, plus what this library adds.

It is an ``aws_sagemaker.IEndpoint`` (so ``apigateway.SagemakerIntegration(endpoint)`` works), with the
CloudWatch metrics of the endpoint and the serving stack it runs. Endpoints built here and endpoints
imported with ``HubModelEndpoint.from_endpoint_name(...)`` both implement it; endpoints built here are
also ``iam.IGrantable`` (``bucket.grant_read(endpoint)`` grants to their execution role).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from aws_cdk import aws_sagemaker as sagemaker

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch

    from ..serving.base import Serving


class IHuggingFaceEndpoint(sagemaker.IEndpoint, Protocol):
    """A SageMaker endpoint serving a Hugging Face model."""

    @property
    def serving(self) -> Serving | None:
        """The serving stack the endpoint runs (``None`` when unknown, e.g. for an imported endpoint)."""
        ...

    @property
    def physical_endpoint_name(self) -> str:
        """The endpoint's name as known at synth time (a token for an imported endpoint known by ARN only)."""
        ...

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A CloudWatch metric of the endpoint's variant."""
        ...

    def metric_invocations(self, **props: Any) -> cloudwatch.Metric:
        """Number of requests sent to the variant (``Invocations``)."""
        ...

    def metric_model_latency(self, **props: Any) -> cloudwatch.Metric:
        """Time the model container takes to respond, in microseconds (``ModelLatency``)."""
        ...

    def metric_invocation_4xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 4XX status (``Invocation4XXErrors``)."""
        ...

    def metric_invocation_5xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Requests the model answered with a 5XX status (``Invocation5XXErrors``)."""
        ...
