"""The tar stream: normalised headers, readers (system tar, pax headers) and sizes beyond ustar."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from constructs_lib.archives import tar_format
from constructs_lib.archives.api import package_model_directory

from .support import TAR, contents, make_code, make_model, members, needs_tar

# -- layout --------------------------------------------------------------------------------


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


# -- readers -------------------------------------------------------------------------------


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
    header = tar_format._tar_header("model-00001.safetensors", size=size, mode=0o644, typeflag=tarfile.REGTYPE)

    with tarfile.open(fileobj=io.BytesIO(header + bytes(1024)), mode="r|") as archive:
        member = archive.next()

    assert member is not None
    assert (member.name, member.size, member.mode) == ("model-00001.safetensors", size, 0o644)
