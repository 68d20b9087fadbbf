"""Instance selection through the constructs: the model's profile from the (fake) Hub, a local
directory or an explicit ModelProfile decides the instance, TGI's settings and the errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import ConfigurationError, FineTunedEndpoint, HubModelEndpoint, InferenceImage, Serving
from constructs_lib.model.profile import ModelProfile
from constructs_lib.sizing import SizingOptions, plan_deployment
from tests.fake_hub import (
    BERT_ID,
    BIN_ID,
    GATED_ID,
    LLAMA8B_ID,
    LLAMA70B_ID,
    MISSING_ID,
    TOKEN,
    FakeHub,
    safetensors_bytes,
)

from .support import container, new_stack, variant


@pytest.fixture(autouse=True)
def lookups_go_to_the_fake_hub(
    fake_hub: FakeHub, hermetic_hf: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the constructs' Hub lookups at the fake Hub with an empty cache of their own."""
    context = tmp_path / "hub.context.json"
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("CONSTRUCTS_LIB_HUB_CONTEXT", str(context))
    return context


def hub_endpoint(model_id: str, **kwargs: Any) -> tuple[Stack, HubModelEndpoint]:
    stack = new_stack()
    return stack, HubModelEndpoint(stack, "Endpoint", model_id=model_id, **kwargs)


def test_small_classifier_gets_the_cheapest_gpu_and_its_pipeline_tag_as_task() -> None:
    stack, endpoint = hub_endpoint(BERT_ID)
    template = Template.from_stack(stack)

    assert endpoint.instance_type == "ml.g4dn.xlarge"
    assert variant(template)["InstanceType"] == "ml.g4dn.xlarge"
    assert container(template)["Environment"]["HF_TASK"] == "text-classification"
    assert "huggingface-pytorch-inference" in container(template)["Image"]


def test_the_decision_is_shown_in_synth_annotations() -> None:
    stack, endpoint = hub_endpoint(BERT_ID)
    infos = Annotations.from_stack(stack).find_info("*", Match.string_like_regexp("ml.g4dn.xlarge"))
    assert len(infos) == 1
    text = json.dumps(infos[0].entry.data)
    assert "GiB" in text and "$" in text  # memory math and indicative price
    assert endpoint.deployment_plan is not None and endpoint.deployment_plan.summary in text


def test_llm_on_tgi_gets_sharding_and_token_limits_from_the_memory_left() -> None:
    stack, endpoint = hub_endpoint(LLAMA8B_ID)
    env = container(Template.from_stack(stack))["Environment"]

    assert "huggingface-pytorch-tgi-inference" in container(Template.from_stack(stack))["Image"]
    assert endpoint.instance_type == "ml.g6.xlarge"
    assert env["SM_NUM_GPUS"] == "1"
    assert int(env["MAX_INPUT_TOKENS"]) < int(env["MAX_TOTAL_TOKENS"])
    assert int(env["MAX_BATCH_PREFILL_TOKENS"]) >= int(env["MAX_INPUT_TOKENS"])
    assert variant(Template.from_stack(stack))["ContainerStartupHealthCheckTimeoutInSeconds"] >= 600


def test_70b_llm_is_sharded_over_every_gpu_of_the_instance() -> None:
    stack, endpoint = hub_endpoint(LLAMA70B_ID)
    env = container(Template.from_stack(stack))["Environment"]
    assert endpoint.instance_type == "ml.g6e.12xlarge"
    assert env["SM_NUM_GPUS"] == "4"


def test_explicit_instance_too_small_is_an_error_with_the_numbers_and_the_cheapest_fit() -> None:
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA70B_ID, instance_type="ml.g5.12xlarge")
    message = str(error.value)
    assert "instance_type" in message and "ml.g5.12xlarge" in message
    assert "GiB" in message and "ml.g6e.12xlarge" in message


def test_quantization_lowers_the_size_and_is_passed_to_tgi() -> None:
    stack, endpoint = hub_endpoint(LLAMA70B_ID, instance_selection=SizingOptions(quantize="bitsandbytes-nf4"))
    env = container(Template.from_stack(stack))["Environment"]
    assert env["HF_MODEL_QUANTIZE"] == "bitsandbytes-nf4"
    assert endpoint.instance_type == "ml.g6.12xlarge"


