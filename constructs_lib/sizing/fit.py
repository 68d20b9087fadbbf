"""What instance selection answers: how an instance fits a model, and the plan to run it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..catalogue.instances import InstanceSpec


@dataclass(frozen=True)
class InstanceFit:
    """How one instance type fits a model."""

    spec: InstanceSpec
    """The instance."""
    fits: bool
    """Whether the model can be served on it."""
    needed_gpu_gib: float
    """Accelerator memory the model needs on this instance (over the GPUs it uses)."""
    available_gpu_gib: float
    """Usable accelerator memory of the GPUs the model uses."""
    needed_host_gib: float
    """Host memory the model needs."""
    reason: str | None
    """Why it does not fit (``None`` when it fits)."""
    price_per_hour: float | None
    """Indicative price of one instance, USD/hour."""
    gpus_used: int = 0
    """GPUs the serving stack runs the model on.

    :default: 0
    """
    kv_cache_gib: float = 0.0
    """KV cache budgeted (stacks that budget one).

    :default: 0.0
    """
    kv_capacity_tokens: int | None = None
    """Tokens of KV cache that fit in what remains after weights and headroom.

    :default: - not budgeted
    """


@dataclass(frozen=True)
class DeploymentPlan:
    """The instance picked (or checked) for a model and the environment to run it with."""

    instance_type: str
    """The instance type."""
    fit: InstanceFit
    """How the model fits it."""
    environment: Mapping[str, str]
    """Container environment sizing decided (TGI: ``SM_NUM_GPUS``, ``MAX_INPUT_TOKENS``, ...)."""
    startup_health_check_timeout_seconds: int | None
    """``ContainerStartupHealthCheckTimeoutInSeconds`` (``None``: SageMaker's default is enough)."""
    summary: str
    """One readable line: model size, memory math, instance, indicative price."""
    candidates: tuple[InstanceFit, ...] = field(default=())
    """Every GPU instance considered, fitting first, cheapest first (empty when instance_type was given).

    :default: - none
    """
