"""Observability of an endpoint: CloudWatch alarms (``alarms``) and a dashboard (``dashboard``).

Metrics are on every endpoint (``contract.metrics``); this feature adds what watches them.
"""

from __future__ import annotations

from typing import Any

from ..._core.errors import Problems
from ...contract.facts import EndpointFacts, EndpointResources, FeatureOutputs
from ..base import EndpointFeature
from .alarms import EndpointAlarms, alarm_settings, create_alarms
from .dashboard import create_dashboard


class ObservabilityFeature(EndpointFeature):
    """``alarms`` and ``dashboard``."""

    def __init__(self, props: Any) -> None:
        self._alarms = props.get("alarms")
        self._dashboard = props.get("dashboard", False)
        self._props = props

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        if self._alarms is not None and not isinstance(self._alarms, bool | EndpointAlarms):
            problems.add("alarms", self._alarms, "must be True, False or an EndpointAlarms(...)")
        if not isinstance(self._dashboard, bool):
            problems.add("dashboard", self._dashboard, "must be True or False")

    def apply(self, facts: EndpointFacts, resources: EndpointResources) -> FeatureOutputs:
        if self._alarms:
            create_alarms(facts, alarm_settings(self._props))
        return FeatureOutputs(dashboard=create_dashboard(facts) if self._dashboard else None)


FEATURE_CLASS = ObservabilityFeature
