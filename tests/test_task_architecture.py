"""A task must fit the model's architecture, and Serving.AUTO must pick a server that loads it.

Before these checks, SST-2 with ``task="text-generation"`` went to TGI and GPT-2 with
``task="feature-extraction"`` went to TEI; both synthesized and failed at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    ModelProfile,
    Serving,
)
from constructs_lib.catalogue.tasks import (
    inferred_task_problem,
    task_architecture_problem,
    untrained_head_warning,
)
from constructs_lib.serving import tei
from constructs_lib.serving.base import AutoRequest
from constructs_lib.serving.registry import auto_stack
from constructs_lib.sizing.planner import serving_stack

from .support import SST2, container, new_stack, synth

BGE = "BAAI/bge-small-en-v1.5"  # BertModel, cached in tests/data/hub.context.json
QWEN = "Qwen/Qwen2.5-0.5B-Instruct"  # Qwen2ForCausalLM


def hub_endpoint(model_id: str, **props: Any) -> HubModelEndpoint:
    props.setdefault("instance_type", "ml.g5.xlarge")
    return HubModelEndpoint(new_stack(), "Endpoint", model_id=model_id, **props)


def hub_error(model_id: str, **props: Any) -> str:
    with pytest.raises(ConfigurationError) as error:
        hub_endpoint(model_id, **props)
    return str(error.value)


def fallback_notes(endpoint: HubModelEndpoint) -> list[Any]:
    """The info AUTO leaves when it serves embeddings with the toolkit because TEI does not load the model."""
    found: list[Any] = Annotations.from_stack(Stack.of(endpoint)).find_info(
        "*", Match.string_like_regexp("TEI does not load")
    )
    return found


def warnings(endpoint: HubModelEndpoint, pattern: str) -> list[Any]:
    found: list[Any] = Annotations.from_stack(Stack.of(endpoint)).find_warning("*", Match.string_like_regexp(pattern))
    return found


@pytest.mark.parametrize("task", ["text-generation", "summarization", "translation_en_to_fr", "text2text-generation"])
def test_generative_task_on_a_classifier_is_an_error(task: str) -> None:
    message = hub_error(SST2, task=task)
    assert f"task: {task!r} cannot be served with this model" in message
    assert "DistilBertForSequenceClassification has a classifier head" in message
    assert "(text-classification)" in message  # what the model was trained for


def test_generative_task_on_a_classifier_is_an_error_without_instance_type() -> None:
    # Before the fix, AUTO sized SST-2 for TGI and picked a GPU for it.
    with pytest.raises(ConfigurationError, match="cannot be served with this model"):
        HubModelEndpoint(new_stack(), "Endpoint", model_id=SST2, task="text-generation")


def test_hf_task_in_environment_is_held_against_the_architecture() -> None:
    # The SageMaker SDK's way of giving a task, for a fine-tuned classifier in S3.
    classifier = ModelProfile(
        parameters=66_000_000, dtype="float32", architecture="DistilBertForSequenceClassification"
    )
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "Endpoint",
            model_data="s3://my-bucket/m/model.tar.gz",
            model_profile=classifier,
            instance_type="ml.g5.xlarge",
            environment={"HF_TASK": "text-generation"},
        )
    assert "environment['HF_TASK']: 'text-generation' cannot be served with this model" in str(error.value)


def test_a_script_that_loads_the_model_may_use_any_task(tmp_path: Path) -> None:
    (tmp_path / "inference.py").write_text(
        "def model_fn(model_dir):\n    return None\n\n\ndef predict_fn(data, model):\n    return data\n"
    )
    endpoint = CustomScriptEndpoint(
        new_stack(), "Endpoint", code_dir=tmp_path, model_id=SST2, task="text-generation", instance_type="ml.g5.xlarge"
    )
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT


def test_the_tasks_a_classifier_serves_are_accepted() -> None:
    for task in ("text-classification", "sentiment-analysis", "feature-extraction", "zero-shot-classification"):
        endpoint = hub_endpoint(SST2, task=task)
        assert endpoint.task == task
        assert not warnings(endpoint, "randomly initialised head")


def test_classification_task_on_a_language_model_warns() -> None:
    endpoint = hub_endpoint(QWEN, task="text-classification")
    found = warnings(endpoint, "Qwen2ForCausalLM is a language model")
    assert len(found) == 1
    assert "constructs-lib:task-architecture" in json.dumps(found[0].entry.data)
    # Generation and embeddings of the same model are what it is for: no warning.
    assert not warnings(hub_endpoint(QWEN, task="text-generation"), "is a language model")
    assert not warnings(hub_endpoint(QWEN, task="feature-extraction"), "is a language model")


def test_auto_serves_embeddings_of_an_architecture_tei_cannot_load_with_the_toolkit() -> None:
    endpoint = hub_endpoint("gpt2", task="feature-extraction")
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT
    assert "huggingface-pytorch-inference" in endpoint.image_uri
    infos = fallback_notes(endpoint)
    assert len(infos) == 1 and "GPT2LMHeadModel" in json.dumps(infos[0].entry.data)
    template = synth(lambda stack: HubModelEndpoint(stack, "E", model_id="gpt2", task="feature-extraction"))
    assert container(template)["Environment"]["HF_TASK"] == "feature-extraction"


def test_auto_keeps_tei_for_the_families_it_loads() -> None:
    endpoint = hub_endpoint(BGE, task="feature-extraction")
    assert endpoint.serving is Serving.TEI
    assert not warnings(endpoint, "Text Embeddings Inference loads")
    infos = fallback_notes(endpoint)
    assert infos == []


def test_explicit_toolkit_for_embeddings_gets_no_fallback_note() -> None:
    endpoint = hub_endpoint(BGE, task="feature-extraction", serving=Serving.INFERENCE_TOOLKIT)
    infos = fallback_notes(endpoint)
    assert infos == []


def test_explicit_tei_on_an_architecture_it_does_not_load_warns() -> None:
    endpoint = hub_endpoint("gpt2", task="feature-extraction", serving=Serving.TEI)
    assert endpoint.serving is Serving.TEI  # asked for: warned, not overridden
    found = warnings(endpoint, "GPT2LMHeadModel")
    assert len(found) == 1 and "constructs-lib:tei-architecture" in json.dumps(found[0].entry.data)


def test_the_preview_resolves_as_the_construct_does() -> None:
    gpt2 = ModelProfile(
        parameters=124_000_000, dtype="float32", task="feature-extraction", architecture="GPT2LMHeadModel"
    )
    bert = ModelProfile(parameters=33_000_000, dtype="float32", task="feature-extraction", architecture="BertModel")
    assert serving_stack("auto", gpt2).key == "inference-toolkit"
    assert serving_stack("auto", bert).key == "tei"
    assert serving_stack("tei", gpt2).key == "tei"


@pytest.mark.parametrize(
    ("task", "architecture", "serving"),
    [
        ("feature-extraction", None, "tei"),  # unknown architecture: the task decides
        ("feature-extraction", "XLMRobertaModel", "tei"),
        ("feature-extraction", "NewModel", "tei"),
        ("feature-extraction", "T5EncoderModel", "inference-toolkit"),
        ("feature-extraction", "LlamaForCausalLM", "inference-toolkit"),
        # The toolkit has no sentence-similarity pipeline: TEI stays the only choice (and warns).
        ("sentence-similarity", "T5EncoderModel", "tei"),
        ("text-generation", "LlamaForCausalLM", "tgi"),
    ],
)
def test_default_serving_table(task: str, architecture: str | None, serving: str) -> None:
    assert _auto_key(task, architecture) == serving


@pytest.mark.parametrize(
    ("architecture", "loads"),
    [
        (None, True),
        ("BertModel", True),
        ("NomicBertModel", True),
        ("MPNetForMaskedLM", True),
        ("Qwen3Model", True),
        ("GPT2LMHeadModel", False),
        ("T5EncoderModel", False),
    ],
)
def test_tei_families(architecture: str | None, loads: bool) -> None:
    assert tei.loads(architecture) is loads


def test_task_architecture_problem_needs_both() -> None:
    assert task_architecture_problem(None, "BertForSequenceClassification") is None
    assert task_architecture_problem("text-generation", None) is None
    assert task_architecture_problem("text-generation", "BertForTokenClassification") is not None
    assert task_architecture_problem("text-generation", "LlamaForCausalLM") is None


@pytest.mark.parametrize(
    ("architecture", "expected"),
    [
        ("BertForMultipleChoice", "infers task 'multiple-choice' from architecture BertForMultipleChoice"),
        ("WhisperForConditionalGeneration", "served as 'automatic-speech-recognition'"),
        ("LlavaForConditionalGeneration", "served as 'image-text-to-text'"),
        ("VisionEncoderDecoderModel", "served as 'image-to-text'"),
    ],
)
def test_local_directory_whose_inferred_task_cannot_load(tmp_path: Path, architecture: str, expected: str) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": [architecture]}))
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(new_stack(), "E", model_data=str(tmp_path), instance_type="ml.g5.xlarge")
    message = str(error.value)
    assert "task: None must be set" in message and expected in message


@pytest.mark.parametrize(
    "architecture", ["BartForConditionalGeneration", "T5ForConditionalGeneration", "MarianMTModel", "GPT2LMHeadModel"]
)
def test_inferred_text_tasks_are_accepted(architecture: str) -> None:
    assert inferred_task_problem(architecture) is None


@pytest.mark.parametrize(
    "architecture", ["XLMWithLMHeadModel", "FlaubertWithLMHeadModel", "BartForConditionalGeneration"]
)
def test_fill_mask_on_models_whose_masked_lm_head_is_trained_does_not_warn(architecture: str) -> None:
    assert untrained_head_warning("fill-mask", architecture) is None
    assert untrained_head_warning("fill-mask", "LlamaForCausalLM") is not None


def test_hf_task_in_environment_gets_the_untrained_head_warning() -> None:
    language_model = ModelProfile(parameters=500_000_000, dtype="bfloat16", architecture="Qwen2ForCausalLM")
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Endpoint",
        model_data="s3://my-bucket/m/model.tar.gz",
        model_profile=language_model,
        instance_type="ml.g5.xlarge",
        serving=Serving.INFERENCE_TOOLKIT,
        environment={"HF_TASK": "text-classification"},
    )
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("is a language model"))
    assert len(found) == 1


def test_a_classifier_trained_for_no_pipeline_task_is_not_suggested() -> None:
    problem = task_architecture_problem("text-generation", "BertForMultipleChoice")
    assert problem is not None and "multiple-choice" not in problem and "pipeline tag on the Hub" in problem


@pytest.mark.parametrize(
    "architecture",
    ["Qwen2VLForConditionalGeneration", "Mistral3ForConditionalGeneration", "Gemma3ForConditionalGeneration"],
)
def test_vision_language_models_of_tei_families_are_not_taken_for_tei_models(architecture: str) -> None:
    assert not tei.loads(architecture)
    assert _auto_key("feature-extraction", architecture) == "inference-toolkit"


@pytest.mark.parametrize(
    ("architecture", "config", "expected"),
    [
        ("Florence2ForConditionalGeneration", {}, "'image-to-text'"),
        ("InstructBlipForConditionalGeneration", {}, "'image-to-text'"),
        ("MoonshineForConditionalGeneration", {}, "'automatic-speech-recognition'"),
        # A family not listed, told by its config.json.
        ("NewVlmForConditionalGeneration", {"vision_config": {}}, "'image-text-to-text'"),
        ("NewAsrForConditionalGeneration", {"audio_config": {}}, "'automatic-speech-recognition'"),
    ],
)
def test_multimodal_models_are_not_taken_for_text_to_text(
    architecture: str, config: dict[str, Any], expected: str
) -> None:
    problem = inferred_task_problem(architecture, config)
    assert problem is not None and f"served as {expected}" in problem
    assert inferred_task_problem("T5ForConditionalGeneration", {"d_model": 512}) is None


def _auto_key(task: str | None, architecture: str | None = None) -> str:
    """The serving stack Serving.AUTO picks for a model without a custom script, by its Serving value."""
    return auto_stack(AutoRequest(task=task, architecture=architecture)).key
