"""Deprecated path, kept for one release: use ``from constructs_lib import ...``, or the modules below."""

from .model.context_file import (
    CONTEXT_FILE_ENV,
    CONTEXT_FILE_NAME,
    context_key,
    default_context_file,
    read_context,
    write_context_entry,
)
from .model.hub_lookup import (
    DEFAULT_TIMEOUT_SECONDS,
    HubAccessError,
    HubLookup,
    HubModelNotFoundError,
    HubRevisionNotFoundError,
    lookup_hub_profile,
)
from .model.local import profile_from_directory, read_safetensors_header
from .model.profile import DTYPE_BYTES, FLOAT_DTYPES, MODEL_DTYPES, PROFILE_SOURCES, ModelProfile, normalise_dtype

__all__ = [
    "CONTEXT_FILE_ENV",
    "CONTEXT_FILE_NAME",
    "DEFAULT_TIMEOUT_SECONDS",
    "DTYPE_BYTES",
    "FLOAT_DTYPES",
    "HubAccessError",
    "HubLookup",
    "HubModelNotFoundError",
    "HubRevisionNotFoundError",
    "MODEL_DTYPES",
    "ModelProfile",
    "PROFILE_SOURCES",
    "context_key",
    "default_context_file",
    "lookup_hub_profile",
    "normalise_dtype",
    "profile_from_directory",
    "read_context",
    "read_safetensors_header",
    "write_context_entry",
]
