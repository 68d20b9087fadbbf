"""Deployable stacks composed from ``constructs_lib``."""

from .endpoint_stack import HuggingFaceEndpointStack
from .settings import EndpointSettings, settings_from_context
from .shared_settings import SharedEndpointSettings
from .shared_stack import SharedEndpointStack

__all__ = [
    "EndpointSettings",
    "HuggingFaceEndpointStack",
    "SharedEndpointSettings",
    "SharedEndpointStack",
    "settings_from_context",
]
