"""Synth-time validation: collect every problem with a construct's props, then fail once.

Modelled on aws-sagemaker-alpha's "Invalid Production Variant Props:" errors: users fix
all their mistakes in one round instead of one per ``cdk synth``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from aws_cdk import Duration, Token


class ConfigurationError(ValueError):
    """Raised at synth time when a construct's props cannot work on SageMaker.

    The message names the construct, each bad property, its value and what is allowed.
    """


def describe(value: Any) -> str:
    """Render a user value for an error message (strings quoted, long lists cut)."""
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def allowed_list(values: Iterable[str], limit: int = 40) -> str:
    """Render the allowed values of a property, sorted, cut after ``limit`` entries."""
    items = sorted(set(values))
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... ({len(items)} in all)"


# How CDK encodes tokens in strings and string lists. Checking the text in Python saves a jsii
# round trip per check, which adds up to hundreds per app (see benchmarks/README.md).
_STRING_TOKEN = "${Token["
_LIST_TOKEN = "#{Token["


def is_number(value: Any) -> bool:
    """An ``int`` or a finite ``float``: not a bool, not NaN or infinity (which jsii cannot even send)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def duration_seconds(value: Duration) -> float:
    """Seconds of a resolved ``Duration``, fractions included (``to_seconds()`` throws inside jsii on them)."""
    return float(value.to_milliseconds(integral=False)) / 1000


def is_unresolved(value: Any) -> bool:
    """True for CDK tokens, which are only known at deploy time and so cannot be checked."""
    if value is None or isinstance(value, (bool, int)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and infinity are plain (bad) values, and jsii cannot even serialise them
    if isinstance(value, str):
        return _STRING_TOKEN in value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return any(_LIST_TOKEN in item or _STRING_TOKEN in item for item in value)
    # Number tokens (encoded as special floats) and IResolvable objects.
    return bool(Token.is_unresolved(value))


class Problems:
    """Accumulates validation problems for one construct.

    Usage::

        problems = Problems("HubModelEndpoint Sentiment")
        problems.add("instance_count", 0, "must be at least 1")
        problems.raise_if_any()
    """

    def __init__(self, subject: str | Callable[[], str]) -> None:
        # A callable is called only when there is something to report: naming a construct by
        # its path costs jsii round trips that a valid construct should not pay.
        self._subject = subject
        self._messages: list[str] = []

    def add(self, prop: str, value: Any, problem: str) -> None:
        """Record that ``prop`` (with the given value) is invalid and why."""
        self._messages.append(f"{prop}: {describe(value)} {problem}")

    def add_message(self, message: str) -> None:
        """Record a problem that concerns a combination of props rather than one value."""
        self._messages.append(message)

    def extend(self, other: Iterable[str]) -> None:
        self._messages.extend(other)

    def __bool__(self) -> bool:
        return bool(self._messages)

    @property
    def messages(self) -> list[str]:
        return list(self._messages)

    def raise_if_any(self) -> None:
        if self._messages:
            subject = self._subject if isinstance(self._subject, str) else self._subject()
            raise ConfigurationError(format_problems(subject, self._messages))


def format_problems(subject: str, messages: list[str]) -> str:
    if len(messages) == 1:
        return f"{subject}: {messages[0]}"
    body = "\n".join(f"  - {message}" for message in messages)
    return f"{subject} has {len(messages)} invalid props:\n{body}"
