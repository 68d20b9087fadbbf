"""The public entry points: what lands where, byte-for-byte determinism, code-only archives and repacking."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.archives.api import (
    PackagedArchive,
    add_code_to_archive,
    package_code_only,
    package_model_directory,
)

from .support import contents, make_code, make_model, members, names

# -- layout --------------------------------------------------------------------------------


def test_model_files_at_root_and_code_under_code(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    code = make_code(tmp_path / "script")
    (code / "lib").mkdir()
    (code / "lib" / "helpers.py").write_text("X = 1\n")

    packed = package_model_directory(model, code_dir=code, cache_dir=cache)

    assert isinstance(packed, PackagedArchive)
    assert packed.path.name.endswith(".tar.gz")
    assert packed.path.is_relative_to(cache.absolute())
    assert names(packed.path) == [
        "code",
        "code/inference.py",
        "code/lib",
        "code/lib/helpers.py",
        "code/requirements.txt",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "vocab.txt",
    ]
    files = contents(packed.path)
    assert files["model.safetensors"] == (model / "model.safetensors").read_bytes()
    assert files["code/inference.py"] == (code / "inference.py").read_bytes()


def test_code_dir_replaces_a_code_directory_inside_the_model(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    make_code(model / "code", body="OLD = True\n")
    (model / "code" / "old_only.py").write_text("")
    code = make_code(tmp_path / "script", body="NEW = True\n")

    with_new = package_model_directory(model, code_dir=code, cache_dir=cache)
    as_is = package_model_directory(model, cache_dir=cache)

    assert "code/old_only.py" not in names(with_new.path)
    assert contents(with_new.path)["code/inference.py"] == b"NEW = True\n"
    assert contents(as_is.path)["code/inference.py"] == b"OLD = True\n"
    assert "code/old_only.py" in names(as_is.path)


# -- determinism ---------------------------------------------------------------------------


def test_same_inputs_give_identical_bytes_across_copies_mtimes_and_permissions(tmp_path: Path) -> None:
    first = make_model(tmp_path / "one" / "model", weights=os.urandom(300_000))
    first_code = make_code(tmp_path / "one" / "code")
    second = tmp_path / "two" / "model"
    second_code = tmp_path / "two" / "code"
    old_umask = os.umask(0o077)
    try:
        shutil.copytree(first, second, copy_function=shutil.copyfile)
        shutil.copytree(first_code, second_code, copy_function=shutil.copyfile)
    finally:
        os.umask(old_umask)
    for path in [*second.rglob("*"), *second_code.rglob("*")]:
        os.utime(path, ns=(1_000_000_000, 1_234_567_890_123))
        if path.is_file():
            path.chmod(0o664)

    a = package_model_directory(first, code_dir=first_code, cache_dir=tmp_path / "cache-one")
    b = package_model_directory(second, code_dir=second_code, cache_dir=tmp_path / "cache-two")

    assert not a.from_cache and not b.from_cache
    assert a.path.read_bytes() == b.path.read_bytes()
    assert a.asset_hash == b.asset_hash


# -- code-only and repacking ---------------------------------------------------------------


def test_code_only_archive_holds_only_code(tmp_path: Path, cache: Path) -> None:
    code = make_code(tmp_path / "script")
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "inference.cpython-312.pyc").write_bytes(b"junk")

    packed = package_code_only(code, cache_dir=cache)

    assert names(packed.path) == ["code", "code/inference.py", "code/requirements.txt"]
    assert package_code_only(code, cache_dir=cache).from_cache


def _legacy_archive(path: Path) -> Path:
    """A model.tar.gz as ``tar czf`` or the SageMaker SDK makes it: ./ prefixes, real owners, old code/."""
    with tarfile.open(path, mode="w:gz") as archive:
        for name, data in [
            ("./config.json", b"{}"),
            ("./model.safetensors", b"w" * 70_000),
            ("./code/inference.py", b"OLD = 1\n"),
            ("./code/stale.py", b"STALE = 1\n"),
        ]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uid, info.uname, info.mode = len(data), 1_700_000_000, 1000, "me", 0o600
            archive.addfile(info, io.BytesIO(data))
        directory = tarfile.TarInfo("./code")
        directory.type = tarfile.DIRTYPE
        archive.addfile(directory)
    return path


def test_add_code_to_archive_replaces_existing_code(tmp_path: Path, cache: Path) -> None:
    source = _legacy_archive(tmp_path / "model.tar.gz")
    code = make_code(tmp_path / "script", body="NEW = 1\n")

    packed = add_code_to_archive(source, code, cache_dir=cache)

    assert names(packed.path) == [
        "config.json",
        "model.safetensors",
        "code",
        "code/inference.py",
        "code/requirements.txt",
    ]
    files = contents(packed.path)
    assert files["code/inference.py"] == b"NEW = 1\n"
    assert files["model.safetensors"] == b"w" * 70_000
    assert all((m.uid, m.uname, m.mtime) == (0, "", 0) for m in members(packed.path))
    again = add_code_to_archive(source, code, cache_dir=cache)
    assert again.from_cache and again.asset_hash == packed.asset_hash
    # Repacking our own output again gives the same bytes: the operation is idempotent.
    assert add_code_to_archive(packed.path, code, cache_dir=tmp_path / "other").asset_hash == packed.asset_hash


def test_add_code_to_archive_rejects_missing_and_non_gzip_archives(tmp_path: Path, cache: Path) -> None:
    code = make_code(tmp_path / "script")
    plain = tmp_path / "model.tar"
    with tarfile.open(plain, mode="w"):
        pass
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b" + b"garbage" * 10)

    with pytest.raises(ConfigurationError, match=r"model_data: .*missing.tar.gz' does not exist"):
        add_code_to_archive(tmp_path / "missing.tar.gz", code, cache_dir=cache)
    with pytest.raises(ConfigurationError, match=r"model_data: .*model.tar' is not gzip-compressed"):
        add_code_to_archive(plain, code, cache_dir=cache)
    with pytest.raises(ConfigurationError, match=r"model_data: .*corrupt.tar.gz' is not a readable model.tar.gz"):
        add_code_to_archive(corrupt, code, cache_dir=cache)
