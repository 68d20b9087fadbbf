"""vLLM (serving/vllm/): the container environment of each image generation, engine_args, the checks of flags and
variables, and how Serving.AUTO and an explicit TGI choose between the LLM servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
    ServerlessInference,
    Serving,
)
from constructs_lib.serving.registry import resolve_serving, stack_of
from constructs_lib.serving.vllm.contract import generation_2

from ..support import LLAMA_8B, container, error_of, new_stack, variant, warnings_of

SMALL = ModelProfile(
    parameters=494_032_768,
    num_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    hidden_size=896,
    max_position_embeddings=32768,
    task="text-generation",
    architecture="Qwen2ForCausalLM",
)
"""Qwen2.5-0.5B's shape: 14 attention heads."""
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
GEN_1 = ("0.14.0", "0.17.0", "0.21.0")
GEN_2 = ("0.22.1", "0.25.1", "0.26.0", "0.27.1", "0.28.0", "0.29.0")


def llm(version: str | None = None, **props: Any) -> tuple[HubModelEndpoint, Template]:
    """A vLLM endpoint of ``MODEL`` (``version`` pins the image), its template."""
    stack = new_stack()
    props.setdefault("instance_type", "ml.g6e.xlarge")
    props.setdefault("model_profile", LLAMA_8B)
    image = InferenceImage.vllm(version) if version else None
    endpoint = HubModelEndpoint(stack, "Llm", model_id=MODEL, task="text-generation", image=image, **props)
    return endpoint, Template.from_stack(stack)


def env(version: str | None = None, **props: Any) -> dict[str, Any]:
    environment: dict[str, Any] = container(llm(version, **props)[1])["Environment"]
    return environment


# ------------------------------------------------------------------------------------ generations
def test_the_catalogue_has_both_entrypoint_generations() -> None:
    from constructs_lib.catalogue import dlc

    versions = set(dlc.family("huggingface-vllm")["versions"])
    assert set(GEN_1) | set(GEN_2) == versions
    assert [v for v in sorted(versions, key=dlc.version_key) if not generation_2(v)] == list(GEN_1)


@pytest.mark.parametrize("version", GEN_1)
def test_before_0_22_the_hub_model_is_sm_vllm_model_and_booleans_are_empty(version: str) -> None:
    environment = env(version, revision="5206a32", engine_args={"enable_prefix_caching": True, "max_num_seqs": 64})
    assert environment["SM_VLLM_MODEL"] == MODEL
    assert "HF_MODEL_ID" not in environment  # that entrypoint never reads it
    assert environment["SM_VLLM_REVISION"] == environment["SM_VLLM_TOKENIZER_REVISION"] == "5206a32"
    assert environment["SM_VLLM_ENABLE_PREFIX_CACHING"] == ""  # a bare --enable-prefix-caching
    assert environment["SM_VLLM_MAX_NUM_SEQS"] == "64"


@pytest.mark.parametrize("version", GEN_2)
def test_from_0_22_the_hub_model_is_hf_model_id_and_booleans_are_true_or_false(version: str) -> None:
    environment = env(version, revision="5206a32", engine_args={"enable_prefix_caching": True, "enforce_eager": False})
    assert environment["HF_MODEL_ID"] == MODEL
    assert "SM_VLLM_MODEL" not in environment
    assert environment["SM_VLLM_REVISION"] == "5206a32"
    assert environment["SM_VLLM_ENABLE_PREFIX_CACHING"] == "true"
    assert environment["SM_VLLM_ENFORCE_EAGER"] == "false"


@pytest.mark.parametrize(("version", "negative"), [("0.17.0", ""), ("0.29.0", "true")])
def test_a_false_flag_also_writes_vllm_negative_flag(version: str, negative: str) -> None:
    """The image leaves a false flag out, which keeps vLLM's default: prefix caching is on by default."""
    environment = env(version, engine_args={"enable_prefix_caching": False})
    assert environment["SM_VLLM_NO_ENABLE_PREFIX_CACHING"] == negative
    if version == "0.17.0":
        assert "SM_VLLM_ENABLE_PREFIX_CACHING" not in environment  # "false" would reach vLLM literally


