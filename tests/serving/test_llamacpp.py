"""llama.cpp (serving/llamacpp.py): the GGUF file to serve from the Hub, S3 or disk, the environment of its CPU and
GPU images, how Serving.AUTO sends GGUF models to it, and its sizing on CPU, GPU and serverless."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import (
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
    ServerlessInference,
    Serving,
    SizingOptions,
)
from constructs_lib.catalogue.instances import INSTANCE_CATALOGUE, Processor
from constructs_lib.serving.llamacpp import CPU_SERVER_GIB
from constructs_lib.serving.registry import stack_of

from .._tiny_gguf import llama_gguf, write_gguf_directory
from ..fake_hub import (
    GGUF_QUANT_SIZES,
    GGUF_QUANTS_ID,
    GGUF_SINGLE_FILE,
    GGUF_SINGLE_ID,
    GGUF_SPLIT_FIRST,
    GGUF_SPLIT_ID,
    LLAMA8B_ID,
)
from ..support import container, error_of, new_stack, variant

pytestmark = pytest.mark.usefixtures("lookups_go_to_the_fake_hub")

PREFIX = "SM_LLAMACPP_"
TUNED = "s3://my-bucket/gguf/model.tar.gz"


def hub(model_id: str = GGUF_SINGLE_ID, **props: Any) -> tuple[HubModelEndpoint, Template]:
    stack = new_stack()
    endpoint = HubModelEndpoint(stack, "Gguf", model_id=model_id, **props)
    return endpoint, Template.from_stack(stack)


def environment(template: Template) -> dict[str, Any]:
    env: dict[str, Any] = container(template)["Environment"]
    return env


def tuned(model_data: str, **props: Any) -> tuple[FineTunedEndpoint, Template]:
    stack = new_stack()
    endpoint = FineTunedEndpoint(stack, "Tuned", model_data=model_data, **props)
    return endpoint, Template.from_stack(stack)


def image_of(template: Template) -> str:
    """The image URI as the template writes it (the account may come from a region mapping), as text."""
    return json.dumps(container(template)["Image"])


def sparse(path: Path, size: int, header: bytes | None = None) -> None:
    """A GGUF file of ``size`` bytes that takes no disk space: a header, then a hole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header if header is not None else llama_gguf())
    os.truncate(path, size)


# ------------------------------------------------------------------------------------------ AUTO
def test_a_gguf_only_repository_goes_to_llamacpp_on_the_cheapest_instance_cpu_or_gpu() -> None:
    endpoint, template = hub()
    assert endpoint.serving_stack.serving is Serving.LLAMACPP
    env = environment(template)
    assert env[f"{PREFIX}HF_REPO"] == GGUF_SINGLE_ID
    assert env[f"{PREFIX}HF_FILE"] == GGUF_SINGLE_FILE
    assert "HF_MODEL_ID" not in env and f"{PREFIX}N_GPU_LAYERS" not in env
    # The Q4_K_M file (4.6 GiB) and a 4k-token KV cache fit a CPU instance, cheaper than any GPU.
    spec = INSTANCE_CATALOGUE[endpoint.instance_type or ""]
    assert spec.processor is Processor.CPU
    cheapest_gpu = min(
        (s.price_per_hour for s in INSTANCE_CATALOGUE.values() if s.processor is Processor.GPU and s.price_per_hour),
    )
    assert spec.price_per_hour is not None and spec.price_per_hour < cheapest_gpu
    assert "huggingface-llamacpp:b9522-cpu-ubuntu24.04" in image_of(template)
    assert "InferenceAmiVersion" not in variant(template)


