"""Which production features exist, the props each one owns, and the order they are applied in.

A feature module is imported only for an endpoint that sets one of its props: an endpoint without
production features does not pay for importing (and registering with jsii) what it does not use.
Adding a feature is one module with an ``EndpointFeature`` subclass named ``FEATURE_CLASS`` and one
line here (plus its props in ``EndpointProps``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .base import EndpointFeature

OWNED_PROPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # feature module, and the EndpointProps keys it owns, in the order the features are applied
    ("serverless", ("serverless",)),
    ("async_inference", ("async_inference",)),
    ("security", ("hf_token_secret", "vpc", "vpc_subnets", "security_groups", "network_isolation", "encryption_key")),
    ("data_capture", ("data_capture",)),
    ("variants", ("variants",)),
    ("deployment", ("deployment",)),
    ("autoscaling", ("autoscaling",)),
    ("observability", ("alarms", "dashboard")),
)


def feature_props() -> dict[str, tuple[str, ...]]:
    """The props each feature module owns, by module name."""
    return dict(OWNED_PROPS)


def features_for(props: Mapping[str, Any]) -> tuple[EndpointFeature, ...]:
    """One feature object for each feature the props use (those with at least one of their props set)."""
    return tuple(
        feature_class(module)(props)
        for module, owned in OWNED_PROPS
        if any(props.get(prop) is not None for prop in owned)
    )


def feature_class(module: str) -> type[EndpointFeature]:
    """The feature class of a feature module."""
    found: type[EndpointFeature] = importlib.import_module(f".{module}", __package__).FEATURE_CLASS
    return found
