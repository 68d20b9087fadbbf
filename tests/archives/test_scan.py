"""The directory scan: order, what goes in, symlinks, and the errors for inputs that cannot be packed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.archives import scan
from constructs_lib.archives.api import package_code_only, package_model_directory

from .support import contents, make_model, members, names

# -- layout --------------------------------------------------------------------------------


def test_entries_are_sorted_component_wise_with_directories_first(tmp_path: Path, cache: Path) -> None:
    model = tmp_path / "model"
    for relative in ["b.json", "a-c.txt", "a/b.txt", "a/z/y.bin", "A.txt", "z.bin"]:
        (model / relative).parent.mkdir(parents=True, exist_ok=True)
        (model / relative).write_text(relative)

    listed = names(package_model_directory(model, cache_dir=cache).path)

    assert listed == ["A.txt", "a", "a/b.txt", "a/z", "a/z/y.bin", "a-c.txt", "b.json", "z.bin"]
    assert listed == sorted(listed, key=lambda name: name.split("/"))


# -- what goes in --------------------------------------------------------------------------


def test_junk_is_skipped(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    for junk in [".git/HEAD", "__pycache__/x.cpython-311.pyc", ".ipynb_checkpoints/a.ipynb", ".cache/huggingface/x"]:
        (model / junk).parent.mkdir(parents=True, exist_ok=True)
        (model / junk).write_text("junk")
    (model / ".DS_Store").write_bytes(b"junk")
    (model / "stray.pyc").write_bytes(b"junk")
    (model / "sub").mkdir()
    (model / "sub" / ".DS_Store").write_bytes(b"junk")

    assert names(package_model_directory(model, cache_dir=cache).path) == [
        "config.json",
        "model.safetensors",
        "sub",
        "tokenizer.json",
        "vocab.txt",
    ]


def test_symlinks_are_followed(tmp_path: Path, cache: Path) -> None:
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "abc123").write_bytes(b"weights via symlink")
    (blobs / "shared").mkdir()
    (blobs / "shared" / "merges.txt").write_text("a b\n")
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "model.safetensors").symlink_to(blobs / "abc123")
    (snapshot / "extra").symlink_to(blobs / "shared", target_is_directory=True)

    packed = package_model_directory(snapshot, cache_dir=cache)

    infos = {member.name: member for member in members(packed.path)}
    assert infos["model.safetensors"].isfile() and infos["extra"].isdir()
    assert contents(packed.path) == {"model.safetensors": b"weights via symlink", "extra/merges.txt": b"a b\n"}


# -- errors --------------------------------------------------------------------------------


def test_missing_model_directory(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        package_model_directory(tmp_path / "nope", cache_dir=cache)
    message = str(error.value)
    assert message.startswith("model_data: ")
    assert str(tmp_path / "nope") in message
    assert "does not exist" in message and "save_pretrained" in message


def test_model_path_that_is_a_file(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ConfigurationError, match=r"model_data: .*model.safetensors' is not a directory; expected"):
        package_model_directory(tmp_path / "model.safetensors", cache_dir=cache)


def test_empty_model_directory_even_with_junk(tmp_path: Path, cache: Path) -> None:
    model = tmp_path / "model"
    (model / ".git").mkdir(parents=True)
    (model / ".git" / "HEAD").write_text("ref")
    (model / "empty-subdir").mkdir()
    with pytest.raises(ConfigurationError, match=r"model_data: .*model' holds no files .*save_pretrained"):
        package_model_directory(model, cache_dir=cache)


def test_missing_or_empty_code_directory(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match=r"code_dir: .*nope' does not exist; expected .*inference.py"):
        package_model_directory(model, code_dir=tmp_path / "nope", cache_dir=cache)
    with pytest.raises(ConfigurationError, match=r"code_dir: .*empty' holds no files"):
        package_code_only(tmp_path / "empty", cache_dir=cache)


def test_broken_and_looping_symlinks(tmp_path: Path, cache: Path) -> None:
    broken = make_model(tmp_path / "broken")
    (broken / "model-00002.safetensors").symlink_to(tmp_path / "gone")
    looping = make_model(tmp_path / "looping")
    (looping / "sub").mkdir()
    (looping / "sub" / "again").symlink_to(looping, target_is_directory=True)

    with pytest.raises(ConfigurationError, match=r"model_data: .*model-00002.safetensors' is a broken symbolic link"):
        package_model_directory(broken, cache_dir=cache)
    with pytest.raises(ConfigurationError, match=r"model_data: .*again' is a symbolic link to one of its parent"):
        package_model_directory(looping, cache_dir=cache)


def test_file_name_that_is_not_utf8_is_a_clear_error(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    with open(os.path.join(os.fsencode(model), b"bad\xffname.bin"), "wb") as handle:
        handle.write(b"x")
    with pytest.raises(ConfigurationError, match="has a file name that is not valid UTF-8"):
        package_model_directory(model, cache_dir=cache)


def test_unreadable_file_is_a_clear_error(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests run as root, which may read anything: the permission check is what is exercised.
    model = make_model(tmp_path / "model")
    locked = model / "model.safetensors"
    real_access = os.access
    monkeypatch.setattr(scan.os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    with pytest.raises(ConfigurationError, match=f"model_data: '{locked}' cannot be read: permission denied"):
        package_model_directory(model, cache_dir=cache)
