"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .features.security.kms import KMS_KEY_ACTIONS
from .features.security.network import NETWORK_INTERFACE_DESCRIBE_ACTIONS, NETWORK_INTERFACE_MANAGE_ACTIONS
from .features.security.token import secret_from_config

__all__ = [
    "KMS_KEY_ACTIONS",
    "NETWORK_INTERFACE_DESCRIBE_ACTIONS",
    "NETWORK_INTERFACE_MANAGE_ACTIONS",
    "secret_from_config",
]
