"""``FineTunedEndpoint`` (``endpoints.fine_tuned``): a script the model directory ships, and the task it needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    ConfigurationError,
    FineTunedEndpoint,
    Serving,
)

from ..support import (
    container,
    llama_dir_with_script,
    new_stack,
    tgi_retired_warnings,
)


def test_fine_tuned_directory_shipping_a_script_is_checked_when_the_toolkit_runs_it(tmp_path: Path) -> None:
    broken = llama_dir_with_script(
        tmp_path / "broken", "def transform_fn(model, data, ct, accept):\n    pass\n\ndef predict_fn(d, m):\n    pass\n"
    )
    with pytest.raises(ConfigurationError, match="transform_fn"):
        FineTunedEndpoint(
            new_stack(), "E", model_data=str(broken), task="text-classification", instance_type="ml.g5.xlarge"
        )
    # vLLM (Serving.AUTO's pick for an LLM on a GPU) and TGI ignore code/: the endpoint builds as before, with a
    # warning that the script will not run (and, for TGI, that TGI is retired).
    for serving, runs, shown in ((Serving.AUTO, Serving.VLLM, "vLLM"), (Serving.TGI, Serving.TGI, "TGI")):
        stack = new_stack()
        endpoint = FineTunedEndpoint(
            stack, "E", model_data=str(broken), task="text-generation", instance_type="ml.g5.xlarge", serving=serving
        )
        assert endpoint.serving is runs
        warnings = Annotations.from_stack(stack).find_warning(
            "*", Match.string_like_regexp(f"is not run: {shown} ignores")
        )
        assert len(warnings) == 1
        assert len(tgi_retired_warnings(endpoint)) == (1 if serving is Serving.TGI else 0)


def test_fine_tuned_shipped_script_honours_sagemaker_program(tmp_path: Path) -> None:
    model = llama_dir_with_script(tmp_path / "m", "def predict_fn(data, model):\n    return data\n")
    (model / "code" / "serve.py").write_text("def transform_fn(model, data, ct, accept):\n    return data\n")
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "E",
        model_data=str(model),
        task="text-classification",
        instance_type="ml.g5.xlarge",
        environment={"SAGEMAKER_PROGRAM": "serve.py"},
    )
    assert container(Template.from_stack(stack))["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"


def test_local_directory_whose_task_cannot_be_inferred(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"architectures": ["BertModel"]}')
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(new_stack(), "E", model_data=str(tmp_path))
    assert "task: None must be set" in str(error.value) and "BertModel" in str(error.value)


@pytest.mark.parametrize(
    ("task", "instance_type", "serving"),
    [
        ("text-classification", "ml.g5.xlarge", Serving.AUTO),
        ("text-generation", "ml.g5.xlarge", Serving.AUTO),
        ("text-generation", "ml.g5.xlarge", Serving.INFERENCE_TOOLKIT),
        ("text-generation", "ml.inf2.xlarge", Serving.AUTO),
        ("feature-extraction", "ml.g5.xlarge", Serving.AUTO),
    ],
)
def test_the_shipped_script_is_checked_by_the_stack_the_endpoint_runs(
    tmp_path: Path, task: str, instance_type: str, serving: Serving
) -> None:
    # The script check runs before the endpoint resolves its stack; it must predict that stack exactly.
    model = llama_dir_with_script(tmp_path / "m", "def predict_fn(data, model):\n    return data\n")
    stack = new_stack()
    endpoint = FineTunedEndpoint(
        stack, "E", model_data=str(model), task=task, instance_type=instance_type, serving=serving
    )
    ignored = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("is not run: .* ignores"))
    runs = endpoint.serving_stack.runs_custom_scripts
    assert len(ignored) == (0 if runs else 1), endpoint.serving_stack.name
    if not runs:
        assert f"is not run: {endpoint.serving_stack.name} ignores" in str(ignored[0])


@pytest.mark.parametrize("task", [None, "text-classification"])
def test_a_directory_whose_config_json_is_not_json_is_named_never_a_raw_error(tmp_path: Path, task: str | None) -> None:
    model = llama_dir_with_script(tmp_path / "m", "def predict_fn(data, model):\n    return data\n")
    (model / "config.json").write_text("{not json")
    # The instance must be chosen from the profile: an error naming the file.
    with pytest.raises(ConfigurationError, match=r"config\.json' is not valid JSON"):
        FineTunedEndpoint(new_stack(), "E", model_data=str(model), task=task)
    # The instance is given: built, with the warning that the fit was not checked, naming the file.
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=str(model), task=task, instance_type="ml.g5.xlarge")
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("config.json' is not valid JSON")
    )
    assert len(warnings) == 1
