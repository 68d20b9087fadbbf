"""SGLang (serving/sglang.py): its environment for Hub models and artifacts, engine_args, the sized flags, the checks
of flags and variables, and that Serving.AUTO never picks it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import FineTunedEndpoint, HubModelEndpoint, InferenceImage, Serving, SizingOptions
from constructs_lib.serving.registry import stack_of
from constructs_lib.serving.sglang import static_fraction

from ..support import LLAMA_8B, QWEN_LIKE, container, error_of, new_stack, variant

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
PREFIX = "SM_SGLANG_"


def sglang(**props: Any) -> tuple[HubModelEndpoint, Template]:
    stack = new_stack()
    props.setdefault("model_profile", LLAMA_8B)
    props.setdefault("serving", Serving.SGLANG)
    endpoint = HubModelEndpoint(stack, "Llm", model_id=MODEL, task="text-generation", **props)
    return endpoint, Template.from_stack(stack)


def env(**props: Any) -> dict[str, Any]:
    environment: dict[str, Any] = container(sglang(**props)[1])["Environment"]
    return environment


def test_a_hub_model_is_sm_sglang_model_path_and_never_hf_model_id() -> None:
    environment = env(instance_type="ml.g6e.xlarge", revision="5206a32")
    assert environment[f"{PREFIX}MODEL_PATH"] == MODEL
    assert environment[f"{PREFIX}REVISION"] == "5206a32"
    assert "HF_MODEL_ID" not in environment and "HF_MODEL_REVISION" not in environment


def test_artifacts_leave_the_model_path_unset_so_the_image_serves_opt_ml_model() -> None:
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Tuned",
        model_data="s3://my-bucket/llm/model.tar.gz",
        task="text-generation",
        serving=Serving.SGLANG,
        model_profile=LLAMA_8B,
        instance_type="ml.g6e.xlarge",
    )
    environment = container(Template.from_stack(stack))["Environment"]
    assert not any(key.endswith("MODEL_PATH") for key in environment) and "HF_MODEL_ID" not in environment


def test_the_sizing_writes_tp_the_static_fraction_and_a_context_that_fits() -> None:
    endpoint, template = sglang(instance_type="ml.g6.xlarge")
    environment = container(template)["Environment"]
    assert environment[f"{PREFIX}TP"] == "1"
    assert environment[f"{PREFIX}MEM_FRACTION_STATIC"] == "0.88"
    # 8B bf16 on one L4 cannot hold a 131072-token cache: a shorter context, a multiple of 1024.
    length = int(environment[f"{PREFIX}CONTEXT_LENGTH"])
    assert 4096 <= length < 131072 and length % 1024 == 0
    assert endpoint.deployment_plan is not None and "SGLang context_length" in endpoint.deployment_plan.summary


def test_several_gpus_get_tensor_parallel_over_all_and_the_smaller_static_fraction() -> None:
    environment = env(instance_type="ml.g6.12xlarge")
    assert environment[f"{PREFIX}TP"] == "4"
    assert environment[f"{PREFIX}MEM_FRACTION_STATIC"] == "0.85"
    assert static_fraction({}, 8) == 0.81 and static_fraction({"mem_fraction_static": 0.7}, 8) == 0.7


def test_the_pick_is_a_gpu_with_room_for_the_context_asked_for() -> None:
    endpoint, template = sglang(instance_selection=SizingOptions(min_context_tokens=32768))
    environment = container(template)["Environment"]
    plan = endpoint.deployment_plan
    assert plan is not None and plan.fit.kv_capacity_tokens is not None and plan.fit.kv_capacity_tokens >= 32768
    assert int(environment.get(f"{PREFIX}CONTEXT_LENGTH", 131072)) >= 32768


def test_engine_args_become_sm_sglang_variables_and_booleans_are_empty_values() -> None:
    environment = env(
        instance_type="ml.g6e.xlarge",
        engine_args={"enable_metrics": True, "disable_radix_cache": False, "max_running_requests": 32},
    )
    assert environment[f"{PREFIX}ENABLE_METRICS"] == ""
    assert f"{PREFIX}DISABLE_RADIX_CACHE" not in environment
    assert environment[f"{PREFIX}MAX_RUNNING_REQUESTS"] == "32"


def test_given_sized_flags_are_kept_and_checked() -> None:
    environment = env(instance_type="ml.g6e.xlarge", engine_args={"context_length": 16384, "mem_fraction_static": 0.8})
    assert environment[f"{PREFIX}CONTEXT_LENGTH"] == "16384"
    assert environment[f"{PREFIX}MEM_FRACTION_STATIC"] == "0.8"


@pytest.mark.parametrize(
    ("engine_args", "phrase"),
    [
        ({"model_path": "other/model"}, "cannot be set: the model is the model_id"),
        ({"port": 9000}, "8080"),
        ({"revision": "x"}, "set the revision prop"),
        ({"mem_fraction_static": 1.5}, "above 0 and at most 1"),
        ({"context_length": 200000}, "exceeds the model's context of 131072"),
        ({"dtype": "fp4"}, "is not a SGLang dtype"),
        ({"quantization": "awq"}, "reads a checkpoint already quantized with awq"),
        ({"tp": 2}, "SGLang must use all 1 GPUs of ml.g6e.xlarge"),
    ],
)
def test_flags_sglang_would_refuse_are_synth_errors(engine_args: dict[str, Any], phrase: str) -> None:
    message = error_of(lambda: sglang(instance_type="ml.g6e.xlarge", engine_args=engine_args))
    assert phrase in message


def test_heads_the_gpus_cannot_split_are_an_error() -> None:
    message = error_of(lambda: sglang(instance_type="ml.g6.48xlarge", model_profile=QWEN_LIKE))
    assert "SGLang splits the model over 8 GPUs, and 8 does not divide the model's 28 attention heads" in message


def test_hf_model_id_in_environment_is_an_error_that_names_what_sglang_reads() -> None:
    message = error_of(lambda: sglang(instance_type="ml.g6e.xlarge", environment={"HF_MODEL_ID": "x/y"}))
    assert "environment['HF_MODEL_ID']: 'x/y' is not read by SGLang (it reads SM_SGLANG_MODEL_PATH)" in message


def test_the_token_is_hf_token() -> None:
    from aws_cdk import aws_secretsmanager as secretsmanager

    stack = new_stack()
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Token", "hf-token")
    HubModelEndpoint(
        stack,
        "Llm",
        model_id=MODEL,
        serving=Serving.SGLANG,
        model_profile=LLAMA_8B,
        instance_type="ml.g6e.xlarge",
        hf_token_secret=secret,
    )
    token = json.dumps(container(Template.from_stack(stack))["Environment"]["HF_TOKEN"])
    assert "{{resolve:secretsmanager:" in token


def test_auto_never_picks_sglang() -> None:
    stack = new_stack()
    endpoint = HubModelEndpoint(stack, "Llm", model_id=MODEL, model_profile=LLAMA_8B, instance_type="ml.g6e.xlarge")
    assert endpoint.serving is Serving.VLLM


def test_the_image_is_the_sglang_dlc_on_gpu_only() -> None:
    _, template = sglang(instance_type="ml.g6e.xlarge", image=InferenceImage.sglang("0.5"))
    assert "huggingface-sglang:0.5.8-transformers4.57.3-gpu-py312-cu129-ubuntu24.04" in json.dumps(
        container(template)["Image"]
    )
    assert "InferenceAmiVersion" not in variant(template)  # CUDA 12.9 runs on SageMaker's default host
    message = error_of(lambda: sglang(instance_type="ml.m5.xlarge"))
    assert "instance_type: 'ml.m5.xlarge' cannot run SGLang: the SGLang images are GPU-only" in message
    assert "is not a catalogued Hugging Face SGLang DLC version" in error_of(lambda: InferenceImage.sglang("9.9"))


def test_sglang_serves_only_generative_tasks_and_answers_chat_bodies() -> None:
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(), "E", model_id="x/y", task="fill-mask", serving=Serving.SGLANG, instance_type="ml.g6.xlarge"
        )
    )
    assert "cannot serve task 'fill-mask'" in message
    assert set(stack_of(Serving.SGLANG).invoke_example("text-generation")) == {"messages", "max_tokens"}
