"""What a checkpoint handles (``model.modalities``), read from config.json, its sub-configs and its files; and the
synth error for a task of another modality, from a local directory, the fake Hub, a given profile or a cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError, FineTunedEndpoint, HubModelEndpoint, ModelProfile, ModelVariant
from constructs_lib.model.local import profile_from_directory
from constructs_lib.model.modalities import checkpoint_modalities

from ..fake_hub import BERT_ID, VIT_ID, WHISPER_ID, FakeHub, safetensors_bytes
from ..support import SST2, error_of, lookup, new_stack

# Shapes of real config.json files (keys that matter here), as transformers writes them.
DISTILBERT = {"architectures": ["DistilBertForSequenceClassification"], "model_type": "distilbert", "vocab_size": 30522}
VIT = {"architectures": ["ViTForImageClassification"], "model_type": "vit", "image_size": 224, "num_channels": 3}
WHISPER = {"architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper", "vocab_size": 51865}
WAV2VEC2_CTC = {"architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2", "vocab_size": 32}
CLIP = {"architectures": ["CLIPModel"], "model_type": "clip", "text_config": {}, "vision_config": {}}
LLAVA_NEXT_LIKE = {"architectures": ["MyVlmForConditionalGeneration"], "model_type": "my_vlm",
                   "text_config": {"vocab_size": 32064}, "vision_config": {"image_size": 336}}  # fmt: skip
OLD_LLAVA_LIKE = {"architectures": ["MyLlavaForCausalLM"], "model_type": "my_llava", "vocab_size": 32000,
                  "vision_config": {"image_size": 336}}  # fmt: skip
UNLISTED_TEXT = {"architectures": ["NewLmForCausalLM"], "model_type": "new_lm", "vocab_size": 50000}
UNLISTED_IMAGE = {"architectures": ["NewNetForImageClassification"], "model_type": "new_net"}


@pytest.mark.parametrize(
    ("config", "files", "expected"),
    [
        (DISTILBERT, ["config.json", "model.safetensors", "vocab.txt"], ("text",)),
        (VIT, ["config.json", "preprocessor_config.json"], ("image",)),
        (WHISPER, ["config.json", "tokenizer.json", "preprocessor_config.json"], ("audio",)),
        (WAV2VEC2_CTC, ["config.json", "vocab.json"], ("audio",)),  # a CTC vocabulary is output, not input
        (CLIP, ["config.json"], ("text", "image")),
        (LLAVA_NEXT_LIKE, ["config.json"], ("text", "image")),
        (OLD_LLAVA_LIKE, ["config.json"], ("text", "image")),  # the vocabulary at the top level is the LLM's
        (UNLISTED_TEXT, ["config.json", "model.safetensors"], ("text",)),
        (UNLISTED_IMAGE, ["config.json"], None),  # no vocabulary, no processor: not enough to decide
        (UNLISTED_TEXT, None, None),  # without the file list, an image processor beside it cannot be ruled out
        ({}, ["config.json"], None),
    ],
)
def test_modalities_from_config_and_files(
    config: dict[str, Any], files: list[str] | None, expected: tuple[str, ...] | None
) -> None:
    assert checkpoint_modalities(config, files) == expected


@pytest.mark.parametrize(
    ("processor", "expected"),
    [
        ({"image_processor_type": "NewNetImageProcessor"}, ("image",)),
        ({"feature_extractor_type": "NewNetFeatureExtractor", "image_mean": [0.5]}, ("image",)),  # pre-4.26 naming
        ({"feature_extractor_type": "NewSpeechFeatureExtractor", "sampling_rate": 16000}, ("audio",)),
        ({"processor_class": "NewProcessor"}, None),  # says nothing about what it processes
        (None, None),  # shipped but unreadable
    ],
)
def test_an_unlisted_family_is_told_by_what_its_processor_processes(
    processor: dict[str, Any] | None, expected: tuple[str, ...] | None
) -> None:
    files = ["config.json", "preprocessor_config.json"]
    assert checkpoint_modalities(UNLISTED_IMAGE, files, processor) == expected


def test_a_text_model_that_ships_a_processor_is_not_taken_for_text_only() -> None:
    files = ["config.json", "preprocessor_config.json"]
    assert checkpoint_modalities(UNLISTED_TEXT, files, None) is None
    assert checkpoint_modalities(UNLISTED_TEXT, files, {"sampling_rate": 16000}) == ("text", "audio")


def _model_dir(root: Path, config: dict[str, Any], **files: bytes) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(config))
    (root / "model.safetensors").write_bytes(safetensors_bytes({"w": ("F32", [8, 8])}))
    for name, content in files.items():
        (root / name.replace("__", ".")).write_bytes(content)
    return root


def test_a_local_directory_profile_has_its_modalities(tmp_path: Path) -> None:
    text = _model_dir(tmp_path / "text", DISTILBERT)
    image = _model_dir(tmp_path / "image", UNLISTED_IMAGE, preprocessor_config__json=b'{"image_mean": [0.5]}')
    assert profile_from_directory(text).modalities == ("text",)
    assert profile_from_directory(image).modalities == ("image",)


@pytest.mark.parametrize("task", ["image-classification", "automatic-speech-recognition", "text-to-image"])
def test_an_image_audio_or_video_task_on_a_text_checkpoint_is_a_synth_error(tmp_path: Path, task: str) -> None:
    directory = _model_dir(tmp_path / "distilbert", DISTILBERT)
    message = error_of(
        lambda: FineTunedEndpoint(new_stack(), "Tuned", model_data=directory, task=task, instance_type="ml.g5.xlarge")
    )
    needed = "audio" if task == "automatic-speech-recognition" else "image"
    assert f"task: {task!r} cannot run on this model: the task needs a model that handles {needed}" in message
    assert "the checkpoint handles text only" in message


@pytest.mark.parametrize(
    ("config", "extra", "task", "handles"),
    [
        (VIT, {"preprocessor_config__json": b"{}"}, "text-classification", "image"),
        (VIT, {"preprocessor_config__json": b"{}"}, "feature-extraction", "image"),
        (WHISPER, {"tokenizer__json": b"{}"}, "text-generation", "audio"),
        (WAV2VEC2_CTC, {}, "fill-mask", "audio"),
    ],
)
def test_a_text_task_on_a_vision_or_audio_checkpoint_is_a_synth_error(
    tmp_path: Path, config: dict[str, Any], extra: dict[str, bytes], task: str, handles: str
) -> None:
    directory = _model_dir(tmp_path / "model", config, **extra)
    message = error_of(
        lambda: FineTunedEndpoint(new_stack(), "Tuned", model_data=directory, task=task, instance_type="ml.g5.xlarge")
    )
    assert f"task: {task!r} cannot run on this model: the task needs a model that handles text" in message
    assert f"the checkpoint handles {handles} only" in message


@pytest.mark.parametrize(
    ("config", "extra", "task"),
    [
        (VIT, {}, "image-classification"),
        (WHISPER, {}, "automatic-speech-recognition"),
        (WAV2VEC2_CTC, {}, "automatic-speech-recognition"),
        (CLIP, {}, "zero-shot-image-classification"),
        (LLAVA_NEXT_LIKE, {}, "image-text-to-text"),
        (DISTILBERT, {}, "text-classification"),
        (DISTILBERT, {}, "document-question-answering"),  # LayoutLM-style models answer from OCR'd text
    ],
)
def test_a_task_of_the_checkpoints_modality_builds(
    tmp_path: Path, config: dict[str, Any], extra: dict[str, bytes], task: str
) -> None:
    directory = _model_dir(tmp_path / "model", config, **extra)
    endpoint = FineTunedEndpoint(new_stack(), "Tuned", model_data=directory, task=task, instance_type="ml.g5.xlarge")
    assert endpoint.task == task


def test_the_hub_lookup_reads_the_modalities(fake_hub: FakeHub, tmp_path: Path) -> None:
    context = tmp_path / "hub.context.json"
    assert lookup(fake_hub, BERT_ID, context).modalities == ("text",)
    assert lookup(fake_hub, VIT_ID, context).modalities == ("image",)
    assert lookup(fake_hub, WHISPER_ID, context).modalities == ("audio",)
    cached = json.loads(context.read_text())
    assert cached[f"hub:{VIT_ID}@main"]["modalities"] == ["image"]  # cached with the rest of the profile


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_a_hub_model_of_another_modality_is_a_synth_error() -> None:
    message = error_of(lambda: HubModelEndpoint(new_stack(), "Vit", model_id=VIT_ID, task="text-generation"))
    assert "task: 'text-generation' cannot run on this model" in message
    assert "the checkpoint handles image only" in message
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(), "Bert", model_id=BERT_ID, task="image-classification", instance_type="ml.g5.xlarge"
        )
    )
    assert "the task needs a model that handles image, and the checkpoint handles text only" in message


@pytest.mark.usefixtures("lookups_go_to_the_fake_hub")
def test_hf_task_in_the_environment_and_a_variants_task_get_the_same_check() -> None:
    text = ModelProfile(parameters=66_955_010, dtype="float32", modalities=("text",))
    message = error_of(
        lambda: FineTunedEndpoint(
            new_stack(),
            "Tuned",
            model_data="s3://my-bucket/models/model.tar.gz",
            model_profile=text,
            instance_type="ml.g5.xlarge",
            environment={"HF_TASK": "automatic-speech-recognition"},
        )
    )
    assert "environment['HF_TASK']: 'automatic-speech-recognition' cannot run on this model" in message
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "Bert",
            model_id=BERT_ID,
            task="text-classification",
            instance_type="ml.g5.xlarge",
            variants=[ModelVariant(name="vit", model_id=VIT_ID)],
        )
    )
    assert "variants['vit'].task: 'text-classification' (the endpoint's task) cannot run on this model" in message


def test_a_given_profile_with_modalities_is_checked_and_one_without_is_not() -> None:
    vision = ModelProfile(parameters=86_000_000, dtype="float32", modalities=("image",))
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "Vit",
            model_id="google/vit-base-patch16-224",
            task="summarization",
            model_profile=vision,
            instance_type="ml.g5.xlarge",
        )
    )
    assert "task: 'summarization' cannot run on this model" in message
    unknown = ModelProfile(parameters=86_000_000, dtype="float32")
    endpoint = HubModelEndpoint(
        new_stack(),
        "Vit",
        model_id="google/vit-base-patch16-224",
        task="summarization",
        model_profile=unknown,
        instance_type="ml.g5.xlarge",
    )
    assert endpoint.model_profile is not None and endpoint.model_profile.modalities is None


def test_cached_profiles_from_before_modalities_are_not_checked() -> None:
    """The committed hub.context.json entries predate the field: they load, and nothing is held against them."""
    endpoint = HubModelEndpoint(
        new_stack(), "Sst2", model_id=SST2, task="image-classification", instance_type="ml.g5.xlarge"
    )
    assert endpoint.model_profile is not None and endpoint.model_profile.modalities is None


@pytest.mark.parametrize("value", [("image", "smell"), "image", 3, ("text", None)])
def test_modalities_must_be_a_list_of_known_modalities(value: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"model_profile\.modalities: .* is not a list of modalities"):
        ModelProfile(parameters=1, modalities=value)


def test_modalities_read_back_from_json_are_a_tuple() -> None:
    profile = ModelProfile.from_json({"parameters": 5, "modalities": ["text", "image"]})
    assert profile.modalities == ("text", "image")
    assert ModelProfile.from_json(profile.to_json()) == profile
