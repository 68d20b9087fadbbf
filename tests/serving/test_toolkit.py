"""The Hugging Face inference toolkit (``serving.toolkit``): its image versions, server settings, pipeline tasks,
float32 loading and Inferentia input shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
    Serving,
    plan_deployment,
)
from constructs_lib.sizing.planner import served_weights_gib

from ..fake_hub import (
    LLAMA8B_ID,
    MIXTRAL_ID,
)
from ..support import (
    SST2,
    hub_error,
    llama_dir_with_script,
    new_stack,
    write_script,
)

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PROFILE = ModelProfile(parameters=22_713_216, dtype="float32", task="sentence-similarity")


def _neuron_warnings(stack: Any) -> list[Any]:
    return Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("neuron input shapes"))


def _hub_on_inf2(environment: dict[str, str] | None = None) -> Any:
    stack = new_stack()
    HubModelEndpoint(
        stack, "E", model_id=SST2, task="text-classification", instance_type="ml.inf2.xlarge", environment=environment
    )
    return stack


def test_transformers_version_not_in_the_catalogue() -> None:
    with pytest.raises(ConfigurationError) as error:
        InferenceImage.huggingface(transformers_version="4.99.0")
    message = str(error.value)
    assert "transformers_version: '4.99.0'" in message
    assert "4.51.3" in message


def test_pytorch_version_not_paired_with_transformers_version() -> None:
    with pytest.raises(ConfigurationError) as error:
        InferenceImage.huggingface(transformers_version="4.51.3", pytorch_version="1.13.1")
    message = str(error.value)
    assert "pytorch_version: '1.13.1'" in message
    assert "2.6.0" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60s"),
        ("SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS", "1.5"),
        ("SAGEMAKER_STARTUP_TIMEOUT", "ten minutes"),
        ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "6MB"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "0"),
    ],
)
def test_toolkit_server_settings_must_be_whole_numbers(key: str, value: str) -> None:
    # sagemaker_inference.environment.Environment() calls int() on them when the container starts.
    message = hub_error(task="text-classification", environment={key: value})
    assert f"environment[{key!r}]: {value!r} must be a whole number above 0" in message


def test_toolkit_server_settings_that_parse_build() -> None:
    settings = {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "120", "SAGEMAKER_MODEL_SERVER_WORKERS": "2"}
    endpoint = HubModelEndpoint(
        new_stack(), "E", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge", environment=settings
    )
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT


def test_sentence_similarity_on_the_toolkit_fails_the_synth() -> None:
    # transformers has no 'sentence-similarity' pipeline: the toolkit's default model_fn dies with "Unknown task".
    message = hub_error(
        model_id=MINILM, task="sentence-similarity", serving=Serving.INFERENCE_TOOLKIT, model_profile=MINILM_PROFILE
    )
    assert "task: 'sentence-similarity' is a Hub pipeline tag, not a transformers pipeline" in message
    assert "serve it with Serving.TEI" in message and "task='feature-extraction'" in message
    # Serving.AUTO serves it with TEI, and the toolkit serves the pipeline that exists.
    HubModelEndpoint(new_stack(), "Auto", model_id=MINILM, instance_type="ml.g5.xlarge", model_profile=MINILM_PROFILE)
    HubModelEndpoint(
        new_stack(),
        "Toolkit",
        model_id=MINILM,
        task="feature-extraction",
        serving=Serving.INFERENCE_TOOLKIT,
        instance_type="ml.g5.xlarge",
        model_profile=MINILM_PROFILE,
    )


def test_script_without_model_fn_cannot_inherit_a_tei_only_pipeline_tag(tmp_path: Path) -> None:
    code = write_script(tmp_path / "code", "def predict_fn(data, model):\n    return model(data)\n")
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(
            new_stack(), "E", code_dir=code, model_id=MINILM, instance_type="ml.g5.xlarge", model_profile=MINILM_PROFILE
        )
    assert "task: 'sentence-similarity' (the model's pipeline tag on the Hub) is a Hub pipeline tag" in str(error.value)
    # A model_fn of the script's own loads the model: HF_TASK is not used to build a pipeline.
    write_script(
        code,
        "from sentence_transformers import SentenceTransformer\n\n"
        "def model_fn(model_dir):\n    return SentenceTransformer(model_dir)\n\n"
        "def predict_fn(data, model):\n    return model.encode(data['inputs'])\n",
    )
    CustomScriptEndpoint(
        new_stack(), "E", code_dir=code, model_id=MINILM, instance_type="ml.g5.xlarge", model_profile=MINILM_PROFILE
    )


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("text_classification", "is not a known Hugging Face task"),
        ("sentence-similarity", "is a Hub pipeline tag, not a transformers pipeline"),
    ],
)
def test_hf_task_in_environment_gets_the_task_checks(task: str, expected: str) -> None:
    # The SageMaker SDK's way of giving the task: env={"HF_TASK": ...}.
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "E",
            model_data="s3://my-bucket/m/model.tar.gz",
            instance_type="ml.g5.xlarge",
            environment={"HF_TASK": task},
        )
    assert f"environment['HF_TASK']: {task!r} {expected}" in str(error.value)
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "E",
        model_data="s3://my-bucket/m/model.tar.gz",
        instance_type="ml.g5.xlarge",
        environment={"HF_TASK": "sentiment-analysis"},
    )


def test_toolkit_uses_one_gpu_even_on_multi_gpu_instances(profiles: dict[str, ModelProfile]) -> None:
    with pytest.raises(ConfigurationError, match=re.escape("one A10G has 22.4 GiB usable")):
        plan_deployment(profiles[MIXTRAL_ID], serving="inference-toolkit", instance_type="ml.g5.48xlarge")


def test_toolkit_default_handler_is_sized_in_float32(profiles: dict[str, ModelProfile]) -> None:
    llama = profiles[LLAMA8B_ID]
    stored = llama.weights_gib()
    assert served_weights_gib(llama, serving="inference-toolkit") == pytest.approx(2 * stored)
    # A custom model_fn chooses the dtype itself: sized as stored.
    assert served_weights_gib(llama, serving="inference-toolkit", custom_script=True) == pytest.approx(stored)
    assert served_weights_gib(llama, serving="tgi") == pytest.approx(stored)
    plan = plan_deployment(llama, serving="inference-toolkit", instance_type="ml.g6e.2xlarge")
    assert "loaded in float32 by the toolkit's default handler" in plan.summary
    scripted = plan_deployment(llama, serving="inference-toolkit", instance_type="ml.g6.2xlarge", custom_script=True)
    assert scripted.fit.fits and "model_fn decides the dtype" in scripted.summary
    with pytest.raises(ConfigurationError, match="loaded in float32"):
        plan_deployment(llama, serving="inference-toolkit", instance_type="ml.g6.2xlarge")


def test_inferentia_without_input_shapes_warns_for_hub_models() -> None:
    warnings = _neuron_warnings(_hub_on_inf2())
    assert len(warnings) == 1
    assert "set environment HF_OPTIMUM_SEQUENCE_LENGTH" in json.dumps(warnings[0].entry.data)
    assert _neuron_warnings(_hub_on_inf2({"HF_OPTIMUM_SEQUENCE_LENGTH": "128", "HF_OPTIMUM_BATCH_SIZE": "4"})) == []
    with pytest.raises(
        ConfigurationError, match=r"environment\['HF_OPTIMUM_SEQUENCE_LENGTH'\]: '0' must be a positive"
    ):
        _hub_on_inf2({"HF_OPTIMUM_SEQUENCE_LENGTH": "0"})


def test_inferentia_needs_the_shapes_of_a_local_model(tmp_path: Path) -> None:
    model = llama_dir_with_script(tmp_path / "m", "def predict_fn(data, model):\n    return data\n")
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(), "E", model_data=str(model), task="text-classification", instance_type="ml.inf2.xlarge"
        )
    assert f"model_data: {str(model)!r} has no neuron input shapes in config.json" in str(error.value)
    # An optimum-neuron export records the shapes it was compiled for.
    config = json.loads((model / "config.json").read_text())
    config["neuron"] = {"static_batch_size": 1, "static_sequence_length": 128}
    (model / "config.json").write_text(json.dumps(config))
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=str(model), task="text-classification", instance_type="ml.inf2.xlarge")
    assert _neuron_warnings(stack) == []