@pytest.mark.parametrize("version", ["0.17.0", "0.29.0"])
def test_artifacts_are_named_from_opt_ml_model_in_every_generation(version: str) -> None:
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Tuned",
        model_data="s3://bucket/llm/",
        task="text-generation",
        model_profile=LLAMA_8B,
        image=InferenceImage.vllm(version),
        instance_type="ml.g6e.xlarge",
    )
    environment = container(Template.from_stack(stack))["Environment"]
    assert environment["SM_VLLM_MODEL"] == "/opt/ml/model"
    assert "HF_MODEL_ID" not in environment


def test_a_fine_tuned_prefix_on_auto_is_served_by_vllm_from_the_model_directory() -> None:
    stack = new_stack()
    tuned = FineTunedEndpoint(
        stack, "Tuned", model_data="s3://bucket/llm/", task="text-generation", model_profile=LLAMA_8B
    )
    assert tuned.serving is Serving.VLLM
    template = Template.from_stack(stack)
    assert container(template)["Environment"]["SM_VLLM_MODEL"] == "/opt/ml/model"
    assert container(template)["ModelDataSource"]["S3DataSource"]["S3Uri"] == "s3://bucket/llm/"


def test_the_token_is_a_dynamic_reference_in_hf_token() -> None:
    from aws_cdk import aws_secretsmanager as secretsmanager

    stack = new_stack()
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Token", "hf-token")
    HubModelEndpoint(
        stack,
        "Llm",
        model_id=MODEL,
        task="text-generation",
        model_profile=LLAMA_8B,
        hf_token_secret=secret,
        image=InferenceImage.vllm("0.29.0"),
        instance_type="ml.g6e.xlarge",
        engine_args={"enable_prefix_caching": True, "max_num_seqs": 64},
    )
    token = json.dumps(container(Template.from_stack(stack))["Environment"]["HF_TOKEN"])
    assert "{{resolve:secretsmanager:" in token and "hf-token" in token


# ----------------------------------------------------------------------------------- the flags
@pytest.mark.parametrize(
    ("engine_args", "prop", "phrase"),
    [
        ({"max-model-len": 4096}, "engine_args: 'max-model-len'", "perhaps 'max_model_len'"),
        ({"max num seqs": 4}, "engine_args: 'max num seqs'", "flags are identifiers"),
        ({"hf_token": "x"}, "engine_args['hf_token']", "store it in Secrets Manager"),
        ({"api_key": "hf_" + "a" * 34}, "engine_args['api_key']", "store it in Secrets Manager"),
        ({"model": "other/model"}, "engine_args['model']", "model_id (or model_data) prop"),
        ({"revision": "main"}, "engine_args['revision']", "set the revision prop"),
        ({"port": 8000}, "engine_args['port']", "port 8080"),
        ({"host": "127.0.0.1"}, "engine_args['host']", "must be '0.0.0.0'"),
        ({"max_num_seqs": 0}, "engine_args['max_num_seqs']", "whole number above 0"),
        ({"max_model_len": "4k"}, "engine_args['max_model_len']", "whole number above 0"),
        ({"gpu_memory_utilization": 1.5}, "engine_args['gpu_memory_utilization']", "at most 1"),
        ({"dtype": "bf16"}, "engine_args['dtype']", "allowed: auto, half, float16, bfloat16, float, float32"),
        ({"quantization": "awq4"}, "engine_args['quantization']", "is not a vLLM quantization method"),
        ({"quantization": "awq"}, "engine_args['quantization']", "reads a checkpoint already quantized with awq"),
        ({"max_model_len": 200000}, "engine_args['max_model_len']", "exceeds the model's context of 131072 tokens"),
        ({"max_num_seqs": [1]}, "engine_args['max_num_seqs']", "must be a string, a number or a boolean"),
        ({"max_num_seqs": float("nan")}, "engine_args['max_num_seqs']", "must be a finite number"),
    ],
)
def test_a_flag_vllm_would_refuse_is_a_synth_error(engine_args: dict[str, Any], prop: str, phrase: str) -> None:
    message = error_of(lambda: llm(engine_args=engine_args))
    assert prop in message and phrase in message, message


