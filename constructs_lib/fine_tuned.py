"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .endpoints.fine_tuned import FineTunedEndpoint, check_task_inferable

__all__ = ["FineTunedEndpoint", "check_task_inferable"]
