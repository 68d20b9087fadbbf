"""Which production features exist, the props each one owns, and the order they are applied in.

A feature module is imported only for an endpoint that sets one of its props: an endpoint without
production features does not pay for importing (and registering with jsii) what it does not use.
Adding a feature is one module with an ``EndpointFeature`` subclass named ``FEATURE_CLASS`` and one
line here (plus its props in ``EndpointProps``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
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
    """One feature object for each feature the props use (those with at least one of their props set).

    Each feature is given a read-only view of the props it owns and of those it declares it reads
    (``EndpointFeature.reads``), never the whole mapping.
    """
    features = []
    for module, owned in OWNED_PROPS:
        if any(props.get(prop) is not None for prop in owned):
            cls = feature_class(module)
            features.append(cls(FeatureProps(props, allowed=(*owned, *cls.reads), feature=cls.__name__)))
    return tuple(features)


class UndeclaredPropError(LookupError):
    """A feature read a prop it neither owns nor declares in ``reads``: a bug in the feature, not in the app."""


class FeatureProps(Mapping[str, Any]):
    """The endpoint's props as one feature sees them: only those it owns or ``reads``, and read-only.

    Reading any other prop raises :class:`UndeclaredPropError` (``get`` included), so a feature cannot
    come to depend on another feature's props, or on the endpoint's, without saying so.
    """

    def __init__(self, props: Mapping[str, Any], *, allowed: tuple[str, ...], feature: str) -> None:
        self._props = props
        self._allowed = frozenset(allowed)
        self._feature = feature

    def __getitem__(self, key: str) -> Any:
        if key not in self._allowed:
            raise UndeclaredPropError(
                f"{self._feature} reads the prop {key!r}, which it neither owns nor declares in "
                f"{self._feature}.reads; allowed: {', '.join(sorted(self._allowed))}"
            )
        return self._props[key]

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._props if key in self._allowed)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def feature_class(module: str) -> type[EndpointFeature]:
    """The feature class of a feature module."""
    found: type[EndpointFeature] = importlib.import_module(f".{module}", __package__).FEATURE_CLASS
    return found