def test_a_token_in_a_flag_is_never_echoed() -> None:
    token = "hf_" + "b" * 34
    assert token not in error_of(lambda: llm(engine_args={"api_key": token}))


def test_engine_args_on_a_stack_without_server_flags_is_an_error() -> None:
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "E",
            model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            task="text-classification",
            instance_type="ml.g5.xlarge",
            engine_args={"max_num_seqs": 4},
        )
    )
    assert "engine_args:" in message and "the inference toolkit, which takes no server flags" in message


def test_a_tensor_parallel_size_other_than_the_gpu_count_is_an_error_with_the_numbers() -> None:
    message = error_of(lambda: llm(instance_type="ml.g6.12xlarge", engine_args={"tensor_parallel_size": 2}))
    assert "'ml.g6.12xlarge' cannot serve the model with vllm" in message
    assert "tensor_parallel_size x pipeline_parallel_size is 2, and vLLM must use all 4 GPUs" in message


def test_without_a_profile_the_tensor_parallel_size_is_still_checked_against_the_instance() -> None:
    stack = new_stack()
    message = error_of(
        lambda: FineTunedEndpoint(
            stack,
            "Tuned",
            model_data="s3://bucket/llm/",
            task="text-generation",
            instance_type="ml.g6.12xlarge",
            engine_args={"tensor_parallel_size": 8},
        )
    )
    assert "SM_VLLM_TENSOR_PARALLEL_SIZE: 8 runs vLLM on 8 GPU(s), and ml.g6.12xlarge has 4" in message


def test_without_a_profile_the_tensor_parallel_size_defaults_to_every_gpu() -> None:
    stack = new_stack()
    FineTunedEndpoint(
        stack, "Tuned", model_data="s3://bucket/llm/", task="text-generation", instance_type="ml.g6.12xlarge"
    )
    assert container(Template.from_stack(stack))["Environment"]["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "4"


def test_a_vllm_variant_on_several_gpus_without_a_parallel_size_warns() -> None:
    from constructs_lib import ModelVariant

    endpoint, _ = llm(
        instance_type="ml.g6e.xlarge",
        variants=[
            ModelVariant(name="big", model_id="meta-llama/Llama-3.1-70B-Instruct", instance_type="ml.g6e.12xlarge")
        ],
    )
    assert warnings_of(endpoint, "vLLM runs on 1 of the 4 GPUs of ml.g6e.12xlarge without SM_VLLM_TENSOR_PARALLEL_SIZE")
    message = error_of(
        lambda: llm(
            variants=[
                ModelVariant(
                    name="big",
                    model_id="meta-llama/Llama-3.1-70B-Instruct",
                    instance_type="ml.g6e.12xlarge",
                    environment={"SM_VLLM_TENSOR_PARALLEL_SIZE": "2"},
                )
            ]
        )
    )
    assert "variants['big']" in message and "runs vLLM on 2 GPU(s), and ml.g6e.12xlarge has 4" in message


def test_heads_that_the_gpus_cannot_split_are_an_error() -> None:
    message = error_of(lambda: llm(model_profile=SMALL, instance_type="ml.g6.12xlarge"))
    assert "vLLM splits the model over 4 GPUs, and 4 does not divide the model's 14 attention heads" in message


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("SM_VLLM_PORT", "8000", "port 8080"),
        ("SM_VLLM_MODEL", "other/model", "conflicts with the model_id (or model_data) prop"),
        ("HF_MODEL_REVISION", "main", "is not read by vLLM (its revision is SM_VLLM_REVISION)"),
        ("SM_VLLM_TENSOR_PARALLEL_SIZE", "2", "bypasses the instance sizing, which wrote '1'"),
        ("SM_VLLM_MAX_NUM_SEQS", "8", "is engine_args['max_num_seqs'] as well"),
        ("SM_VLLM_GPU_MEMORY_UTILIZATION", "2", "at most 1"),
    ],
)
def test_vllm_variables_in_environment_are_checked(key: str, value: str, phrase: str) -> None:
    message = error_of(lambda: llm(environment={key: value}, engine_args={"max_num_seqs": 4}))
    assert f"environment[{key!r}]" in message and phrase in message, message


