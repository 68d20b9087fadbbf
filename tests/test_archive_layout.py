"""Local ``model.tar.gz`` files whose entries all sit under one directory (``tar czf m.tar.gz model/``).

SageMaker extracts the archive into ``/opt/ml/model``; such a model lands one directory down, where
no serving stack looks, and the endpoint fails its health check after a full deploy.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import ConfigurationError, CustomScriptEndpoint, FineTunedEndpoint
from constructs_lib import model_data as model_data_module

from .support import new_stack

CONFIG = json.dumps({"architectures": ["BertForSequenceClassification"], "model_type": "bert"}).encode()


def write_model_dir(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "config.json").write_bytes(CONFIG)
    (directory / "model.safetensors").write_bytes(os.urandom(4096))
    return directory


def archive(path: Path, entries: dict[str, bytes | None]) -> Path:
    """A .tar.gz with ``entries`` in this order (``None`` is a directory)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def fine_tuned(path: Path) -> FineTunedEndpoint:
    return FineTunedEndpoint(
        new_stack(), "Tuned", model_data=str(path), task="text-classification", instance_type="ml.g5.xlarge"
    )


def test_archive_made_from_the_parent_directory_is_an_error(tmp_path: Path) -> None:
    # The mistake exactly as users make it, with the real tar.
    write_model_dir(tmp_path / "my-model")
    subprocess.run(["tar", "czf", "model.tar.gz", "my-model/"], cwd=tmp_path, check=True)

    with pytest.raises(ConfigurationError) as error:
        fine_tuned(tmp_path / "model.tar.gz")

    message = str(error.value)
    assert message.startswith(f"model_data: {str(tmp_path / 'model.tar.gz')!r} holds everything under 'my-model/'")
    assert "the model would be in /opt/ml/model/my-model/" in message
    assert "`tar czf model.tar.gz -C my-model .`" in message


def test_archive_made_inside_the_model_directory_builds(tmp_path: Path) -> None:
    write_model_dir(tmp_path / "my-model")
    subprocess.run(["tar", "czf", str(tmp_path / "model.tar.gz"), "-C", "my-model", "."], cwd=tmp_path, check=True)

    endpoint = fine_tuned(tmp_path / "model.tar.gz")

    container = Template.from_stack(Stack.of(endpoint)).find_resources("AWS::SageMaker::Model")
    assert "ModelDataUrl" in next(iter(container.values()))["Properties"]["PrimaryContainer"]
    Annotations.from_stack(Stack.of(endpoint)).has_no_warning("*", Match.string_like_regexp("nested|holds everything"))


@pytest.mark.parametrize(
    "entries",
    [
        # Subdirectories before the files at the root (sentence-transformers, code/): a normal layout.
        {"code/": None, "code/inference.py": b"x = 1\n", "config.json": CONFIG},
        {"1_Pooling/": None, "1_Pooling/config.json": b"{}", "./config.json": CONFIG},
        # Two top-level directories and no root file is wrong too, but not the one-directory mistake.
        {"a/": None, "a/config.json": CONFIG, "b/": None, "b/x": b"y"},
    ],
)
def test_other_layouts_are_not_reported_as_nested(tmp_path: Path, entries: dict[str, bytes | None]) -> None:
    path = archive(tmp_path / "model.tar.gz", entries)
    assert model_data_module.ModelData.from_asset(path).nested_archive is None


def test_large_nested_prefix_is_a_warning_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Beyond the scan budget the rest of the archive is unknown: a root-level config.json may follow.
    monkeypatch.setattr(model_data_module, "_LAYOUT_SCAN_BYTES", 0)
    path = archive(tmp_path / "model.tar.gz", {"model/": None, "model/config.json": CONFIG, "config.json": CONFIG})

    endpoint = fine_tuned(path)

    Annotations.from_stack(Stack.of(endpoint)).has_warning(
        "/TestStack/Tuned", Match.string_like_regexp("begins with entries that are all under 'model/'")
    )


def test_custom_script_without_model_fn_on_a_nested_archive_is_an_error(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def predict_fn(data, model):\n    return model(data)\n")
    path = archive(tmp_path / "model.tar.gz", {"model/": None, "model/config.json": CONFIG})

    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "Custom", model_data=str(path), code_dir=code, instance_type="ml.g5.xlarge")

    assert "holds everything under 'model/'" in str(error.value)
    assert "(or define model_fn to load it from there)" in str(error.value)


def test_custom_script_with_model_fn_on_a_nested_archive_is_a_warning(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir + '/model'\n")
    path = archive(tmp_path / "model.tar.gz", {"model/": None, "model/config.json": CONFIG})

    endpoint = CustomScriptEndpoint(
        new_stack(), "Custom", model_data=str(path), code_dir=code, instance_type="ml.g5.xlarge"
    )

    Annotations.from_stack(Stack.of(endpoint)).has_warning(
        "/TestStack/Custom", Match.string_like_regexp("under 'model/'.*fine if your model_fn loads it from there")
    )
