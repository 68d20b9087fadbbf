"""Text Generation Inference (``serving.tgi``): GPU only, its sizing environment (shards, token limits), its
memory rules (V100, T4, fp8, shards that divide the heads) and the variables it reads, ignores or refuses.

TGI is retired (maintenance mode upstream): ``Serving.AUTO`` never picks it, so every endpoint here asks for it
(``serving=Serving.TGI`` or ``image=InferenceImage.tgi(...)``)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import CfnParameter
from aws_cdk.assertions import Template

from constructs_lib import (
    ConfigurationError,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
    Serving,
    SizingOptions,
    fit_table,
    plan_deployment,
)

from ..fake_hub import (
    BERT_ID,
    LLAMA8B_ID,
    LLAMA70B_ID,
    MIXTRAL_ID,
)
from ..support import (
    QWEN_LIKE,
    container,
    entry_text,
    hub_error,
    new_stack,
    picked_hub_endpoint,
    tgi_retired_warnings,
    variant,
)


def _unprofiled_llm_environment(instance_type: str, environment: dict[str, str]) -> dict[str, str]:
    """The container environment of a TGI model from S3, whose size (profile) is unknown."""
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Llm",
        model_data="s3://my-bucket/llm/model.tar.gz",
        task="text-generation",
        instance_type=instance_type,
        environment=environment,
        serving=Serving.TGI,
    )
    result: dict[str, str] = container(Template.from_stack(stack))["Environment"]
    return result


def test_auto_serving_never_picks_tgi_and_asking_for_it_warns() -> None:
    def llm(**props: Any) -> HubModelEndpoint:
        return HubModelEndpoint(
            new_stack(),
            "Llm",
            model_id="Qwen/Qwen2.5-0.5B-Instruct",
            task="text-generation",
            instance_type="ml.g5.xlarge",
            **props,
        )

    auto = llm()
    assert auto.serving is Serving.VLLM and "/huggingface-vllm:" in auto.image_uri
    assert tgi_retired_warnings(auto) == []
    # The newest vLLM image is built for CUDA 13, which needs the driver-580 host AMI; TGI's CUDA 12.4 needs none.
    assert variant(Template.from_stack(auto.stack))["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    endpoint = llm(serving=Serving.TGI)
    template = Template.from_stack(endpoint.stack)
    assert "InferenceAmiVersion" not in variant(template)
    assert "huggingface-pytorch-tgi-inference" in container(template)["Image"]
    assert container(template)["Environment"]["HF_MODEL_ID"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert "HF_TASK" not in container(template)["Environment"]
    (warning,) = tgi_retired_warnings(endpoint)
    assert "TGI is in maintenance mode" in entry_text(warning) and "Serving.VLLM" in entry_text(warning)


def test_tgi_on_a_cpu_instance() -> None:
    message = hub_error(
        model_id="Qwen/Qwen2.5-0.5B-Instruct",
        task="text-generation",
        instance_type="ml.m5.xlarge",
        serving=Serving.TGI,
    )
    assert "ml.m5.xlarge" in message and "TGI" in message


def test_tgi_with_a_deploy_time_instance_type_builds() -> None:
    stack = new_stack()
    instance_type = CfnParameter(stack, "InstanceType", default="ml.g5.xlarge").value_as_string
    endpoint = HubModelEndpoint(
        stack,
        "Endpoint",
        model_id="Qwen/Qwen2.5-0.5B-Instruct",
        task="text-generation",
        instance_type=instance_type,
        serving=Serving.TGI,
    )
    assert endpoint.serving is Serving.TGI and "tgi-inference" in endpoint.image_uri
    # Serving.AUTO picks vLLM for a deploy-time instance type, which has GPU images only too.
    stack = new_stack()
    instance_type = CfnParameter(stack, "InstanceType", default="ml.g5.xlarge").value_as_string
    auto = HubModelEndpoint(
        stack, "Endpoint", model_id="Qwen/Qwen2.5-0.5B-Instruct", task="text-generation", instance_type=instance_type
    )
    assert auto.serving is Serving.VLLM and "/huggingface-vllm:" in auto.image_uri


def test_tgi_environment_for_8b(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[LLAMA8B_ID], serving="tgi", instance_type=None)
    assert dict(plan.environment) == {
        "SM_NUM_GPUS": "1",
        "MAX_INPUT_TOKENS": "3072",
        "MAX_TOTAL_TOKENS": "4096",
        "MAX_BATCH_PREFILL_TOKENS": "3122",
    }
    assert plan.fit.needed_gpu_gib == pytest.approx(20.5, abs=0.05)
    assert plan.fit.available_gpu_gib == 22.4
    assert plan.fit.kv_cache_gib == 2.0
    assert plan.startup_health_check_timeout_seconds == 749  # 600 + 10 s per GiB of weights
    assert "15.0 GiB weights + 2.0 GiB KV cache" in plan.summary
    assert "$1.01/h" in plan.summary


def test_tgi_environment_for_70b_shards_over_four_gpus(profiles: dict[str, ModelProfile]) -> None:
    plan = plan_deployment(profiles[LLAMA70B_ID], serving="tgi", instance_type=None)
    assert plan.environment["SM_NUM_GPUS"] == "4"
    assert plan.environment["MAX_TOTAL_TOKENS"] == "16384"
    assert plan.environment["MAX_INPUT_TOKENS"] == "15360"
    assert int(plan.environment["MAX_BATCH_PREFILL_TOKENS"]) >= int(plan.environment["MAX_INPUT_TOKENS"])
    assert plan.startup_health_check_timeout_seconds == 1914


def test_max_total_tokens_is_bounded_by_the_model_context(profiles: dict[str, ModelProfile]) -> None:
    mixtral = plan_deployment(profiles[MIXTRAL_ID], serving="tgi", instance_type="ml.p5e.48xlarge")
    assert mixtral.environment["MAX_TOTAL_TOKENS"] == "32768"  # the 32768 cap and the model's context
    short = replace(profiles[MIXTRAL_ID], max_position_embeddings=2048)
    plan = plan_deployment(short, serving="tgi", instance_type="ml.p5e.48xlarge")
    assert plan.environment["MAX_TOTAL_TOKENS"] == "2048"
    assert plan.environment["MAX_INPUT_TOKENS"] == "1024"


def test_shards_must_divide_attention_heads() -> None:
    with pytest.raises(ConfigurationError, match="8 does not divide the model's 28 attention heads"):
        plan_deployment(QWEN_LIKE, serving="tgi", instance_type="ml.g5.48xlarge")
    table = fit_table(QWEN_LIKE, serving="tgi")
    eight = [fit for fit in table if fit.spec.accelerators == 8]
    assert eight and all(not fit.fits for fit in eight)
    assert plan_deployment(QWEN_LIKE, serving="tgi", instance_type="ml.g5.12xlarge").environment["SM_NUM_GPUS"] == "4"


def test_shards_must_divide_key_value_heads() -> None:
    profile = ModelProfile(
        parameters=10**9, num_layers=8, num_attention_heads=24, num_key_value_heads=6, hidden_size=1536
    )
    with pytest.raises(ConfigurationError, match="4 does not divide the model's 6 key/value heads"):
        plan_deployment(profile, serving="tgi", instance_type="ml.g6.12xlarge")
    replicated = ModelProfile(
        parameters=10**9, num_layers=8, num_attention_heads=24, num_key_value_heads=3, hidden_size=1536
    )
    with pytest.raises(ConfigurationError, match="cannot replicate the model's 3 key/value heads over 4 GPUs"):
        plan_deployment(replicated, serving="tgi", instance_type="ml.g6.12xlarge")


def test_tgi_runs_on_t4_when_asked_for_and_never_on_v100(profiles: dict[str, ModelProfile]) -> None:
    # TGI's docs list H100, A100, A10G and T4 for its optimized models.
    plan = plan_deployment(profiles[BERT_ID], serving="tgi", instance_type="ml.g4dn.xlarge")
    assert plan.instance_type == "ml.g4dn.xlarge" and plan.environment["SM_NUM_GPUS"] == "1"
    with pytest.raises(ConfigurationError, match=r"TGI's optimized models need a T4 or newer GPU .*V100"):
        plan_deployment(profiles[BERT_ID], serving="tgi", instance_type="ml.p3.2xlarge")


def test_automatic_tgi_pick_passes_t4_over_unless_its_family_is_named(profiles: dict[str, ModelProfile]) -> None:
    # g4dn is the cheapest GPU, but without bfloat16 or FlashAttention-2 it is no default for TGI.
    assert plan_deployment(profiles[BERT_ID], serving="tgi", instance_type=None).instance_type == "ml.g6.xlarge"
    table = fit_table(profiles[BERT_ID], serving="tgi")
    t4 = next(fit for fit in table if fit.spec.name == "ml.g4dn.xlarge")
    assert not t4.fits and "instance_type='ml.g4dn.xlarge'" in (t4.reason or "")
    chosen = plan_deployment(
        profiles[BERT_ID], serving="tgi", instance_type=None, options=SizingOptions(families=["g4dn"])
    )
    assert chosen.instance_type == "ml.g4dn.xlarge"


def test_fp8_needs_ada_or_hopper(profiles: dict[str, ModelProfile]) -> None:
    with pytest.raises(ConfigurationError, match="quantize='fp8' needs an Ada or Hopper GPU"):
        plan_deployment(
            profiles[LLAMA8B_ID], serving="tgi", instance_type="ml.g5.2xlarge", options=SizingOptions(quantize="fp8")
        )


def test_user_token_limits(profiles: dict[str, ModelProfile]) -> None:
    llama = profiles[LLAMA8B_ID]
    options = SizingOptions(max_input_tokens=6000, max_total_tokens=8192, max_batch_total_tokens=40000)
    plan = plan_deployment(llama, serving="tgi", instance_type=None, options=options)
    assert plan.environment["MAX_INPUT_TOKENS"] == "6000"
    assert plan.environment["MAX_TOTAL_TOKENS"] == "8192"
    assert plan.environment["MAX_BATCH_TOTAL_TOKENS"] == "40000"
    assert plan.environment["MAX_BATCH_PREFILL_TOKENS"] == "6050"
    # 32768 tokens x 4 sequences x 128 KiB = 16 GiB of KV cache: does not fit one A10G.
    with pytest.raises(ConfigurationError) as error:
        plan_deployment(
            llama, serving="tgi", instance_type="ml.g5.xlarge", options=SizingOptions(max_total_tokens=32768)
        )
    assert "needs 36.6 GiB GPU memory, one A10G has 22.4 GiB usable" in str(error.value)
    assert "16.0 GiB of KV cache for 131072 tokens" in str(error.value)
    with pytest.raises(ConfigurationError, match="exceeds the model's context of 32768 tokens"):
        plan_deployment(
            profiles[MIXTRAL_ID],
            serving="tgi",
            instance_type="ml.p5e.48xlarge",
            options=SizingOptions(max_total_tokens=65536),
        )


def test_unknown_architecture_uses_the_kv_fallback() -> None:
    bare = ModelProfile(parameters=7_000_000_000, dtype="float16")
    plan = plan_deployment(bare, serving="tgi", instance_type=None)
    # 13.0 GiB + 16384 tokens x 560 kB (8e-5 B/token/param) = 8.5 GiB KV -> needs 2 x A10G/L4-class memory.
    assert plan.fit.kv_cache_gib == pytest.approx(8.54, abs=0.01)
    assert plan.fit.fits and plan.fit.needed_gpu_gib > 22.4


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_llm_on_tgi_gets_sharding_and_token_limits_from_the_memory_left() -> None:
    stack, endpoint = picked_hub_endpoint(LLAMA8B_ID, serving=Serving.TGI)
    env = container(Template.from_stack(stack))["Environment"]

    assert "huggingface-pytorch-tgi-inference" in container(Template.from_stack(stack))["Image"]
    assert endpoint.instance_type == "ml.g6.xlarge"
    assert env["SM_NUM_GPUS"] == "1"
    assert int(env["MAX_INPUT_TOKENS"]) < int(env["MAX_TOTAL_TOKENS"])
    assert int(env["MAX_BATCH_PREFILL_TOKENS"]) >= int(env["MAX_INPUT_TOKENS"])
    assert variant(Template.from_stack(stack))["ContainerStartupHealthCheckTimeoutInSeconds"] >= 600


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_70b_llm_is_sharded_over_every_gpu_of_the_instance() -> None:
    stack, endpoint = picked_hub_endpoint(LLAMA70B_ID, serving=Serving.TGI)
    env = container(Template.from_stack(stack))["Environment"]
    assert endpoint.instance_type == "ml.g6e.12xlarge"
    assert env["SM_NUM_GPUS"] == "4"


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_quantization_lowers_the_size_and_is_passed_to_tgi() -> None:
    stack, endpoint = picked_hub_endpoint(
        LLAMA70B_ID, instance_selection=SizingOptions(quantize="bitsandbytes-nf4"), serving=Serving.TGI
    )
    env = container(Template.from_stack(stack))["Environment"]
    assert env["HF_MODEL_QUANTIZE"] == "bitsandbytes-nf4"
    assert endpoint.instance_type == "ml.g6.12xlarge"


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_offline_tgi_without_a_profile_still_shards_over_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    stack, endpoint = picked_hub_endpoint(
        LLAMA70B_ID, task="text-generation", instance_type="ml.g5.48xlarge", serving=Serving.TGI
    )
    template = Template.from_stack(stack)
    assert endpoint.deployment_plan is None
    assert container(template)["Environment"]["SM_NUM_GPUS"] == "8"  # TGI would otherwise use one GPU
    assert variant(template)["ContainerStartupHealthCheckTimeoutInSeconds"] == 600


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
@pytest.mark.parametrize(
    ("variable", "value", "option"),
    [
        ("MAX_TOTAL_TOKENS", "131072", "max_total_tokens"),
        ("MAX_INPUT_TOKENS", "120000", "max_input_tokens"),
        ("MAX_BATCH_TOTAL_TOKENS", "262144", "max_batch_total_tokens"),
        ("HF_MODEL_QUANTIZE", "bitsandbytes-nf4", "quantize"),
    ],
)
def test_tgi_settings_in_environment_must_go_through_the_sizing(variable: str, value: str, option: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA70B_ID, environment={variable: value}, serving=Serving.TGI)
    message = str(error.value)
    assert f"environment[{variable!r}]: {value!r} bypasses the instance sizing" in message
    assert f"SizingOptions({option}=...)" in message


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_without_a_profile_tgi_settings_in_environment_are_the_users_to_make() -> None:
    # No memory math to contradict: the environment is the only way to set them.
    env = _unprofiled_llm_environment("ml.g5.12xlarge", {"MAX_INPUT_TOKENS": "8000", "SM_NUM_GPUS": "2"})
    assert (env["MAX_INPUT_TOKENS"], env["SM_NUM_GPUS"]) == ("8000", "2")
    with pytest.raises(
        ConfigurationError, match=re.escape("must be a whole number from 1 to 4, the GPUs of ml.g5.12xlarge")
    ):
        FineTunedEndpoint(
            new_stack(),
            "Llm",
            model_data="s3://my-bucket/llm/model.tar.gz",
            task="text-generation",
            instance_type="ml.g5.12xlarge",
            environment={"SM_NUM_GPUS": "8"},
            serving=Serving.TGI,
        )


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_sm_num_gpus_must_match_the_instance() -> None:
    with pytest.raises(ConfigurationError, match=r"environment\['SM_NUM_GPUS'\]: '1' conflicts with the instance"):
        picked_hub_endpoint(
            LLAMA70B_ID, instance_type="ml.g5.48xlarge", environment={"SM_NUM_GPUS": "1"}, serving=Serving.TGI
        )
    stack, _ = picked_hub_endpoint(
        LLAMA70B_ID, instance_type="ml.g5.48xlarge", environment={"SM_NUM_GPUS": "8"}, serving=Serving.TGI
    )
    assert container(Template.from_stack(stack))["Environment"]["SM_NUM_GPUS"] == "8"


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_planned_value_repeated_in_environment_is_accepted() -> None:
    _, planned = picked_hub_endpoint(LLAMA8B_ID, serving=Serving.TGI)
    assert planned.deployment_plan is not None
    total = planned.deployment_plan.environment["MAX_TOTAL_TOKENS"]
    stack, _ = picked_hub_endpoint(LLAMA8B_ID, environment={"MAX_TOTAL_TOKENS": total}, serving=Serving.TGI)
    assert container(Template.from_stack(stack))["Environment"]["MAX_TOTAL_TOKENS"] == total


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_tgi_before_2_reads_the_input_limit_as_max_input_length() -> None:
    stack, endpoint = picked_hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge", image=InferenceImage.tgi("1.4"))
    old = container(Template.from_stack(stack))
    assert "-tgi1.4.5-" in old["Image"]
    assert "MAX_INPUT_TOKENS" not in old["Environment"]
    # The plan users read (and `recommend` prints) says what the template holds.
    assert endpoint.deployment_plan is not None
    assert dict(endpoint.deployment_plan.environment).items() <= old["Environment"].items()
    stack, _ = picked_hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge", serving=Serving.TGI)
    new = container(Template.from_stack(stack))
    assert "MAX_INPUT_LENGTH" not in new["Environment"]
    # The same limit, under the name each version reads.
    assert old["Environment"]["MAX_INPUT_LENGTH"] == new["Environment"]["MAX_INPUT_TOKENS"]


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_the_input_limit_name_the_tgi_image_ignores_is_an_error() -> None:
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA8B_ID, image=InferenceImage.tgi("1.4.5"), environment={"MAX_INPUT_TOKENS": "2048"})
    assert (
        "environment['MAX_INPUT_TOKENS']: '2048' is not read by TGI 1.4.5: before 2.0 the variable is MAX_INPUT_LENGTH"
        in str(error.value)
    )
    # Copied from a TGI 1.x recipe onto today's image, next to the sizing's MAX_INPUT_TOKENS.
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA8B_ID, environment={"MAX_INPUT_LENGTH": "2048"}, serving=Serving.TGI)
    message = str(error.value)
    assert "environment['MAX_INPUT_LENGTH']: '2048' is the name TGI read before 2.0" in message
    assert "refuses to start with both" in message and "SizingOptions(max_input_tokens=...)" in message


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_without_a_profile_the_legacy_input_limit_name_alone_is_accepted() -> None:
    # TGI 2.0 and later still read MAX_INPUT_LENGTH when it is the only one set.
    env = _unprofiled_llm_environment("ml.g5.2xlarge", {"MAX_INPUT_LENGTH": "2048"})
    assert env["MAX_INPUT_LENGTH"] == "2048" and "MAX_INPUT_TOKENS" not in env


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_tgi_variables_the_entrypoint_overwrites_are_errors() -> None:
    # The SageMaker TGI entrypoint exports NUM_SHARD=$SM_NUM_GPUS, which the library always sets on GPUs.
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA8B_ID, environment={"NUM_SHARD": "2"}, serving=Serving.TGI)
    assert "environment['NUM_SHARD']: '2' is overwritten by the SageMaker entrypoint with SM_NUM_GPUS (1)" in str(
        error.value
    )
    # QUANTIZE is TGI's own name for HF_MODEL_QUANTIZE: the same bypass of the memory math.
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA8B_ID, environment={"QUANTIZE": "awq"}, serving=Serving.TGI)
    message = str(error.value)
    assert "environment['QUANTIZE']: 'awq' bypasses the instance sizing" in message
    assert "SizingOptions(quantize=...)" in message
