"""The production variant's host AMI (``inference_ami_version``): derived from the image's CUDA, checked when given."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import (
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
    ModelVariant,
    ServerlessInference,
    Serving,
)

from ..support import SST2, config_of, error_of, new_stack, variant

GPU_4_1 = "al2023-ami-sagemaker-inference-gpu-4-1"
LLAMA = ModelProfile(parameters=8_030_261_248, num_layers=32, num_attention_heads=32, num_key_value_heads=8,
                     hidden_size=4096, max_position_embeddings=131072, task="text-generation")  # fmt: skip


def llm_variant(**props: Any) -> dict[str, Any]:
    stack = new_stack()
    props.setdefault("instance_type", "ml.g6e.xlarge")
    HubModelEndpoint(stack, "Llm", model_id="meta-llama/Llama-3.1-8B-Instruct", model_profile=LLAMA, **props)
    return variant(Template.from_stack(stack))


@pytest.mark.parametrize("version", ["0.21.0", "0.25.1", "0.29.0"])
def test_cuda_13_images_get_the_driver_580_ami(version: str) -> None:
    assert llm_variant(image=InferenceImage.vllm(version))["InferenceAmiVersion"] == GPU_4_1


@pytest.mark.parametrize("version", ["0.14.0", "0.17.0"])
def test_cuda_12_vllm_images_run_on_the_default_host(version: str) -> None:
    assert "InferenceAmiVersion" not in llm_variant(image=InferenceImage.vllm(version))


@pytest.mark.parametrize(
    "props",
    [
        {"task": "text-classification", "instance_type": "ml.g5.xlarge"},
        {"task": "text-classification", "instance_type": "ml.m5.xlarge"},
        {"task": "feature-extraction", "instance_type": "ml.g5.xlarge", "serving": Serving.TEI},
    ],
)
def test_cuda_12_and_cpu_images_leave_the_ami_unset(props: dict[str, Any]) -> None:
    stack = new_stack()
    HubModelEndpoint(stack, "E", model_id=SST2, **props)
    assert "InferenceAmiVersion" not in variant(Template.from_stack(stack))


def test_a_given_ami_is_used() -> None:
    given = llm_variant(
        image=InferenceImage.vllm("0.17.0"), inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1"
    )
    assert given["InferenceAmiVersion"] == "al2-ami-sagemaker-inference-gpu-3-1"


@pytest.mark.parametrize(
    ("props", "phrases"),
    [
        (
            {"inference_ami_version": "al2-ami-sagemaker-inference-gpu-5"},
            ["inference_ami_version: 'al2-ami-sagemaker-inference-gpu-5' is not a SageMaker host AMI", GPU_4_1],
        ),
        (
            {"inference_ami_version": "al2-ami-sagemaker-inference-gpu-2"},
            ["runs NVIDIA driver 535, which supports CUDA up to 12.2", "built for CUDA 13.0"],
        ),
        (
            {"inference_ami_version": "al2-ami-sagemaker-inference-neuron-2"},
            ["is an AMI for NEURONX instances, and ml.g6e.xlarge is a gpu instance"],
        ),
        ({"inference_ami_version": 42}, ["inference_ami_version: 42 must be a string"]),
    ],
)
def test_an_ami_that_cannot_host_the_image_is_an_error(props: dict[str, Any], phrases: list[str]) -> None:
    message = error_of(lambda: llm_variant(**props))
    assert all(phrase in message for phrase in phrases), message


def test_a_gpu_ami_on_a_cpu_instance_is_an_error() -> None:
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "E",
            model_id=SST2,
            task="text-classification",
            instance_type="ml.m5.xlarge",
            inference_ami_version=GPU_4_1,
        )
    )
    assert "is an AMI for GPU instances, and ml.m5.xlarge is a cpu instance" in message


def test_an_ami_with_serverless_is_an_error() -> None:
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "E",
            model_id=SST2,
            task="text-classification",
            serverless=ServerlessInference(),
            inference_ami_version=GPU_4_1,
        )
    )
    assert "inference_ami_version" in message and "serverless endpoints have no instances" in message


def test_an_image_of_your_own_is_read_from_its_tag() -> None:
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-vllm:0.30.0-gpu-py312-cu130-ubuntu24.04"
    assert llm_variant(image=InferenceImage.from_uri(uri, serving=Serving.VLLM))["InferenceAmiVersion"] == GPU_4_1
    plain = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-vllm:latest"
    assert "InferenceAmiVersion" not in llm_variant(image=InferenceImage.from_uri(plain, serving=Serving.VLLM))


def test_each_variant_gets_the_ami_its_own_image_needs() -> None:
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Llm",
        model_data="s3://bucket/llm/",
        task="text-generation",
        model_profile=LLAMA,
        instance_type="ml.g6e.xlarge",
        image=InferenceImage.vllm("0.17.0"),
        variants=[ModelVariant(name="newer", model_data="s3://bucket/llm-v2/", image=InferenceImage.vllm("0.29.0"))],
    )
    variants = {v["VariantName"]: v for v in config_of(Template.from_stack(stack))["ProductionVariants"]}
    assert "InferenceAmiVersion" not in variants["AllTraffic"]
    assert variants["newer"]["InferenceAmiVersion"] == GPU_4_1


# Blackwell GPUs (g7e, p6-b200, p6-b300) need NVIDIA driver 570+: only the driver-580 AMI has one.
@pytest.mark.parametrize("instance_type", ["ml.g7e.2xlarge", "ml.p6-b200.48xlarge"])
def test_blackwell_gpus_get_the_driver_580_ami_even_for_cuda_12_images(instance_type: str) -> None:
    assert (
        llm_variant(image=InferenceImage.vllm("0.17.0"), instance_type=instance_type)["InferenceAmiVersion"] == GPU_4_1
    )


def test_an_older_driver_on_blackwell_gpus_is_an_error() -> None:
    message = error_of(
        lambda: llm_variant(
            image=InferenceImage.vllm("0.17.0"),
            instance_type="ml.g7e.2xlarge",
            inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1",
        )
    )
    assert "inference_ami_version: 'al2-ami-sagemaker-inference-gpu-3-1' runs NVIDIA driver 550" in message
    assert "is a Blackwell GPU, which needs driver 570 or newer" in message and GPU_4_1 in message


def test_a_variant_on_blackwell_gpus_gets_the_driver_580_ami() -> None:
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Llm",
        model_data="s3://bucket/llm/",
        task="text-generation",
        model_profile=LLAMA,
        instance_type="ml.g6e.xlarge",
        image=InferenceImage.vllm("0.17.0"),
        variants=[ModelVariant(name="blackwell", model_data="s3://bucket/llm/", instance_type="ml.g7e.2xlarge")],
    )
    variants = {v["VariantName"]: v for v in config_of(Template.from_stack(stack))["ProductionVariants"]}
    assert "InferenceAmiVersion" not in variants["AllTraffic"]
    assert variants["blackwell"]["InferenceAmiVersion"] == GPU_4_1