def test_hf_model_id_is_not_read_before_0_22() -> None:
    message = error_of(lambda: llm("0.21.0", environment={"HF_MODEL_ID": MODEL}))
    assert "environment['HF_MODEL_ID']" in message and "is not read by vLLM 0.21.0" in message


def test_a_sizing_value_repeated_in_environment_is_accepted() -> None:
    assert env(environment={"SM_VLLM_TENSOR_PARALLEL_SIZE": "1"})["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "1"


# ------------------------------------------------------------------------------------ choosing
@pytest.mark.parametrize("task", ["text-generation", "image-text-to-text"])
def test_auto_sends_llms_to_vllm_on_gpus(task: str) -> None:
    assert resolve_serving(Serving.AUTO, task=task, custom_script=False) is Serving.VLLM
    stack = new_stack()
    endpoint = HubModelEndpoint(stack, "Llm", model_id=MODEL, task=task, model_profile=LLAMA_8B)
    assert endpoint.serving is Serving.VLLM
    assert "huggingface-vllm:0.29.0-" in json.dumps(container(Template.from_stack(stack))["Image"])
    assert not warnings_of(endpoint, "TGI")


def test_auto_on_a_cpu_instance_serves_image_text_to_text_with_the_toolkit_and_says_why() -> None:
    stack = new_stack()
    endpoint = HubModelEndpoint(
        stack, "Vlm", model_id="org/vlm", task="image-text-to-text", instance_type="ml.m5.xlarge", model_profile=SMALL
    )
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT
    Annotations.from_stack(stack).has_info("*", Match.string_like_regexp("vLLM, its server for LLMs, runs on GPU"))


def test_text_generation_on_cpu_is_llamacpp_s_and_without_gguf_an_error() -> None:
    # tests/serving/test_llamacpp.py has the rule; here: vLLM is not what AUTO falls back to.
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(), "Llm", model_id="gpt2", task="text-generation", serverless=ServerlessInference()
        )
    )
    assert "llama.cpp" in message and "vLLM" in message


def test_auto_passes_encoder_decoder_models_to_the_toolkit() -> None:
    from constructs_lib.serving.facts import AutoRequest
    from constructs_lib.serving.registry import auto_stack

    t5 = AutoRequest(task="text-generation", architecture="T5ForConditionalGeneration")
    assert auto_stack(t5).serving is Serving.INFERENCE_TOOLKIT
    vision = AutoRequest(task="image-text-to-text", architecture="Qwen2VLForConditionalGeneration")
    assert auto_stack(vision).serving is Serving.VLLM


def test_an_explicit_vllm_on_an_encoder_decoder_model_warns() -> None:
    stack = new_stack()
    t5 = ModelProfile(parameters=60_000_000, architecture="T5ForConditionalGeneration", task="text2text-generation")
    endpoint = HubModelEndpoint(
        stack, "T5", model_id="t5-small", model_profile=t5, serving=Serving.VLLM, instance_type="ml.g6.xlarge"
    )
    assert warnings_of(endpoint, "encoder-decoder model, which vLLM's engine does not serve")


def test_vllm_serves_only_generative_tasks() -> None:
    message = error_of(_vllm_classifier)
    assert "cannot serve task 'text-classification'" in message
    assert "vLLM serves image-text-to-text, text-generation" in message


def _vllm_classifier() -> HubModelEndpoint:
    return HubModelEndpoint(
        new_stack(),
        "E",
        model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        task="text-classification",
        serving=Serving.VLLM,
        instance_type="ml.g6.xlarge",
    )


