"""The archive cache: fingerprints of the inputs, cached builds, their metadata, pruning and progress."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scan import _Entry
from .stored_gzip import FORMAT_VERSION, _StoredGzipWriter
from .tar_format import _Progress, _TarWriter

try:  # tqdm draws the progress bar of long packs; without it packing is silent.
    from tqdm import tqdm as _tqdm  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - tqdm is a runtime dependency
    _tqdm = None

CACHE_DIR_ENV = "CONSTRUCTS_LIB_CACHE_DIR"
"""Environment variable naming the archive cache directory."""

_PROGRESS_DELAY_S = 2.0
_STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class PackagedArchive:
    """A ``model.tar.gz`` in the local archive cache.

    :param path: the cached ``.tar.gz``; do not modify it (it is shared by later synths).
    :param asset_hash: hex BLAKE3 digest of the packing format and the uncompressed tar stream,
        which determine the archive bytes; the CDK asset hash.
    :param size: size of the archive in bytes.
    :param from_cache: ``True`` when the archive was already cached and nothing was packed.
    """

    path: Path
    asset_hash: str
    size: int
    from_cache: bool


def default_cache_dir() -> Path:
    """The archive cache: ``$CONSTRUCTS_LIB_CACHE_DIR`` or ``~/.cache/constructs_lib/archives``."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "constructs_lib" / "archives"


def _fingerprint(kind: str, entries: Sequence[_Entry], extra: dict[str, Any]) -> str:
    document = {
        "format": FORMAT_VERSION,
        "kind": kind,
        "extra": extra,
        "entries": [entry.fingerprint_row() for entry in entries],
    }
    return hashlib.sha256(json.dumps(document, separators=(",", ":"), sort_keys=True).encode()).hexdigest()


def _cached_build(
    kind: str,
    sources: list[str],
    display_name: str,
    entries: Sequence[_Entry],
    extra: dict[str, Any],
    write: Callable[[_TarWriter], None],
    cache_dir: str | Path | None,
) -> PackagedArchive:
    """Return the cached archive for these inputs, building it with ``write(tar)`` on a miss."""
    root = (Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()).absolute()
    fingerprint = _fingerprint(kind, entries, extra)
    source_key = hashlib.sha256("\0".join([kind, *sources]).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", display_name)[:40] or "root"
    slot = root / f"{kind}-{slug}-{source_key}"
    archive = slot / f"{fingerprint[:32]}.tar.gz"
    meta = slot / f"{fingerprint[:32]}.json"

    hit = _read_meta(meta, archive, fingerprint)
    if hit is not None:
        return hit

    slot.mkdir(parents=True, exist_ok=True)
    total = sum(entry.size for entry in entries) if kind != "repack" else None
    digest, size = _build(archive, entries, write, total, f"packaging {display_name}")
    _atomic_write_text(
        meta,
        json.dumps(
            {
                "format": FORMAT_VERSION,
                "fingerprint": fingerprint,
                "asset_hash": digest,
                "size": size,
                "sources": sources,
            },
            indent=2,
        ),
    )
    _prune(slot, keep={archive.name, meta.name})
    return PackagedArchive(path=archive, asset_hash=digest, size=size, from_cache=False)


def _build(
    archive: Path,
    entries: Sequence[_Entry],
    write: Callable[[_TarWriter], None],
    total: int | None,
    description: str,
) -> tuple[str, int]:
    """Write the archive to a temporary file next to ``archive`` and rename it into place.

    Returns (asset hash, size). On any failure the temporary file is removed.
    """
    fd, tmp_name = tempfile.mkstemp(dir=archive.parent, prefix=".tmp-", suffix=".tar.gz")
    tmp = Path(tmp_name)
    try:
        with _progress(total, description) as progress:
            gz = _StoredGzipWriter(fd)
            try:
                tar = _TarWriter(gz, progress)
                write(tar)
                tar.close()
            except BaseException:
                gz.abort()
                raise
            digest, size = gz.close()
        os.close(fd)
        fd = -1
        _check_unchanged(entries)
        os.replace(tmp, archive)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return digest, size


def _read_meta(meta: Path, archive: Path, fingerprint: str) -> PackagedArchive | None:
    try:
        data = json.loads(meta.read_text())
        size = archive.stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION or data.get("fingerprint") != fingerprint:
        return None
    digest = data.get("asset_hash")
    if not isinstance(digest, str) or data.get("size") != size:
        return None
    return PackagedArchive(path=archive, asset_hash=digest, size=size, from_cache=True)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _prune(slot: Path, keep: set[str]) -> None:
    """Keep only the newest archive of a source; drop temp files of crashed runs."""
    now = time.time()
    for path in slot.iterdir():
        if path.name in keep:
            continue
        with contextlib.suppress(OSError):
            if path.name.startswith(".tmp-") and now - path.stat().st_mtime < _STALE_TEMP_S:
                continue  # possibly a concurrent run still writing
            path.unlink()


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a file's content apart without reading it: size, modification and change times, inode."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _check_unchanged(entries: Sequence[_Entry]) -> None:
    for entry in entries:
        if entry.is_dir or entry.content_sha256 is not None:
            continue
        st = os.stat(entry.source)
        if _identity(st) != (entry.size, entry.mtime_ns, entry.ctime_ns, entry.inode):
            raise RuntimeError(f"{entry.source} changed while it was being packaged; run again")


class _NoProgress:
    def update(self, n: int) -> object:
        return None


@contextlib.contextmanager
def _progress(total: int | None, description: str) -> Iterator[_Progress]:
    if _tqdm is None:
        yield _NoProgress()
        return
    bar = _tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        delay=_PROGRESS_DELAY_S,
        mininterval=0.5,
        file=sys.stderr,
        leave=True,
    )
    try:
        yield bar
    finally:
        bar.close()
