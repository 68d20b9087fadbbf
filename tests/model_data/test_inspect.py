"""Local ``model.tar.gz`` files whose entries all sit under one directory (``tar czf m.tar.gz model/``).

SageMaker extracts the archive into ``/opt/ml/model``; such a model lands one directory down, where
no serving stack looks, and the endpoint fails its health check after a full deploy.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match, Template

import constructs_lib.model_data.inspect as model_data_inspect
from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    InferenceImage,
    ModelData,
    ModelProfile,
    ModelVariant,
    Serving,
)

from ..support import new_stack, write_script

CONFIG = json.dumps({"architectures": ["BertForSequenceClassification"], "model_type": "bert"}).encode()


def write_model_dir(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "config.json").write_bytes(CONFIG)
    (directory / "model.safetensors").write_bytes(os.urandom(4096))
    return directory


@dataclass(frozen=True)
class Link:
    """An archive entry that is a link to ``target`` (symbolic unless ``hard``)."""

    target: str
    hard: bool = False


def archive(path: Path, entries: dict[str, bytes | Link | None]) -> Path:
    """A .tar.gz with ``entries`` in this order (``None`` is a directory)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(data, Link):
                info.type = tarfile.LNKTYPE if data.hard else tarfile.SYMTYPE
                info.linkname = data.target
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def fine_tuned(path: Path, **props: Any) -> FineTunedEndpoint:
    """A text classifier on ml.g5.xlarge from ``path``, in a new stack; ``props`` add to or override that."""
    props = {"task": "text-classification", "instance_type": "ml.g5.xlarge", **props}
    return FineTunedEndpoint(new_stack(), "Tuned", model_data=str(path), **props)


def test_archive_made_from_the_parent_directory_is_an_error(tmp_path: Path) -> None:
    # The mistake exactly as users make it, with the real tar.
    write_model_dir(tmp_path / "my-model")
    subprocess.run(["tar", "czf", "model.tar.gz", "my-model/"], cwd=tmp_path, check=True)

    with pytest.raises(ConfigurationError) as error:
        fine_tuned(tmp_path / "model.tar.gz")

    message = str(error.value)
    assert message.startswith(
        f"FineTunedEndpoint 'TestStack/Tuned': model_data: {str(tmp_path / 'model.tar.gz')!r} holds everything "
        "under 'my-model/'"
    )
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
        # diffusers: one directory per component, model_index.json at the root after them.
        {"unet/": None, "unet/config.json": b"{}", "vae/": None, "vae/config.json": b"{}", "model_index.json": b"{}"},
    ],
)
def test_other_layouts_are_not_reported_as_nested(tmp_path: Path, entries: dict[str, bytes | None]) -> None:
    path = archive(tmp_path / "model.tar.gz", entries)
    assert ModelData.from_asset(path).layout_problem is None


def test_scan_stops_within_its_budget_without_judging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A big first member under one directory: the rest is unknown (a config.json may follow at the root),
    # so nothing is reported, and the member is not decompressed to find out. The archive is cut short
    # after the first member's header: reading any further would fail.
    monkeypatch.setattr(model_data_inspect, "_LAYOUT_SCAN_BYTES", 1024)
    whole = archive(tmp_path / "whole.tar.gz", {"original/": None, "original/weights.pth": os.urandom(1 << 20)})
    cut = tmp_path / "model.tar.gz"
    cut.write_bytes(whole.read_bytes()[: 64 * 1024])

    assert ModelData.from_asset(cut).layout_problem is None


