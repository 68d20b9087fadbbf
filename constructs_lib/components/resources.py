"""What one inference component reserves on an instance: GPUs, host memory and CPU cores, derived from its model.

SageMaker places the copies of each component by its ``ComputeResourceRequirements``: a scheduling reservation, not
a cap. A reservation larger than an instance offers fails only at deploy time ("not enough hardware resources"), a
too small one lets copies crowd each other out of memory. So each is derived from the model and the serving stack's
memory model, on each instance type considered, unless given:

- **GPUs** (``NumberOfAcceleratorDevicesRequired``): the fewest of the instance's GPUs (1, 2, 4, ... up to all of
  them) that hold the model, as the stack's memory model sizes it (``sizing.planner.evaluate``) on that share of
  the instance. vLLM runs tensor parallel over exactly those GPUs, with ``max_model_len`` set to what they hold; the
  inference toolkit and TEI use one. ``accelerators=0`` serves the model on the host's CPUs, where the stack's GPU
  image can (the inference toolkit).
- **Host memory** (``MinMemoryRequiredInMb``): what the stack needs on its share of the host. A share is the
  usable host memory (``HOST_RESERVE_FRACTION`` is kept for the operating system and SageMaker's agent) in
  proportion to the share's GPUs; a server that sizes itself by the host (vLLM's LMCache pool) is pinned to the
  share (``ServingStack.shared_host_environment``). A model served on CPUs needs its weights x 1.2 + 2 GiB.
- **CPU cores** (``NumberOfCpuCoresRequired``): half of the share's vCPUs (``vCPUs x GPUs / instance GPUs / 2``, at
  least 1), which leaves the other half to models served on CPUs and to the host; a model served on CPUs gets
  ``CPU_MODEL_CORES``.

Without a model profile (artifacts in S3) nothing can be sized: the component reserves one GPU (or the GPUs given)
and its share of the host, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .._core.errors import ConfigurationError
from ..catalogue.instances import InstanceSpec, Processor
from ..model.profile import ModelProfile
from ..serving.base import ServingStack
from ..serving.facts import GpuFit, MemoryDemand
from ..sizing.fit import InstanceFit
from ..sizing.options import SizingOptions
from ..sizing.planner import demand_of, evaluate

HOST_RESERVE_FRACTION = 0.1
"""Host memory no component may reserve: the operating system, SageMaker's agent and the page cache the containers
share. SageMaker publishes no figure; this margin keeps a plan that fills an instance from failing at deploy time."""
CPU_MODEL_CORES = 2.0
"""CPU cores a model served on CPUs reserves unless ``cpu_cores`` says otherwise."""
MIB_PER_GIB = 1024


@dataclass(frozen=True)
class GivenResources:
    """What the user fixed of a component's reservation (``None``: derived)."""

    accelerators: int | None = None
    """GPUs, 0 for a model served on CPUs.

    :default: - derived
    """
    memory_mb: int | None = None
    """Host memory in MB.

    :default: - derived
    """
    cpu_cores: float | None = None
    """CPU cores.

    :default: - derived
    """


@dataclass(frozen=True)
class Reservation:
    """What one copy of a component reserves on one instance type, and how its container runs there."""

    accelerators: int
    """GPUs (``NumberOfAcceleratorDevicesRequired``); 0 for a model served on CPUs."""
    memory_mb: int
    """Host memory (``MinMemoryRequiredInMb``)."""
    cpu_cores: float
    """CPU cores (``NumberOfCpuCoresRequired``)."""
    share: InstanceSpec
    """The part of the instance the model was sized on: its GPUs, and their share of host memory and vCPUs."""
    sizing_environment: Mapping[str, str]
    """The server settings the sizing decided on the share (vLLM: tensor parallel size, ``max_model_len``)."""
    host_environment: Mapping[str, str]
    """What keeps the container within its share (a pinned LMCache pool; no GPU for a model served on CPUs)."""
    fit: InstanceFit | None
    """How the model fits the share (``None``: not sized, the model's size is unknown)."""
    startup_timeout_seconds: int | None
    """The start-up health check timeout the stack needs for the weights (``None``: the stack's default)."""
    derived_memory_mb: int | None = None
    """The host memory the model needs, when ``memory_mb`` was given instead (``None``: not given, or not sized).

    :default: - none
    """

    @property
    def sized(self) -> bool:
        """Whether the memory model checked the fit."""
        return self.fit is not None

    def describe(self) -> str:
        """``1 GPU, 11264 MB, 2 cores``."""
        gpus = f"{self.accelerators} GPU{'' if self.accelerators == 1 else 's'}"
        return f"{gpus}, {self.memory_mb} MB, {self.cpu_cores:g} cores"