def test_on_gpu_every_layer_is_offloaded_and_the_cuda13_host_ami_is_set() -> None:
    endpoint, template = hub(instance_selection=SizingOptions(families=["g6"]))
    env = environment(template)
    assert endpoint.instance_type == "ml.g6.xlarge"
    assert env[f"{PREFIX}N_GPU_LAYERS"] == "999"
    assert variant(template)["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert "b9522-gpu-cu130-ubuntu24.04" in image_of(template)
    # L4 has room for more than the 4k tokens asked for: the context is what fits, up to the model's 131072.
    assert 4096 < int(env[f"{PREFIX}CTX_SIZE"]) <= 131072 and env[f"{PREFIX}PARALLEL"] == "1"


def test_text_generation_on_cpu_goes_to_llamacpp_when_the_repository_has_gguf_files(tmp_path: Path) -> None:
    profile = ModelProfile(
        parameters=8_030_261_248,
        num_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        hidden_size=4096,
        task="text-generation",
        weight_formats=("safetensors", "gguf"),
        gguf_files={"gguf/model-Q4_K_M.gguf": 4_920_734_016},
    )
    endpoint, template = hub("org/mixed", model_profile=profile, instance_type="ml.m5.2xlarge")
    assert endpoint.serving_stack.serving is Serving.LLAMACPP
    assert environment(template)[f"{PREFIX}HF_FILE"] == "gguf/model-Q4_K_M.gguf"


def test_text_generation_on_cpu_without_gguf_files_is_an_error_that_suggests_a_gguf_repository() -> None:
    message = error_of(lambda: hub(LLAMA8B_ID, instance_type="ml.m5.4xlarge"))
    assert "serving: 'AUTO' picks llama.cpp for 'text-generation' on CPU instances" in message
    assert "GGUF repository" in message and "GPU instance" in message and "Serving.INFERENCE_TOOLKIT" in message


def test_text_generation_serverless_without_gguf_is_the_same_error() -> None:
    message = error_of(lambda: hub(LLAMA8B_ID, serverless=ServerlessInference(memory_size_mb=6144)))
    assert "llama.cpp" in message and "GGUF" in message


def test_an_explicit_toolkit_still_serves_text_generation_on_cpu() -> None:
    endpoint, _ = hub(LLAMA8B_ID, instance_type="ml.m5.4xlarge", serving=Serving.INFERENCE_TOOLKIT)
    assert endpoint.serving_stack.serving is Serving.INFERENCE_TOOLKIT


def test_a_gguf_file_sends_s3_artifacts_to_llamacpp() -> None:
    endpoint, template = tuned(TUNED, gguf_file="model-Q4_K_M.gguf", instance_type="ml.c5.2xlarge")
    assert endpoint.serving_stack.serving is Serving.LLAMACPP
    assert environment(template)[f"{PREFIX}MODEL"] == "/opt/ml/model/model-Q4_K_M.gguf"


# ------------------------------------------------------------------------------ the file served
def test_several_quantizations_without_gguf_file_list_them_with_their_sizes() -> None:
    message = error_of(lambda: hub(GGUF_QUANTS_ID))
    assert "gguf_file: None is needed" in message
    for name in ("llama-8b-Q4_K_M.gguf (4.6 GiB)", "llama-8b-Q8_0.gguf (8.0 GiB)", "llama-8b-F16.gguf (15.0 GiB)"):
        assert name in message
    assert "mmproj" not in message


def test_the_chosen_quantization_is_served_and_sized() -> None:
    q4, q4_template = hub(GGUF_QUANTS_ID, gguf_file="llama-8b-Q4_K_M.gguf", instance_type="ml.g6.xlarge")
    f16, f16_template = hub(GGUF_QUANTS_ID, gguf_file="llama-8b-F16.gguf", instance_type="ml.g6.xlarge")
    assert environment(f16_template)[f"{PREFIX}HF_FILE"] == "llama-8b-F16.gguf"
    assert q4.deployment_plan is not None and f16.deployment_plan is not None
    f16_gib = GGUF_QUANT_SIZES["llama-8b-F16.gguf"] / 2**30
    assert f16.deployment_plan.fit.needed_gpu_gib > f16_gib > q4.deployment_plan.fit.needed_gpu_gib
    # The KV cache left beside the F16 weights is smaller, so the context written is shorter.
    assert int(environment(f16_template)[f"{PREFIX}CTX_SIZE"]) < int(environment(q4_template)[f"{PREFIX}CTX_SIZE"])


def test_a_file_that_is_not_in_the_repository_is_an_error_naming_those_that_are() -> None:
    message = error_of(lambda: hub(GGUF_QUANTS_ID, gguf_file="llama-8b-Q5_K_M.gguf"))
    assert "gguf_file: 'llama-8b-Q5_K_M.gguf' is not a GGUF model" in message
    assert "llama-8b-Q8_0.gguf (8.0 GiB)" in message


def test_a_split_model_is_served_from_its_first_file_and_sized_by_all() -> None:
    endpoint, template = hub(GGUF_SPLIT_ID, gguf_file="Q4_K_M/llama-70b-Q4_K_M-00002-of-00002.gguf")
    assert environment(template)[f"{PREFIX}HF_FILE"] == GGUF_SPLIT_FIRST
    plan = endpoint.deployment_plan
    assert plan is not None
    assert plan.fit.needed_host_gib > 42_519_836_480 / 2**30 or plan.fit.needed_gpu_gib > 42_519_836_480 / 2**30


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("/opt/ml/model/m.gguf", "relative"),
        ("../m.gguf", "without '..'"),
        ("model.safetensors", ".gguf file"),
    ],
)
def test_a_gguf_file_that_is_not_a_relative_gguf_path_is_refused(value: str, problem: str) -> None:
    message = error_of(lambda: hub(gguf_file=value))
    assert f"gguf_file: {value!r}" in message and problem in message


