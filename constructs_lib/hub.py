"""Deprecated path, kept for one release: use ``from constructs_lib import ...``, or the modules below."""

from .model.context_file import (  # noqa: F401
    CONTEXT_FILE_ENV,
    CONTEXT_FILE_NAME,
    context_key,
    default_context_file,
    read_context,
    write_context_entry,
)
from .model.hub_lookup import (  # noqa: F401
    DEFAULT_TIMEOUT_SECONDS,
    HubAccessError,
    HubLookup,
    HubModelNotFoundError,
    HubRevisionNotFoundError,
    lookup_hub_profile,
)
from .model.local import profile_from_directory, read_safetensors_header  # noqa: F401
from .model.profile import DTYPE_BYTES, FLOAT_DTYPES, MODEL_DTYPES, PROFILE_SOURCES, ModelProfile, normalise_dtype  # noqa: F401
