"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .features.data_capture import DEFAULT_PREFIX, MAX_CONTENT_TYPES, DataCapture

__all__ = ["DEFAULT_PREFIX", "DataCapture", "MAX_CONTENT_TYPES"]