def test_a_gguf_file_for_another_server_is_refused() -> None:
    message = error_of(lambda: hub(LLAMA8B_ID, gguf_file="m.gguf", serving=Serving.VLLM, instance_type="ml.g6.xlarge"))
    assert "gguf_file: 'm.gguf' is read by llama.cpp only, and vLLM serves this endpoint" in message


def test_s3_artifacts_without_gguf_file_are_an_error() -> None:
    message = error_of(lambda: tuned(TUNED, serving=Serving.LLAMACPP, instance_type="ml.m5.xlarge"))
    assert "gguf_file: None is required for model_data in S3" in message


def test_a_repository_without_gguf_files_is_an_error_for_llamacpp() -> None:
    message = error_of(lambda: hub(LLAMA8B_ID, serving=Serving.LLAMACPP, instance_type="ml.m5.4xlarge"))
    assert f"model_id: {LLAMA8B_ID!r} holds no GGUF file" in message and "Serving.VLLM" in message


def test_a_revision_is_an_error_llamacpp_downloads_the_default_branch() -> None:
    message = error_of(lambda: hub(revision="v1"))
    assert "revision: 'v1' cannot be served by llama.cpp" in message


def test_a_local_directory_serves_its_only_gguf_model(tmp_path: Path) -> None:
    sparse(tmp_path / "model" / "tiny-Q4_K_M.gguf", 700_000_000, llama_gguf(layers=16, heads=32, kv_heads=8))
    endpoint, template = tuned(str(tmp_path / "model"))
    assert endpoint.serving_stack.serving is Serving.LLAMACPP
    assert environment(template)[f"{PREFIX}MODEL"] == "/opt/ml/model/tiny-Q4_K_M.gguf"
    assert endpoint.model_profile is not None and endpoint.model_profile.num_layers == 16


def test_a_local_directory_without_the_file_named_is_an_error(tmp_path: Path) -> None:
    write_gguf_directory(tmp_path / "model", {"a-Q4_K_M.gguf": llama_gguf()})
    message = error_of(lambda: tuned(str(tmp_path / "model"), gguf_file="a-Q8_0.gguf"))
    assert "gguf_file: 'a-Q8_0.gguf' is not a GGUF model" in message and "a-Q4_K_M.gguf" in message


def test_a_local_archive_of_gguf_files_is_listed_profiled_and_checked(tmp_path: Path) -> None:
    source = write_gguf_directory(tmp_path / "src", {"m-Q4_K_M.gguf": llama_gguf(layers=24), "README.md": b"x"})
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in source.iterdir():
            tar.add(path, arcname=path.name)
    endpoint, template = tuned(str(archive), serving=Serving.LLAMACPP)
    assert environment(template)[f"{PREFIX}MODEL"] == "/opt/ml/model/m-Q4_K_M.gguf"
    assert endpoint.model_profile is not None and endpoint.model_profile.num_layers == 24
    message = error_of(lambda: tuned(str(archive), serving=Serving.LLAMACPP, gguf_file="other.gguf"))
    assert "gguf_file: 'other.gguf' is not a GGUF model" in message