def test_selection_can_be_restricted_to_families_and_a_price() -> None:
    _, endpoint = hub_endpoint(BERT_ID, instance_selection=SizingOptions(families=["g5"]))
    assert endpoint.instance_type == "ml.g5.xlarge"
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA70B_ID, instance_selection=SizingOptions(max_price_per_hour=5.0))
    assert "5" in str(error.value)


@pytest.mark.parametrize(
    ("instance_type", "options", "expected"),
    [
        (
            "ml.g6.xlarge",
            SizingOptions(families=["g5"]),
            "instance_type: 'ml.g6.xlarge' is of family 'g6', outside instance_selection.families ['g5']",
        ),
        (
            "ml.g5.12xlarge",
            SizingOptions(max_price_per_hour=2.0),
            "instance_type: 'ml.g5.12xlarge' costs ~$",
        ),
        (
            "ml.g5.12xlarge",
            SizingOptions(max_price_per_hour=2.0),
            "above instance_selection.max_price_per_hour $2.00: drop one of the two",
        ),
    ],
)
def test_explicit_instance_type_outside_the_selection_constraints_is_an_error(
    instance_type: str, options: SizingOptions, expected: str
) -> None:
    # Ignoring the constraint silently would hide which of the two settings is the mistake.
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(BERT_ID, instance_type=instance_type, instance_selection=options)
    assert expected in str(error.value)


def test_explicit_instance_type_inside_the_selection_constraints_is_used() -> None:
    options = SizingOptions(families=["g5", "g6"], max_price_per_hour=2.0)
    _, endpoint = hub_endpoint(BERT_ID, instance_type="ml.g6.xlarge", instance_selection=options)
    assert endpoint.instance_type == "ml.g6.xlarge"


def test_price_cap_of_an_explicit_instance_type_counts_every_instance() -> None:
    options = SizingOptions(max_price_per_hour=1.5)
    _, endpoint = hub_endpoint(BERT_ID, instance_type="ml.g5.xlarge", instance_selection=options)
    assert endpoint.instance_type == "ml.g5.xlarge"
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(BERT_ID, instance_type="ml.g5.xlarge", instance_count=2, instance_selection=options)
    assert "for 2 instance(s), above instance_selection.max_price_per_hour $1.50" in str(error.value)
    # As an automatic pick would be: priced for at least min_instance_count instances.
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(
            BERT_ID,
            instance_type="ml.g5.xlarge",
            instance_selection=SizingOptions(max_price_per_hour=1.5, min_instance_count=2),
        )
    assert "for 2 instance(s), above instance_selection.max_price_per_hour $1.50" in str(error.value)


def test_gated_model_without_a_token_secret_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the synth-time lookup has access...
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(GATED_ID)
    # ...but the endpoint would have none.
    assert "hf_token_secret" in str(error.value) and "gated" in str(error.value)


def test_gated_model_with_a_token_secret_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    stack = new_stack()
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Token", "hf-token")
    endpoint = HubModelEndpoint(stack, "Endpoint", model_id=GATED_ID, hf_token_secret=secret)
    env = container(Template.from_stack(stack))["Environment"]

    names = endpoint.serving_stack.token_variables
    assert names and all("resolve:secretsmanager" in json.dumps(env[name]) for name in names)
    assert endpoint.model_profile is not None and endpoint.model_profile.gated
    plan = plan_deployment(endpoint.model_profile, serving=endpoint.serving.value, instance_type=None)
    assert endpoint.instance_type == plan.instance_type == "ml.g6.xlarge"


def test_missing_repository_is_an_error_naming_the_model() -> None:
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(MISSING_ID)
    assert MISSING_ID in str(error.value) and "not found" in str(error.value).lower()


def test_bin_only_repository_is_sized_from_file_sizes() -> None:
    _, endpoint = hub_endpoint(BIN_ID, task="text-classification")
    assert endpoint.model_profile is not None and endpoint.model_profile.weights_bytes
    assert endpoint.instance_type == "ml.g4dn.xlarge"


