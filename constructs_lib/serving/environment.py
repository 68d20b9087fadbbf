"""Rules every container environment follows, whatever the serving stack: SageMaker's limits, no token
in plain text, and no variable that contradicts the prop it is derived from.

The stack-specific rules (what a server ignores, overwrites or refuses) are each stack's
``check_environment_entry``; the endpoint applies both (``endpoints.environment``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._core.errors import Problems
from .._core.hf_token import holds_hf_token, looks_like_hf_token
from .._core.tokens import is_number, is_unresolved
from .base import ServingStack
from .facts import ModelFacts, Reporter

MAX_ENTRIES = 100
"""SageMaker's limit on a container's environment variables."""
MAX_BYTES = 1024
"""SageMaker's limit on the length of each key and each value."""
_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

PROP_OWNED_VARIABLES: Mapping[str, str] = {
    "HF_MODEL_ID": "model_id",
    "HF_TASK": "task",
    "HF_MODEL_REVISION": "revision",
    "SAGEMAKER_PROGRAM": "entry_point",
    "SAGEMAKER_SUBMIT_DIRECTORY": "code_dir",
}
"""Variables the library derives from a dedicated prop: a different value in ``environment`` is a
contradiction the user must resolve, not something to pick silently."""

TOKEN_PROBLEM = (
    "puts a Hugging Face token in plain text in the template; store it in Secrets Manager and pass it with "
    "hf_token_secret"
)


def variables_read(stack: ServingStack, written: Mapping[str, str]) -> frozenset[str]:
    """The variables the container reads: what the library writes (``written``), the token variables, the
    variables a prop owns, and the stack's documented knobs."""
    return frozenset({*written, *stack.token_variables, *PROP_OWNED_VARIABLES}) | stack.read_variables


def case_mismatch(key: str, read: frozenset[str], prefix: str | None) -> str | None:
    """The spelling the container reads when ``key`` differs from it only in case (``hf_task`` is ``HF_TASK``,
    ``sm_vllm_max_model_len`` is ``SM_VLLM_MAX_MODEL_LEN``); ``None`` when ``key`` is read as it is, or not at all.
    Environment variables are case-sensitive: the container ignores the misspelt key."""
    if key in read:
        return None
    upper = key.upper()
    right = next((name for name in read if name.upper() == upper), None)
    if right is not None:
        return right
    if prefix is not None and upper.startswith(prefix) and not key.startswith(prefix):
        return upper  # the image matches the prefix exactly; the library writes the whole name in capitals
    return None


def owned_conflict(key: str, value: Any, derived: Mapping[str, str]) -> str | None:
    """The prop ``key`` contradicts (``None`` when it does not): a derived variable given another value."""
    owner = PROP_OWNED_VARIABLES.get(key)
    if owner and key in derived and derived[key] != value:
        return owner
    return None


def token_in_plain_text(key: str, value: Any) -> bool:
    """Whether the entry puts a Hugging Face token in the template: by its name or by its value."""
    return holds_hf_token(key, value)


def check_engine_args(stack: ServingStack, engine_args: Any, model: ModelFacts, report: Reporter) -> None:
    """The ``engine_args`` prop: a stack with server flags, flag names that are identifiers, plain values, no
    token; then the stack's own checks of each flag."""
    if not engine_args:
        return
    if stack.engine_arg_prefix is None:
        report.error(
            "engine_args",
            dict(engine_args),
            f"cannot be used with {stack.name}, which takes no server flags; set its variables in environment, or "
            "use a serving stack with server flags (Serving.VLLM)",
        )
        return
    for name, value in engine_args.items():
        prop = f"engine_args[{name!r}]"
        if not isinstance(name, str) or not name.isascii() or not name.isidentifier():
            hint = f" (perhaps {name.replace('-', '_')!r})" if isinstance(name, str) and "-" in name else ""
            report.error(
                "engine_args", name, f"is not a flag name: flags are identifiers such as 'max_model_len'{hint}"
            )
        elif name.lower() == "hf_token" or looks_like_hf_token(value):
            report.error(prop, "***", TOKEN_PROBLEM)
        elif isinstance(value, float) and not is_number(value):
            report.error(prop, value, "must be a finite number")
        elif not isinstance(value, str | int | float | bool):
            report.error(prop, value, "must be a string, a number or a boolean")
        else:
            stack.check_engine_arg(name, value, model, report)


def check_limits(environment: Mapping[str, Any], problems: Problems, *, prop: str = "environment") -> None:
    """SageMaker's limits: at most 100 variables, valid names, keys and values of at most 1024 bytes."""
    if len(environment) > MAX_ENTRIES:
        problems.add(
            prop,
            f"{len(environment)} entries",
            f"is too many: SageMaker allows at most {MAX_ENTRIES} environment variables "
            "(including the ones this library sets)",
        )
    for key, value in environment.items():
        if is_unresolved(key) or not isinstance(key, str) or not _KEY.match(key):
            problems.add(prop, key, "is not a valid variable name (letters, digits, '_', not starting with a digit)")
            continue
        if len(key.encode()) > MAX_BYTES:
            problems.add(prop, key[:40] + "...", f"is a key over {MAX_BYTES} bytes")
        if not isinstance(value, str):
            problems.add(f"{prop}[{key!r}]", value, "must be a string")
        elif not is_unresolved(value) and len(value.encode()) > MAX_BYTES:
            problems.add(f"{prop}[{key!r}]", value[:40] + "...", f"is a value over {MAX_BYTES} bytes")
