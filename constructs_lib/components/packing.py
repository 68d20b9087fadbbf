"""Packing inference components onto instances: how many instances of which type hold every copy, at what price.

The copies of every component share the endpoint's instances. Each copy reserves GPUs, host memory and CPU cores
(``resources``); an instance holds copies while the sums stay within what it offers. Copies are placed by first-fit
decreasing: the largest first (by GPUs, then memory, then cores; then in the order the components were added), each
on the first instance with room, a new instance when none has. The plan is deterministic and small enough to explain
in a message, copy by copy, with the sums that bound it from below; it is not always the fewest instances (packing
is NP-hard), which SageMaker's own placement may then beat.

With the instance type given, packing checks that the copies fit ``max_instances`` instances of it. Without, it
tries every priced GPU instance type of the catalogue and picks the cheapest fleet (price x instances), ties going to
fewer instances, then fewer GPUs and less memory per instance; types without a catalogued price are picked only
when no priced one holds the copies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .._core.errors import ConfigurationError
from ..catalogue.instances import GPU_FAMILIES, INSTANCE_CATALOGUE, InstanceSpec, Processor
from .resources import ComponentSizing, Reservation, usable_memory_mb

MAX_REASONS_SHOWN = 4
"""How many instance types a "nothing fits" message explains."""


@dataclass(frozen=True)
class ComponentDemand:
    """One component as packing sees it: its copies and how it sizes."""

    sizing: ComponentSizing
    """How the component's model sizes on each instance type."""
    copies: int
    """Copies the component starts with (``CopyCount``)."""
    max_copies: int
    """Copies it may scale out to."""

    @property
    def name(self) -> str:
        return self.sizing.name


@dataclass(frozen=True)
class Placed:
    """One copy of a component on an instance."""

    component: str
    copy: int
    """1 for the first copy."""

    def describe(self, copies: int) -> str:
        return self.component if copies == 1 else f"{self.component} #{self.copy}"


@dataclass(frozen=True)
class InstanceLoad:
    """What one instance holds, and how much of it that uses."""

    placed: tuple[Placed, ...]
    gpus: int
    memory_mb: int
    cpu_cores: float


@dataclass(frozen=True)
class PackingPlan:
    """Where every component's copies run: the instance type, the instances, their load and the price."""

    spec: InstanceSpec
    """The instance type."""
    chosen: bool
    """Whether packing picked the type (``instance_type`` omitted)."""
    reservations: Mapping[str, Reservation]
    """What one copy of each component reserves on the type, by component."""
    demands: tuple[ComponentDemand, ...]
    """The components, in the order they were added."""
    instances: tuple[InstanceLoad, ...]
    """The instances the starting copies need, and what each holds."""
    peak_instances: int
    """The instances every component's largest copy count needs."""
    max_instances: int
    """``ManagedInstanceScaling.MaxInstanceCount``: given, or ``peak_instances``."""

    @property
    def instance_count(self) -> int:
        """Instances the endpoint starts with (at least 1)."""
        return max(1, len(self.instances))

    @property
    def price_per_hour(self) -> float | None:
        """Indicative price of the starting instances, USD/hour (``None``: the type has no catalogued price)."""
        price = self.spec.price_per_hour
        return None if price is None else price * self.instance_count


def plan_packing(
    demands: Sequence[ComponentDemand],
    *,
    instance_type: str | None,
    max_instances: int | None,
    exclude: Callable[[InstanceSpec], str | None] | None = None,
) -> PackingPlan:
    """Pack ``demands`` onto ``instance_type`` (checked), or onto the cheapest instance type that holds them.

    :param instance_type: a catalogued instance type; ``None`` picks one among the GPU types.
    :param max_instances: the most instances the copies may use (``None``: as many as they need).
    :param exclude: why an instance type cannot host the endpoint at all (e.g. a KMS key on local NVMe storage).
    :default exclude: none is excluded
    :raises ConfigurationError: when nothing fits, with the arithmetic.
    """
    if instance_type is not None:
        spec = INSTANCE_CATALOGUE[instance_type]
        result = _pack(spec, demands, max_instances, chosen=False)
        if isinstance(result, str):
            raise ConfigurationError(result)
        return result
    return _cheapest(demands, max_instances, exclude or (lambda spec: None))


