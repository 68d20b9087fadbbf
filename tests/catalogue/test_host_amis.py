"""The host AMIs (catalogue/host_amis.py): SageMaker's values, what each runs, and the CUDA each GPU needs."""

from __future__ import annotations

import pytest

from constructs_lib.catalogue.host_amis import (
    GPU_4_1,
    HOST_AMIS,
    default_host_ami,
    gpu_cuda_problem,
    host_ami_problem,
)
from constructs_lib.catalogue.instances import GPU_FAMILIES, INSTANCE_CATALOGUE, Processor, instance_spec


def test_the_values_are_botocores_enum() -> None:
    assert set(HOST_AMIS) == {
        "al2-ami-sagemaker-inference-gpu-2",
        "al2-ami-sagemaker-inference-gpu-2-1",
        "al2-ami-sagemaker-inference-gpu-3-1",
        "al2023-ami-sagemaker-inference-gpu-4-1",
        "al2-ami-sagemaker-inference-neuron-2",
    }


def test_botocore_knows_every_value() -> None:
    """The installed botocore's service model is the source of the enum."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.shape_for("ProductionVariantInferenceAmiVersion")
    assert set(HOST_AMIS) <= set(shape.enum)


@pytest.mark.parametrize(
    ("processor", "cuda", "expected"),
    [
        (Processor.GPU, "13.0", GPU_4_1),
        (Processor.GPU, "12.9", None),
        (Processor.GPU, "12.4", None),
        (Processor.GPU, None, None),
        (Processor.CPU, None, None),
        (Processor.NEURONX, None, None),
    ],
)
def test_only_cuda_13_images_need_an_ami_of_their_own(
    processor: Processor, cuda: str | None, expected: str | None
) -> None:
    assert default_host_ami(processor, cuda) == expected


def test_a_driver_runs_every_cuda_of_its_major_version_and_no_newer_major() -> None:
    gpu_3_1 = HOST_AMIS["al2-ami-sagemaker-inference-gpu-3-1"]
    assert host_ami_problem(gpu_3_1, Processor.GPU, "12.9", "ml.g6.xlarge") is None
    problem = host_ami_problem(gpu_3_1, Processor.GPU, "13.0", "ml.g6.xlarge")
    assert problem is not None and "driver 550, which supports CUDA up to 12.4" in problem and GPU_4_1 in problem
    assert host_ami_problem(HOST_AMIS[GPU_4_1], Processor.GPU, "13.0", "ml.g6.xlarge") is None


def test_an_ami_of_another_processor_is_refused() -> None:
    neuron = HOST_AMIS["al2-ami-sagemaker-inference-neuron-2"]
    problem = host_ami_problem(neuron, Processor.GPU, "13.0", "ml.g6.xlarge")
    assert problem is not None and "is an AMI for NEURONX instances" in problem and GPU_4_1 in problem
    cpu = host_ami_problem(HOST_AMIS[GPU_4_1], Processor.CPU, None, "ml.m5.xlarge")
    assert cpu is not None and "allowed there: none (leave it unset)" in cpu


def test_every_catalogued_gpu_has_a_compute_capability() -> None:
    gpus = [spec for spec in INSTANCE_CATALOGUE.values() if spec.processor is Processor.GPU]
    assert {spec.family for spec in gpus} == set(GPU_FAMILIES)
    assert all(spec.compute_capability for spec in gpus)


@pytest.mark.parametrize(
    ("instance_type", "cuda", "phrase"),
    [
        ("ml.p3.2xlarge", "13.0", "CUDA 13 dropped GPUs below compute capability 7.5"),
        ("ml.p6-b200.48xlarge", "12.4", "Blackwell GPU, which needs CUDA 12.8"),
        ("ml.g7e.2xlarge", "12.4", "Blackwell GPU, which needs CUDA 12.8"),
        ("ml.p5.48xlarge", "11.0", "Hopper GPU, which needs CUDA 11.8"),
        ("ml.g6.xlarge", "11.0", "Ada GPU, which needs CUDA 11.8"),
    ],
)
def test_gpus_an_image_cannot_run_on(instance_type: str, cuda: str, phrase: str) -> None:
    spec = instance_spec(instance_type)
    assert spec is not None
    problem = gpu_cuda_problem(spec, cuda)
    assert problem is not None and phrase in problem


@pytest.mark.parametrize(
    ("instance_type", "cuda"),
    [("ml.g4dn.xlarge", "13.0"), ("ml.p3.2xlarge", "12.9"), ("ml.p6-b200.48xlarge", "13.0"), ("ml.g5.xlarge", "12.4")],
)
def test_gpus_an_image_runs_on(instance_type: str, cuda: str) -> None:
    spec = instance_spec(instance_type)
    assert spec is not None and gpu_cuda_problem(spec, cuda) is None
