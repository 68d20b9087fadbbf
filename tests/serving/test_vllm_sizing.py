"""vLLM's memory model (serving/vllm/memory.py) on profiles the real ``huggingface_hub`` reads from the fake Hub:
the instance picked, the max_model_len set, what the flags change, host memory and start-up time.

The arithmetic, with the model's constants: vLLM may use 0.9 of each GPU; weights + 1.5 GiB per GPU + the KV cache
of the tokens required (/ 0.9) must fit; a 24 GB L4 (ml.g6.xlarge) offers 22.4 x 0.9 = 20.16 GiB.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from constructs_lib import HubModelEndpoint, InferenceImage, ModelProfile, SizingOptions
from constructs_lib.catalogue.instances import instance_spec
from constructs_lib.serving.facts import StackSettings
from constructs_lib.serving.kv_cache import CONTEXT_STEP, DEFAULT_MIN_CONTEXT_TOKENS
from constructs_lib.sizing.fit import DeploymentPlan
from constructs_lib.sizing.planner import plan_deployment, serving_stack
from tests.fake_hub import AWQ70B_ID, LLAMA8B_ID, LLAMA70B_ID, MHA7B_ID, MIXTRAL_ID, FakeHub

from ..support import error_of, lookup, new_stack, warnings_of

KV_LLAMA8B = 2 * 32 * 8 * 128 * 2
"""KV-cache bytes per token of Llama-3.1-8B: K and V x 32 layers x 8 key/value heads x 128 x 2 bytes."""


@pytest.fixture(scope="module")
def hub_profiles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModelProfile]]:
    context = tmp_path_factory.mktemp("vllm") / "hub.context.json"
    with FakeHub() as hub:
        yield {m: lookup(hub, m, context) for m in (LLAMA8B_ID, MHA7B_ID, LLAMA70B_ID, MIXTRAL_ID, AWQ70B_ID)}


def plan(
    profile: ModelProfile,
    options: SizingOptions | None = None,
    engine_args: dict[str, Any] | None = None,
    instance_type: str | None = None,
    **settings: Any,
) -> DeploymentPlan:
    stack = serving_stack("vllm", profile)
    if engine_args or settings:
        stack = stack.configured(
            StackSettings(**{**vars_of(stack.settings), "engine_args": engine_args or {}, **settings})
        )
    return plan_deployment(profile, serving=stack, instance_type=instance_type, options=options)


def vars_of(settings: StackSettings) -> dict[str, Any]:
    return {"image_version": settings.image_version, "cuda_version": settings.cuda_version}


def max_model_len(result: DeploymentPlan) -> int | None:
    value = result.environment.get("SM_VLLM_MAX_MODEL_LEN")
    return int(value) if value is not None else None


# -------------------------------------------------------------------------------- what is picked
def test_an_8b_gqa_model_with_a_128k_context_runs_on_one_24gb_gpu_with_a_shorter_context(
    hub_profiles: dict[str, ModelProfile],
) -> None:
    """Publishers deploy 8B models in 16 bits on one 24 GB GPU (ml.g5.2xlarge, ml.g6.xlarge), not on 48 GB."""
    result = plan(hub_profiles[LLAMA8B_ID])
    spec = instance_spec(result.instance_type)
    assert spec is not None and spec.accelerators == 1 and spec.accelerator_memory_gib == 24
    assert result.instance_type == "ml.g6.xlarge"  # the cheaper of the two 24 GB single-GPU families
    # 20.16 - 14.96 GiB weights - 1.5 GiB = 3.70 GiB; x 0.9 / 128 KiB per token = 27297 tokens; a multiple of 1024.
    assert result.fit.kv_capacity_tokens == 27297
    length = max_model_len(result)
    assert length == 26624
    assert length % CONTEXT_STEP == 0 and DEFAULT_MIN_CONTEXT_TOKENS <= length < 131072
    assert length * KV_LLAMA8B <= result.fit.kv_capacity_tokens * KV_LLAMA8B
    assert result.environment["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "1"


def test_a_7b_mha_model_with_a_4k_context_gets_its_whole_context_on_one_24gb_gpu(
    hub_profiles: dict[str, ModelProfile],
) -> None:
    result = plan(hub_profiles[MHA7B_ID])
    assert result.instance_type == "ml.g6.xlarge"
    # 12.55 GiB of float16 weights leave room for 11259 tokens of 512 KiB: more than the 4096 of its context.
    assert result.fit.kv_capacity_tokens is not None and result.fit.kv_capacity_tokens >= 4096
    assert max_model_len(result) is None  # vLLM's default, the full context, starts


def test_a_70b_model_is_tensor_parallel_over_four_48gb_gpus(hub_profiles: dict[str, ModelProfile]) -> None:
    result = plan(hub_profiles[LLAMA70B_ID])
    assert result.instance_type == "ml.g6e.12xlarge"
    assert result.environment["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "4"
    assert result.fit.gpus_used == 4
    # 161.6 GiB for 131.4 GiB of weights and 6 GiB of overhead: 70656 of its 131072 tokens.
    assert max_model_len(result) == 70656
    # 600 s + 10 s per GiB of weights.
    assert result.startup_health_check_timeout_seconds == 1914


def test_a_mixture_of_experts_holds_every_expert_in_gpu_memory(hub_profiles: dict[str, ModelProfile]) -> None:
    """Mixtral-8x7B: 46.7B parameters (87 GiB), all resident though only 2 experts run per token."""
    result = plan(hub_profiles[MIXTRAL_ID])
    assert result.instance_type == "ml.g6e.12xlarge"  # four 24 GB L4s (80.6 GiB) cannot hold it
    assert max_model_len(result) is None  # its 32k context fits


def test_an_awq_70b_model_fits_one_48gb_gpu(hub_profiles: dict[str, ModelProfile]) -> None:
    profile = hub_profiles[AWQ70B_ID]
    assert profile.dtype == "int4"
    result = plan(profile)
    assert result.instance_type == "ml.g6e.xlarge"
    assert result.environment["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "1"
    assert max_model_len(result) == 5120  # 37 GiB of packed weights leave room for 5524 tokens


def test_t4_and_v100_are_never_picked(hub_profiles: dict[str, ModelProfile]) -> None:
    small = ModelProfile(parameters=494_032_768, num_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         hidden_size=896, max_position_embeddings=32768, task="text-generation")  # fmt: skip
    result = plan(small)
    assert result.instance_type == "ml.g6.xlarge"
    reasons = {fit.spec.family: fit.reason for fit in result.candidates if fit.spec.family in ("g4dn", "p3")}
    assert "not picked for vLLM automatically: T4 has no bfloat16" in (reasons["g4dn"] or "")
    assert "CUDA 13 dropped GPUs below compute capability 7.5" in (reasons["p3"] or "")


# ------------------------------------------------------------------------ what the knobs change
def test_quantization_lowers_the_weights_and_lengthens_the_context(hub_profiles: dict[str, ModelProfile]) -> None:
    plain = plan(hub_profiles[LLAMA8B_ID])
    by_flag = plan(hub_profiles[LLAMA8B_ID], engine_args={"quantization": "fp8"})
    by_option = plan(hub_profiles[LLAMA8B_ID], SizingOptions(quantize="fp8"))
    assert by_flag.fit.needed_gpu_gib < plain.fit.needed_gpu_gib
    assert max_model_len(by_flag) == max_model_len(by_option) == 78848
    assert by_option.environment["SM_VLLM_QUANTIZATION"] == "fp8"  # written for the option
    assert "SM_VLLM_QUANTIZATION" not in by_flag.environment  # the flag itself is written by engine_args


def test_bitsandbytes_nf4_is_vllm_bitsandbytes(hub_profiles: dict[str, ModelProfile]) -> None:
    result = plan(hub_profiles[LLAMA8B_ID], SizingOptions(quantize="bitsandbytes-nf4"))
    assert result.environment["SM_VLLM_QUANTIZATION"] == "bitsandbytes"


def test_a_quantization_vllm_does_not_apply_is_an_error(hub_profiles: dict[str, ModelProfile]) -> None:
    message = error_of(lambda: plan(hub_profiles[LLAMA8B_ID], SizingOptions(quantize="eetq")))
    assert "instance_selection.quantize: 'eetq' is not a quantization vLLM applies" in message
    assert "allowed: awq, bitsandbytes-nf4, fp8, gptq, marlin" in message


def test_more_concurrent_sequences_shorten_each(hub_profiles: dict[str, ModelProfile]) -> None:
    result = plan(hub_profiles[LLAMA8B_ID], SizingOptions(concurrent_sequences=4))
    assert result.instance_type == "ml.g6.xlarge"
    assert max_model_len(result) == 6144  # 27297 tokens / 4, down to a multiple of 1024


def test_a_longer_minimum_context_moves_the_model_to_a_bigger_gpu(hub_profiles: dict[str, ModelProfile]) -> None:
    result = plan(hub_profiles[LLAMA8B_ID], SizingOptions(min_context_tokens=32768))
    assert result.instance_type == "ml.g6e.xlarge"
    assert max_model_len(result) is None  # the whole 128k fits on 48 GB


def test_a_minimum_context_beyond_the_model_is_an_error(hub_profiles: dict[str, ModelProfile]) -> None:
    message = error_of(lambda: plan(hub_profiles[MHA7B_ID], SizingOptions(min_context_tokens=8192)))
    assert "instance_selection.min_context_tokens: 8192 exceeds the model's context of 4096 tokens" in message


def test_gpu_memory_utilization_is_taken_into_account(hub_profiles: dict[str, ModelProfile]) -> None:
    result = plan(hub_profiles[LLAMA8B_ID], engine_args={"gpu_memory_utilization": 0.95})
    assert result.fit.available_gpu_gib == pytest.approx(22.4 * 0.95, abs=0.01)
    assert max_model_len(result) == 34816


def test_a_max_model_len_that_does_not_fit_the_instance_is_an_error_with_the_numbers(
    hub_profiles: dict[str, ModelProfile],
) -> None:
    message = error_of(
        lambda: plan(hub_profiles[LLAMA8B_ID], engine_args={"max_model_len": 65536}, instance_type="ml.g6.xlarge")
    )
    assert "'ml.g6.xlarge' cannot serve the model with vllm" in message
    assert "GiB KV cache for 65536 tokens" in message and "gpu_memory_utilization 0.9 of one L4" in message
    assert "The cheapest instance that fits is ml.g6e.xlarge" in message


def test_a_given_max_model_len_is_the_users_and_is_not_rewritten(hub_profiles: dict[str, ModelProfile]) -> None:
    result = plan(hub_profiles[LLAMA8B_ID], engine_args={"max_model_len": 8192})
    assert result.instance_type == "ml.g6.xlarge"
    assert "SM_VLLM_MAX_MODEL_LEN" not in result.environment  # engine_args writes it


# ---------------------------------------------------------------------------------- host memory
def test_lmcache_takes_half_the_host_from_0_22_on(hub_profiles: dict[str, ModelProfile]) -> None:
    profile = hub_profiles[LLAMA8B_ID]
    newest = plan(profile, instance_type="ml.g6.xlarge")
    assert newest.fit.needed_host_gib == 4 + 8  # the server, and LMCache's pool: half of 16 GiB
    off = plan(profile, instance_type="ml.g6.xlarge", environment={"HF_ENABLE_LMCACHE": "0"})
    assert off.fit.needed_host_gib == 4
    old = plan(profile, instance_type="ml.g6.xlarge", image_version="0.17.0", cuda_version="12.9")
    assert old.fit.needed_host_gib == 4  # no LMCache before 0.22


# ----------------------------------------------------------------------------- GPUs and images
def test_bfloat16_weights_are_served_in_half_precision_on_a_t4_asked_for() -> None:
    stack = new_stack()
    small = ModelProfile(parameters=494_032_768, num_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         hidden_size=896, max_position_embeddings=32768, task="text-generation")  # fmt: skip
    endpoint = HubModelEndpoint(
        stack, "Small", model_id="Qwen/Qwen2.5-0.5B-Instruct", model_profile=small, instance_type="ml.g4dn.xlarge"
    )
    assert endpoint.deployment_plan is not None
    assert endpoint.deployment_plan.environment["SM_VLLM_DTYPE"] == "half"
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "Small",
            model_id="Qwen/Qwen2.5-0.5B-Instruct",
            model_profile=small,
            instance_type="ml.g4dn.xlarge",
            engine_args={"dtype": "bfloat16"},
        )
    )
    assert "dtype 'bfloat16' needs compute capability 8.0 or newer, and T4 is 7.5" in message


def test_v100_runs_cuda_12_images_but_not_cuda_13_ones() -> None:
    small = ModelProfile(parameters=494_032_768, num_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         hidden_size=896, max_position_embeddings=32768, task="text-generation")  # fmt: skip

    def on_p3(version: str) -> HubModelEndpoint:
        return HubModelEndpoint(
            new_stack(),
            "Small",
            model_id="Qwen/Qwen2.5-0.5B-Instruct",
            model_profile=small,
            instance_type="ml.p3.2xlarge",
            image=InferenceImage.vllm(version),
            engine_args={"dtype": "half"},
        )

    message = error_of(lambda: on_p3("0.29.0"))
    assert "image is built for CUDA 13.0, and CUDA 13 dropped GPUs below compute capability 7.5" in message
    assert on_p3("0.17.0").instance_type == "ml.p3.2xlarge"


def test_blackwell_gpus_refuse_images_older_than_cuda_12_8() -> None:
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "Old",
            model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            task="text-classification",
            instance_type="ml.p6-b200.48xlarge",
        )
    )
    assert "B200 (ml.p6-b200.48xlarge) is a Blackwell GPU, which needs CUDA 12.8 or newer" in message
    assert "built for CUDA 12.4" in message


# ------------------------------------------------------------------------------ what users see
def test_the_synth_annotation_names_the_server_and_the_max_model_len() -> None:
    from aws_cdk.assertions import Annotations, Match

    stack = new_stack()
    llama = ModelProfile(parameters=8_030_261_248, num_layers=32, num_attention_heads=32, num_key_value_heads=8,
                         hidden_size=4096, max_position_embeddings=131072, task="text-generation",
                         model_id="meta-llama/Llama-3.1-8B-Instruct")  # fmt: skip
    endpoint = HubModelEndpoint(stack, "Llm", model_id="meta-llama/Llama-3.1-8B-Instruct", model_profile=llama)
    assert endpoint.deployment_plan is not None
    summary = endpoint.deployment_plan.summary
    assert "vLLM overhead" in summary and "picked ml.g6.xlarge" in summary
    assert "vLLM max_model_len 26624 (the model's context: 131072)" in summary
    Annotations.from_stack(stack).has_info("*", Match.string_like_regexp("vLLM max_model_len 26624"))
    assert not warnings_of(endpoint, ".")