def test_large_subdirectory_before_the_root_files_is_not_reported(tmp_path: Path) -> None:
    # Llama snapshots list original/ (the consolidated .pth) first; the root files come later.
    entries = {"./": None, "./original/": None, "./original/params.json": b"{}", "./config.json": CONFIG}
    endpoint = fine_tuned(archive(tmp_path / "model.tar.gz", entries))
    Annotations.from_stack(Stack.of(endpoint)).has_no_warning("*", Match.string_like_regexp("holds"))


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ({}, "holds no files; expected the model files at the archive root"),
        ({"./": None}, "holds no files"),
        ({"empty/": None}, "holds everything under 'empty/'"),
        # `tar czf model.tar.gz my-model/ code/`: the model one level down, next to the code.
        (
            {"my-model/": None, "my-model/config.json": CONFIG, "code/": None, "code/inference.py": b"x = 1\n"},
            "has no files at its root, only the directories 'code/', 'my-model/'; SageMaker extracts",
        ),
        (
            {"a/": None, "a/config.json": CONFIG, "b/": None, "b/x": b"y"},
            "has no files at its root, only the directories 'a/', 'b/'",
        ),
    ],
)
def test_archives_without_files_at_the_root_are_an_error(
    tmp_path: Path, entries: dict[str, bytes | None], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        fine_tuned(archive(tmp_path / "model.tar.gz", entries))
    assert f"FineTunedEndpoint 'TestStack/Tuned': model_data: {str(tmp_path / 'model.tar.gz')!r} {expected}" in str(
        error.value
    )


def test_code_only_archive_is_not_a_nested_model(tmp_path: Path) -> None:
    path = archive(tmp_path / "model.tar.gz", {"code/": None, "code/inference.py": b"def model_fn(d):\n    pass\n"})
    assert ModelData.from_asset(path).layout_problem is None


def test_multi_member_gzip_is_read_like_tar_does(tmp_path: Path) -> None:
    # bgzip and `cat a.gz b.gz` write several gzip members; GNU tar and SageMaker read them as one stream.
    single = archive(tmp_path / "single.tar.gz", {"config.json": CONFIG, "model.safetensors": b"x" * 600})
    raw = gzip.decompress(single.read_bytes())
    path = tmp_path / "model.tar.gz"
    path.write_bytes(gzip.compress(raw[:512]) + gzip.compress(raw[512:]))

    assert ModelData.from_asset(path).layout_problem is None


def test_custom_container_with_a_nested_archive_is_a_warning(tmp_path: Path) -> None:
    # The library cannot know where a container of the user's looks (Triton wants <model>/config.pbtxt).
    path = archive(tmp_path / "model.tar.gz", {"triton/": None, "triton/config.pbtxt": b"name: 'm'"})
    endpoint = FineTunedEndpoint(
        new_stack(),
        "Tuned",
        model_data=str(path),
        image=InferenceImage.from_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/triton:latest"),
        instance_type="ml.g5.xlarge",
    )
    Annotations.from_stack(Stack.of(endpoint)).has_warning(
        "/TestStack/Tuned", Match.string_like_regexp("holds everything under 'triton/'.*unless your container")
    )


def test_variant_with_a_nested_archive_is_an_error(tmp_path: Path) -> None:
    path = archive(tmp_path / "v2.tar.gz", {"model/": None, "model/config.json": CONFIG})
    good = archive(tmp_path / "model.tar.gz", {"config.json": CONFIG})
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "Tuned",
            model_data=str(good),
            task="text-classification",
            instance_type="ml.g5.xlarge",
            variants=[ModelVariant(name="v2", model_data=str(path), task="text-classification")],
        )
    assert f"variants['v2'].model_data: {str(path)!r} holds everything under 'model/'" in str(error.value)


def test_custom_script_without_model_fn_on_a_nested_archive_is_an_error(tmp_path: Path) -> None:
    code = write_script(tmp_path / "code", "def predict_fn(data, model):\n    return model(data)\n")
    path = archive(tmp_path / "model.tar.gz", {"model/": None, "model/config.json": CONFIG})

    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "Custom", model_data=str(path), code_dir=code, instance_type="ml.g5.xlarge")

    assert "holds everything under 'model/'" in str(error.value)
    assert "(or define model_fn to load it from there)" in str(error.value)


def test_custom_script_with_model_fn_on_a_nested_archive_is_a_warning(tmp_path: Path) -> None:
    code = write_script(tmp_path / "code", "def model_fn(model_dir):\n    return model_dir + '/model'\n")
    path = archive(tmp_path / "model.tar.gz", {"model/": None, "model/config.json": CONFIG})

    endpoint = CustomScriptEndpoint(
        new_stack(), "Custom", model_data=str(path), code_dir=code, instance_type="ml.g5.xlarge"
    )

    Annotations.from_stack(Stack.of(endpoint)).has_warning(
        "/TestStack/Custom", Match.string_like_regexp("under 'model/'.*fine if your model_fn loads it from there")
    )


