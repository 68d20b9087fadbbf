"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from ._core.errors import subject_of
from ._core.hf_token import TOKEN_VARIABLES, holds_hf_token, looks_like_hf_token
from ._core.names import MODEL_ID_TAG, VARIANT_NAME
from .endpoints.base import EndpointBase
from .endpoints.props import DEFAULT_INSTANCE_TYPE, EndpointProps, ModelSource

__all__ = [
    "DEFAULT_INSTANCE_TYPE",
    "EndpointBase",
    "EndpointProps",
    "MODEL_ID_TAG",
    "ModelSource",
    "TOKEN_VARIABLES",
    "VARIANT_NAME",
    "holds_hf_token",
    "looks_like_hf_token",
    "subject_of",
]
