"""Traffic steps of guarded deployments: ``DeploymentType`` and ``CapacitySize``, and their checks."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_sagemaker as sagemaker

from ..._core.errors import Problems
from ..._core.tokens import is_unresolved, is_whole


class DeploymentType(enum.StrEnum):
    """How an update shifts traffic to the new fleet."""

    ALL_AT_ONCE = "all_at_once"
    """Blue/green: all traffic at once, then a baking period."""
    CANARY = "canary"
    """Blue/green: a small share first, then the rest."""
    LINEAR = "linear"
    """Blue/green: equal steps."""
    ROLLING = "rolling"
    """Rolling: replace instances in batches (needs fewer spare instances than blue/green)."""


@dataclass(frozen=True)
class CapacitySize:
    """A share of the variant's instances: a percentage (``CAPACITY_PERCENT``) or a count (``INSTANCE_COUNT``)."""

    type: str
    """``CAPACITY_PERCENT`` or ``INSTANCE_COUNT``."""
    value: int

    @property
    def is_percent(self) -> bool:
        return self.type == "CAPACITY_PERCENT"

    def render(self) -> sagemaker.CfnEndpoint.CapacitySizeProperty:
        return sagemaker.CfnEndpoint.CapacitySizeProperty(type=self.type, value=self.value)

    def describe(self) -> str:
        return f"{self.value}%" if self.is_percent else f"{self.value} instance(s)"


# Per deployment type: (percent prop, instances prop, percent range) of the traffic step.
SIZE_PROPS: dict[DeploymentType, tuple[str, str, tuple[int, int]]] = {
    DeploymentType.CANARY: ("percent", "instances", (1, 50)),
    DeploymentType.LINEAR: ("step_percent", "step_instances", (10, 50)),
    DeploymentType.ROLLING: ("batch_percent", "batch_instances", (5, 50)),
}
ROLLBACK_PROPS = ("rollback_batch_percent", "rollback_batch_instances")


def size_of(
    kind: DeploymentType, percent: Any, instances: Any, problems: Problems, *, default_percent: int
) -> CapacitySize | None:
    percent_prop, instances_prop, (low, high) = SIZE_PROPS[kind]
    if percent is not None and instances is not None:
        problems.add_message(f"give {percent_prop} or {instances_prop}, not both")
        return None
    if instances is not None:
        if is_unresolved(instances):
            return CapacitySize("INSTANCE_COUNT", instances)
        if not is_whole(instances) or instances < 1:
            problems.add(instances_prop, instances, "must be a whole number of at least 1")
            return None
        return CapacitySize("INSTANCE_COUNT", instances)
    value = default_percent if percent is None else percent
    if is_unresolved(value):
        return CapacitySize("CAPACITY_PERCENT", value)
    if not is_whole(value) or not low <= value <= high:
        problems.add(percent_prop, value, f"must be a whole percentage from {low} to {high}")
        return None
    return CapacitySize("CAPACITY_PERCENT", value)


def rollback_size_of(percent: Any, instances: Any, problems: Problems) -> CapacitySize | None:
    if percent is not None and instances is not None:
        problems.add_message("give rollback_batch_percent or rollback_batch_instances, not both")
        return None
    if instances is not None:
        if not is_unresolved(instances) and (not is_whole(instances) or instances < 1):
            problems.add("rollback_batch_instances", instances, "must be a whole number of at least 1")
            return None
        return CapacitySize("INSTANCE_COUNT", instances)
    if percent is not None:
        if not is_unresolved(percent) and (not is_whole(percent) or not 1 <= percent <= 100):
            problems.add("rollback_batch_percent", percent, "must be a whole percentage from 1 to 100")
            return None
        return CapacitySize("CAPACITY_PERCENT", percent)
    return None


# ---------------------------------------------------------------------------------- feature