@dataclass
class ComponentSizing:
    """How one component's model sizes on any instance type; each answer is computed once."""

    name: str
    """How messages name the component (its construct id)."""
    stack: ServingStack
    """The serving stack, configured with the component's image, flags and environment."""
    profile: ModelProfile | None
    """The model's size and shape (``None``: unknown)."""
    given: GivenResources = field(default_factory=GivenResources)
    """What the user fixed of the reservation."""
    custom_script: bool = False
    """Whether a ``model_fn`` of the user's loads the model (it decides the dtype)."""
    _answers: dict[tuple[str, bool], Reservation | str] = field(default_factory=dict, repr=False)

    def on(self, spec: InstanceSpec, *, picking: bool = False) -> Reservation | str:
        """The reservation on ``spec``, or why the component cannot run there.

        :param picking: the instance type is being chosen, not given (vLLM is not picked onto T4 or V100).
        """
        key = (spec.name, picking)
        if key not in self._answers:
            self._answers[key] = self._reserve(spec, picking)
        return self._answers[key]

    def _reserve(self, spec: InstanceSpec, picking: bool) -> Reservation | str:
        if spec.processor is Processor.NEURONX:
            return (
                f"{spec.name} is an Inferentia instance, and components on Inferentia are not sized here: their models "
                "must be compiled for Neuron; use a GPU or CPU instance type"
            )
        try:
            if spec.processor is Processor.CPU or self.given.accelerators == 0:
                return self._on_cpus(spec)
            return self._on_gpus(spec, picking)
        except ConfigurationError as error:  # the stack's sizing refuses the model (e.g. a token limit)
            return str(error)

    # ------------------------------------------------------------------------------------ CPUs
    def _on_cpus(self, spec: InstanceSpec) -> Reservation | str:
        if spec.processor is Processor.GPU and not self.stack.gpu_image_runs_on_cpu:
            return (
                f"accelerators=0 serves the model on the host's CPUs, and {self.stack.name}'s GPU image needs a GPU: "
                "only the inference toolkit serves on the CPUs of a GPU instance; give it GPUs or a CPU instance type"
            )
        if spec.processor is Processor.CPU and self.given.accelerators:
            return f"{spec.name} has no GPUs, and accelerators={self.given.accelerators} asks for some"
        if Processor.CPU not in self.stack.processors:
            return f"{self.stack.name} needs a GPU instance, and {spec.name} has none"
        share = replace(spec, name=f"the CPUs of {spec.name}", accelerators=0, memory_gib=usable_memory_gib(spec))
        fit = evaluate(share, self.profile, self.stack, self._demand(), SizingOptions()) if self.profile else None
        if fit is not None and not fit.fits:
            return fit.reason or "does not fit"
        needed = _mb(fit.needed_host_gib) if fit is not None else None
        memory = self.given.memory_mb or needed
        if memory is None:
            return (
                "the model's size is unknown (no model profile), so its host memory cannot be derived; pass "
                "memory_mb=... or model_profile=ModelProfile(...)"
            )
        hidden = {"CUDA_VISIBLE_DEVICES": ""} if spec.processor is Processor.GPU else {}
        reservation = Reservation(
            accelerators=0,
            memory_mb=memory,
            cpu_cores=self.given.cpu_cores or CPU_MODEL_CORES,
            share=share,
            sizing_environment={},
            host_environment=hidden,
            fit=fit,
            startup_timeout_seconds=self._startup_timeout(),
            derived_memory_mb=needed if self.given.memory_mb else None,
        )
        return capacity_problem(spec, reservation) or reservation

    # ------------------------------------------------------------------------------------ GPUs
    def _on_gpus(self, spec: InstanceSpec, picking: bool) -> Reservation | str:
        given = self.given.accelerators
        if given is not None and given > spec.accelerators:
            return f"accelerators={given} asks for more GPUs than {spec.name} has ({spec.accelerators})"
        if self.profile is None:
            return self._unsized(spec, given or 1)
        reason = "does not fit"
        for gpus in (given,) if given else gpu_counts(spec.accelerators):
            share = gpu_share(spec, gpus)
            if not given and gpus > 1 and self.stack.gpus_used(share) < gpus:
                break  # the stack uses one GPU whatever it is given: more cannot help
            fit = evaluate(share, self.profile, self.stack, self._demand(), SizingOptions(), picking=picking)
            if fit.fits:
                return self._sized(spec, share, fit)
            reason = fit.reason or reason
        return reason

    def _sized(self, spec: InstanceSpec, share: InstanceSpec, fit: InstanceFit) -> Reservation | str:
        assert self.profile is not None
        demand = self._demand()
        gpu_fit = GpuFit(share, fit.gpus_used, fit.kv_capacity_tokens)
        settings = self.stack.sizing_environment(self.profile, gpu_fit, demand, SizingOptions(), f"{self.name}")
        needed = _mb(fit.needed_host_gib)
        reservation = Reservation(
            accelerators=share.accelerators,
            memory_mb=self.given.memory_mb or needed,
            cpu_cores=self.given.cpu_cores or gpu_cores(spec, share.accelerators),
            share=share,
            sizing_environment=self.stack.image_environment(settings, self.stack.settings.image_version),
            host_environment=self.stack.shared_host_environment(share),
            fit=fit,
            startup_timeout_seconds=self._startup_timeout(demand),
            derived_memory_mb=needed if self.given.memory_mb else None,
        )
        return capacity_problem(spec, reservation) or reservation

    def _unsized(self, spec: InstanceSpec, gpus: int) -> Reservation | str:
        share = gpu_share(spec, gpus)
        reservation = Reservation(
            accelerators=gpus,
            memory_mb=self.given.memory_mb or math.floor(share.memory_gib * MIB_PER_GIB),
            cpu_cores=self.given.cpu_cores or gpu_cores(spec, gpus),
            share=share,
            sizing_environment=self.stack.unsized_environment(share),
            host_environment=self.stack.shared_host_environment(share),
            fit=None,
            startup_timeout_seconds=self.stack.startup_timeout_seconds(None),
        )
        return capacity_problem(spec, reservation) or reservation

    # --------------------------------------------------------------------------------- helpers
    def _demand(self) -> MemoryDemand:
        assert self.profile is not None
        return demand_of(self.profile, self.stack, SizingOptions(), self.custom_script)

    def _startup_timeout(self, demand: MemoryDemand | None = None) -> int | None:
        if demand is None and self.profile is not None:
            demand = self._demand()
        return self.stack.startup_timeout_seconds(demand.weights_gib if demand is not None else None)