def test_directory_holding_the_model_one_level_down_is_an_error(tmp_path: Path) -> None:
    # model_data="models" where the model is models/my-model/: packaged as is, it lands in /opt/ml/model/my-model/.
    model = tmp_path / "models" / "my-model"
    model.mkdir(parents=True)
    (model / "config.json").write_bytes(CONFIG)
    with pytest.raises(ConfigurationError) as error:
        fine_tuned(tmp_path / "models")
    message = str(error.value)
    assert f"model_data: {str(tmp_path / 'models')!r} has no files at its root, only 'my-model/'" in message
    assert f"pass the directory that holds config.json and the weights ({str(model)!r})" in message
    # Next to code/ it is the same mistake; code/ alone, or files at the root, are not.
    (tmp_path / "models" / "code").mkdir()
    problem = ModelData.from_asset(tmp_path / "models").layout_problem
    assert problem is not None and "only 'code/', 'my-model/'" in problem.message()
    assert ModelData.from_asset(model).layout_problem is None


# ------------------------------------------------------------------ code/ inside a local archive
BROKEN_SCRIPT = b"def transform_fn(model, data, ct, accept):\n    pass\n\ndef predict_fn(d, m):\n    pass\n"
MODEL_FN_SCRIPT = b"def model_fn(model_dir):\n    return None\n\ndef predict_fn(data, model):\n    return data\n"


def archive_with_script(path: Path, script: bytes, *, script_first: bool = False) -> Path:
    model = {"config.json": CONFIG, "model.safetensors": os.urandom(2048)}
    code = {"code/": None, "code/inference.py": script}
    return archive(path, {**code, **model} if script_first else {**model, **code})


@pytest.mark.parametrize("script_first", [False, True])
def test_script_inside_a_local_archive_is_checked(tmp_path: Path, script_first: bool) -> None:
    path = archive_with_script(tmp_path / "model.tar.gz", BROKEN_SCRIPT, script_first=script_first)
    with pytest.raises(ConfigurationError) as error:
        fine_tuned(path)
    message = str(error.value)
    assert "transform_fn" in message
    assert f"{path}/code/inference.py" in message  # the archive, not a temporary directory
    assert "constructs-lib-code-" not in message


def test_script_inside_a_local_archive_that_loads_the_model_counts_as_a_custom_loader(tmp_path: Path) -> None:
    # sentence-similarity has no transformers pipeline: an error on the toolkit unless the script has model_fn.
    def build(script: bytes) -> FineTunedEndpoint:
        path = archive_with_script(tmp_path / f"{len(script)}.tar.gz", script)
        return fine_tuned(path, task="sentence-similarity", serving=Serving.INFERENCE_TOOLKIT)

    assert build(MODEL_FN_SCRIPT).serving is Serving.INFERENCE_TOOLKIT
    with pytest.raises(ConfigurationError, match="is a Hub pipeline tag"):
        build(b"def predict_fn(data, model):\n    return data\n")


def test_script_inside_a_local_archive_is_checked_against_the_image_python(tmp_path: Path) -> None:
    script = b"def predict_fn(data, model):\n    match data:\n        case _:\n            return data\n"
    path = archive_with_script(tmp_path / "model.tar.gz", script)
    with pytest.raises(ConfigurationError) as error:
        fine_tuned(path, image=InferenceImage.huggingface(transformers_version="4.26.0", pytorch_version="1.13.1"))
    assert f"{path}/code/inference.py" in str(error.value) and "3.9" in str(error.value)


def test_script_after_the_scan_budget_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_data_inspect, "_LAYOUT_SCAN_BYTES", 1024)
    path = archive(
        tmp_path / "model.tar.gz",
        {"config.json": CONFIG, "model.safetensors": os.urandom(64 * 1024), "code/inference.py": BROKEN_SCRIPT},
    )
    # Not judged (the whole archive would have to be decompressed), so the endpoint builds as before.
    assert ModelData.from_asset(path).shipped_code is None
    assert fine_tuned(path).serving is Serving.INFERENCE_TOOLKIT