def test_cached_answer_is_used_offline_without_any_request(
    fake_hub: FakeHub, lookups_go_to_the_fake_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_endpoint(BERT_ID)  # online: fills the cache
    assert BERT_ID in lookups_go_to_the_fake_hub.read_text()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(fake_hub.requests)
    _, endpoint = hub_endpoint(BERT_ID)
    assert len(fake_hub.requests) == before
    assert endpoint.instance_type == "ml.g4dn.xlarge"


def test_offline_without_a_cached_answer_says_how_to_fill_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA8B_ID)
    message = str(error.value)
    assert LLAMA8B_ID in message and "hub.context.json" in message and "model_profile" in message


def test_offline_with_an_explicit_instance_builds_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    stack, endpoint = hub_endpoint(LLAMA8B_ID, task="text-generation", instance_type="ml.g5.2xlarge")
    assert endpoint.instance_type == "ml.g5.2xlarge"
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("was not checked"))
    assert len(warnings) == 1


def test_offline_tgi_without_a_profile_still_shards_over_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    stack, endpoint = hub_endpoint(LLAMA70B_ID, task="text-generation", instance_type="ml.g5.48xlarge")
    template = Template.from_stack(stack)
    assert endpoint.deployment_plan is None
    assert container(template)["Environment"]["SM_NUM_GPUS"] == "8"  # TGI would otherwise use one GPU
    assert variant(template)["ContainerStartupHealthCheckTimeoutInSeconds"] == 600


def test_offline_without_a_task_cannot_pick_the_serving_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge")
    message = str(error.value)
    assert "task: None is required when the model's profile cannot be read" in message
    assert "pass task=... or serving=..." in message
    # Either one settles it, and the same template comes out online and offline.
    _, explicit = hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge", serving=Serving.TGI)
    assert explicit.serving is Serving.TGI


def test_gated_model_unreadable_at_synth_needs_a_token_secret_even_with_an_instance() -> None:
    with pytest.raises(ConfigurationError, match="hf_token_secret") as error:
        hub_endpoint(GATED_ID, task="text-generation", instance_type="ml.g5.2xlarge")
    assert "gated" in str(error.value)
    stack = new_stack()
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Token", "hf-token")
    HubModelEndpoint(
        stack,
        "Endpoint",
        model_id=GATED_ID,
        task="text-generation",
        instance_type="ml.g5.2xlarge",
        hf_token_secret=secret,
    )
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("was not checked"))
    assert len(warnings) == 1  # the container has a token; only the synth-time lookup had none


def test_missing_repository_is_an_error_even_with_an_instance() -> None:
    with pytest.raises(ConfigurationError, match="was not found on the Hugging Face Hub"):
        hub_endpoint(MISSING_ID, task="text-classification", instance_type="ml.g5.xlarge")


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
        hub_endpoint(LLAMA70B_ID, environment={variable: value})
    message = str(error.value)
    assert f"environment[{variable!r}]: {value!r} bypasses the instance sizing" in message
    assert f"SizingOptions({option}=...)" in message


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
    )
    result: dict[str, str] = container(Template.from_stack(stack))["Environment"]
    return result


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
        )


def test_sm_num_gpus_must_match_the_instance() -> None:
    with pytest.raises(ConfigurationError, match=r"environment\['SM_NUM_GPUS'\]: '1' conflicts with the instance"):
        hub_endpoint(LLAMA70B_ID, instance_type="ml.g5.48xlarge", environment={"SM_NUM_GPUS": "1"})
    stack, _ = hub_endpoint(LLAMA70B_ID, instance_type="ml.g5.48xlarge", environment={"SM_NUM_GPUS": "8"})
    assert container(Template.from_stack(stack))["Environment"]["SM_NUM_GPUS"] == "8"


def test_planned_value_repeated_in_environment_is_accepted() -> None:
    _, planned = hub_endpoint(LLAMA8B_ID)
    assert planned.deployment_plan is not None
    total = planned.deployment_plan.environment["MAX_TOTAL_TOKENS"]
    stack, _ = hub_endpoint(LLAMA8B_ID, environment={"MAX_TOTAL_TOKENS": total})
    assert container(Template.from_stack(stack))["Environment"]["MAX_TOTAL_TOKENS"] == total


def test_explicit_profile_sizes_s3_artifacts() -> None:
    stack = new_stack()
    profile = ModelProfile(parameters=7_000_000_000, dtype="bfloat16", task="text-classification")
    endpoint = FineTunedEndpoint(
        stack, "Tuned", model_data="s3://my-bucket/m/model.tar.gz", task="text-classification", model_profile=profile
    )
    # 14 GB of weights do not fit a 16 GiB T4 with headroom, nor a 16 GiB host.
    assert endpoint.instance_type not in ("ml.g4dn.xlarge", "ml.g5.xlarge")


