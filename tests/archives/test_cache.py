"""The archive cache: hits, misses, the cache directory, failed packs and progress."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from constructs_lib.archives import api, scan
from constructs_lib.archives import cache as archive_cache
from constructs_lib.archives.api import (
    FORMAT_VERSION,
    PackagedArchive,
    add_code_to_archive,
    package_code_only,
    package_model_directory,
)

from ..support import write_script
from .support import make_code, make_model

# -- cache ---------------------------------------------------------------------------------


def test_cache_hit_does_not_rewrite_the_archive(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    code = make_code(tmp_path / "script")
    first = package_model_directory(model, code_dir=code, cache_dir=cache)
    before = first.path.stat()

    second = package_model_directory(model, code_dir=code, cache_dir=cache)

    assert not first.from_cache
    assert second.from_cache
    assert second == PackagedArchive(first.path, first.asset_hash, first.size, from_cache=True)
    after = second.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    metadata = json.loads(first.path.with_name(first.path.name.replace(".tar.gz", ".json")).read_text())
    assert metadata["asset_hash"] == first.asset_hash and metadata["format"] == FORMAT_VERSION


def test_cache_misses_when_a_file_changes_size_or_mtime(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    original = package_model_directory(model, cache_dir=cache)

    (model / "vocab.txt").write_text("different length\n")
    resized = package_model_directory(model, cache_dir=cache)
    st = (model / "config.json").stat()
    os.utime(model / "config.json", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = package_model_directory(model, cache_dir=cache)

    assert not resized.from_cache and resized.asset_hash != original.asset_hash
    assert not touched.from_cache and touched.asset_hash == resized.asset_hash  # same bytes, new key
    # Only the newest archive of a source directory is kept.
    assert sorted(p.name for p in touched.path.parent.glob("*.tar.gz")) == [touched.path.name]
    assert not original.path.exists()


def test_cache_misses_when_a_file_is_replaced_with_the_same_size_and_mtime(tmp_path: Path, cache: Path) -> None:
    # What `cp -p`, `tar x` of a v2 archive or copytree do: same size, same mtime, other bytes.
    model = make_model(tmp_path / "model")
    weights = model / "model.safetensors"
    original = package_model_directory(model, cache_dir=cache)
    st = weights.stat()
    replacement = tmp_path / "v2.safetensors"
    replacement.write_bytes(bytes(b ^ 0xFF for b in weights.read_bytes()))
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, weights)
    assert (weights.stat().st_size, weights.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)

    replaced = package_model_directory(model, cache_dir=cache)

    assert not replaced.from_cache and replaced.asset_hash != original.asset_hash


def _zero_mtime(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    return info


def test_repack_misses_when_the_archive_is_replaced_with_the_same_size_and_mtime(tmp_path: Path, cache: Path) -> None:
    first_model, second_model = make_model(tmp_path / "m1"), make_model(tmp_path / "m2")
    (second_model / "vocab.txt").write_text((first_model / "vocab.txt").read_text().upper())
    archive, other = tmp_path / "model.tar.gz", tmp_path / "other.tar.gz"
    for source, target in ((first_model, archive), (second_model, other)):
        # Stored (level 0) gzip: two archives of same-sized files have the same size.
        with tarfile.open(target, "w:gz", compresslevel=0) as tar:
            tar.add(source, arcname=".", filter=_zero_mtime)
    code = make_code(tmp_path / "script")
    original = add_code_to_archive(archive, code, cache_dir=cache)
    st = archive.stat()
    assert other.stat().st_size == st.st_size
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, archive)

    replaced = add_code_to_archive(archive, code, cache_dir=cache)

    assert not replaced.from_cache and replaced.asset_hash != original.asset_hash


def test_code_files_are_keyed_by_content_not_mtime(tmp_path: Path, cache: Path) -> None:
    code = make_code(tmp_path / "script")
    first = package_code_only(code, cache_dir=cache)
    os.utime(code / "inference.py", ns=(1, 1))
    untouched = package_code_only(code, cache_dir=cache)
    write_script(code, "def model_fn(model_dir):\n    return 'v2'\n")
    changed = package_code_only(code, cache_dir=cache)

    assert untouched.from_cache and untouched.asset_hash == first.asset_hash
    assert not changed.from_cache and changed.asset_hash != first.asset_hash


def test_default_cache_dir_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSTRUCTS_LIB_CACHE_DIR", str(tmp_path / "env-cache"))
    packed = package_model_directory(make_model(tmp_path / "model"))
    assert packed.path.is_relative_to(tmp_path / "env-cache")

    monkeypatch.delenv("CONSTRUCTS_LIB_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert api.default_cache_dir() == tmp_path / "home" / ".cache" / "constructs_lib" / "archives"


def test_a_failed_pack_leaves_no_archive_or_temp_file(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(tmp_path / "model")

    def changed(entries: object) -> None:
        raise RuntimeError("changed while it was being packaged")

    monkeypatch.setattr(archive_cache, "_check_unchanged", changed)
    with pytest.raises(RuntimeError, match="changed"):
        package_model_directory(model, cache_dir=cache)

    assert [p for p in cache.rglob("*") if p.is_file()] == []
    monkeypatch.undo()
    assert not package_model_directory(model, cache_dir=cache).from_cache


def test_a_file_growing_during_the_pack_is_detected(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(tmp_path / "model")
    real_scan = scan._scan

    def scan_then_grow(*args: object, **kwargs: object) -> list[scan._Entry]:
        entries = real_scan(*args, **kwargs)  # type: ignore[arg-type]
        with (model / "vocab.txt").open("a") as handle:
            handle.write("appended after the scan\n")
        return entries

    monkeypatch.setattr(scan, "_scan", scan_then_grow)
    with pytest.raises(RuntimeError, match="while it was being packaged"):
        package_model_directory(model, cache_dir=cache)
    assert list(cache.rglob("*.tar.gz")) == []


# -- errors --------------------------------------------------------------------------------


def test_fast_packs_print_no_progress(tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package_model_directory(make_model(tmp_path / "model"), cache_dir=cache)
    assert capsys.readouterr().err == ""
