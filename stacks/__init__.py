"""Deployable stacks composed from ``constructs_lib``."""

from .endpoint_stack import HuggingFaceEndpointStack
from .settings import EndpointSettings, settings_from_context

__all__ = ["EndpointSettings", "HuggingFaceEndpointStack", "settings_from_context"]