def test_script_before_the_scan_budget_is_read_however_large_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `tar czf model.tar.gz *` writes code/ first: the weights after the budget do not matter.
    monkeypatch.setattr(model_data_inspect, "_LAYOUT_SCAN_BYTES", 1024)
    path = archive(
        tmp_path / "model.tar.gz",
        {"code/inference.py": BROKEN_SCRIPT, "config.json": CONFIG, "model.safetensors": os.urandom(64 * 1024)},
    )
    with pytest.raises(ConfigurationError, match="transform_fn"):
        fine_tuned(path)


def test_archive_script_is_checked_for_the_serving_stack_the_endpoint_resolves(tmp_path: Path) -> None:
    # GPT-2 embeddings: AUTO picks the toolkit (TEI does not load GPT-2), which imports the script.
    path = archive_with_script(tmp_path / "model.tar.gz", BROKEN_SCRIPT)
    with pytest.raises(ConfigurationError, match="transform_fn"):
        fine_tuned(
            path,
            task="feature-extraction",
            model_profile=ModelProfile(parameters=124_000_000, dtype="float32", architecture="GPT2Model"),
        )


def test_warnings_about_archive_code_name_the_archive(tmp_path: Path) -> None:
    path = archive(
        tmp_path / "model.tar.gz",
        {"config.json": CONFIG, "code/inference.py": MODEL_FN_SCRIPT, "code/requirements.txt": b"numpy\n"},
    )
    endpoint = fine_tuned(path, network_isolation=True)
    found = Annotations.from_stack(Stack.of(endpoint)).find_warning("*", Match.string_like_regexp("pip install"))
    assert len(found) == 1
    text = json.dumps(found[0].entry.data)
    assert f"{path}/code/requirements.txt" in text and "constructs-lib-code-" not in text


def test_archive_code_no_file_system_can_hold_is_left_unchecked(tmp_path: Path) -> None:
    path = archive(
        tmp_path / "model.tar.gz",
        {
            "config.json": CONFIG,
            "code/utils": b"x = 1\n",
            "code/utils/__init__.py": b"",
            "code/inference.py": BROKEN_SCRIPT,
        },
    )
    assert fine_tuned(path).serving is Serving.INFERENCE_TOOLKIT


def test_archive_code_is_read_without_following_dot_dot(tmp_path: Path) -> None:
    path = archive(tmp_path / "model.tar.gz", {"config.json": CONFIG, "code/../../evil.py": b"x = 1\n"})
    assert ModelData.from_asset(path).shipped_code is None


def test_script_behind_a_symbolic_link_inside_the_archive_is_checked(tmp_path: Path) -> None:
    # `tar czf` keeps links: code/inference.py -> ../src/inference.py extracts to the file it names.
    path = archive(
        tmp_path / "model.tar.gz",
        {"config.json": CONFIG, "code/inference.py": Link("../src/inference.py"), "src/inference.py": BROKEN_SCRIPT},
    )
    with pytest.raises(ConfigurationError, match="transform_fn"):
        fine_tuned(path)


def test_script_behind_a_hard_link_is_checked(tmp_path: Path) -> None:
    path = archive(
        tmp_path / "model.tar.gz",
        {
            "config.json": CONFIG,
            "./inference.py": BROKEN_SCRIPT,
            "code/inference.py": Link("./inference.py", hard=True),
        },
    )
    with pytest.raises(ConfigurationError, match="transform_fn"):
        fine_tuned(path)


