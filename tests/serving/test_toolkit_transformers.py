"""Transformers 5 in the toolkit's newest image: the default image, the models it cannot load (TensorFlow or Flax
weights only), what the profile knows of weight files, and invoke-local's warning about the local transformers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import FineTunedEndpoint, HubModelEndpoint, InferenceImage, ModelProfile
from constructs_lib.cli.local_differences import transformers_mismatch
from constructs_lib.model.local import profile_from_directory
from constructs_lib.model.weight_files import fallback_weights_bytes, weight_formats
from tests.fake_hub import FLAX_ONLY_ID, TF_ONLY_ID, TF_WEIGHTS_SIZE, FakeHub

from ..support import SST2, container, error_of, lookup, new_stack

BERT_CONFIG = {"architectures": ["BertForSequenceClassification"], "torch_dtype": "float32", "num_hidden_layers": 2}


def image_of(template: Template) -> str:
    return json.dumps(container(template)["Image"])


def flax_dir(root: Path) -> Path:
    root.mkdir()
    (root / "config.json").write_text(json.dumps(BERT_CONFIG))
    (root / "flax_model.msgpack").write_bytes(b"\0" * 4096)
    return root


def test_the_default_toolkit_image_is_the_transformers_5_one() -> None:
    stack = new_stack()
    HubModelEndpoint(stack, "E", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge")
    assert "huggingface-pytorch-inference:2.6.0-transformers5.5.3-gpu-py312-cu124-ubuntu22.04" in image_of(
        Template.from_stack(stack)
    )


@pytest.mark.parametrize(("model_id", "format_name"), [(TF_ONLY_ID, "TensorFlow"), (FLAX_ONLY_ID, "Flax")])
def test_a_hub_model_with_only_tensorflow_or_flax_weights_gets_the_newest_transformers_4_image(
    lookups_go_to_the_fake_hub: Path, model_id: str, format_name: str
) -> None:
    stack = new_stack()
    HubModelEndpoint(stack, "E", model_id=model_id, task="text-classification", instance_type="ml.g5.xlarge")
    assert "transformers4.51.3-gpu" in image_of(Template.from_stack(stack))
    Annotations.from_stack(stack).has_info(
        "*", Match.string_like_regexp(f"only {format_name} weights, which transformers 5 no longer loads.*4.51.3")
    )


def test_a_transformers_5_image_asked_for_with_such_a_model_is_an_error(lookups_go_to_the_fake_hub: Path) -> None:
    message = error_of(
        lambda: HubModelEndpoint(
            new_stack(),
            "E",
            model_id=TF_ONLY_ID,
            task="text-classification",
            instance_type="ml.g5.xlarge",
            image=InferenceImage.huggingface(transformers_version="5.5.3"),
        )
    )
    assert "image: '5.5.3' is a transformers-5 image" in message
    assert "only TensorFlow weights" in message and "transformers_version='4.51.3'" in message


def test_a_transformers_4_image_asked_for_with_such_a_model_is_fine(lookups_go_to_the_fake_hub: Path) -> None:
    stack = new_stack()
    HubModelEndpoint(
        stack,
        "E",
        model_id=TF_ONLY_ID,
        task="text-classification",
        instance_type="ml.g5.xlarge",
        image=InferenceImage.huggingface(transformers_version="4.49.0"),
    )
    assert "transformers4.49.0-gpu" in image_of(Template.from_stack(stack))


def test_a_local_directory_with_only_flax_weights_gets_transformers_4(tmp_path: Path) -> None:
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=flax_dir(tmp_path / "model"), instance_type="ml.g5.xlarge")
    assert "transformers4.51.3-gpu" in image_of(Template.from_stack(stack))


def test_the_profile_records_the_weight_formats(fake_hub: FakeHub, tmp_path: Path) -> None:
    context = tmp_path / "hub.context.json"
    first = lookup(fake_hub, TF_ONLY_ID, context)
    assert first.weight_formats == ("tensorflow",)
    assert first.weights_bytes == TF_WEIGHTS_SIZE and first.dtype == "float32"  # sized from tf_model.h5
    fake_hub.clear()
    again = lookup(fake_hub, TF_ONLY_ID, context)
    assert fake_hub.requests == [] and again == first  # read back from hub.context.json, as a tuple
    local = profile_from_directory(flax_dir(tmp_path / "flax"))
    assert local.weight_formats == ("flax",) and local.weights_bytes == 4096


def test_weight_formats_are_read_from_top_level_weight_files_only() -> None:
    names = ["model.safetensors", "pytorch_model.bin", "training_args.bin", "onnx/model.onnx", "tf_model.h5", "x.gguf"]
    assert weight_formats(names) == ("safetensors", "pytorch", "tensorflow", "gguf")
    assert weight_formats(["onnx/tf_model.h5", "optimizer.bin", "README.md"]) == ()
    assert fallback_weights_bytes([("tf_model.h5", 10), ("flax_model.msgpack", 20)]) == 10
    assert fallback_weights_bytes([("pytorch_model.bin", 5), ("adapter.bin", 7)]) == 5


def test_an_unknown_weight_format_is_a_clear_error() -> None:
    message = error_of(lambda: ModelProfile(parameters=1000, weight_formats=("onnx",)))
    assert "model_profile.weight_formats: ('onnx',)" in message and "allowed: flax, gguf, pytorch" in message


@pytest.mark.local_extra
def test_invoke_local_warns_when_the_image_runs_another_transformers_major(tmp_path: Path) -> None:
    from importlib.metadata import version

    local = version("transformers")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(BERT_CONFIG))
    (model / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    warning = transformers_mismatch(model, None)  # the default image: transformers 5.5.3
    if local.startswith("5."):
        assert warning is None
    else:
        assert warning is not None and "transformers 5.5.3" in warning and f"transformers {local}" in warning
    assert transformers_mismatch(model, f"{local.split('.')[0]}.0.0") is None
    # A Flax-only model runs on the newest transformers-4 image: the same major as a transformers-4 machine.
    flax = transformers_mismatch(flax_dir(tmp_path / "flax"), None)
    assert (flax is None) == local.startswith("4.")