def usable_memory_gib(spec: InstanceSpec) -> float:
    """The host memory components may reserve on ``spec``: all of it but ``HOST_RESERVE_FRACTION``."""
    return spec.memory_gib * (1 - HOST_RESERVE_FRACTION)


def usable_memory_mb(spec: InstanceSpec) -> int:
    """``usable_memory_gib`` in MB, rounded down."""
    return math.floor(usable_memory_gib(spec) * MIB_PER_GIB)


def gpu_counts(available: int) -> list[int]:
    """The GPU counts a component may take on an instance with ``available`` GPUs: powers of two, and all of them."""
    counts = [1 << power for power in range(available.bit_length()) if 1 << power < available]
    return [*counts, available]


def gpu_share(spec: InstanceSpec, gpus: int) -> InstanceSpec:
    """``gpus`` of the GPUs of ``spec``, with their share of its usable host memory and of its vCPUs."""
    if gpus == spec.accelerators:
        name = spec.name if gpus == 1 else f"{spec.name} (all {gpus} GPUs)"
    else:
        name = f"{spec.name}'s {gpus}-GPU share"
    part = gpus / spec.accelerators
    return replace(
        spec,
        name=name,
        accelerators=gpus,
        vcpus=max(1, math.floor(spec.vcpus * part)),
        memory_gib=round(usable_memory_gib(spec) * part, 2),
    )


def gpu_cores(spec: InstanceSpec, gpus: int) -> float:
    """Half of the vCPUs of a ``gpus`` share of ``spec``, at least one."""
    return float(max(1, math.floor(spec.vcpus * gpus / spec.accelerators / 2)))


def capacity_problem(spec: InstanceSpec, reservation: Reservation) -> str | None:
    """Why no instance of ``spec`` can hold one copy with ``reservation`` (``None``: one can)."""
    memory = usable_memory_mb(spec)
    over = []
    if reservation.memory_mb > memory:
        over.append(
            f"{reservation.memory_mb} MB of host memory, and components may reserve {memory} MB of its "
            f"{spec.memory_gib:g} GiB ({HOST_RESERVE_FRACTION:.0%} is kept for the host)"
        )
    if reservation.cpu_cores > spec.vcpus:
        over.append(f"{reservation.cpu_cores:g} CPU cores, and it has {spec.vcpus} vCPUs")
    if not over:
        return None
    return f"one copy reserves more than one {spec.name} offers: {'; '.join(over)}"


def _mb(gib: float) -> int:
    return math.ceil(gib * MIB_PER_GIB)
