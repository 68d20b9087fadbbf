"""From props to facts (``endpoints.resolve``): the profile (given, from a directory or the fake Hub, offline),
the serving stack, the task against it, and the instance picked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    ModelProfile,
    Serving,
    SizingOptions,
    plan_deployment,
)

from ..fake_hub import (
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
from ..support import (
    SST2,
    container,
    hub_error,
    new_stack,
    picked_hub_endpoint,
    synth,
    variant,
    write_script,
)


def test_explicit_serving_overrides_auto() -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s,
            "Llm",
            model_id="gpt2",
            task="text-generation",
            serving=Serving.INFERENCE_TOOLKIT,
            instance_type="ml.g5.xlarge",
        )
    )
    assert "huggingface-pytorch-inference:" in container(template)["Image"]
    assert container(template)["Environment"]["HF_TASK"] == "text-generation"


def test_a_script_that_loads_the_model_may_use_any_task(tmp_path: Path) -> None:
    write_script(
        tmp_path, "def model_fn(model_dir):\n    return None\n\n\ndef predict_fn(data, model):\n    return data\n"
    )
    endpoint = CustomScriptEndpoint(
        new_stack(), "Endpoint", code_dir=tmp_path, model_id=SST2, task="text-generation", instance_type="ml.g5.xlarge"
    )
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT


@pytest.mark.parametrize(
    ("serving", "task"),
    [(Serving.TGI, "fill-mask"), (Serving.TEI, "summarization"), (Serving.TEI, "text-generation")],
)
def test_explicit_serving_must_serve_the_task(serving: Serving, task: str) -> None:
    message = hub_error(serving=serving, task=task)
    assert f"serving: '{serving.name}' cannot serve task {task!r}" in message
    assert "Serving.INFERENCE_TOOLKIT" in message


@pytest.mark.parametrize(
    ("serving", "task"), [(Serving.TGI, "text2text-generation"), (Serving.TEI, "text-classification")]
)
def test_explicit_serving_accepts_the_tasks_it_serves(serving: Serving, task: str) -> None:
    # A model that can serve the task: SST-2 is a classifier and cannot generate (test_task_architecture.py).
    model_id = "gpt2" if serving is Serving.TGI else SST2
    endpoint = HubModelEndpoint(
        new_stack(), "Endpoint", model_id=model_id, task=task, instance_type="ml.g5.xlarge", serving=serving
    )
    assert endpoint.serving is serving


def test_custom_script_cannot_run_on_tgi(code_dir: Path) -> None:
    from constructs_lib import Serving

    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, model_id=SST2, serving=Serving.TGI)
    assert "serving: 'TGI' cannot run a custom inference script" in str(error.value)


def test_price_cap_counts_every_instance() -> None:
    from constructs_lib import SizingOptions

    # One ml.g4dn.xlarge (~$0.74/h) fits the cap; four of them (~$2.94/h) do not.
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(
            new_stack(),
            "E",
            model_id=SST2,
            instance_count=4,
            instance_selection=SizingOptions(max_price_per_hour=1.5),
        )
    assert "1.5" in str(error.value)


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_small_classifier_gets_the_cheapest_gpu_and_its_pipeline_tag_as_task() -> None:
    stack, endpoint = picked_hub_endpoint(BERT_ID)
    template = Template.from_stack(stack)

    assert endpoint.instance_type == "ml.g4dn.xlarge"
    assert variant(template)["InstanceType"] == "ml.g4dn.xlarge"
    assert container(template)["Environment"]["HF_TASK"] == "text-classification"
    assert "huggingface-pytorch-inference" in container(template)["Image"]


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_the_decision_is_shown_in_synth_annotations() -> None:
    stack, endpoint = picked_hub_endpoint(BERT_ID)
    infos = Annotations.from_stack(stack).find_info("*", Match.string_like_regexp("ml.g4dn.xlarge"))
    assert len(infos) == 1
    text = json.dumps(infos[0].entry.data)
    assert "GiB" in text and "$" in text  # memory math and indicative price
    assert endpoint.deployment_plan is not None and endpoint.deployment_plan.summary in text


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_selection_can_be_restricted_to_families_and_a_price() -> None:
    _, endpoint = picked_hub_endpoint(BERT_ID, instance_selection=SizingOptions(families=["g5"]))
    assert endpoint.instance_type == "ml.g5.xlarge"
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA70B_ID, instance_selection=SizingOptions(max_price_per_hour=5.0))
    assert "5" in str(error.value)


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_gated_model_without_a_token_secret_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the synth-time lookup has access...
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(GATED_ID)
    # ...but the endpoint would have none.
    assert "hf_token_secret" in str(error.value) and "gated" in str(error.value)


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
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


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_missing_repository_is_an_error_naming_the_model() -> None:
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(MISSING_ID)
    assert MISSING_ID in str(error.value) and "not found" in str(error.value).lower()


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_bin_only_repository_is_sized_from_file_sizes() -> None:
    _, endpoint = picked_hub_endpoint(BIN_ID, task="text-classification")
    assert endpoint.model_profile is not None and endpoint.model_profile.weights_bytes
    assert endpoint.instance_type == "ml.g4dn.xlarge"


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_cached_answer_is_used_offline_without_any_request(
    fake_hub: FakeHub, lookups_go_to_the_fake_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picked_hub_endpoint(BERT_ID)  # online: fills the cache
    assert BERT_ID in lookups_go_to_the_fake_hub.read_text()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(fake_hub.requests)
    _, endpoint = picked_hub_endpoint(BERT_ID)
    assert len(fake_hub.requests) == before
    assert endpoint.instance_type == "ml.g4dn.xlarge"


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_offline_without_a_cached_answer_says_how_to_fill_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA8B_ID)
    message = str(error.value)
    assert LLAMA8B_ID in message and "hub.context.json" in message and "model_profile" in message


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_offline_with_an_explicit_instance_builds_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    stack, endpoint = picked_hub_endpoint(LLAMA8B_ID, task="text-generation", instance_type="ml.g5.2xlarge")
    assert endpoint.instance_type == "ml.g5.2xlarge"
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("was not checked"))
    assert len(warnings) == 1


def test_a_corrupt_cache_file_is_an_error_even_with_an_explicit_instance(lookups_go_to_the_fake_hub: Path) -> None:
    # A failed lookup with instance_type given is a warning (the Hub may answer tomorrow); a broken
    # hub.context.json is not a lookup that failed, and must not hide behind one.
    lookups_go_to_the_fake_hub.write_text('{"hub:org/model@main": {')
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA8B_ID, task="text-generation", instance_type="ml.g5.2xlarge")
    assert f"{str(lookups_go_to_the_fake_hub)!r} is not valid JSON" in str(error.value)
    assert lookups_go_to_the_fake_hub.read_text() == '{"hub:org/model@main": {'


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_offline_without_a_task_cannot_pick_the_serving_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError) as error:
        picked_hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge")
    message = str(error.value)
    assert "task: None is required when the model's profile cannot be read" in message
    assert "pass task=... or serving=..." in message
    # Either one settles it, and the same template comes out online and offline.
    _, explicit = picked_hub_endpoint(LLAMA8B_ID, instance_type="ml.g5.2xlarge", serving=Serving.TGI)
    assert explicit.serving is Serving.TGI


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_gated_model_unreadable_at_synth_needs_a_token_secret_even_with_an_instance() -> None:
    with pytest.raises(ConfigurationError, match="hf_token_secret") as error:
        picked_hub_endpoint(GATED_ID, task="text-generation", instance_type="ml.g5.2xlarge")
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


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_missing_repository_is_an_error_even_with_an_instance() -> None:
    with pytest.raises(ConfigurationError, match="was not found on the Hugging Face Hub"):
        picked_hub_endpoint(MISSING_ID, task="text-classification", instance_type="ml.g5.xlarge")


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_explicit_profile_sizes_s3_artifacts() -> None:
    stack = new_stack()
    profile = ModelProfile(parameters=7_000_000_000, dtype="bfloat16", task="text-classification")
    endpoint = FineTunedEndpoint(
        stack, "Tuned", model_data="s3://my-bucket/m/model.tar.gz", task="text-classification", model_profile=profile
    )
    # 14 GB of weights do not fit a 16 GiB T4 with headroom, nor a 16 GiB host.
    assert endpoint.instance_type not in ("ml.g4dn.xlarge", "ml.g5.xlarge")


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_s3_artifacts_without_profile_or_instance_use_the_default_with_a_warning() -> None:
    stack = new_stack()
    endpoint = FineTunedEndpoint(stack, "Tuned", model_data="s3://my-bucket/m/model.tar.gz", task="fill-mask")
    assert endpoint.instance_type == "ml.g5.xlarge"
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("without a check"))
    assert len(warnings) == 1


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
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
