"""The hosts a container runs on: SageMaker's inference AMIs, their NVIDIA drivers, and the CUDA each GPU needs.

A production variant's ``InferenceAmiVersion`` picks the host AMI, and with it the NVIDIA driver. Sources:

- the values and their drivers: botocore's ``ProductionVariantInferenceAmiVersion`` enum and its member
  documentation (sagemaker ``service-2.json``, botocore 1.43);
- "GPU deployments require ``inference_ami_version``: the default SageMaker host AMI has incompatible NVIDIA
  drivers for CUDA 13.0 images" (aws/deep-learning-containers, ``docs/vllm/deployment/sagemaker.md``); the
  CUDA 12 images (toolkit, TGI, TEI) have run on the default host since they were released;
- CUDA 13.0 removed support for GPUs below compute capability 7.5 (Maxwell, Pascal, Volta: NVIDIA's CUDA 13.0
  release notes); Blackwell GPUs (compute capability 10.0 and 12.0) need CUDA 12.8, Hopper and Ada 11.8;
- Blackwell GPUs need NVIDIA driver branch 570 or newer (NVIDIA's R570 release notes: the first branch that
  supports them): of SageMaker's AMIs only the driver-580 one drives them, whatever CUDA the image has.

A driver runs every CUDA of its own major version (CUDA minor version compatibility); a newer major needs a
newer driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .instances import InstanceSpec, Processor


@dataclass(frozen=True)
class HostAmi:
    """One value of ``InferenceAmiVersion``."""

    name: str
    """The value, e.g. ``al2023-ami-sagemaker-inference-gpu-4-1``."""
    processor: Processor
    """The instances it is for."""
    driver: str | None = None
    """The NVIDIA driver branch (``None`` for Neuron)."""
    cuda_version: str | None = None
    """The newest CUDA the driver runs (``None`` for Neuron)."""


GPU_4_1 = "al2023-ami-sagemaker-inference-gpu-4-1"
NEURON_2 = "al2-ami-sagemaker-inference-neuron-2"

HOST_AMIS: Mapping[str, HostAmi] = {
    ami.name: ami
    for ami in (
        HostAmi("al2-ami-sagemaker-inference-gpu-2", Processor.GPU, "535", "12.2"),
        HostAmi("al2-ami-sagemaker-inference-gpu-2-1", Processor.GPU, "535", "12.2"),
        HostAmi("al2-ami-sagemaker-inference-gpu-3-1", Processor.GPU, "550", "12.4"),
        HostAmi(GPU_4_1, Processor.GPU, "580", "13.0"),
        HostAmi(NEURON_2, Processor.NEURONX),
    )
}
"""Every ``InferenceAmiVersion`` SageMaker accepts, by value."""

_NEWEST_GPU_AMI = GPU_4_1
_BLACKWELL_COMPUTE_CAPABILITY = 10.0
_BLACKWELL_MIN_DRIVER = 570

# (lowest compute capability of an architecture, its name, the first CUDA that supports it), newest first.
_ARCHITECTURE_CUDA = (
    (10.0, "Blackwell", (12, 8)),
    (9.0, "Hopper", (11, 8)),
    (8.9, "Ada", (11, 8)),
)
_CUDA_13_MIN_COMPUTE_CAPABILITY = 7.5


def cuda_tuple(version: str) -> tuple[int, int]:
    """``"13.0"`` as ``(13, 0)``."""
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def default_host_ami(processor: Processor, cuda_version: str | None) -> str | None:
    """The AMI an image needs on ``processor``: a CUDA 13 image needs the driver-580 AMI; SageMaker's default
    host runs the others (``None``)."""
    if processor is Processor.GPU and cuda_version is not None and cuda_tuple(cuda_version)[0] >= 13:
        return _NEWEST_GPU_AMI
    return None


def _is_blackwell(spec: InstanceSpec | None) -> bool:
    capability = spec.compute_capability if spec is not None else None
    return capability is not None and capability >= _BLACKWELL_COMPUTE_CAPABILITY


def host_ami_for_gpus(ami: str | None, spec: InstanceSpec | None) -> str | None:
    """``ami`` (what the image needs), or the driver-580 AMI on Blackwell GPUs, which no older driver runs."""
    return _NEWEST_GPU_AMI if ami is None and _is_blackwell(spec) else ami


def gpu_driver_problem(ami: HostAmi, spec: InstanceSpec | None) -> str | None:
    """Why the NVIDIA driver of ``ami`` cannot drive the GPUs of ``spec`` (``None``: it can, or unknown)."""
    if spec is None or ami.driver is None or not _is_blackwell(spec) or int(ami.driver) >= _BLACKWELL_MIN_DRIVER:
        return None
    return (
        f"runs NVIDIA driver {ami.driver}, and {spec.accelerator_model} ({spec.name}) is a Blackwell GPU, which "
        f"needs driver {_BLACKWELL_MIN_DRIVER} or newer; use {_NEWEST_GPU_AMI!r} (driver 580), or leave "
        "inference_ami_version unset to get it"
    )


def host_ami_problem(ami: HostAmi, processor: Processor, cuda_version: str | None, instance_type: str) -> str | None:
    """Why ``ami`` cannot host an image built for ``cuda_version`` on a ``processor`` instance (``None``: it can)."""
    if ami.processor is not processor:
        wanted = [name for name, other in HOST_AMIS.items() if other.processor is processor]
        allowed = ", ".join(repr(name) for name in wanted) if wanted else "none (leave it unset)"
        return (
            f"is an AMI for {ami.processor.value.upper()} instances, and {instance_type} is a {processor.value} "
            f"instance; allowed there: {allowed}"
        )
    if ami.cuda_version is None or cuda_version is None:
        return None
    if cuda_tuple(ami.cuda_version)[0] < cuda_tuple(cuda_version)[0]:
        return (
            f"runs NVIDIA driver {ami.driver}, which supports CUDA up to {ami.cuda_version}, and the image is built "
            f"for CUDA {cuda_version}; use {_NEWEST_GPU_AMI!r} (driver 580, CUDA 13.0), or leave "
            "inference_ami_version unset to get it"
        )
    return None


def gpu_cuda_problem(spec: InstanceSpec, cuda_version: str | None) -> str | None:
    """Why the GPUs of ``spec`` cannot run an image built for ``cuda_version`` (``None``: they can, or unknown)."""
    capability = spec.compute_capability
    if cuda_version is None or capability is None:
        return None
    cuda = cuda_tuple(cuda_version)
    if cuda[0] >= 13 and capability < _CUDA_13_MIN_COMPUTE_CAPABILITY:
        return (
            f"the image is built for CUDA {cuda_version}, and CUDA 13 dropped GPUs below compute capability 7.5; "
            f"{spec.accelerator_model} ({spec.name}) is {capability:g}"
        )
    for lowest, architecture, first_cuda in _ARCHITECTURE_CUDA:
        if capability >= lowest:
            if cuda < first_cuda:
                needed = ".".join(map(str, first_cuda))
                return (
                    f"{spec.accelerator_model} ({spec.name}) is a {architecture} GPU, which needs CUDA {needed} or "
                    f"newer, and the image is built for CUDA {cuda_version}; use a newer image or another instance"
                )
            break
    return None
