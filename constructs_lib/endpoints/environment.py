"""A model's container environment: what the serving stack derives, what sizing and features add,
what the user gives, and the checks that keep them from contradicting one another."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations
from constructs import Construct

from .._core.errors import Problems
from .._core.tokens import is_unresolved
from ..catalogue.instances import InstanceSpec
from ..serving.base import ServingStack
from ..serving.environment import (
    TOKEN_PROBLEM,
    case_mismatch,
    check_limits,
    owned_conflict,
    token_in_plain_text,
    variables_read,
)
from ..serving.facts import EnvironmentEntry, ModelFacts


@dataclass
class Report:
    """Where a stack's checks go: errors into ``problems``, warnings onto ``scope``, prefixed with ``prefix``."""

    problems: Problems
    scope: Construct
    prefix: str = ""

    def error(self, prop: str, value: Any, problem: str) -> None:
        self.problems.add(prop, value, problem)

    def warning(self, id: str, message: str) -> None:
        Annotations.of(self.scope).add_warning_v2(id, f"{self.prefix}: {message}" if self.prefix else message)


@dataclass(frozen=True)
class EnvironmentInputs:
    """Everything a model's environment is assembled from."""

    stack: ServingStack
    model: ModelFacts
    sizing: Mapping[str, str]
    """What the sizing decided (or the stack's unsized defaults; nothing for a variant)."""
    sized: bool
    """Whether the sizing checked the memory with those settings."""
    features: Mapping[str, str]
    """What the endpoint's features set (e.g. the token)."""
    user: Mapping[str, Any]
    """The ``environment`` prop."""
    engine_args: Mapping[str, Any]
    """The ``engine_args`` prop (checked already)."""
    instance_type: str | None
    spec: InstanceSpec | None
    image_version: str | None


def assemble(inputs: EnvironmentInputs, report: Report) -> dict[str, str]:
    """The environment: derived settings, then sizing, server flags, features and the user's, each entry of the user's
    checked against what it overrides; then SageMaker's limits and the stack's checks of the whole."""
    environment = inputs.stack.model_environment(inputs.model)
    derived = dict(environment)
    environment.update(inputs.sizing)
    environment.update(inputs.stack.engine_environment(inputs.engine_args, inputs.image_version))
    environment.update(inputs.features)
    read = variables_read(inputs.stack, environment)
    for key, value in inputs.user.items():
        _check_spelling(key, read, inputs.stack, report)
        _check_entry(key, value, inputs, derived, report)
    environment.update(inputs.user)
    check_limits(environment, report.problems)
    inputs.stack.check_environment(environment, inputs.model, inputs.spec, report)
    return environment


def _check_spelling(key: Any, read: frozenset[str], stack: ServingStack, report: Report) -> None:
    if not isinstance(key, str) or is_unresolved(key):
        return
    right = case_mismatch(key, read, stack.engine_arg_prefix)
    if right is not None:
        report.warning(
            "constructs-lib:environment-key-case",
            f"environment key {key!r} differs only in case from {right!r}, which the container reads: environment "
            f"variables are case-sensitive, so the container ignores {key!r}; rename it to {right!r}",
        )


def _check_entry(key: str, value: Any, inputs: EnvironmentInputs, derived: Mapping[str, str], report: Report) -> None:
    prop = f"environment[{key!r}]"
    if token_in_plain_text(key, value):
        report.error(prop, "***", TOKEN_PROBLEM)
        return
    owner = owned_conflict(key, value, derived)
    if owner is not None:
        report.error(prop, value, f"conflicts with the {owner} prop; set it there")
        return
    entry = EnvironmentEntry(
        key=key,
        value=value,
        user=inputs.user,
        sizing=inputs.sizing,
        sized=inputs.sized,
        instance_type=inputs.instance_type,
        spec=inputs.spec,
        image_version=inputs.image_version,
        model=inputs.model,
        engine_args=inputs.engine_args,
    )
    inputs.stack.check_environment_entry(entry, report)
