"""What a packing plan tells users: where each copy runs, what that costs, and what the same models would cost as
one endpoint each. The construct writes it as a synth info message; ``python -m constructs_lib pack`` prints it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._core.errors import ConfigurationError
from ..catalogue.instances import InstanceSpec, Processor
from ..serving.facts import GpuFit
from ..sizing.options import SizingOptions
from ..sizing.planner import plan_deployment
from .packing import ComponentDemand, InstanceLoad, PackingPlan
from .resources import Reservation, usable_memory_mb


@dataclass(frozen=True)
class SeparateEndpoint:
    """One component's model on an endpoint of its own, on the instance ``HubModelEndpoint`` would pick."""

    component: str
    instance_type: str | None
    """The instance type (``None``: it could not be picked, see ``reason``)."""
    instances: int
    """One per copy."""
    price_per_hour: float | None
    """Indicative USD/hour for all its instances (``None``: not priced)."""
    reason: str | None = None
    """Why it has no price.

    :default: - it has one
    """


def separate_endpoints(demands: Sequence[ComponentDemand]) -> tuple[SeparateEndpoint, ...]:
    """Each component's model alone: the cheapest instance that fits it, one per copy, around the clock."""
    return tuple(_alone(demand) for demand in demands)


def _alone(demand: ComponentDemand) -> SeparateEndpoint:
    sizing = demand.sizing
    if sizing.profile is None:
        return SeparateEndpoint(demand.name, None, demand.copies, None, "the model's size is unknown")
    try:
        plan = plan_deployment(
            sizing.profile,
            serving=sizing.stack,
            instance_type=None,
            options=SizingOptions(min_instance_count=demand.copies),
            custom_script=sizing.custom_script,
        )
    except ConfigurationError as error:
        return SeparateEndpoint(demand.name, None, demand.copies, None, str(error))
    price = plan.fit.price_per_hour
    total = None if price is None else price * demand.copies
    reason = None if total is not None else f"{plan.instance_type} has no catalogued price"
    return SeparateEndpoint(demand.name, plan.instance_type, demand.copies, total, reason)


def plan_summary(plan: PackingPlan, *, min_instances: int) -> str:
    """The plan in a few lines: the fleet and its price, each instance's copies and load, each model's sizing, and
    the price of one endpoint each."""
    lines = [_fleet(plan, min_instances)]
    lines += [f"  {line}" for line in instance_lines(plan)]
    lines += [f"  {_sizing_line(plan, demand)}" for demand in plan.demands]
    lines.append(separate_line(separate_endpoints(plan.demands)))
    return "\n".join(lines)


def _fleet(plan: PackingPlan, min_instances: int) -> str:
    spec, count = plan.spec, plan.instance_count
    how = "picked as the cheapest that holds every copy" if plan.chosen else "given"
    scaling = f"managed instance scaling from {min_instances} to {plan.max_instances}"
    if spec.price_per_hour is None:
        return f"Inference components on {count} x {describe_type(spec)} ({how}; no catalogued price); {scaling}"
    top = f" (~{_usd(spec.price_per_hour * plan.max_instances)}/h at {plan.max_instances})"
    idle = "; $0.00/h at 0 instances" if min_instances == 0 else ""
    return (
        f"Inference components on {count} x {describe_type(spec)} ({how}): ~{_usd(plan.price_per_hour)}/h for the "
        f"instances the starting copies need; {scaling}{top if plan.max_instances != count else ''}{idle}"
    )


def describe_type(spec: InstanceSpec) -> str:
    """``ml.g5.12xlarge (4 x A10G, 192 GiB, 48 vCPUs)``."""
    gpus = f"{spec.accelerators} x {spec.accelerator_model}, " if spec.processor is Processor.GPU else ""
    return f"{spec.name} ({gpus}{spec.memory_gib:g} GiB, {spec.vcpus} vCPUs)"


def instance_lines(plan: PackingPlan) -> list[str]:
    """``#1: Chat (1 GPU, 20480 MB, 4 cores), Sentiment (...) - 1/1 GPUs, 22835/29491 MB, 6/8 cores``."""
    copies = {demand.name: demand.copies for demand in plan.demands}
    return [
        f"#{index}: "
        + ", ".join(
            f"{p.describe(copies[p.component])} ({plan.reservations[p.component].describe()})" for p in load.placed
        )
        + f" - {_load(plan.spec, load)}"
        for index, load in enumerate(plan.instances, start=1)
    ]


def _load(spec: InstanceSpec, load: InstanceLoad) -> str:
    return (
        f"{load.gpus}/{spec.accelerators} GPUs, {load.memory_mb}/{usable_memory_mb(spec)} MB, "
        f"{load.cpu_cores:g}/{spec.vcpus} cores"
    )


def _sizing_line(plan: PackingPlan, demand: ComponentDemand) -> str:
    reservation = plan.reservations[demand.name]
    return f"{demand.name}: {sizing_note(demand, reservation)}"


def sizing_note(demand: ComponentDemand, reservation: Reservation) -> str:
    """How the model fits its share: GPU memory (and the server's note), host memory on CPUs, or not sized."""
    fit, profile, stack = reservation.fit, demand.sizing.profile, demand.sizing.stack
    if fit is None or profile is None:
        return f"not sized (the model's size is unknown): reserves {reservation.describe()}"
    if reservation.accelerators == 0:
        return f"{profile.describe_size()} on the CPUs, {fit.needed_host_gib:.1f} GiB host memory"
    gpu_fit = GpuFit(reservation.share, fit.gpus_used, fit.kv_capacity_tokens)
    note = stack.fit_note(profile, gpu_fit, dict(reservation.sizing_environment))
    memory = f"{fit.needed_gpu_gib:.1f} of {fit.available_gpu_gib:.1f} GiB GPU memory on {reservation.share.name}"
    return f"{profile.describe_size()}, {memory}" + (f"; {note}" if note else "")


def separate_line(endpoints: Sequence[SeparateEndpoint]) -> str:
    """``One endpoint each (...): Chat 1 x ml.g6.xlarge ~$1.01/h, ... = ~$2.48/h around the clock``."""
    parts = []
    for endpoint in endpoints:
        if endpoint.price_per_hour is None or endpoint.instance_type is None:
            parts.append(f"{endpoint.component} not priced ({endpoint.reason})")
        else:
            price = _usd(endpoint.price_per_hour)
            parts.append(f"{endpoint.component} {endpoint.instances} x {endpoint.instance_type} ~{price}/h")
    priced = [e.price_per_hour for e in endpoints if e.price_per_hour is not None]
    total = f" = ~{_usd(sum(priced))}/h around the clock" if priced else ""
    partial = " (the priced ones)" if priced and len(priced) < len(endpoints) else ""
    return f"One endpoint each, as HubModelEndpoint picks for each model alone: {', '.join(parts)}{total}{partial}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.2f}"
