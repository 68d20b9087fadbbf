"""How a component endpoint routes requests (``Routing``) and releases instances (``ScaleInPolicy``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from aws_cdk import Duration
from aws_cdk import aws_sagemaker as sagemaker

from .._core.errors import ConfigurationError, Problems, allowed_list, check_config_keys, describe
from .._core.tokens import duration_seconds, is_whole

COOLDOWN_MINUTES = (5, 1440)
"""``ScaleInPolicy.CooldownInMinutes``: what SageMaker allows (its default is 20)."""
STEP_SIZE = (1, 100)
"""``ScaleInPolicy.MaximumStepSize``: what SageMaker allows (its default is 1)."""


class Routing(enum.StrEnum):
    """How the endpoint picks the instance (and the copy) that serves a request (``RoutingConfig``)."""

    LEAST_OUTSTANDING_REQUESTS = "LEAST_OUTSTANDING_REQUESTS"
    """The instance with the fewest requests in flight: the best for requests of very different lengths (LLMs)."""
    RANDOM = "RANDOM"
    """Any instance, at random."""
    PREFIX_AWARE = "PREFIX_AWARE"
    """Requests that share a prompt prefix go to the same instance and copy, whose KV cache holds it (LLMs with
    long shared system prompts)."""


class ScaleInStrategy(enum.StrEnum):
    """How managed instance scaling releases instances (``ScaleInPolicy.Strategy``)."""

    IDLE_RELEASE = "IDLE_RELEASE"
    """Release an instance once it holds no copy."""
    CONSOLIDATION = "CONSOLIDATION"
    """Move copies together onto fewer instances, to release more of them."""


@dataclass(frozen=True)
class ScaleInPolicy:
    """When managed instance scaling gives instances back (the endpoint's ``scale_in``).

    Create one with :meth:`idle_release` or :meth:`consolidation`.
    """

    strategy: ScaleInStrategy
    """How instances are released."""
    cooldown: Duration | None = None
    """How long after the last endpoint operation the endpoint waits before it scales in (5 minutes to 1 day).

    :default: - SageMaker's: 20 minutes
    """
    maximum_step_size: int | None = None
    """Consolidation only: the most instances released at a time (1 to 100).

    :default: - SageMaker's: 1
    """

    def __post_init__(self) -> None:
        problems = Problems("ScaleInPolicy")
        self._check(problems)
        problems.raise_if_any()

    @classmethod
    def idle_release(cls, *, cooldown: Duration | None = None) -> Self:
        """Release an instance once it holds no copy of any component.

        :param cooldown: how long after the last endpoint operation before scaling in.
        :default cooldown: SageMaker's (20 minutes)
        """
        return cls(ScaleInStrategy.IDLE_RELEASE, cooldown)

    @classmethod
    def consolidation(cls, *, cooldown: Duration | None = None, maximum_step_size: int | None = None) -> Self:
        """Move copies together onto fewer instances, and release the ones left empty.

        :param cooldown: how long after the last endpoint operation before consolidating.
        :default cooldown: SageMaker's (20 minutes)
        :param maximum_step_size: the most instances released at a time.
        :default maximum_step_size: SageMaker's (1)
        """
        return cls(ScaleInStrategy.CONSOLIDATION, cooldown, maximum_step_size)

    def _check(self, problems: Problems) -> None:
        if not isinstance(self.strategy, ScaleInStrategy):
            problems.add("scale_in.strategy", self.strategy, f"must be one of {allowed_list(ScaleInStrategy)}")
        if self.cooldown is not None:
            low, high = COOLDOWN_MINUTES
            if not isinstance(self.cooldown, Duration):
                problems.add("scale_in.cooldown", self.cooldown, "must be a Duration, e.g. Duration.minutes(20)")
            elif not self.cooldown.is_unresolved():
                minutes = duration_seconds(self.cooldown) / 60
                if minutes != int(minutes) or not low <= minutes <= high:
                    problems.add(
                        "scale_in.cooldown", f"{minutes:g} minutes", f"must be whole minutes from {low} to {high}"
                    )
        if self.maximum_step_size is not None:
            low, high = STEP_SIZE
            if self.strategy is not ScaleInStrategy.CONSOLIDATION:
                problems.add("scale_in.maximum_step_size", self.maximum_step_size, "only applies to consolidation")
            elif not is_whole(self.maximum_step_size) or not low <= self.maximum_step_size <= high:
                problems.add("scale_in.maximum_step_size", self.maximum_step_size, f"must be {low} to {high} instances")

    def render(self) -> sagemaker.CfnEndpointConfig.ScaleInPolicyProperty:
        """The variant's ``ManagedInstanceScaling.ScaleInPolicy``."""
        return sagemaker.CfnEndpointConfig.ScaleInPolicyProperty(
            strategy=self.strategy.value,
            cooldown_in_minutes=None if self.cooldown is None else int(self.cooldown.to_minutes()),
            maximum_step_size=self.maximum_step_size,
        )

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Self:
        """A policy from the app's JSON, e.g. ``{"strategy": "consolidation", "cooldown_minutes": 30}``."""
        check_config_keys("scale_in", data, ("strategy", "cooldown_minutes", "maximum_step_size"))
        raw = data.get("strategy")
        try:
            strategy = ScaleInStrategy(str(raw).upper())
        except ValueError:
            raise ConfigurationError(
                f"scale_in.strategy: {describe(raw)} is not a scale-in strategy; allowed: "
                f"{allowed_list(s.value.lower() for s in ScaleInStrategy)}"
            ) from None
        minutes = data.get("cooldown_minutes")
        if minutes is not None and not is_whole(minutes):
            raise ConfigurationError(f"scale_in.cooldown_minutes: {describe(minutes)} must be a whole number")
        cooldown = None if minutes is None else Duration.minutes(minutes)
        return cls(strategy, cooldown, data.get("maximum_step_size"))
