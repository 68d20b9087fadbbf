"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .endpoints.hub_model import HubModelEndpoint
from .model.hub_reference import check_hub_reference, check_task

__all__ = ["HubModelEndpoint", "check_hub_reference", "check_task"]
