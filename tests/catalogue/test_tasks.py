"""Pipeline tasks (``catalogue.tasks``): known tasks, and a task must fit the model's architecture.

Before the architecture checks, SST-2 with ``task="text-generation"`` went to TGI; it synthesized and
failed at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    ConfigurationError,
    FineTunedEndpoint,
    HubModelEndpoint,
    ModelProfile,
    Serving,
)
from constructs_lib.catalogue.tasks import (
    inferred_task_problem,
    task_architecture_problem,
    task_modality,
    task_modality_problem,
    untrained_head_warning,
)

from ..support import (
    SST2,
    hub_endpoint,
    hub_error,
    new_stack,
    warnings_of,
)

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"  # Qwen2ForCausalLM


def test_unknown_task() -> None:
    message = hub_error(task="text-clasification")
    assert "task: 'text-clasification' is not a known Hugging Face task" in message
    assert "text-classification" in message


@pytest.mark.parametrize("task", ["translation_", "translation_garbage", "translation_en_fr", "translation_en_to_"])
def test_translation_task_needs_a_language_pair(task: str) -> None:
    assert f"task: {task!r} is not a known Hugging Face task" in hub_error(task=task)


def test_translation_language_pair_is_accepted() -> None:
    endpoint = HubModelEndpoint(
        new_stack(),
        "Endpoint",
        model_id="google-t5/t5-small",
        task="translation_en_to_fr",
        instance_type="ml.g5.xlarge",
    )
    assert endpoint.task == "translation_en_to_fr"


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


def test_the_tasks_a_classifier_serves_are_accepted() -> None:
    for task in ("text-classification", "sentiment-analysis", "feature-extraction", "zero-shot-classification"):
        endpoint = hub_endpoint(SST2, task=task)
        assert endpoint.task == task
        assert not warnings_of(endpoint, "randomly initialised head")


def test_classification_task_on_a_language_model_warns() -> None:
    endpoint = hub_endpoint(QWEN, task="text-classification")
    found = warnings_of(endpoint, "Qwen2ForCausalLM is a language model")
    assert len(found) == 1
    assert "constructs-lib:task-architecture" in json.dumps(found[0].entry.data)
    # Generation and embeddings of the same model are what it is for: no warning.
    assert not warnings_of(hub_endpoint(QWEN, task="text-generation"), "is a language model")
    assert not warnings_of(hub_endpoint(QWEN, task="feature-extraction"), "is a language model")


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


@pytest.mark.parametrize(
    ("task", "modality"),
    [
        ("text-classification", "text"),
        ("translation_en_to_fr", "text"),
        ("sentiment-analysis", "text"),  # an alias, as its pipeline task
        ("image-classification", "image"),
        ("text-to-image", "image"),  # what the model must produce
        ("automatic-speech-recognition", "audio"),
        ("text-to-speech", "audio"),
        ("video-classification", "video"),
        ("document-question-answering", None),  # LayoutLM (v1) answers it from text
    ],
)
def test_each_task_names_the_modality_it_needs(task: str, modality: str | None) -> None:
    assert task_modality(task) == modality


def test_a_task_is_held_against_the_modalities_only_when_both_are_known() -> None:
    assert task_modality_problem("image-classification", ("text",)) is not None
    assert task_modality_problem("image-classification", ("text", "image")) is None
    assert task_modality_problem("image-classification", None) is None
    assert task_modality_problem(None, ("text",)) is None
    # The modality check comes first: a classifier head says nothing about an image task on a text model.
    problem = task_architecture_problem("image-classification", "DistilBertForSequenceClassification", ("text",))
    assert problem is not None and "handles image" in problem
