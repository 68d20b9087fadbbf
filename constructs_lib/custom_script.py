"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .endpoints.custom_script import CustomScriptEndpoint

__all__ = ["CustomScriptEndpoint"]
