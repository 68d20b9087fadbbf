"""vLLM on Inferentia2 and Trainium (serving/vllm/neuron.py): the vLLM Neuron image and its host AMI, the SM_ON_
environment, how Serving.AUTO reaches it, and the sizing by NeuronCores and device memory."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import FineTunedEndpoint, HubModelEndpoint, InferenceImage, ModelProfile, Serving, SizingOptions
from constructs_lib.catalogue.instances import INSTANCE_CATALOGUE
from constructs_lib.serving.vllm.neuron import GIB_PER_CORE, USABLE_SHARE

from ..support import LLAMA_8B, container, error_of, new_stack, variant

LLAMA_70B = ModelProfile(
    parameters=70_553_706_496,
    num_layers=80,
    num_attention_heads=64,
    num_key_value_heads=8,
    hidden_size=8192,
    max_position_embeddings=131072,
    task="text-generation",
)
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
NEURON_IMAGE = "huggingface-vllm-inference-neuronx:0.11.0-optimum0.4.4-neuronx-py310-sdk2.26.1-ubuntu22.04"


def neuron(**props: Any) -> tuple[HubModelEndpoint, Template]:
    stack = new_stack()
    props.setdefault("model_profile", LLAMA_8B)
    endpoint = HubModelEndpoint(stack, "Llm", model_id=MODEL, **props)
    return endpoint, Template.from_stack(stack)


def env(template: Template) -> dict[str, Any]:
    environment: dict[str, Any] = container(template)["Environment"]
    return environment


def test_the_catalogue_has_neuron_cores_and_device_memory_per_size() -> None:
    cores = {name: spec.neuron_cores for name, spec in INSTANCE_CATALOGUE.items() if spec.neuron_cores}
    assert cores == {
        "ml.inf2.xlarge": 2,
        "ml.inf2.8xlarge": 2,
        "ml.inf2.24xlarge": 12,
        "ml.inf2.48xlarge": 24,
        "ml.trn1.2xlarge": 2,
        "ml.trn1.32xlarge": 32,
        "ml.trn1n.32xlarge": 32,
    }
    assert all(INSTANCE_CATALOGUE[name].accelerator_memory_gib == 32 for name in cores)  # per chip


def test_auto_on_an_inferentia_instance_runs_the_vllm_neuron_image_with_sm_on_variables() -> None:
    endpoint, template = neuron(instance_type="ml.inf2.8xlarge")
    assert endpoint.serving is Serving.VLLM and endpoint.serving_stack.name == "vLLM on Neuron"
    environment = env(template)
    assert environment == {
        "SM_ON_MODEL": MODEL,
        "SM_ON_TENSOR_PARALLEL_SIZE": "2",
        "SM_ON_BATCH_SIZE": "1",
        "SM_ON_SEQUENCE_LENGTH": "4096",
    }
    assert variant(template)["InferenceAmiVersion"] == "al2-ami-sagemaker-inference-neuron-2"
    assert NEURON_IMAGE in json.dumps(container(template)["Image"])


def test_auto_picks_it_when_the_families_allowed_are_inferentia_and_trainium() -> None:
    endpoint, template = neuron(instance_selection=SizingOptions(families=["inf2", "trn1"], concurrent_sequences=4))
    assert endpoint.instance_type is not None and endpoint.instance_type.startswith(("ml.inf2.", "ml.trn1."))
    assert endpoint.serving_stack.name == "vLLM on Neuron"
    assert env(template)["SM_ON_BATCH_SIZE"] == "4"


def test_artifacts_are_served_from_opt_ml_model() -> None:
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Tuned",
        model_data="s3://my-bucket/llm/model.tar.gz",
        task="text-generation",
        model_profile=LLAMA_8B,
        instance_type="ml.inf2.8xlarge",
    )
    assert env(Template.from_stack(stack))["SM_ON_MODEL"] == "/opt/ml/model"


def test_engine_args_become_sm_on_variables() -> None:
    _, template = neuron(
        instance_type="ml.inf2.8xlarge",
        engine_args={"enable_auto_tool_choice": True, "tool_call_parser": "llama3_json", "sequence_length": 8192},
    )
    environment = env(template)
    assert environment["SM_ON_ENABLE_AUTO_TOOL_CHOICE"] == ""
    assert environment["SM_ON_TOOL_CALL_PARSER"] == "llama3_json"
    assert environment["SM_ON_SEQUENCE_LENGTH"] == "8192"


def test_cores_that_do_not_divide_the_heads_are_an_error_with_the_sizes_that_would() -> None:
    message = error_of(lambda: neuron(instance_type="ml.inf2.24xlarge"))
    assert "splits the model over 12 NeuronCores, and 12 does not divide the model's 32 attention heads" in message
    assert "ml.inf2.xlarge (2 cores)" in message and "ml.trn1.32xlarge (32 cores)" in message
    assert "engine_args={'tensor_parallel_size': 8}" in message


def test_a_tensor_parallel_size_that_divides_the_heads_runs_on_part_of_the_cores() -> None:
    _, template = neuron(instance_type="ml.inf2.24xlarge", engine_args={"tensor_parallel_size": 8})
    assert env(template)["SM_ON_TENSOR_PARALLEL_SIZE"] == "8"


def test_a_model_too_large_for_the_device_memory_is_an_error_with_the_numbers() -> None:
    message = error_of(lambda: neuron(instance_type="ml.inf2.8xlarge", model_profile=LLAMA_70B))
    available = 2 * GIB_PER_CORE * USABLE_SHARE
    assert f"2 NeuronCores offer {available:.1f} GiB" in message
    assert "131.4 GiB bfloat16 weights" in message


def test_a_70b_model_is_picked_onto_enough_cores() -> None:
    endpoint, template = neuron(model_profile=LLAMA_70B, instance_selection=SizingOptions(families=["inf2", "trn1"]))
    cores = int(env(template)["SM_ON_TENSOR_PARALLEL_SIZE"])
    assert cores * GIB_PER_CORE * USABLE_SHARE > 131.4 and 64 % cores == 0
    assert endpoint.instance_type in ("ml.inf2.48xlarge", "ml.trn1.32xlarge")


def test_the_image_factory_takes_optimum_neuron_versions_on_inferentia() -> None:
    _, template = neuron(instance_type="ml.inf2.8xlarge", image=InferenceImage.vllm("0.4.2"))
    assert "0.11.0-optimum0.4.2-neuronx" in json.dumps(container(template)["Image"])
    message = error_of(lambda: neuron(instance_type="ml.inf2.8xlarge", image=InferenceImage.vllm("0.29.0")))
    assert "version: '0.29.0' has no Hugging Face vLLM Neuron DLC for" in message
    assert "allowed: 0.4.1, 0.4.2, 0.4.4" in message and "optimum-neuron's versions" in message
    message = error_of(lambda: neuron(instance_type="ml.g6e.xlarge", image=InferenceImage.vllm("0.4.4")))
    assert "version: '0.4.4' has no Hugging Face vLLM DLC for" in message


@pytest.mark.parametrize(
    ("key", "phrase"),
    [("HF_MODEL_ID", "it reads SM_ON_MODEL"), ("SM_ON_MODEL", "cannot be set"), ("SM_ON_PORT", "8080")],
)
def test_variables_the_image_ignores_or_the_library_owns_are_errors(key: str, phrase: str) -> None:
    message = error_of(lambda: neuron(instance_type="ml.inf2.8xlarge", environment={key: "x"}))
    assert phrase in message


def test_other_tasks_are_not_served_on_neuron() -> None:
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(), "E", model_id="x/y", task="fill-mask", serving=Serving.VLLM, instance_type="ml.inf2.xlarge"
        )
    )
    assert "cannot serve task 'fill-mask'" in message


def test_a_variant_on_inferentia_runs_the_neuron_image_with_its_contract() -> None:
    from constructs_lib import ModelVariant

    stack = new_stack()
    HubModelEndpoint(
        stack,
        "Llm",
        model_id=MODEL,
        task="text-generation",
        model_profile=LLAMA_8B,
        instance_type="ml.g6e.xlarge",
        variants=[ModelVariant(name="neuron", model_id=MODEL, instance_type="ml.inf2.8xlarge")],
    )
    models = Template.from_stack(stack).find_resources("AWS::SageMaker::Model")
    containers = [m["Properties"]["PrimaryContainer"] for m in models.values()]
    neuron_container = next(c for c in containers if NEURON_IMAGE in json.dumps(c["Image"]))
    assert neuron_container["Environment"]["SM_ON_MODEL"] == MODEL
    assert not any(key.startswith("SM_VLLM_") for key in neuron_container["Environment"])
