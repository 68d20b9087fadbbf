"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .features.deployment.capacity import CapacitySize, DeploymentType
from .features.deployment.guardrails import (
    DEFAULT_WAIT,
    MAX_EXECUTION_RANGE,
    MAX_ROLLBACK_ALARMS,
    WAIT_RANGE,
    DeploymentGuardrails,
)

__all__ = [
    "CapacitySize",
    "DEFAULT_WAIT",
    "DeploymentGuardrails",
    "DeploymentType",
    "MAX_EXECUTION_RANGE",
    "MAX_ROLLBACK_ALARMS",
    "WAIT_RANGE",
]
