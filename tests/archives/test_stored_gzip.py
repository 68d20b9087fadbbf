"""The gzip stream: its header, the asset hash, stored blocks of every size, failures and bounded memory."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import blake3
import pytest

from constructs_lib.archives import stored_gzip
from constructs_lib.archives.api import FORMAT_VERSION, package_model_directory

from .support import REPO, contents, make_model

# -- layout --------------------------------------------------------------------------------


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
    monkeypatch.setattr(stored_gzip, "_CHUNK", 1000)  # reads end in the middle of blocks and headers

    small_reads = package_model_directory(model, cache_dir=tmp_path / "other-cache")

    assert small_reads.path.read_bytes() == packed.path.read_bytes()
    assert small_reads.asset_hash == packed.asset_hash


def test_a_checksum_failure_is_raised_instead_of_hanging(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_model(tmp_path / "model", weights=os.urandom(4 * stored_gzip._CHUNK))

    def broken(data: bytes, value: int) -> int:
        raise MemoryError("checksum failed")

    monkeypatch.setattr(stored_gzip, "_crc32", broken)
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


# -- determinism ---------------------------------------------------------------------------


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


# -- memory --------------------------------------------------------------------------------


_MEASURE = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from constructs_lib.archives.api import package_model_directory

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
