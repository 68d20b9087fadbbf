"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .features.autoscaling import SCALABLE_DIMENSION
from .features.autoscaling.settings import DEFAULT_BACKLOG_PER_INSTANCE, AutoScaling, ScheduledCapacity

__all__ = ["AutoScaling", "DEFAULT_BACKLOG_PER_INSTANCE", "SCALABLE_DIMENSION", "ScheduledCapacity"]