def _cheapest(
    demands: Sequence[ComponentDemand], max_instances: int | None, exclude: Callable[[InstanceSpec], str | None]
) -> PackingPlan:
    plans: list[PackingPlan] = []
    reasons: list[tuple[InstanceSpec, str]] = []
    for spec in _gpu_types():
        excluded = exclude(spec)
        result = excluded or _pack(spec, demands, max_instances, chosen=True)
        if isinstance(result, str):
            reasons.append((spec, result))
        else:
            plans.append(result)
    if plans:
        return min(plans, key=_rank)
    raise ConfigurationError(_nothing_fits(demands, max_instances, reasons))


def _gpu_types() -> list[InstanceSpec]:
    specs = [s for s in INSTANCE_CATALOGUE.values() if s.processor is Processor.GPU and s.family in GPU_FAMILIES]
    return sorted(specs, key=lambda s: (s.price_per_hour is None, s.price_per_hour or 0.0, s.name))


def _rank(plan: PackingPlan) -> tuple[bool, float, int, int, float, str]:
    price = plan.price_per_hour
    spec = plan.spec
    return (price is None, price or 0.0, plan.instance_count, spec.accelerators, spec.memory_gib, spec.name)


def _pack(
    spec: InstanceSpec, demands: Sequence[ComponentDemand], max_instances: int | None, *, chosen: bool
) -> PackingPlan | str:
    """The plan on ``spec``, or why it cannot hold the copies."""
    reservations: dict[str, Reservation] = {}
    for demand in demands:
        reservation = demand.sizing.on(spec, picking=chosen)
        if isinstance(reservation, str):
            return f"{demand.name} cannot run on {spec.name}: {reservation}"
        reservations[demand.name] = reservation
    instances = first_fit_decreasing(spec, demands, reservations, peak=False)
    peak = len(first_fit_decreasing(spec, demands, reservations, peak=True))
    limit = max_instances if max_instances is not None else max(peak, 1)
    if len(instances) > limit:
        return too_many_instances(spec, demands, reservations, instances, limit)
    return PackingPlan(spec, chosen, reservations, tuple(demands), tuple(instances), peak, limit)


def first_fit_decreasing(
    spec: InstanceSpec, demands: Sequence[ComponentDemand], reservations: Mapping[str, Reservation], *, peak: bool
) -> list[InstanceLoad]:
    """Every copy (``peak``: up to each component's ``max_copies``) on the first instance with room for it."""
    order = {demand.name: index for index, demand in enumerate(demands)}
    copies = [
        Placed(demand.name, copy)
        for demand in demands
        for copy in range(1, (demand.max_copies if peak else demand.copies) + 1)
    ]

    def size(placed: Placed) -> tuple[int, int, float, int, int]:
        r = reservations[placed.component]
        return (-r.accelerators, -r.memory_mb, -r.cpu_cores, order[placed.component], placed.copy)

    instances: list[InstanceLoad] = []
    for placed in sorted(copies, key=size):
        reservation = reservations[placed.component]
        for index, load in enumerate(instances):
            if _room(spec, load, reservation):
                instances[index] = _add(load, placed, reservation)
                break
        else:
            instances.append(_add(InstanceLoad((), 0, 0, 0.0), placed, reservation))
    return instances


def _room(spec: InstanceSpec, load: InstanceLoad, reservation: Reservation) -> bool:
    return (
        load.gpus + reservation.accelerators <= spec.accelerators
        and load.memory_mb + reservation.memory_mb <= usable_memory_mb(spec)
        and load.cpu_cores + reservation.cpu_cores <= spec.vcpus
    )


def _add(load: InstanceLoad, placed: Placed, reservation: Reservation) -> InstanceLoad:
    return InstanceLoad(
        (*load.placed, placed),
        load.gpus + reservation.accelerators,
        load.memory_mb + reservation.memory_mb,
        load.cpu_cores + reservation.cpu_cores,
    )


