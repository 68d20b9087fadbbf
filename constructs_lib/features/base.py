"""How a production feature plugs into an endpoint without the endpoint knowing it.

A feature (async inference, autoscaling, data capture, ...) is an ``EndpointFeature``, created per
endpoint from the props it owns (see ``registry``). It checks them against the endpoint's resolved
facts before anything is created, contributes properties to the Model, the EndpointConfig, its
production variant and the Endpoint while they are built, adds its own resources (scaling
policies, alarms, buckets) once the endpoint exists, and hands back what users need as
``FeatureOutputs``. Property hooks return keyword arguments for the L1 constructs (CloudFormation
property names in snake_case). Every hook is optional.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from aws_cdk import aws_iam as iam

from .._core.errors import Problems
from ..contract.facts import EndpointFacts, EndpointResources, FeatureOutputs
from ..serving.base import ServingStack


class EndpointFeature:
    """A production feature of one endpoint, created from the endpoint's props."""

    reads: ClassVar[tuple[str, ...]] = ()
    """Props the feature reads besides its own (those ``registry.OWNED_PROPS`` gives it), e.g. the
    ``alarms`` thresholds the deployment guardrails' rollback alarms use. Nothing else is visible."""

    def __init__(self, props: Mapping[str, Any]) -> None:
        """:param props: a read-only view of the props the feature owns and those it ``reads``."""

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        """Record problems with the feature's props; called before any resource is created."""

    def environment(self, facts: EndpointFacts, stack: ServingStack) -> dict[str, str]:
        """Container environment variables the feature sets for a model served by ``stack``."""
        return {}

    def model_properties(self, facts: EndpointFacts, role: iam.IRole) -> dict[str, Any]:
        """Extra ``CfnModel`` keyword arguments (e.g. ``vpc_config``), for every model of the endpoint."""
        return {}

    def variant_properties(self, facts: EndpointFacts) -> dict[str, Any]:
        """Extra ``ProductionVariantProperty`` keyword arguments (e.g. ``serverless_config``)."""
        return {}

    def config_properties(self, facts: EndpointFacts, role: iam.IRole) -> dict[str, Any]:
        """Extra ``CfnEndpointConfig`` keyword arguments (e.g. ``async_inference_config``)."""
        return {}

    def endpoint_properties(self, facts: EndpointFacts) -> dict[str, Any]:
        """Extra ``CfnEndpoint`` keyword arguments (e.g. ``deployment_config``)."""
        return {}

    def apply(self, facts: EndpointFacts, resources: EndpointResources) -> FeatureOutputs:
        """Add resources that need the finished endpoint (scaling, alarms, dashboards, more variants)."""
        return FeatureOutputs()

    def grant_invoke(
        self, facts: EndpointFacts, resources: EndpointResources, grantee: iam.IGrantable
    ) -> list[iam.Grant]:
        """Extra permissions ``grant_invoke`` gives (e.g. ``InvokeEndpointAsync``)."""
        return []


def merge_properties(target: dict[str, Any], extra: Mapping[str, Any], *, owner: str) -> None:
    """Merge a feature's properties, refusing two features that set the same property."""
    clash = sorted(set(target) & set(extra))
    if clash:
        raise AssertionError(f"feature {owner} sets {clash}, already set by another feature")
    target.update(extra)
