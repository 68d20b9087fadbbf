"""How production features plug into ``EndpointBase`` without the base knowing each of them.

A feature (async inference, autoscaling, data capture, ...) is an ``EndpointFeature``: it checks
the props it owns before anything is created, contributes properties to the Model, the
EndpointConfig, its production variant and the Endpoint while the base builds them, and adds its
own resources (scaling policies, alarms, buckets) once the endpoint exists. Each concern lives
in its own module; ``_FEATURE_MODULES`` lists them in the order they are applied.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_iam as iam

from ._core.errors import Problems

if TYPE_CHECKING:
    from .endpoint import EndpointBase
    from .images import Serving


class EndpointFeature:
    """A production feature of an endpoint. Every hook is optional (no-op by default).

    Hooks receive the endpoint being built and its props. Property hooks return keyword
    arguments for the corresponding L1 construct (CloudFormation property names in snake_case).
    """

    props: tuple[str, ...] = ()
    """The ``EndpointProps`` keys this feature owns."""

    def validate(self, endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems) -> None:
        """Record problems with this feature's props; called before any resource is created."""

    def environment(
        self, endpoint: EndpointBase, props: Mapping[str, Any], *, serving: Serving | None = None
    ) -> dict[str, str]:
        """Container environment variables the feature sets.

        :param serving: the serving stack of the container (a variant's may differ from the
            endpoint's). :default: - ``endpoint.serving``
        """
        return {}

    def model_properties(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> dict[str, Any]:
        """Extra ``CfnModel`` keyword arguments (e.g. ``vpc_config``)."""
        return {}

    def variant_properties(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> dict[str, Any]:
        """Extra ``ProductionVariantProperty`` keyword arguments (e.g. ``serverless_config``)."""
        return {}

    def config_properties(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> dict[str, Any]:
        """Extra ``CfnEndpointConfig`` keyword arguments (e.g. ``async_inference_config``)."""
        return {}

    def endpoint_properties(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> dict[str, Any]:
        """Extra ``CfnEndpoint`` keyword arguments (e.g. ``deployment_config``)."""
        return {}

    def apply(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> None:
        """Add resources that need the finished endpoint (scaling, alarms, dashboards, tags)."""

    def grant_invoke(self, endpoint: EndpointBase, grantee: iam.IGrantable) -> None:
        """Extra permissions ``grant_invoke`` gives (e.g. ``InvokeEndpointAsync``)."""


def merge_properties(target: dict[str, Any], extra: Mapping[str, Any], *, owner: str) -> None:
    """Merge a feature's properties, refusing two features that set the same property."""
    clash = sorted(set(target) & set(extra))
    if clash:
        raise AssertionError(f"feature {owner} sets {clash}, already set by another feature")
    target.update(extra)


# Every feature module and the props it owns, in the order the features are applied. A module is
# imported only for an endpoint that sets one of its props: an endpoint without production
# features does not pay for importing (and registering with jsii) what it does not use.
_FEATURE_MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("inference_modes", ("serverless", "async_inference")),
    ("security", ("hf_token_secret", "vpc", "vpc_subnets", "security_groups", "network_isolation", "encryption_key")),
    ("data_capture", ("data_capture",)),
    ("variants", ("variants",)),
    ("deployment", ("deployment",)),
    ("autoscaling", ("autoscaling",)),
    ("monitoring", ("alarms", "dashboard", "tags")),
)


def feature_props() -> dict[str, tuple[str, ...]]:
    """The props each feature module owns, by module name."""
    return dict(_FEATURE_MODULES)


def features_for(props: Mapping[str, Any]) -> tuple[EndpointFeature, ...]:
    """The features an endpoint with these props uses: those with at least one of their props set."""
    return tuple(
        _feature(module) for module, owned in _FEATURE_MODULES if any(props.get(prop) is not None for prop in owned)
    )


def _feature(module: str) -> EndpointFeature:
    # Imported here: feature modules import the base for type hints, and the base imports this.
    feature: EndpointFeature = importlib.import_module(f".{module}", __package__).FEATURE
    return feature