# ---------------------------------------------------------------------------------------- messages
def offers(spec: InstanceSpec) -> str:
    """``each ml.g5.12xlarge offers 4 GPUs (A10G), 176947 MB and 48 vCPUs``."""
    gpus = f"{spec.accelerators} GPU{'' if spec.accelerators == 1 else 's'}"
    model = f" ({spec.accelerator_model})" if spec.accelerator_model else ""
    return f"each {spec.name} offers {gpus}{model}, {usable_memory_mb(spec)} MB and {spec.vcpus} vCPUs"


def arithmetic(spec: InstanceSpec, demands: Sequence[ComponentDemand], reservations: Mapping[str, Reservation]) -> str:
    """What the copies reserve, component by component and in all, against what one instance offers."""
    parts = [f"{d.name} {d.copies} x ({reservations[d.name].describe()})" for d in demands]
    gpus = sum(reservations[d.name].accelerators * d.copies for d in demands)
    memory = sum(reservations[d.name].memory_mb * d.copies for d in demands)
    cores = sum(reservations[d.name].cpu_cores * d.copies for d in demands)
    return f"{offers(spec)}; the copies reserve {', '.join(parts)} = {gpus} GPUs, {memory} MB, {cores:g} cores"


def placement(demands: Sequence[ComponentDemand], instances: Sequence[InstanceLoad]) -> str:
    """``#1: Chat, Sentiment #1; #2: Sentiment #2``."""
    copies = {demand.name: demand.copies for demand in demands}
    return "; ".join(
        f"#{index}: {', '.join(p.describe(copies[p.component]) for p in load.placed)}"
        for index, load in enumerate(instances, start=1)
    )


def too_many_instances(
    spec: InstanceSpec,
    demands: Sequence[ComponentDemand],
    reservations: Mapping[str, Reservation],
    instances: Sequence[InstanceLoad],
    limit: int,
) -> str:
    """Why the copies do not fit ``limit`` instances of ``spec``, with the packing arithmetic."""
    lower = _lower_bound(spec, demands, reservations)
    return (
        f"the copies need {len(instances)} x {spec.name} and max_instances is {limit}: "
        f"{arithmetic(spec, demands, reservations)}, so at least {lower} instance(s); first-fit decreasing places "
        f"them {placement(demands, instances)}. Raise max_instances to {len(instances)}, give fewer copies, or use "
        "an instance type with more GPUs (omit instance_type to pick the cheapest that holds them)"
    )


def _lower_bound(
    spec: InstanceSpec, demands: Sequence[ComponentDemand], reservations: Mapping[str, Reservation]
) -> int:
    """The fewest instances any placement needs: the largest of the sums over what one instance offers."""
    totals = (
        (sum(reservations[d.name].accelerators * d.copies for d in demands), spec.accelerators),
        (sum(reservations[d.name].memory_mb * d.copies for d in demands), usable_memory_mb(spec)),
        (sum(reservations[d.name].cpu_cores * d.copies for d in demands), spec.vcpus),
    )
    return max(1, *(math.ceil(total / offered) for total, offered in totals if offered))


def _nothing_fits(
    demands: Sequence[ComponentDemand], max_instances: int | None, reasons: Sequence[tuple[InstanceSpec, str]]
) -> str:
    within = f" within max_instances={max_instances}" if max_instances is not None else ""
    shown = "; ".join(f"{spec.name}: {reason}" for spec, reason in reasons[:MAX_REASONS_SHOWN])
    more = f" ({len(reasons) - MAX_REASONS_SHOWN} more types considered)" if len(reasons) > MAX_REASONS_SHOWN else ""
    names = ", ".join(demand.name for demand in demands)
    return (
        f"instance_type: no GPU instance type holds every copy of {names}{within}; the cheapest types considered: "
        f"{shown}{more}. Give fewer copies or smaller reservations, raise max_instances, or pass instance_type"
    )
