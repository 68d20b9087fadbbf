"""Endpoints deployed elsewhere: ``from_endpoint_name`` / ``from_endpoint_arn`` / ``from_endpoint_attributes``.

An imported endpoint is an ``aws_sagemaker.IEndpoint`` with the metrics every endpoint has and
``grant_invoke``: a consumer stack can let its functions call "the endpoint team X deployed" and alarm
on its latency. It has no execution role and no features; what it serves (synchronous or asynchronous
invocations) comes from its attributes, because ``grant_invoke`` depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import ArnFormat, Resource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.interfaces import aws_sagemaker as sagemaker_refs
from constructs import Construct

from .._core.errors import ConfigurationError, Problems
from .._core.names import RESOURCE_NAME
from .._core.tokens import is_unresolved
from ..contract.metrics import EndpointMetrics
from ..serving.base import Serving


@dataclass(frozen=True, kw_only=True)
class EndpointAttributes:
    """What identifies an endpoint deployed elsewhere: its name or its ARN (exactly one)."""

    endpoint_name: str | None = None
    """The endpoint's name, in the importing stack's account and region.

    :default: - read from ``endpoint_arn``
    """
    endpoint_arn: str | None = None
    """The endpoint's ARN (``arn:aws:sagemaker:<region>:<account>:endpoint/<name>``).

    :default: - built from ``endpoint_name`` in the importing stack's account and region
    """
    serving: Serving | None = None
    """The serving stack the endpoint runs, when known.

    :default: - unknown
    """
    async_inference: bool = False
    """Whether the endpoint was deployed with asynchronous inference. Such an endpoint serves only
    ``InvokeEndpointAsync``, so ``grant_invoke`` grants that instead of the synchronous invokes. The S3
    locations the caller writes payloads to and reads results from are not known to the import: grant
    them on their buckets (``bucket.grant_put(caller)``, ``bucket.grant_read(caller)``).

    :default: False
    """


@jsii.implements(sagemaker.IEndpoint)
class ImportedEndpoint(EndpointMetrics, Resource):
    """An endpoint deployed elsewhere, known by name or ARN."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        endpoint_arn: str,
        serving: Serving | None,
        asynchronous: bool,
    ):
        super().__init__(scope, id, environment_from_arn=endpoint_arn)
        self._name = endpoint_name
        self._arn = endpoint_arn
        self._serving = serving
        self._asynchronous = asynchronous
        self.physical_endpoint_name = endpoint_name

    @property
    def endpoint_name(self) -> str:
        """Name of the endpoint."""
        return self._name

    @property
    def endpoint_arn(self) -> str:
        """ARN of the endpoint."""
        return self._arn

    @property
    def endpoint_ref(self) -> sagemaker_refs.EndpointReference:
        """A reference to the endpoint, for CDK constructs that take an ``IEndpointRef``."""
        return sagemaker_refs.EndpointReference(endpoint_arn=self._arn)

    @property
    def serving(self) -> Serving | None:
        """The serving stack it runs, when given in the attributes."""
        return self._serving

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke the endpoint: ``InvokeEndpoint`` and ``InvokeEndpointWithResponseStream``,
        or ``InvokeEndpointAsync`` alone when imported with ``async_inference=True`` (grant the S3 locations
        on their buckets)."""
        actions = (
            ["sagemaker:InvokeEndpointAsync"]
            if self._asynchronous
            else ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
        )
        return iam.Grant.add_to_principal(grantee=grantee, actions=actions, resource_arns=[self._arn])


def import_endpoint(
    scope: Construct, id: str, attributes: EndpointAttributes, *, method: str = "from_endpoint_attributes"
) -> ImportedEndpoint:
    """The imported endpoint ``attributes`` describe (name and ARN derived from one another).

    :param method: the public method called, which errors name
    """
    if not isinstance(attributes, EndpointAttributes):
        raise ConfigurationError(
            f"{method} '{id}': attributes: {attributes!r} is not an EndpointAttributes; "
            "pass EndpointAttributes(endpoint_name=...) or EndpointAttributes(endpoint_arn=...)"
        )
    _check_kinds(f"{method} '{id}'", attributes)
    name, arn = attributes.endpoint_name, attributes.endpoint_arn
    if (name is None) == (arn is None):
        given = "both" if name is not None else "neither"
        raise ConfigurationError(f"{method} '{id}': endpoint_name / endpoint_arn: {given} given; pass exactly one")
    stack = Stack.of(scope)
    if arn is None:
        assert name is not None
        if not is_unresolved(name) and not RESOURCE_NAME.match(name):
            raise ConfigurationError(
                f"{method} '{id}': endpoint_name: {name!r} is not a SageMaker endpoint name (1-63 letters, "
                "digits and hyphens, starting and ending with a letter or digit)"
            )
        # SageMaker writes endpoint names in lower case in ARNs, which IAM compares case-sensitively.
        arn_name = name if is_unresolved(name) else name.lower()
        arn = stack.format_arn(service="sagemaker", resource="endpoint", resource_name=arn_name)
    else:
        if not is_unresolved(arn) and ":endpoint/" not in arn:
            raise ConfigurationError(
                f"{method} '{id}': endpoint_arn: {arn!r} is not a SageMaker endpoint ARN "
                "(arn:<partition>:sagemaker:<region>:<account>:endpoint/<name>)"
            )
        name = stack.split_arn(arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name or ""
    return ImportedEndpoint(
        scope,
        id,
        endpoint_name=name,
        endpoint_arn=arn,
        serving=attributes.serving,
        asynchronous=attributes.async_inference,
    )


def _check_kinds(subject: str, attributes: EndpointAttributes) -> None:
    # A dataclass does not check types: "tgi" for serving or "yes" for async_inference would be kept as
    # given and grant the wrong invokes or report no serving stack, silently.
    problems = Problems(subject)
    for prop, value, kind, allowed in (
        ("endpoint_name", attributes.endpoint_name, str, "a string"),
        ("endpoint_arn", attributes.endpoint_arn, str, "a string"),
        ("serving", attributes.serving, Serving, "a Serving (e.g. Serving.VLLM)"),
    ):
        if value is not None and not isinstance(value, kind):
            problems.add(prop, value, f"is not {allowed}")
    if attributes.serving is Serving.AUTO:
        problems.add_message(
            "serving: Serving.AUTO picks a stack for a new endpoint, it is not one an endpoint runs; "
            "pass the stack it runs (e.g. Serving.VLLM), or leave serving out"
        )
    if not isinstance(attributes.async_inference, bool):
        problems.add("async_inference", attributes.async_inference, "is not True or False")
    problems.raise_if_any()
