"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from ._core.names import CONTAINER_METRICS_NAMESPACE, INVOCATION_METRICS_NAMESPACE
from ._core.tags import MAX_TAGS, safe_tag_value, tag_problem
from .contract.metrics import EndpointMetrics
from .features.observability.alarms import ALARM_KEYS, ROLLBACK_ALARM_KEYS, EndpointAlarms

__all__ = [
    "ALARM_KEYS",
    "CONTAINER_METRICS_NAMESPACE",
    "EndpointAlarms",
    "EndpointMetrics",
    "INVOCATION_METRICS_NAMESPACE",
    "MAX_TAGS",
    "ROLLBACK_ALARM_KEYS",
    "safe_tag_value",
    "tag_problem",
]
