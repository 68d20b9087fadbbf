"""``CustomScriptEndpoint`` (``endpoints.custom_script``): the entry point, ``code_dir`` and the model source."""

from __future__ import annotations

from pathlib import Path

import pytest

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
)

from ..support import (
    SST2,
    TUNED_URI,
    container,
    new_stack,
    synth,
    write_script,
)


def test_custom_script_sets_sagemaker_program_and_ships_code(handlers_code_dir: Path) -> None:
    template = synth(lambda s: CustomScriptEndpoint(s, "E", code_dir=handlers_code_dir, model_id=SST2))

    env = container(template)["Environment"]
    assert env["HF_MODEL_ID"] == SST2
    assert env["SAGEMAKER_PROGRAM"] == "inference.py"
    assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    # The script travels in a code-only archive: without it the toolkit would ignore the script.
    assert "ModelDataUrl" in container(template)


def test_custom_script_entry_point_name_is_configurable(handlers_code_dir: Path) -> None:
    (handlers_code_dir / "serve.py").write_text(
        "def transform_fn(model, data, content_type, accept):\n    return data\n"
    )
    template = synth(
        lambda s: CustomScriptEndpoint(s, "E", code_dir=handlers_code_dir, entry_point="serve.py", model_data=TUNED_URI)
    )
    assert container(template)["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"


def test_custom_entry_point_alone_is_repacked_into_an_s3_archive(tmp_path: Path) -> None:
    # No inference.py at all: the toolkit imports SAGEMAKER_PROGRAM, so serve.py is enough.
    code = write_script(
        tmp_path / "code", "def transform_fn(model, data, content_type, accept):\n    return data\n", "serve.py"
    )
    template = synth(
        lambda s: CustomScriptEndpoint(
            s, "E", code_dir=code, entry_point="serve.py", model_data=TUNED_URI, instance_type="ml.g5.xlarge"
        )
    )
    assert container(template)["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"
    template.resource_count_is("Custom::ScriptRepack", 1)


@pytest.mark.parametrize(
    ("sources", "word"),
    [({"model_data": "s3://my-bucket/m/model.tar.gz", "model_id": SST2}, "both"), ({}, "neither")],
)
def test_custom_script_needs_exactly_one_model_source(code_dir: Path, sources: dict[str, str], word: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, **sources)
    assert f"model_data / model_id: {word} given; pass exactly one" in str(error.value)


def test_code_dir_without_the_entry_point(code_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, entry_point="serve.py", model_id=SST2)
    message = str(error.value)
    assert "has no entry point 'serve.py'" in message and "inference.py" in message


def test_code_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=tmp_path / "missing", model_id=SST2)
    assert "code_dir:" in str(error.value) and "is not an existing directory" in str(error.value)


def test_code_dir_of_the_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=5, model_id=SST2)  # type: ignore[arg-type]
    assert "code_dir: 5 must be the path" in str(error.value)


def test_revision_only_applies_to_a_hub_model(code_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, model_data=TUNED_URI, revision="v1")
    assert str(error.value) == (
        "CustomScriptEndpoint 'TestStack/E': revision: 'v1' only applies to a Hub model (model_id)"
    )


def test_every_input_problem_is_reported_at_once_in_the_order_of_the_props(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=tmp_path / "missing", revision="v1", task="no-such-task")
    lines = str(error.value).splitlines()
    assert lines[0] == "CustomScriptEndpoint 'TestStack/E' has 4 invalid props:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  - model_data / model_id",
        "  - revision",
        "  - task",
        "  - code_dir",
    ]