@pytest.mark.parametrize(
    "choose", [{"serving": Serving.TGI}, {"image": InferenceImage.tgi("3.3.6")}], ids=["serving", "image"]
)
def test_tgi_runs_only_when_asked_and_warns_that_it_is_retired(choose: dict[str, Any]) -> None:
    stack = new_stack()
    endpoint = HubModelEndpoint(stack, "Llm", model_id=MODEL, task="text-generation", model_profile=LLAMA_8B, **choose)
    assert endpoint.serving is Serving.TGI
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("maintenance mode"))
    assert len(warnings) == 1
    text = json.dumps(warnings[0].entry.data)
    assert "constructs-lib:tgi-retired" in text and "Serving.VLLM" in text and "InferenceImage.vllm()" in text
    assert "SM_NUM_GPUS" in container(Template.from_stack(stack))["Environment"]  # TGI's contract, unchanged


def test_a_custom_script_with_vllm_is_an_error_that_says_what_to_use(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    for choose in ({"serving": Serving.VLLM}, {"image": InferenceImage.vllm()}):
        message = error_of(
            lambda choose=choose: CustomScriptEndpoint(
                new_stack(),
                "C",
                code_dir=code,
                model_id=MODEL,
                task="text-generation",
                model_profile=LLAMA_8B,
                **choose,
            )
        )
        assert "vLLM never loads code/inference.py" in message
        assert "Serving.INFERENCE_TOOLKIT" in message and "HubModelEndpoint" in message


def test_a_custom_script_on_auto_stays_on_the_toolkit(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    endpoint = CustomScriptEndpoint(
        new_stack(),
        "C",
        code_dir=code,
        model_id=MODEL,
        task="text-generation",
        instance_type="ml.g6e.xlarge",
        model_profile=LLAMA_8B,
    )
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT


# ------------------------------------------------------------------------------------ invoking
def test_the_invoke_example_is_an_openai_chat_body() -> None:
    body = stack_of(Serving.VLLM).invoke_example("text-generation")
    assert body["messages"][0]["role"] == "user" and body["max_tokens"] > 0


def test_grant_invoke_includes_streaming() -> None:
    from aws_cdk import aws_iam as iam

    stack = new_stack()
    endpoint = HubModelEndpoint(stack, "Llm", model_id=MODEL, task="text-generation", model_profile=LLAMA_8B)
    role = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    endpoint.grant_invoke(role)
    statements = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    actions = [s["Action"] for p in statements.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"] in actions


def test_the_startup_timeout_grows_with_the_weights() -> None:
    small, _ = llm(model_profile=SMALL, instance_type="ml.g6.xlarge")
    large, template = llm()
    assert small.deployment_plan is not None and large.deployment_plan is not None
    assert small.deployment_plan.startup_health_check_timeout_seconds == 600 + int(10 * 0.92)
    # 8.03B bfloat16 parameters = 14.96 GiB: 600 s + 10 s per GiB.
    assert variant(template)["ContainerStartupHealthCheckTimeoutInSeconds"] == 749


def test_a_variant_on_a_cpu_instance_is_served_by_the_toolkit() -> None:
    from constructs_lib import ModelVariant

    stack = new_stack()
    HubModelEndpoint(
        stack,
        "Llm",
        model_id=MODEL,
        task="text-generation",
        model_profile=LLAMA_8B,
        variants=[ModelVariant(name="cpu", model_id="gpt2", instance_type="ml.m5.xlarge")],
    )
    models = Template.from_stack(stack).find_resources("AWS::SageMaker::Model")
    images = sorted(json.dumps(m["Properties"]["PrimaryContainer"]["Image"]) for m in models.values())
    assert any("huggingface-vllm:" in image for image in images)
    assert any("huggingface-pytorch-inference:" in image and "-cpu-" in image for image in images)


def test_a_variant_that_asks_for_tgi_warns_that_it_is_retired() -> None:
    from constructs_lib import ModelVariant

    endpoint, _ = llm(variants=[ModelVariant(name="old", model_id=MODEL, image=InferenceImage.tgi())])
    (warning,) = warnings_of(endpoint, "maintenance mode")
    assert "variants['old']: TGI is in maintenance mode" in json.dumps(warning.entry.data)