@pytest.mark.parametrize(
    ("name", "consequence"),
    [("inference.py", "serves the model with its default handlers"), ("requirements.txt", "installs none")],
)
@pytest.mark.parametrize("target", ["/home/me/project/{name}", "../../{name}", "missing/{name}"])
def test_link_out_of_the_archive_to_a_file_the_toolkit_looks_for_is_an_error(
    tmp_path: Path, name: str, consequence: str, target: str
) -> None:
    # The file the toolkit looks for by name dangles in the container: it would silently not be used.
    target = target.format(name=name)
    path = archive(tmp_path / "model.tar.gz", {"config.json": CONFIG, f"code/{name}": Link(target)})
    with pytest.raises(ConfigurationError) as error:
        fine_tuned(path)
    message = str(error.value)
    assert f"model_data: '{path}' holds code/{name} as a symbolic link to {target!r}" in message
    assert consequence in message and "tar czhf" in message


def test_link_to_the_script_sagemaker_program_names_is_an_error(tmp_path: Path) -> None:
    path = archive(tmp_path / "model.tar.gz", {"config.json": CONFIG, "code/serve.py": Link("/opt/serve.py")})
    with pytest.raises(ConfigurationError, match=r"code/serve\.py as a symbolic link"):
        fine_tuned(path, environment={"SAGEMAKER_PROGRAM": "serve.py"})
    # Without SAGEMAKER_PROGRAM the toolkit does not look for it: an absolute link may name a file of the image.
    endpoint = fine_tuned(path)
    found = Annotations.from_stack(Stack.of(endpoint)).find_warning("*", Match.string_like_regexp("code/serve.py"))
    assert len(found) == 1
    assert "resolves only if the image has that file" in json.dumps(found[0].entry.data)


def test_helper_linked_out_of_the_archive_by_a_relative_path_is_an_error(tmp_path: Path) -> None:
    path = archive(
        tmp_path / "model.tar.gz",
        {"config.json": CONFIG, "code/inference.py": MODEL_FN_SCRIPT, "code/helpers.py": Link("../../helpers.py")},
    )
    with pytest.raises(ConfigurationError, match=r"code/helpers\.py as a symbolic link .* cannot import it"):
        fine_tuned(path)


def test_links_inside_the_archive_are_not_reported(tmp_path: Path) -> None:
    # A link to a directory (written without an entry of its own), and one to a file not read (not a
    # script), both resolve in the container.
    entries: dict[str, bytes | Link | None] = {
        "config.json": CONFIG,
        "lib/tool.py": b"x = 1\n",
        "code/inference.py": MODEL_FN_SCRIPT,
        "code/lib": Link("../lib"),
        "code/weights.bin": Link("../model.safetensors"),
        "model.safetensors": os.urandom(2048),
    }
    path = archive(tmp_path / "model.tar.gz", entries)
    shipped = ModelData.from_asset(path).shipped_code
    assert shipped is not None and shipped.dangling == ()
    assert fine_tuned(path).serving is Serving.INFERENCE_TOOLKIT


def test_link_whose_target_may_lie_after_the_scan_budget_is_not_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_data_inspect, "_LAYOUT_SCAN_BYTES", 1024)
    entries: dict[str, bytes | Link | None] = {
        "config.json": CONFIG,
        "code/inference.py": Link("../src/inference.py"),
        "model.safetensors": os.urandom(64 * 1024),
        "src/inference.py": MODEL_FN_SCRIPT,
    }
    path = archive(tmp_path / "model.tar.gz", entries)
    assert fine_tuned(path).serving is Serving.INFERENCE_TOOLKIT
    # Read to its end, the same archive without the target is an error.
    del entries["src/inference.py"]
    monkeypatch.setattr(model_data_inspect, "_LAYOUT_SCAN_BYTES", 1024 * 1024)
    with pytest.raises(ConfigurationError, match="which is not in the archive"):
        fine_tuned(archive(tmp_path / "missing.tar.gz", entries))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not even gzip", "is not gzip-compressed"),
        (b"PK\x03\x04 a zip renamed", "is not gzip-compressed"),
        (gzip.compress(b"gzip, but no tar inside" * 30), "is not a readable tar archive"),
    ],
)
def test_fine_tuned_local_archive_must_be_a_gzip_tar(tmp_path: Path, content: bytes, problem: str) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(ConfigurationError, match=f"model_data: '{re.escape(str(archive))}' {problem}"):
        FineTunedEndpoint(new_stack(), "E", model_data=str(archive), task="text-classification")
