"""SageMaker real-time hosting instance types: shapes, accelerators, local storage, prices.

The GPU rows follow AWS's accelerated computing table (docs.aws.amazon.com/ec2/latest/instancetypes/ac.html),
whose EC2 shapes the ml.* types share. Prices are indicative us-east-1 on-demand hosting prices in USD per
hour from third-party sources, good for ranking, not billing; the families added since (g7e, p5.4xlarge,
p5en, p6-b200, p6-b300) have no sourced price and are picked only when no priced instance fits. CPU prices
(m5, c5, r5: what llama.cpp picks from) are of the same kind; other CPU families, Inferentia and Trainium are
unpriced. Users give their own prices with ``SizingOptions(prices=...)``.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .._core.errors import ConfigurationError, allowed_list, describe
from .._core.tokens import is_unresolved


class Processor(enum.StrEnum):
    """Which kind of Deep Learning Container an instance runs."""

    GPU = "gpu"
    CPU = "cpu"
    NEURONX = "neuronx"


@dataclass(frozen=True)
class InstanceSpec:
    """The shape of one SageMaker hosting instance type."""

    name: str
    """Instance type as SageMaker spells it, e.g. ``ml.g5.xlarge``."""
    family: str
    """Family, e.g. ``g5``."""
    vcpus: int
    """Virtual CPUs on the instance."""
    memory_gib: float
    """Host memory in GiB."""
    accelerators: int = 0
    """GPUs (or Inferentia chips) on the instance; 0 for CPU instances.

    :default: 0
    """
    accelerator_model: str | None = None
    """e.g. ``A10G``.

    :default: - none
    """
    accelerator_memory_gib: float = 0.0
    """Nominal memory per accelerator in GiB.

    :default: 0.0
    """
    usable_accelerator_memory_gib: float = 0.0
    """Memory per accelerator that a process can actually allocate (below nominal).

    :default: 0.0
    """
    local_nvme: bool = False
    """True when the instance has local NVMe storage: SageMaker then rejects ``VolumeSizeInGB``
    and a KMS key for the storage volume.

    :default: False
    """
    burstable: bool = False
    """True for ``ml.t*`` instances, which cannot use autoscaling.

    :default: False
    """
    price_per_hour: float | None = None
    """Indicative us-east-1 on-demand hosting price (USD/hour); ``None`` when not catalogued.

    :default: - not catalogued
    """
    compute_capability: float | None = None
    """The NVIDIA compute capability of the GPUs (``8.6`` for A10G), which decides the number formats
    and kernels a server can use (bfloat16 from 8.0, FP8 from 8.9) and the CUDA versions that run on them.

    :default: - not a GPU instance
    """
    neuron_cores: int = 0
    """NeuronCores on an Inferentia or Trainium instance (2 per Inferentia2 or Trainium chip).

    :default: 0
    """

    @property
    def processor(self) -> Processor:
        """Which Deep Learning Container the instance runs: ``NEURONX`` for ``inf*`` families, ``GPU`` for
        ``g*``/``p*`` instances with accelerators, else ``CPU``."""
        if self.family.startswith(NEURON_FAMILY_PREFIXES):
            return Processor.NEURONX
        return Processor.GPU if self.accelerators and self.family[0] in "gp" else Processor.CPU


@dataclass(frozen=True)
class _GpuModel:
    name: str
    memory_gib: float
    usable_gib: float
    compute_capability: float


# Usable memory is what `nvidia-smi` reports as total, minus nothing else: the CUDA context and
# activations are covered by the sizing, not here. AWS's accelerated computing table
# (docs.aws.amazon.com/ec2/latest/instancetypes/ac.html) gives the usable memory of A10G and L4 as
# "22 GiB" and of L40S as "44 GiB", and the nominal size of the others. Compute capabilities are
# NVIDIA's (developer.nvidia.com/cuda-gpus).
_T4 = _GpuModel("T4", 16, 15.0, 7.5)
_A10G = _GpuModel("A10G", 24, 22.4, 8.6)
_L4 = _GpuModel("L4", 24, 22.4, 8.9)
_L40S = _GpuModel("L40S", 48, 44.9, 8.9)
_V100 = _GpuModel("V100", 16, 15.7, 7.0)
_A100_40 = _GpuModel("A100", 40, 39.4, 8.0)
_A100_80 = _GpuModel("A100", 80, 79.1, 8.0)
_H100 = _GpuModel("H100", 80, 79.1, 9.0)
_H200 = _GpuModel("H200", 141, 139.8, 9.0)
# ac.html: "1 x NVIDIA RTX PRO Server 6000 GPU | 96 GiB (1 x 96 GiB)" (G7e).
_RTX_PRO_6000 = _GpuModel("RTX PRO 6000", 96, 94.5, 12.0)
# ac.html: "8 x NVIDIA B200 GPU | 1432 GiB (8 x 179 GiB)" (P6-B200).
_B200 = _GpuModel("B200", 179, 178.0, 10.0)
# ac.html: "8 x NVIDIA B300 GPU | 2148 GiB (8 x 268 GiB)" (P6-B300).
_B300 = _GpuModel("B300", 268, 266.5, 10.3)

# (size, gpus, vcpus, host GiB, price) per family.
_G5_SHAPES = (
    ("xlarge", 1, 4, 16),
    ("2xlarge", 1, 8, 32),
    ("4xlarge", 1, 16, 64),
    ("8xlarge", 1, 32, 128),
    ("12xlarge", 4, 48, 192),
    ("16xlarge", 1, 64, 256),
    ("24xlarge", 4, 96, 384),
    ("48xlarge", 8, 192, 768),
)
_G6E_SHAPES = (
    ("xlarge", 1, 4, 32),
    ("2xlarge", 1, 8, 64),
    ("4xlarge", 1, 16, 128),
    ("8xlarge", 1, 32, 256),
    ("12xlarge", 4, 48, 384),
    ("16xlarge", 1, 64, 512),
    ("24xlarge", 4, 96, 768),
    ("48xlarge", 8, 192, 1536),
)
_GPU_FAMILIES: dict[str, tuple[_GpuModel, bool, tuple[tuple[str, int, int, int], ...]]] = {
    # family: (gpu, local NVMe, shapes)
    "g4dn": (_T4, True, _G5_SHAPES[:6]),
    "g5": (_A10G, True, _G5_SHAPES),
    "g6": (_L4, True, _G5_SHAPES),
    "g6e": (_L40S, True, _G6E_SHAPES),
    "p3": (_V100, False, (("2xlarge", 1, 8, 61), ("8xlarge", 4, 32, 244), ("16xlarge", 8, 64, 488))),
    "p4d": (_A100_40, True, (("24xlarge", 8, 96, 1152),)),
    "p4de": (_A100_80, True, (("24xlarge", 8, 96, 1152),)),
    # ac.html: "p5.4xlarge | 256.00 | ... | 16 | ... | 1 x NVIDIA H100 GPU | 80 GiB (1 x 80 GiB)", "1 x 3800 GB NVMe".
    "p5": (_H100, True, (("4xlarge", 1, 16, 256), ("48xlarge", 8, 192, 2048))),
    "p5e": (_H200, True, (("48xlarge", 8, 192, 2048),)),
    # ac.html: "p5en.48xlarge | 2048.00 | ... | 192 | ... | 8 x NVIDIA H200 GPU | 1128 GiB (8 x 141 GiB)", NVMe.
    "p5en": (_H200, True, (("48xlarge", 8, 192, 2048),)),
    # ac.html, G7e rows: host GiB 64/128/256/512/1024/2048, vCPUs 8/16/32/48/96/192, GPUs 1/1/1/2/4/8, NVMe at every
    # size. SageMaker accepts 2xlarge to 48xlarge (botocore ProductionVariantInstanceType).
    "g7e": (
        _RTX_PRO_6000,
        True,
        (
            ("2xlarge", 1, 8, 64),
            ("4xlarge", 1, 16, 128),
            ("8xlarge", 1, 32, 256),
            ("12xlarge", 2, 48, 512),
            ("24xlarge", 4, 96, 1024),
            ("48xlarge", 8, 192, 2048),
        ),
    ),
    # ac.html: "p6-b200.48xlarge | 2048.00 | ... | 192 | ... | 8 x NVIDIA B200 GPU", "8 x 3800 GB NVMe SSD".
    "p6-b200": (_B200, True, (("48xlarge", 8, 192, 2048),)),
    # ac.html: "p6-b300.48xlarge | 4096.00 | ... | 192 | ... | 8 x NVIDIA B300 GPU", "8 x 3800 GB NVMe SSD".
    "p6-b300": (_B300, True, (("48xlarge", 8, 192, 4096),)),
    # Not catalogued: g7 (no AWS page gives its GPUs yet) and p6e-gb200 (arm64 Grace hosts, which the x86_64 DLCs do
    # not run on).
}

# Indicative us-east-1 real-time hosting prices, USD/hour (unverified third-party figures).
DEFAULT_PRICES: Mapping[str, float] = {
    "ml.g4dn.xlarge": 0.736, "ml.g4dn.2xlarge": 1.053, "ml.g4dn.4xlarge": 1.686,
    "ml.g4dn.8xlarge": 3.046, "ml.g4dn.12xlarge": 5.477, "ml.g4dn.16xlarge": 6.115,
    "ml.g5.xlarge": 1.408, "ml.g5.2xlarge": 1.515, "ml.g5.4xlarge": 2.03,
    "ml.g5.8xlarge": 3.06, "ml.g5.12xlarge": 7.09, "ml.g5.16xlarge": 5.124,
    "ml.g5.24xlarge": 10.18, "ml.g5.48xlarge": 20.36,
    "ml.g6.xlarge": 1.006, "ml.g6.2xlarge": 1.222, "ml.g6.4xlarge": 1.654,
    "ml.g6.8xlarge": 2.518, "ml.g6.12xlarge": 5.752, "ml.g6.16xlarge": 4.246,
    "ml.g6.24xlarge": 8.352, "ml.g6.48xlarge": 17.402,
    "ml.g6e.xlarge": 2.326, "ml.g6e.2xlarge": 2.81, "ml.g6e.4xlarge": 3.78,
    "ml.g6e.8xlarge": 5.704, "ml.g6e.12xlarge": 13.12, "ml.g6e.16xlarge": 9.51,
    "ml.g6e.24xlarge": 18.67, "ml.g6e.48xlarge": 37.34,
    "ml.p3.2xlarge": 3.825, "ml.p3.8xlarge": 14.688, "ml.p3.16xlarge": 28.152,
    "ml.p4d.24xlarge": 37.688, "ml.p4de.24xlarge": 47.11,
    "ml.p5.48xlarge": 113.07, "ml.p5e.48xlarge": 130.0,
    # CPU instances, for servers that run on them (llama.cpp): the same kind of indicative figures.
    "ml.m5.large": 0.115, "ml.m5.xlarge": 0.23, "ml.m5.2xlarge": 0.461, "ml.m5.4xlarge": 0.922,
    "ml.m5.12xlarge": 2.765, "ml.m5.24xlarge": 5.53,
    "ml.c5.large": 0.102, "ml.c5.xlarge": 0.204, "ml.c5.2xlarge": 0.408, "ml.c5.4xlarge": 0.816,
    "ml.c5.9xlarge": 1.836, "ml.c5.18xlarge": 3.672,
    "ml.r5.large": 0.151, "ml.r5.xlarge": 0.302, "ml.r5.2xlarge": 0.605, "ml.r5.4xlarge": 1.21,
    "ml.r5.12xlarge": 3.629, "ml.r5.24xlarge": 7.258,
}  # fmt: skip


def _gpu_specs() -> list[InstanceSpec]:
    specs = []
    for family, (gpu, nvme, shapes) in _GPU_FAMILIES.items():
        for size, gpus, vcpus, memory in shapes:
            name = f"ml.{family}.{size}"
            specs.append(
                InstanceSpec(
                    name=name,
                    family=family,
                    vcpus=vcpus,
                    memory_gib=memory,
                    accelerators=gpus,
                    accelerator_model=gpu.name,
                    accelerator_memory_gib=gpu.memory_gib,
                    usable_accelerator_memory_gib=gpu.usable_gib,
                    compute_capability=gpu.compute_capability,
                    local_nvme=nvme,
                    price_per_hour=DEFAULT_PRICES.get(name),
                )
            )
    return specs


# vCPUs and GiB per size for the general CPU families (m: 4 GiB/vCPU, c: 2, r: 8).
_CPU_SIZES = {
    "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32,
    "9xlarge": 36, "12xlarge": 48, "16xlarge": 64, "18xlarge": 72, "24xlarge": 96,
}  # fmt: skip
_CPU_FAMILIES: dict[str, tuple[int, tuple[str, ...], bool]] = {
    # family: (GiB per vCPU, sizes, local NVMe)
    "m5": (4, ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), False),
    "m5d": (4, ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), True),
    "c5": (2, ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"), False),
    "c5d": (2, ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"), True),
    "r5": (8, ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), False),
    "r5d": (8, ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), True),
    "m6i": (4, ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"), False),
    "c6i": (2, ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"), False),
    "r6i": (8, ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"), False),
    "m7i": (4, ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"), False),
    "c7i": (2, ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"), False),
    "r7i": (8, ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"), False),
}  # fmt: skip


def _cpu_specs() -> list[InstanceSpec]:
    specs = [
        InstanceSpec(f"ml.t2.{size}", "t2", vcpus, memory, burstable=True)
        for size, vcpus, memory in (("medium", 2, 4), ("large", 2, 8), ("xlarge", 4, 16), ("2xlarge", 8, 32))
    ]
    for family, (gib_per_vcpu, sizes, nvme) in _CPU_FAMILIES.items():
        for size in sizes:
            vcpus = _CPU_SIZES[size]
            name = f"ml.{family}.{size}"
            price = DEFAULT_PRICES.get(name)
            specs.append(InstanceSpec(name, family, vcpus, vcpus * gib_per_vcpu, local_nvme=nvme, price_per_hour=price))
    return specs


NEURON_FAMILY_PREFIXES = ("inf", "trn")
"""Families of Inferentia and Trainium instances, which run neuronx images."""

# AWS Neuron docs (inf2-arch, trn1-arch): "two NeuronCore-v2 cores" and "32GiB of ... device memory" per
# Inferentia2 or Trainium chip; chips, vCPUs and host memory per size from inf2-arch / trn1-arch and ac.html.
# trn1 and trn1n have local NVMe instance store ("1 x 474 GB", "4 x 1900 GB"); inf2 is EBS only. trn2 is left out:
# its NeuronCore-v3 (8 physical, 4 logical per chip) is not what the vLLM Neuron image is documented for.
_NEURON_CORES_PER_CHIP = 2
_NEURON_FAMILIES = {
    # family: (chip, local NVMe, ((size, chips, vCPUs, host GiB), ...))
    "inf2": ("Inferentia2", False, (("xlarge", 1, 4, 16), ("8xlarge", 1, 32, 128), ("24xlarge", 6, 96, 384),
                                    ("48xlarge", 12, 192, 768))),
    "trn1": ("Trainium", True, (("2xlarge", 1, 8, 32), ("32xlarge", 16, 128, 512))),
    "trn1n": ("Trainium", True, (("32xlarge", 16, 128, 512),)),
}  # fmt: skip


def _neuron_specs() -> list[InstanceSpec]:
    return [
        InstanceSpec(
            name=f"ml.{family}.{size}",
            family=family,
            vcpus=vcpus,
            memory_gib=memory,
            accelerators=chips,
            accelerator_model=chip,
            accelerator_memory_gib=32,
            usable_accelerator_memory_gib=32,
            local_nvme=nvme,
            price_per_hour=DEFAULT_PRICES.get(f"ml.{family}.{size}"),
            neuron_cores=chips * _NEURON_CORES_PER_CHIP,
        )
        for family, (chip, nvme, shapes) in _NEURON_FAMILIES.items()
        for size, chips, vcpus, memory in shapes
    ]


INSTANCE_CATALOGUE: Mapping[str, InstanceSpec] = {
    spec.name: spec for spec in (*_gpu_specs(), *_cpu_specs(), *_neuron_specs())
}
"""Every instance type this library knows, by name."""

GPU_FAMILIES: tuple[str, ...] = tuple(_GPU_FAMILIES)
"""GPU families that instance selection considers."""
CPU_FAMILIES: tuple[str, ...] = ("t2", *_CPU_FAMILIES)
"""CPU families (``t2`` is burstable: run when asked for, never picked)."""
NEURON_FAMILIES: tuple[str, ...] = tuple(_NEURON_FAMILIES)
"""Inferentia and Trainium families."""
FAMILIES: tuple[str, ...] = (*GPU_FAMILIES, *CPU_FAMILIES, *NEURON_FAMILIES)
"""Every catalogued family: what ``SizingOptions.families`` may name."""


class InstanceType:
    """SageMaker hosting instance types, as constants plus ``of()`` for any other name.

    Instance types are plain strings everywhere in this library; the constants exist for
    discoverability and typo safety (``InstanceType.G5_XLARGE``).
    """

    G4DN_XLARGE = "ml.g4dn.xlarge"
    G4DN_2XLARGE = "ml.g4dn.2xlarge"
    G4DN_12XLARGE = "ml.g4dn.12xlarge"
    G5_XLARGE = "ml.g5.xlarge"
    G5_2XLARGE = "ml.g5.2xlarge"
    G5_4XLARGE = "ml.g5.4xlarge"
    G5_12XLARGE = "ml.g5.12xlarge"
    G5_48XLARGE = "ml.g5.48xlarge"
    G6_XLARGE = "ml.g6.xlarge"
    G6_12XLARGE = "ml.g6.12xlarge"
    G6E_XLARGE = "ml.g6e.xlarge"
    G6E_12XLARGE = "ml.g6e.12xlarge"
    G6E_48XLARGE = "ml.g6e.48xlarge"
    P4D_24XLARGE = "ml.p4d.24xlarge"
    P5_48XLARGE = "ml.p5.48xlarge"
    M5_XLARGE = "ml.m5.xlarge"
    C5_XLARGE = "ml.c5.xlarge"
    INF2_XLARGE = "ml.inf2.xlarge"

    @staticmethod
    def of(name: str) -> str:
        """Validate an instance type name and return it (tokens pass through unchecked)."""
        problem = instance_type_problem(name)
        if problem:
            raise ConfigurationError(f"instance_type: {describe(name)} {problem}")
        return name


def instance_type_problem(name: str) -> str | None:
    """Why ``name`` is not a usable hosting instance type, or ``None`` when it is."""
    if is_unresolved(name):
        return None
    if not isinstance(name, str):
        return "is not a SageMaker instance type: instance types are strings such as 'ml.g5.xlarge'"
    if name in INSTANCE_CATALOGUE:
        return None
    # Only a name that fails pays for the fuzzy match (every endpoint checks its instance type).
    close = difflib.get_close_matches(name.lower(), INSTANCE_CATALOGUE, n=1, cutoff=0.85)
    hint = f" (did you mean {close[0]!r}?)" if close and close[0] != name else ""
    if not name.startswith("ml."):
        return f"is not a SageMaker instance type{hint}: instance types start with 'ml.' (e.g. 'ml.g5.xlarge')"
    # The catalogue is closed on purpose: sizing, images and GPU checks need each type's shape.
    return (
        f"is not a known SageMaker hosting instance type{hint}: this library supports the real-time "
        f"hosting types it has the shape of; allowed: {allowed_list(INSTANCE_CATALOGUE, 200)}"
    )


def instance_spec(name: str) -> InstanceSpec | None:
    """The catalogued shape of ``name`` (``None`` for tokens and unknown names)."""
    if is_unresolved(name):
        return None
    return INSTANCE_CATALOGUE.get(name)


def processor_for(instance_type: str | None) -> Processor:
    """The DLC processor for an instance type; ``None`` (serverless) means CPU.

    Families ``g*``/``p*`` run GPU images, ``inf*``/``trn*`` run neuronx images, everything else CPU.
    """
    if instance_type is None:
        return Processor.CPU
    spec = instance_spec(instance_type)
    if spec is not None:
        return spec.processor
    return processor_of_family(instance_type.split(".")[1] if instance_type.count(".") >= 2 else "")


def processor_of_family(family: str) -> Processor:
    """The DLC processor of an instance family (``g6``: GPU, ``inf2``: neuronx, ``m5``: CPU)."""
    if family.startswith(NEURON_FAMILY_PREFIXES):
        return Processor.NEURONX
    return Processor.GPU if family[:1] in ("g", "p") else Processor.CPU


def with_prices(overrides: Mapping[str, float]) -> Mapping[str, InstanceSpec]:
    """The catalogue with some prices replaced (for users with negotiated or regional prices)."""
    unknown = sorted(set(overrides) - set(INSTANCE_CATALOGUE))
    if unknown:
        raise ConfigurationError(
            f"instance_prices: {describe(unknown)} are not known instance types; "
            f"allowed: {allowed_list(INSTANCE_CATALOGUE, 200)}"
        )
    return {
        name: replace(spec, price_per_hour=overrides.get(name, spec.price_per_hour))
        for name, spec in INSTANCE_CATALOGUE.items()
    }