# ----------------------------------------------------------------------------------- server flags
def test_engine_args_become_sm_llamacpp_variables_with_bare_booleans() -> None:
    _, template = hub(
        instance_type="ml.m5.2xlarge",
        engine_args={"jinja": True, "no_mmap": True, "metrics": False, "threads": 8, "ctx_size": 8192},
    )
    env = environment(template)
    assert env[f"{PREFIX}JINJA"] == "" and env[f"{PREFIX}NO_MMAP"] == "" and env[f"{PREFIX}THREADS"] == "8"
    assert f"{PREFIX}METRICS" not in env
    assert env[f"{PREFIX}CTX_SIZE"] == "8192"  # given: the sizing keeps it


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("hf_repo", "other/repo", "the model is the model_id prop"),
        ("hf_file", "x.gguf", "set the gguf_file prop"),
        ("model", "/tmp/x.gguf", "the model is the model_data prop"),
        ("port", 9000, "8080"),
        ("threads", 0, "whole number above 0"),
        ("cache_type_k", "q3", "allowed: f32, f16"),
        ("ctx_size", -1, "whole number of tokens"),
    ],
)
def test_flags_llamacpp_would_refuse_or_that_the_library_owns_are_errors(flag: str, value: Any, problem: str) -> None:
    message = error_of(lambda: hub(instance_type="ml.m5.2xlarge", engine_args={flag: value}))
    assert f"engine_args[{flag!r}]" in message and problem in message


def test_ctx_size_zero_is_the_models_whole_context() -> None:
    endpoint, template = hub(instance_type="ml.r5.4xlarge", engine_args={"ctx_size": 0})
    assert environment(template)[f"{PREFIX}CTX_SIZE"] == "0"
    assert endpoint.deployment_plan is not None
    # Sized for 131072 tokens: 16 GiB of f16 KV cache for Llama-3-8B's 8 key/value heads.
    assert endpoint.deployment_plan.fit.needed_host_gib > 16 + GGUF_QUANT_SIZES["llama-8b-Q4_K_M.gguf"] / 2**30


def test_a_quantized_kv_cache_is_sized_smaller() -> None:
    f16, _ = hub(instance_type="ml.m5.2xlarge", engine_args={"ctx_size": 32768})
    q8, _ = hub(
        instance_type="ml.m5.2xlarge", engine_args={"ctx_size": 32768, "cache_type_k": "q8_0", "cache_type_v": "q8_0"}
    )
    assert f16.deployment_plan is not None and q8.deployment_plan is not None
    assert q8.deployment_plan.fit.needed_host_gib < f16.deployment_plan.fit.needed_host_gib - 1.5


def test_concurrent_sequences_set_parallel_and_multiply_the_context() -> None:
    _, template = hub(instance_type="ml.m5.4xlarge", instance_selection=SizingOptions(concurrent_sequences=4))
    env = environment(template)
    assert env[f"{PREFIX}PARALLEL"] == "4"
    assert int(env[f"{PREFIX}CTX_SIZE"]) % 4 == 0 and int(env[f"{PREFIX}CTX_SIZE"]) >= 4 * 4096


def test_a_cpu_instance_too_small_for_the_file_and_its_cache_is_an_error_with_the_numbers() -> None:
    message = error_of(lambda: hub(GGUF_QUANTS_ID, gguf_file="llama-8b-F16.gguf", instance_type="ml.m5.xlarge"))
    assert "'ml.m5.xlarge' cannot serve the model with llamacpp" in message
    assert "GiB host memory, ml.m5.xlarge has 16 GiB" in message


