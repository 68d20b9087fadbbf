"""model.tar.gz packaging: layout, byte-for-byte determinism, cache, errors and bounded memory."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

from constructs_lib import packaging
from constructs_lib._core.errors import ConfigurationError
from constructs_lib.packaging import (
    FORMAT_VERSION,
    PackagedArchive,
    add_code_to_archive,
    package_code_only,
    package_model_directory,
)

REPO = Path(__file__).resolve().parent.parent
TAR = shutil.which("tar") or "tar"
needs_tar = pytest.mark.skipif(shutil.which("tar") is None, reason="system tar not installed")


def make_model(root: Path, *, weights: bytes = b"\x00\x01weights" * 1000) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"architectures": ["BertForSequenceClassification"]}')
    (root / "model.safetensors").write_bytes(weights)
    (root / "tokenizer.json").write_text('{"version": "1.0"}')
    (root / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    return root


def make_code(root: Path, body: str = "def model_fn(model_dir):\n    return model_dir\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "inference.py").write_text(body)
    (root / "requirements.txt").write_text("numpy\n")
    return root


def members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, mode="r:gz") as archive:
        return archive.getmembers()


def names(path: Path) -> list[str]:
    return [member.name for member in members(path)]


def contents(path: Path) -> dict[str, bytes]:
    result: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive:
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                result[member.name] = handle.read()
    return result


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


# -- layout -----------------------------------------------------------------------------------


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


def test_entries_are_sorted_component_wise_with_directories_first(tmp_path: Path, cache: Path) -> None:
    model = tmp_path / "model"
    for relative in ["b.json", "a-c.txt", "a/b.txt", "a/z/y.bin", "A.txt", "z.bin"]:
        (model / relative).parent.mkdir(parents=True, exist_ok=True)
        (model / relative).write_text(relative)

    listed = names(package_model_directory(model, cache_dir=cache).path)

    assert listed == ["A.txt", "a", "a/b.txt", "a/z", "a/z/y.bin", "a-c.txt", "b.json", "z.bin"]
    assert listed == sorted(listed, key=lambda name: name.split("/"))


def test_headers_are_normalised(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    (model / "run.sh").write_text("#!/bin/sh\n")
    (model / "run.sh").chmod(0o700)
    (model / "config.json").chmod(0o600)
    (model / "sub").mkdir(mode=0o700)
    (model / "sub" / "x.txt").write_text("x")

    infos = {member.name: member for member in members(package_model_directory(model, cache_dir=cache).path)}

    for member in infos.values():
        assert (member.uid, member.gid, member.uname, member.gname, member.mtime) == (0, 0, "", "", 0)
    assert infos["config.json"].mode == 0o644
    assert infos["run.sh"].mode == 0o755
    assert infos["sub"].isdir() and infos["sub"].mode == 0o755
    assert infos["sub/x.txt"].mode == 0o644


def test_gzip_header_has_no_timestamp_or_name(tmp_path: Path, cache: Path) -> None:
    packed = package_model_directory(make_model(tmp_path / "model"), cache_dir=cache)
    header = packed.path.read_bytes()[:10]

    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # FLG: no FNAME, FCOMMENT, FEXTRA
    assert header[4:8] == b"\x00\x00\x00\x00"  # MTIME
    assert gzip.decompress(packed.path.read_bytes())[257:262] == b"ustar"


def test_asset_hash_is_the_blake3_of_the_format_and_the_tar_stream(tmp_path: Path, cache: Path) -> None:
    packed = package_model_directory(make_model(tmp_path / "model"), cache_dir=cache)
    data = packed.path.read_bytes()

    prefix = f"constructs_lib model.tar.gz v{FORMAT_VERSION}, gzip of stored deflate blocks of 65535 bytes\n"
    assert packed.asset_hash == blake3.blake3(prefix.encode() + gzip.decompress(data)).hexdigest()
    assert packed.size == len(data)


def test_archive_bytes_do_not_depend_on_the_read_size(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(tmp_path / "model", weights=os.urandom(3 * 65535 + 1234))
    packed = package_model_directory(model, cache_dir=cache)
    monkeypatch.setattr(packaging, "_CHUNK", 1000)  # reads end in the middle of blocks and headers

    small_reads = package_model_directory(model, cache_dir=tmp_path / "other-cache")

    assert small_reads.path.read_bytes() == packed.path.read_bytes()
    assert small_reads.asset_hash == packed.asset_hash


def test_a_checksum_failure_is_raised_instead_of_hanging(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(tmp_path / "model", weights=os.urandom(4 * packaging._CHUNK))

    def broken(data: bytes, value: int) -> int:
        raise MemoryError("checksum failed")

    monkeypatch.setattr(packaging, "_crc32", broken)
    outcome: dict[str, BaseException] = {}

    def pack() -> None:
        try:
            package_model_directory(model, cache_dir=cache)
        except MemoryError as error:
            outcome["error"] = error

    worker = threading.Thread(target=pack, daemon=True)
    worker.start()
    worker.join(timeout=60)

    assert not worker.is_alive(), "packing hung after the checksum thread failed"
    assert "checksum failed" in str(outcome["error"])
    assert not list(cache.rglob("*.tar.gz")) and not list(cache.rglob(".tmp-*"))


def test_short_writes_are_completed(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_model(tmp_path / "model", weights=os.urandom(200_000))
    expected = package_model_directory(model, cache_dir=cache).path.read_bytes()
    real_writev = os.writev
    calls = []

    def half_writev(fd: int, buffers: list[bytes]) -> int:
        data = b"".join(buffers)
        calls.append(len(data))
        return real_writev(fd, [data[: max(1, len(data) // 2)]])

    monkeypatch.setattr(os, "writev", half_writev)
    packed = package_model_directory(model, cache_dir=tmp_path / "other-cache")

    assert calls and packed.path.read_bytes() == expected


# -- determinism ------------------------------------------------------------------------------


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


@pytest.mark.parametrize("size", [0, 1, 511, 512, 65535 - 512, 65535, 65536, 3 * 65535 + 7, (4 << 20) + 1])
def test_stored_blocks_round_trip_every_size(tmp_path: Path, cache: Path, size: int) -> None:
    model = tmp_path / "model"
    model.mkdir()
    payload = os.urandom(size)
    (model / "weights.bin").write_bytes(payload)

    packed = package_model_directory(model, cache_dir=cache)

    tar_stream = gzip.decompress(packed.path.read_bytes())
    assert len(tar_stream) % 10240 == 0
    assert contents(packed.path) == {"weights.bin": payload}
    again = package_model_directory(model, cache_dir=tmp_path / "other-cache")
    assert again.path.read_bytes() == packed.path.read_bytes()


# -- cache ------------------------------------------------------------------------------------


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
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return 'v2'\n")
    changed = package_code_only(code, cache_dir=cache)

    assert untouched.from_cache and untouched.asset_hash == first.asset_hash
    assert not changed.from_cache and changed.asset_hash != first.asset_hash


def test_default_cache_dir_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSTRUCTS_LIB_CACHE_DIR", str(tmp_path / "env-cache"))
    packed = package_model_directory(make_model(tmp_path / "model"))
    assert packed.path.is_relative_to(tmp_path / "env-cache")

    monkeypatch.delenv("CONSTRUCTS_LIB_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert packaging.default_cache_dir() == tmp_path / "home" / ".cache" / "constructs_lib" / "archives"


def test_a_failed_pack_leaves_no_archive_or_temp_file(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(tmp_path / "model")

    def changed(entries: object) -> None:
        raise RuntimeError("changed while it was being packaged")

    monkeypatch.setattr(packaging, "_check_unchanged", changed)
    with pytest.raises(RuntimeError, match="changed"):
        package_model_directory(model, cache_dir=cache)

    assert [p for p in cache.rglob("*") if p.is_file()] == []
    monkeypatch.undo()
    assert not package_model_directory(model, cache_dir=cache).from_cache


def test_a_file_growing_during_the_pack_is_detected(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(tmp_path / "model")
    real_scan = packaging._scan

    def scan_then_grow(*args: object, **kwargs: object) -> list[packaging._Entry]:
        entries = real_scan(*args, **kwargs)  # type: ignore[arg-type]
        with (model / "vocab.txt").open("a") as handle:
            handle.write("appended after the scan\n")
        return entries

    monkeypatch.setattr(packaging, "_scan", scan_then_grow)
    with pytest.raises(RuntimeError, match="while it was being packaged"):
        package_model_directory(model, cache_dir=cache)
    assert list(cache.rglob("*.tar.gz")) == []


# -- readers ----------------------------------------------------------------------------------


@needs_tar
def test_system_tar_lists_and_extracts_the_archive(tmp_path: Path, cache: Path) -> None:
    model = make_model(tmp_path / "model")
    code = make_code(tmp_path / "script")
    packed = package_model_directory(model, code_dir=code, cache_dir=cache)

    listing = subprocess.run([TAR, "-tzf", str(packed.path)], capture_output=True, text=True, check=True)
    out = tmp_path / "out"
    out.mkdir()
    extracted = subprocess.run([TAR, "-xzf", str(packed.path), "-C", str(out)], capture_output=True, text=True)

    assert listing.stdout.split() == [
        "code/",
        "code/inference.py",
        "code/requirements.txt",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "vocab.txt",
    ]
    assert extracted.returncode == 0 and extracted.stderr == ""
    assert (out / "model.safetensors").read_bytes() == (model / "model.safetensors").read_bytes()
    assert (out / "code" / "inference.py").read_text() == (code / "inference.py").read_text()


@needs_tar
def test_long_and_non_ascii_names_use_pax_headers(tmp_path: Path, cache: Path) -> None:
    model = tmp_path / "model"
    deep = model / ("d" * 120) / ("e" * 120)
    deep.mkdir(parents=True)
    long_name = "f" * 150 + ".json"
    (deep / long_name).write_text("long")
    (model / "tökenizer.json").write_text("unicode")

    packed = package_model_directory(model, cache_dir=cache)

    long_path = f"{'d' * 120}/{'e' * 120}/{long_name}"
    assert contents(packed.path) == {long_path: b"long", "tökenizer.json": b"unicode"}
    listing = subprocess.run([TAR, "-tzf", str(packed.path)], capture_output=True, check=True).stdout.decode()
    assert long_path in listing.splitlines() and "tökenizer.json" in listing.splitlines()


def test_sizes_beyond_8_gib_are_written_as_pax_records() -> None:
    size = 9 * 1024**3 + 5
    header = packaging._tar_header("model-00001.safetensors", size=size, mode=0o644, typeflag=tarfile.REGTYPE)

    with tarfile.open(fileobj=io.BytesIO(header + bytes(1024)), mode="r|") as archive:
        member = archive.next()

    assert member is not None
    assert (member.name, member.size, member.mode) == ("model-00001.safetensors", size, 0o644)


# -- code-only and repacking ------------------------------------------------------------------


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


# -- what goes in -----------------------------------------------------------------------------


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


# -- errors -----------------------------------------------------------------------------------


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


def test_fast_packs_print_no_progress(tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package_model_directory(make_model(tmp_path / "model"), cache_dir=cache)
    assert capsys.readouterr().err == ""


# -- memory -----------------------------------------------------------------------------------

_MEASURE = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from constructs_lib.packaging import package_model_directory

    model = Path(sys.argv[1])
    model.mkdir()
    (model / "config.json").write_text("{}")
    with (model / "model.safetensors").open("wb") as handle:
        handle.truncate(int(sys.argv[2]))  # sparse: costs no disk, reads as zeros
    packed = package_model_directory(model, cache_dir=sys.argv[3])
    assert packed.size > int(sys.argv[2])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _peak_rss_kib(tmp_path: Path, name: str, size: int) -> int:
    # The child reports its own peak (RUSAGE_SELF): the same number RUSAGE_CHILDREN gives the
    # parent for that one child, without the parent's other children (jsii's node) mixed in.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(tmp_path / name), str(size), str(tmp_path / f"cache-{name}")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return int(result.stdout.split()[-1])


def test_peak_memory_does_not_grow_with_model_size(tmp_path: Path) -> None:
    baseline = _peak_rss_kib(tmp_path, "small", 1024)
    large = _peak_rss_kib(tmp_path, "large", 200 * 1024 * 1024)

    assert large - baseline < 64 * 1024, f"peak RSS grew by {(large - baseline) // 1024} MiB for a 200 MiB model"


@pytest.fixture(autouse=True)
def _no_stray_threads() -> Iterator[None]:
    yield
    import threading

    assert not [t for t in threading.enumerate() if t.name == "constructs-lib-packaging-hash"]


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
    monkeypatch.setattr(packaging.os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    with pytest.raises(ConfigurationError, match=f"model_data: '{locked}' cannot be read: permission denied"):
        package_model_directory(model, cache_dir=cache)
