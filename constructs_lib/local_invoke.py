"""Deprecated path, kept for one release (see CHANGELOG.md): the command lives in ``constructs_lib.cli``."""

from .cli.local_invoke import (
    LOCAL_EXTRA_MODULES,
    LocalInvokeError,
    LocalInvokeResult,
    MissingLocalExtraError,
    add_invoke_local_command,
    invoke_local,
)

__all__ = [
    "LOCAL_EXTRA_MODULES",
    "LocalInvokeError",
    "LocalInvokeResult",
    "MissingLocalExtraError",
    "add_invoke_local_command",
    "invoke_local",
]