# ------------------------------------------------------------------------------------- serverless
def test_serverless_serves_a_gguf_model_that_fits_its_memory(tmp_path: Path) -> None:
    sparse(tmp_path / "small" / "tiny-Q4_K_M.gguf", 900_000_000, llama_gguf(layers=16, context=8192))
    endpoint, template = tuned(str(tmp_path / "small"), serverless=ServerlessInference(memory_size_mb=4096))
    assert endpoint.serving_stack.serving is Serving.LLAMACPP
    assert "b9522-cpu-ubuntu24.04" in image_of(template)


def test_serverless_memory_too_small_for_the_file_and_its_cache_is_an_error() -> None:
    message = error_of(lambda: hub(serverless=ServerlessInference(memory_size_mb=4096)))
    assert "serverless.memory_size_mb: 4096 is too small for the model: llama.cpp needs" in message
    assert "smaller quantization" in message


def test_on_cpu_the_file_and_its_kv_cache_with_headroom_and_the_server_must_fit_host_memory() -> None:
    endpoint, _ = hub(instance_type="ml.m5.xlarge")
    plan = endpoint.deployment_plan
    assert plan is not None
    file_gib = 4_920_734_016 / 2**30
    kv_gib = 4096 * 2 * 32 * 8 * 128 * 2 / 2**30  # 4096 tokens x K and V x layers x kv heads x head dim x f16
    assert plan.fit.needed_host_gib == pytest.approx((file_gib + kv_gib) * 1.15 + CPU_SERVER_GIB, abs=0.01)


# ----------------------------------------------------------------------------------------- images
def test_the_image_factory_follows_the_instance() -> None:
    _, cpu = hub(image=InferenceImage.llamacpp(), instance_type="ml.c5.2xlarge")
    _, gpu = hub(image=InferenceImage.llamacpp("b9522"), instance_type="ml.g5.xlarge")
    assert "b9522-cpu-ubuntu24.04" in image_of(cpu)
    assert "b9522-gpu-cu130-ubuntu24.04" in image_of(gpu)


def test_an_unknown_build_is_an_error_naming_the_builds() -> None:
    message = error_of(lambda: InferenceImage.llamacpp("b1234"))
    assert "version: 'b1234' is not a catalogued Hugging Face llama.cpp DLC build; allowed: b9522" in message


def test_neuron_instances_cannot_run_llamacpp() -> None:
    message = error_of(lambda: hub(serving=Serving.LLAMACPP, instance_type="ml.inf2.xlarge"))
    assert "instance_type: 'ml.inf2.xlarge' cannot run llama.cpp" in message


def test_the_invoke_example_is_a_chat_body_or_an_embeddings_body() -> None:
    stack = stack_of(Serving.LLAMACPP)
    assert "messages" in stack.invoke_example("text-generation")
    assert set(stack.invoke_example("feature-extraction")) == {"input"}


# ------------------------------------------------------------------ GGUF on a server that cannot load it
@pytest.mark.parametrize(
    ("serving", "instance_type"),
    [
        (Serving.AUTO, "ml.inf2.xlarge"),  # AUTO runs vLLM on Neuron there, which reads no GGUF
        (Serving.VLLM, "ml.g5.xlarge"),
        (Serving.INFERENCE_TOOLKIT, "ml.g5.xlarge"),
    ],
)
def test_a_gguf_only_model_on_another_server_is_an_error(serving: Serving, instance_type: str) -> None:
    message = error_of(lambda: hub(serving=serving, instance_type=instance_type))
    assert "serving: '" in message
    assert f"cannot load {GGUF_SINGLE_ID}: its only weights are GGUF files" in message
    assert "serving=Serving.LLAMACPP" in message


def test_a_custom_model_fn_may_load_gguf_weights_itself(tmp_path: Path) -> None:
    model = tmp_path / "model"
    sparse(model / GGUF_SINGLE_FILE, 4096)
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    stack = new_stack()
    endpoint = CustomScriptEndpoint(
        stack, "Script", model_data=str(model), code_dir=str(code), task="text-generation", instance_type="ml.c5.xlarge"
    )
    assert endpoint.serving_stack.serving is Serving.INFERENCE_TOOLKIT