def test_s3_artifacts_without_profile_or_instance_use_the_default_with_a_warning() -> None:
    stack = new_stack()
    endpoint = FineTunedEndpoint(stack, "Tuned", model_data="s3://my-bucket/m/model.tar.gz", task="fill-mask")
    assert endpoint.instance_type == "ml.g5.xlarge"
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("without a check"))
    assert len(warnings) == 1


def test_local_directory_is_sized_from_its_safetensors_header(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    # ~4 billion float32 parameters declared in the header: 16 GB, too much for a 15 GiB T4.
    tensors = {"weight": ("F32", [4_000_000, 1_000]), "bias": ("F32", [1_000])}
    (model / "model.safetensors").write_bytes(safetensors_bytes(tensors))
    (model / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}))
    stack = new_stack()
    endpoint = FineTunedEndpoint(stack, "Tuned", model_data=str(model))
    assert endpoint.model_profile is not None and endpoint.model_profile.parameters == 4_000_001_000
    assert endpoint.instance_type != "ml.g4dn.xlarge"


# ------------------------------------------------------------------------ TGI's input limit name
def test_tgi_before_2_reads_the_input_limit_as_max_input_length() -> None:
    stack, endpoint = hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge", image=InferenceImage.tgi("1.4"))
    old = container(Template.from_stack(stack))
    assert "-tgi1.4.5-" in old["Image"]
    assert "MAX_INPUT_TOKENS" not in old["Environment"]
    # The plan users read (and `recommend` prints) says what the template holds.
    assert endpoint.deployment_plan is not None
    assert dict(endpoint.deployment_plan.environment).items() <= old["Environment"].items()
    stack, _ = hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge")
    new = container(Template.from_stack(stack))
    assert "MAX_INPUT_LENGTH" not in new["Environment"]
    # The same limit, under the name each version reads.
    assert old["Environment"]["MAX_INPUT_LENGTH"] == new["Environment"]["MAX_INPUT_TOKENS"]


def test_the_input_limit_name_the_tgi_image_ignores_is_an_error() -> None:
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA8B_ID, image=InferenceImage.tgi("1.4.5"), environment={"MAX_INPUT_TOKENS": "2048"})
    assert (
        "environment['MAX_INPUT_TOKENS']: '2048' is not read by TGI 1.4.5: before 2.0 the variable is MAX_INPUT_LENGTH"
        in str(error.value)
    )
    # Copied from a TGI 1.x recipe onto today's image, next to the sizing's MAX_INPUT_TOKENS.
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA8B_ID, environment={"MAX_INPUT_LENGTH": "2048"})
    message = str(error.value)
    assert "environment['MAX_INPUT_LENGTH']: '2048' is the name TGI read before 2.0" in message
    assert "refuses to start with both" in message and "SizingOptions(max_input_tokens=...)" in message


def test_without_a_profile_the_legacy_input_limit_name_alone_is_accepted() -> None:
    # TGI 2.0 and later still read MAX_INPUT_LENGTH when it is the only one set.
    env = _unprofiled_llm_environment("ml.g5.2xlarge", {"MAX_INPUT_LENGTH": "2048"})
    assert env["MAX_INPUT_LENGTH"] == "2048" and "MAX_INPUT_TOKENS" not in env


def test_tgi_variables_the_entrypoint_overwrites_are_errors() -> None:
    # The SageMaker TGI entrypoint exports NUM_SHARD=$SM_NUM_GPUS, which the library always sets on GPUs.
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA8B_ID, environment={"NUM_SHARD": "2"})
    assert "environment['NUM_SHARD']: '2' is overwritten by the SageMaker entrypoint with SM_NUM_GPUS (1)" in str(
        error.value
    )
    # QUANTIZE is TGI's own name for HF_MODEL_QUANTIZE: the same bypass of the memory math.
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(LLAMA8B_ID, environment={"QUANTIZE": "awq"})
    message = str(error.value)
    assert "environment['QUANTIZE']: 'awq' bypasses the instance sizing" in message
    assert "SizingOptions(quantize=...)" in message
