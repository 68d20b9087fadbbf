"""Synth-time validation errors: collect every problem with a construct's props, then fail once.

Modelled on aws-sagemaker-alpha's "Invalid Production Variant Props:" errors: users fix
all their mistakes in one round instead of one per ``cdk synth``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from constructs import IConstruct


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


def check_config_keys(subject: str, data: Any, allowed: Iterable[str]) -> None:
    """Raise a ``ConfigurationError`` when ``data`` is not a mapping or has keys outside ``allowed``.

    Shared by the ``from_config`` classmethods that read the app's JSON settings.
    """
    known = set(allowed)
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{subject}: {describe(data)} must be a mapping; allowed keys: {allowed_list(known)}")
    unknown = sorted(str(key) for key in set(data) - known)
    if unknown:
        raise ConfigurationError(f"{subject}: unknown key(s) {', '.join(unknown)}; allowed: {allowed_list(known)}")


def subject_of(construct_class: type, scope: IConstruct | None, id: str) -> Callable[[], str]:
    """How error messages name a construct: its class and path (``HubModelEndpoint 'Stack/Llm'``).

    Returned as a function for :class:`Problems`, so that the path is read only for an error.
    """

    def subject() -> str:
        scope_path = scope.node.path if scope is not None else ""
        return f"{construct_class.__name__} '{f'{scope_path}/{id}' if scope_path else id}'"

    return subject


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
