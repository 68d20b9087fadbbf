"""Deterministic, cached, streaming ``model.tar.gz`` builder.

SageMaker wants model data as one gzip-compressed tar with the ``save_pretrained`` files at
the archive root and an optional inference script under ``code/``. This module builds such
archives from local directories so that:

* **the bytes depend only on the inputs' names, contents and executable bits.** Entries are
  sorted (component-wise, parents before children, directories included), every header has
  mtime 0, uid/gid 0, empty uname/gname, mode 0o644 (0o755 for directories and files with
  any execute bit). The tar headers (POSIX ustar + pax extended headers where ustar cannot
  hold a name or a size >= 8 GiB) and the gzip stream are written by this module, not by
  ``tarfile``/``zlib``, so the result does not change with the Python or zlib version
  (zlib-ng, which some distributions ship as ``libz``, emits different deflate bytes).
  Same inputs -> same content digest -> same CDK asset hash -> no re-upload and no replacement of
  the SageMaker Model on another machine or in CI.
* **packing runs close to copy speed.** Weights are incompressible (safetensors,
  ``.bin``, ``.gguf`` gain a few percent at best, at 50-300 MB/s per core), so the gzip
  stream uses *stored* deflate blocks (deflate's "no compression" block type) for all
  data: a valid ``.tar.gz`` that ``tar -xzf``, ``gzip -d`` and ``tarfile`` read, produced
  by streaming each file through a fixed-size buffer (memory does not grow with the model)
  while the crc32 and the asset hash are computed on the fly (no second pass). The asset
  hash is a BLAKE3 digest of the tar stream: about 3x faster than sha256 (even with SHA
  extensions), so hashing a 2 GiB model no longer takes longer than writing it.
  The cost is that the few small text files (config, tokenizer) are stored uncompressed;
  for real models that is well under 1% of the archive.
* **unchanged inputs are never packed twice.** Archives are cached under a fingerprint of
  the inputs; see :func:`package_model_directory` for what is fingerprinted and where the
  cache lives.

Symbolic links are **followed**: the archive holds the content they point at. Hugging Face
cache snapshots (``~/.cache/huggingface/hub/models--*/snapshots/<rev>/``) are made of
symlinks into ``blobs/``, so following them is what makes such a directory usable as model
data. A broken link, a directory link that loops, or a special file (socket, FIFO, device)
raises :class:`~constructs_lib._validation.ConfigurationError`.

Skipped everywhere: ``.git/``, ``__pycache__/``, ``.ipynb_checkpoints/``, ``.DS_Store`` and
``*.pyc``; additionally a top-level ``.cache/`` directory of a model directory (written by
``huggingface-cli download --local-dir``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import queue
import re
import stat
import struct
import sys
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import blake3

try:  # ISA-L's crc32 runs ~6x faster than zlib's here (same value); it has wheels for x86-64 and ARM64.
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - other machines
    from zlib import crc32 as _crc32

from ._core.errors import ConfigurationError, describe

try:  # tqdm draws the progress bar of long packs; without it packing is silent.
    from tqdm import tqdm as _tqdm  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pragma: no cover - tqdm is a runtime dependency
    _tqdm = None

__all__ = [
    "CACHE_DIR_ENV",
    "FORMAT_VERSION",
    "PackagedArchive",
    "add_code_to_archive",
    "default_cache_dir",
    "package_code_only",
    "package_model_directory",
]

FORMAT_VERSION = 2
"""Bumped whenever the archive bytes or the asset hash for the same inputs change; part of every cache key."""

CACHE_DIR_ENV = "CONSTRUCTS_LIB_CACHE_DIR"
"""Environment variable naming the archive cache directory."""

_CHUNK = 4 << 20  # read size; peak memory is a small multiple of this, whatever the model size
_BLOCK = 0xFFFF  # the largest stored deflate block
_IOV_MAX = 1024  # the smallest IOV_MAX of Linux and macOS
# The asset hash is the BLAKE3 of this prefix and the uncompressed tar stream. The gzip framing
# is a pure function of the tar stream, so the prefix names it (and the format) instead of
# hashing the framing bytes too.
_DIGEST_PREFIX = (
    f"constructs_lib model.tar.gz v{FORMAT_VERSION}, gzip of stored deflate blocks of {_BLOCK} bytes\n".encode()
)
_TAR_BLOCK = 512
_TAR_RECORD = 20 * _TAR_BLOCK  # pad the end like GNU tar and tarfile do
_MAX_OCTAL_SIZE = 0o77777777777  # 8 GiB - 1: larger sizes go into a pax "size" record
_PROGRESS_DELAY_S = 2.0
_STALE_TEMP_S = 3600.0

# gzip member header: magic, CM=deflate, FLG=0 (no name/comment/extra), MTIME=0, XFL=0, OS=255 (unknown).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# stored block header, byte-aligned: BFINAL=0 BTYPE=00 (padding bits 0), LEN, NLEN (little-endian).
_STORED_FULL = b"\x00" + struct.pack("<HH", _BLOCK, _BLOCK ^ 0xFFFF)

_JUNK_NAMES = frozenset({".git", "__pycache__", ".ipynb_checkpoints", ".DS_Store"})
_JUNK_SUFFIXES = (".pyc",)
_MODEL_ROOT_JUNK = frozenset({".cache"})

_MODEL_LAYOUT = "a directory in save_pretrained layout (config.json, *.safetensors, tokenizer files, ...)"
_CODE_LAYOUT = "a directory holding inference.py and optionally requirements.txt"


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


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """The archive cache: ``$CONSTRUCTS_LIB_CACHE_DIR`` or ``~/.cache/constructs_lib/archives``."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "constructs_lib" / "archives"


def package_model_directory(
    model_dir: str | Path,
    *,
    code_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
) -> PackagedArchive:
    """Pack a ``save_pretrained`` directory (plus an optional script directory) into ``model.tar.gz``.

    The files of ``model_dir`` go to the archive root; the files of ``code_dir`` go under
    ``code/`` (a ``code/`` directory inside ``model_dir`` is then left out in favour of
    ``code_dir``). The only requirement on ``model_dir`` is that it holds at least one file.

    Caching: the archive is looked up under a fingerprint of the packing format version, the
    kind of archive, and for every entry its relative path, its executable bit and either its
    size, ``mtime_ns``, ``ctime_ns`` and inode (model files: weights are never read on a cache
    hit; the change time and inode catch a file replaced by one of the same size and mtime, as
    ``cp -p`` or extracting an archive does) or its sha256 (code files, which are small). A hit
    costs one ``stat`` per file and no packing or hashing of the archive (its asset hash and size
    are stored next to it). The cache lives in
    ``cache_dir``, default :func:`default_cache_dir`, with one sub-directory per (kind, source
    directory, code directory); each keeps only the newest archive, so the cache holds one
    archive per source and can be deleted at any time. Archives are written to a temporary
    file and renamed into place, so an interrupted run never leaves a partial archive behind.

    Packs that take longer than about two seconds show a progress bar on stderr.

    :param model_dir: directory with the model files, e.g. the output of ``save_pretrained``.
    :param code_dir: directory to ship as ``code/`` (``inference.py``, ``requirements.txt``).
        :default: no ``code/`` added (a ``code/`` directory of ``model_dir`` is kept as is)
    :param cache_dir: where archives are cached.
        :default: ``$CONSTRUCTS_LIB_CACHE_DIR``, else ``~/.cache/constructs_lib/archives``
    :raises ConfigurationError: if a directory is missing, empty, or holds a broken symlink.
    """
    model_path = _require_dir(model_dir, "model_data", _MODEL_LAYOUT)
    drop = _MODEL_ROOT_JUNK | ({"code"} if code_dir is not None else set())
    entries = _scan(model_path, "model_data", prefix="", hash_content=False, drop_top_level=frozenset(drop))
    if not any(not entry.is_dir for entry in entries):
        raise _empty_error("model_data", model_path, _MODEL_LAYOUT)
    code_path: Path | None = None
    if code_dir is not None:
        code_path = _require_dir(code_dir, "code_dir", _CODE_LAYOUT)
        entries += _code_entries(code_path)
    entries.sort(key=_sort_key)
    sources = [str(model_path), str(code_path) if code_path else ""]
    return _cached_build(
        "model", sources, model_path.name, entries, {}, lambda tar: _write_entries(tar, entries), cache_dir
    )


def package_code_only(code_dir: str | Path, *, cache_dir: str | Path | None = None) -> PackagedArchive:
    """Pack a script directory into a ``model.tar.gz`` holding only ``code/...``.

    Used for Hub models with a custom script: the container downloads the weights from the
    Hub (``HF_MODEL_ID``) and imports the script from ``/opt/ml/model/code``. Caching as in
    :func:`package_model_directory`, keyed by the content of the code files.

    :param code_dir: directory to ship as ``code/`` (``inference.py``, ``requirements.txt``).
    :param cache_dir: where archives are cached.
        :default: ``$CONSTRUCTS_LIB_CACHE_DIR``, else ``~/.cache/constructs_lib/archives``
    :raises ConfigurationError: if the directory is missing or empty.
    """
    code_path = _require_dir(code_dir, "code_dir", _CODE_LAYOUT)
    entries = _code_entries(code_path)
    entries.sort(key=_sort_key)
    return _cached_build(
        "code", [str(code_path)], code_path.name, entries, {}, lambda tar: _write_entries(tar, entries), cache_dir
    )


def add_code_to_archive(
    archive: str | Path,
    code_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
) -> PackagedArchive:
    """Copy a local ``model.tar.gz`` into a new archive with ``code/`` replaced by ``code_dir``.

    The members of ``archive`` are streamed through in their original order (never held in
    memory or extracted to disk), with normalised metadata (as in
    :func:`package_model_directory`) and leading ``./`` removed; any ``code/`` members are
    dropped, and the files of ``code_dir`` are appended under ``code/`` in sorted order.
    Cached under the archive's size, ``mtime_ns``, ``ctime_ns`` and inode plus the content of the
    code files.

    :param archive: an existing ``model.tar.gz`` (gzip-compressed tar).
    :param code_dir: directory to ship as ``code/`` (``inference.py``, ``requirements.txt``).
    :param cache_dir: where archives are cached.
        :default: ``$CONSTRUCTS_LIB_CACHE_DIR``, else ``~/.cache/constructs_lib/archives``
    :raises ConfigurationError: if the archive is missing or not a ``.tar.gz``, or the code
        directory is missing or empty.
    """
    archive_path = Path(archive).expanduser()
    if not archive_path.is_file():
        what = "is not a file" if archive_path.exists() else "does not exist"
        raise ConfigurationError(
            f"model_data: {describe(str(archive_path))} {what}; expected a local model.tar.gz (gzip-compressed tar)"
        )
    archive_path = archive_path.resolve()
    with archive_path.open("rb") as handle:
        magic = handle.read(2)
    if magic != b"\x1f\x8b":
        raise ConfigurationError(
            f"model_data: {describe(str(archive_path))} is not gzip-compressed; expected a model.tar.gz "
            "(create it with `tar czf model.tar.gz -C model_dir .` or pass the directory instead)"
        )
    code_path = _require_dir(code_dir, "code_dir", _CODE_LAYOUT)
    code = _code_entries(code_path)
    code.sort(key=_sort_key)
    st = archive_path.stat()
    extra = {"archive": list(_identity(st))}

    def write(tar: _TarWriter) -> None:
        _copy_archive_without_code(tar, archive_path)
        _write_entries(tar, code)
        if _identity(archive_path.stat()) != _identity(st):
            raise RuntimeError(f"{archive_path} changed while it was being repacked; run again")

    name = archive_path.name.removesuffix(".gz").removesuffix(".tar")
    return _cached_build("repack", [str(archive_path), str(code_path)], name, code, extra, write, cache_dir)


# --------------------------------------------------------------------------------------
# scanning and fingerprints
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One archive member taken from the local file system."""

    arcname: str
    source: Path
    is_dir: bool
    size: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0
    inode: int = 0
    executable: bool = False
    content_sha256: str | None = None  # set for code files: their content is the cache key

    @property
    def mode(self) -> int:
        return 0o755 if self.is_dir or self.executable else 0o644

    def fingerprint_row(self) -> list[Any]:
        if self.is_dir:
            return [self.arcname, "d"]
        if self.content_sha256 is not None:
            return [self.arcname, "c", self.size, self.content_sha256, self.executable]
        return [self.arcname, "f", self.size, self.mtime_ns, self.ctime_ns, self.inode, self.executable]


def _sort_key(entry: _Entry) -> list[str]:
    # Component-wise: a directory sorts right before its contents, "a/b" before "a-c".
    return entry.arcname.split("/")


def _is_junk(name: str) -> bool:
    return name in _JUNK_NAMES or name.endswith(_JUNK_SUFFIXES)


def _require_dir(value: str | Path, prop: str, expected: str) -> Path:
    path = Path(value).expanduser()
    if not path.exists():
        raise ConfigurationError(f"{prop}: {describe(str(path))} does not exist; expected {expected}")
    if not path.is_dir():
        raise ConfigurationError(f"{prop}: {describe(str(path))} is not a directory; expected {expected}")
    return path.resolve()


def _empty_error(prop: str, path: Path, expected: str) -> ConfigurationError:
    junk = ", ".join(sorted(_JUNK_NAMES)) + ", *.pyc"
    return ConfigurationError(f"{prop}: {describe(str(path))} holds no files (ignoring {junk}); expected {expected}")


def _code_entries(code_path: Path) -> list[_Entry]:
    entries = [_Entry("code", code_path, is_dir=True)]
    entries += _scan(code_path, "code_dir", prefix="code/", hash_content=True, drop_top_level=frozenset())
    if len(entries) == 1 or all(entry.is_dir for entry in entries):
        raise _empty_error("code_dir", code_path, _CODE_LAYOUT)
    return entries


def _scan(root: Path, prop: str, *, prefix: str, hash_content: bool, drop_top_level: frozenset[str]) -> list[_Entry]:
    """Walk ``root`` in sorted order, following symlinks, and describe every member."""
    entries: list[_Entry] = []

    def walk(directory: Path, arc_prefix: str, ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            with os.scandir(directory) as iterator:
                items = sorted(iterator, key=lambda item: item.name)
        except PermissionError:
            raise ConfigurationError(f"{prop}: {describe(str(directory))} cannot be read: permission denied") from None
        for item in items:
            if _is_junk(item.name) or (directory == root and item.name in drop_top_level):
                continue
            path = Path(item.path)
            try:
                item.name.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigurationError(
                    f"{prop}: {describe(str(path))} has a file name that is not valid UTF-8, which a tar archive "
                    "for SageMaker cannot hold; rename it"
                ) from None
            try:
                st = os.stat(path)  # follows symlinks
            except FileNotFoundError:
                raise ConfigurationError(
                    f"{prop}: {describe(str(path))} is a broken symbolic link (to {describe(os.readlink(path))}); "
                    "symbolic links are followed and must point at an existing file or directory"
                ) from None
            except OSError as error:  # e.g. ELOOP for a link pointing at itself
                raise ConfigurationError(f"{prop}: {describe(str(path))} cannot be read: {error.strerror}") from None
            arcname = arc_prefix + item.name
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    raise ConfigurationError(
                        f"{prop}: {describe(str(path))} is a symbolic link to one of its parent directories; "
                        "symbolic links are followed, so this would never end"
                    )
                entries.append(_Entry(arcname, path, is_dir=True))
                walk(path, arcname + "/", ancestors | {key})
            elif stat.S_ISREG(st.st_mode):
                if not os.access(path, os.R_OK):
                    raise ConfigurationError(f"{prop}: {describe(str(path))} cannot be read: permission denied")
                entries.append(
                    _Entry(
                        arcname,
                        path,
                        is_dir=False,
                        size=st.st_size,
                        mtime_ns=st.st_mtime_ns,
                        ctime_ns=st.st_ctime_ns,
                        inode=st.st_ino,
                        executable=bool(st.st_mode & 0o111),
                        content_sha256=_file_sha256(path) if hash_content else None,
                    )
                )
            else:
                raise ConfigurationError(
                    f"{prop}: {describe(str(path))} is not a regular file or directory (socket, FIFO or device)"
                )

    root_st = os.stat(root)
    walk(root, prefix, frozenset({(root_st.st_dev, root_st.st_ino)}))
    return entries


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fingerprint(kind: str, entries: Sequence[_Entry], extra: dict[str, Any]) -> str:
    document = {
        "format": FORMAT_VERSION,
        "kind": kind,
        "extra": extra,
        "entries": [entry.fingerprint_row() for entry in entries],
    }
    return hashlib.sha256(json.dumps(document, separators=(",", ":"), sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------------------


class _Progress(Protocol):
    def update(self, n: int) -> object: ...


class _NoProgress:
    def update(self, n: int) -> object:
        return None


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
    fd, tmp_name = tempfile.mkstemp(dir=slot, prefix=".tmp-", suffix=".tar.gz")
    tmp = Path(tmp_name)
    try:
        total = sum(entry.size for entry in entries) if kind != "repack" else None
        with _progress(total, f"packaging {display_name}") as progress:
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
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    _prune(slot, keep={archive.name, meta.name})
    return PackagedArchive(path=archive, asset_hash=digest, size=size, from_cache=False)


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


# --------------------------------------------------------------------------------------
# gzip and tar writers
# --------------------------------------------------------------------------------------


class _StoredGzipWriter:
    """A single-member gzip stream of stored deflate blocks, with a content digest.

    Block boundaries fall every 65535 bytes of the uncompressed stream, whatever the sizes
    of the writes, so the output depends only on the data. Data is never copied into an
    output buffer: each write becomes one ``writev`` of block headers interleaved with
    slices of the caller's buffer. Only the tail of a write that does not fill a block
    (at most 64 KiB) is copied, because the header of that block can only be written once
    its length is known.

    The crc32 (for the gzip trailer) and the BLAKE3 digest (for the CDK asset hash) of the
    uncompressed stream are computed on a second thread; both release the GIL, so they
    overlap reading and writing. Buffers passed to :meth:`write_buffer` are lent to that
    thread until it has hashed them; :meth:`buffer` hands out free ones.
    """

    def __init__(self, fd: int, buffers: int = 3) -> None:
        self._fd = fd
        self._length = 0  # uncompressed bytes so far
        self._size = 0  # compressed bytes written so far
        self._carry = bytearray(_BLOCK)
        self._carry_fill = 0
        self._pending: list[bytes | bytearray | memoryview] = [_GZIP_HEADER]
        self._checksums = _ChecksumThread()
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(buffers):
            self._free.put(bytearray(_CHUNK))

    def buffer(self) -> bytearray:
        """A free buffer of ``_CHUNK`` bytes to fill and pass to :meth:`write_buffer` (or :meth:`release`)."""
        return self._free.get()

    def release(self, buffer: bytearray) -> None:
        """Return an unused buffer to the pool."""
        self._free.put(buffer)

    def write_buffer(self, buffer: bytearray, length: int) -> None:
        """Append ``buffer[:length]``; the buffer goes back to the pool once it is hashed."""
        view = memoryview(buffer)[:length]
        self._checksums.submit(view, lambda: self._free.put(buffer))
        self._append(view)

    def write(self, data: bytes) -> None:
        """Append immutable bytes (headers, padding)."""
        if data:
            self._checksums.submit(data, None)
            self._append(memoryview(data))

    def _append(self, view: memoryview) -> None:
        self._length += len(view)
        pieces = self._pending
        self._pending = []
        pos = 0
        if self._carry_fill:
            pos = min(_BLOCK - self._carry_fill, len(view))
            if self._carry_fill + pos < _BLOCK:
                self._carry[self._carry_fill : self._carry_fill + pos] = view
                self._carry_fill += pos
                self._pending = pieces
                return
            pieces += [_STORED_FULL, memoryview(self._carry)[: self._carry_fill], view[:pos]]
        while len(view) - pos >= _BLOCK:
            pieces += [_STORED_FULL, view[pos : pos + _BLOCK]]
            pos += _BLOCK
        # the carry is written from (above) before it is overwritten (below)
        self._size += _write_all(self._fd, pieces)
        self._carry_fill = len(view) - pos
        self._carry[: self._carry_fill] = view[pos:]

    def close(self) -> tuple[str, int]:
        """Write the final block and the trailer; return (content digest hex, compressed size)."""
        crc, digest = self._checksums.finish()
        last = self._carry_fill
        pieces = [
            *self._pending,
            b"\x01" + struct.pack("<HH", last, last ^ 0xFFFF),
            memoryview(self._carry)[:last],
            struct.pack("<II", crc, self._length & 0xFFFFFFFF),
        ]
        self._size += _write_all(self._fd, pieces)
        return digest, self._size

    def abort(self) -> None:
        """Stop the checksum thread after a failure."""
        self._checksums.finish()


class _ChecksumThread:
    """crc32 and BLAKE3 of a byte stream, computed in order on a worker thread."""

    def __init__(self) -> None:
        self._crc = 0
        self._digest = blake3.blake3(_DIGEST_PREFIX)
        self._work: queue.Queue[tuple[bytes | memoryview, Callable[[], object] | None] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="constructs-lib-packaging-checksums", daemon=True)
        self._thread.start()

    def submit(self, data: bytes | memoryview, release: Callable[[], object] | None) -> None:
        self._work.put((data, release))

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            data, release = item
            try:
                if self._error is None:
                    self._crc = _crc32(data, self._crc)
                    self._digest.update(data)
            except BaseException as error:  # pragma: no cover - memory errors only
                self._error = error
            finally:
                if release is not None:  # always: the writer waits for its buffers to come back
                    release()

    def finish(self) -> tuple[int, str]:
        self._work.put(None)
        self._thread.join()
        if self._error is not None:  # pragma: no cover
            raise self._error
        return self._crc, self._digest.hexdigest()


def _write_all(fd: int, pieces: list[bytes | bytearray | memoryview]) -> int:
    """Write ``pieces`` in order, with one ``writev`` per ``_IOV_MAX`` pieces; return the byte count."""
    total = 0
    for start in range(0, len(pieces), _IOV_MAX):
        batch = pieces[start : start + _IOV_MAX]
        size = sum(len(piece) for piece in batch)
        total += size
        written = os.writev(fd, batch) if hasattr(os, "writev") else 0
        if written < size:  # a short write (signal, full disk) or no writev (Windows): finish it plainly
            rest = memoryview(b"".join(batch))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
    return total


class _TarWriter:
    """Writes tar members with normalised metadata into a gzip writer."""

    def __init__(self, gz: _StoredGzipWriter, progress: _Progress) -> None:
        self._gz = gz
        self._progress = progress
        self._offset = 0

    def _write(self, data: bytes) -> None:
        self._gz.write(data)
        self._offset += len(data)

    def add_dir(self, name: str) -> None:
        self._write(_tar_header(name.rstrip("/") + "/", size=0, mode=0o755, typeflag=tarfile.DIRTYPE))

    def add_link(self, name: str, target: str, *, symbolic: bool) -> None:
        typeflag = tarfile.SYMTYPE if symbolic else tarfile.LNKTYPE
        self._write(_tar_header(name, size=0, mode=0o777 if symbolic else 0o644, typeflag=typeflag, linkname=target))

    def add_stream(self, name: str, size: int, mode: int, source: IO[bytes], label: str) -> None:
        """Copy exactly ``size`` bytes of ``source`` as a regular file member."""
        self._write(_tar_header(name, size=size, mode=mode, typeflag=tarfile.REGTYPE))
        remaining = size
        while remaining:
            buffer = self._gz.buffer()
            got = source.readinto(memoryview(buffer)[: min(remaining, _CHUNK)])  # type: ignore[attr-defined]
            if not got:
                self._gz.release(buffer)
                raise RuntimeError(f"{label} shrank while it was being packaged; run again")
            self._gz.write_buffer(buffer, got)
            self._offset += got
            self._progress.update(got)
            remaining -= got
        self._pad()

    def add_file(self, name: str, path: Path, size: int, mode: int) -> None:
        # Plain reads, not mmap: on the VMs measured, faulting the mapping in cost more than the
        # copy it saves, and a file truncated while mapped would crash the process (SIGBUS).
        with path.open("rb", buffering=0) as handle:
            if hasattr(os, "posix_fadvise"):
                with contextlib.suppress(OSError):
                    os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            self.add_stream(name, size, mode, handle, str(path))
            if handle.read(1):
                raise RuntimeError(f"{path} grew while it was being packaged; run again")

    def _pad(self) -> None:
        if self._offset % _TAR_BLOCK:
            self._write(bytes(_TAR_BLOCK - self._offset % _TAR_BLOCK))

    def close(self) -> None:
        self._write(bytes(2 * _TAR_BLOCK))
        if self._offset % _TAR_RECORD:
            self._write(bytes(_TAR_RECORD - self._offset % _TAR_RECORD))


def _write_entries(tar: _TarWriter, entries: Sequence[_Entry]) -> None:
    for entry in entries:
        if entry.is_dir:
            tar.add_dir(entry.arcname)
        else:
            tar.add_file(entry.arcname, entry.source, entry.size, entry.mode)


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _pax_record(key: str, value: str) -> bytes:
    payload = f" {key}={value}\n".encode()
    length = len(payload)
    while True:  # the length prefix counts itself
        candidate = len(str(length).encode()) + len(payload)
        if candidate == length:
            return str(length).encode() + payload
        length = candidate


def _split_ustar_name(encoded: bytes) -> tuple[bytes, bytes] | None:
    """(prefix, name) fitting ustar's 155 + 100 bytes, or None if impossible."""
    if len(encoded) <= 100:
        return b"", encoded
    for index in range(len(encoded) - 1, 0, -1):
        if encoded[index : index + 1] == b"/" and index <= 155 and len(encoded) - index - 1 <= 100:
            return encoded[:index], encoded[index + 1 :]
    return None


def _ustar_block(name: bytes, prefix: bytes, size: int, mode: int, typeflag: bytes, linkname: bytes) -> bytes:
    header = b"".join(
        [
            name.ljust(100, b"\0"),
            _octal(mode, 8),
            _octal(0, 8),  # uid
            _octal(0, 8),  # gid
            _octal(size, 12),
            _octal(0, 12),  # mtime
            b" " * 8,  # checksum placeholder
            typeflag,
            linkname.ljust(100, b"\0"),
            b"ustar\x0000",
            b"\0" * 32,  # uname
            b"\0" * 32,  # gname
            _octal(0, 8),  # devmajor
            _octal(0, 8),  # devminor
            prefix.ljust(155, b"\0"),
            b"\0" * 12,
        ]
    )
    checksum = b"%06o\0 " % sum(header)
    return header[:148] + checksum + header[156:]


def _tar_header(name: str, *, size: int, mode: int, typeflag: bytes, linkname: str = "") -> bytes:
    """A ustar header, preceded by a pax extended header when ustar cannot hold a field."""
    records: list[bytes] = []
    split = _split_ustar_name(name.encode()) if name.isascii() else None
    if split is None:
        records.append(_pax_record("path", name))
        split = (b"", name.encode("ascii", "replace")[-100:])
    link = linkname.encode()
    if not linkname.isascii() or len(link) > 100:
        records.append(_pax_record("linkpath", linkname))
        link = linkname.encode("ascii", "replace")[:100]
    ustar_size = size
    if size > _MAX_OCTAL_SIZE:
        records.append(_pax_record("size", str(size)))
        ustar_size = 0
    block = _ustar_block(split[1], split[0], ustar_size, mode, typeflag, link)
    if not records:
        return block
    payload = b"".join(records)
    pax = _ustar_block(b"././@PaxHeader", b"", len(payload), 0o644, tarfile.XHDTYPE, b"")
    padding = bytes(-len(payload) % _TAR_BLOCK)
    return pax + payload + padding + block


# --------------------------------------------------------------------------------------
# repacking an existing archive
# --------------------------------------------------------------------------------------


def _clean_member_name(name: str, archive: Path) -> str:
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise ConfigurationError(
            f"model_data: {describe(str(archive))} holds the unsafe member {describe(name)} "
            "(absolute path or '..'); SageMaker would not extract it where the model expects"
        )
    return "" if name in ("", ".") else name


def _is_code(name: str) -> bool:
    return name == "code" or name.startswith("code/")


def _copy_archive_without_code(tar: _TarWriter, archive: Path) -> None:
    try:
        with gzip.open(archive, "rb") as raw, tarfile.open(fileobj=raw, mode="r|", bufsize=1 << 20) as source:
            for member in source:
                name = _clean_member_name(member.name, archive)
                if not name or _is_code(name):
                    continue
                if member.isdir():
                    tar.add_dir(name)
                elif member.isreg():
                    handle = source.extractfile(member)
                    assert handle is not None  # regular members always have data
                    mode = 0o755 if member.mode & 0o111 else 0o644
                    tar.add_stream(name, member.size, mode, handle, f"{archive}:{name}")
                elif member.issym() or member.islnk():
                    target = member.linkname
                    if member.islnk():
                        target = _clean_member_name(target, archive)
                        if _is_code(target):
                            raise ConfigurationError(
                                f"model_data: {describe(str(archive))} member {describe(name)} is a hard link "
                                f"into code/, which is replaced by code_dir"
                            )
                    tar.add_link(name, target, symbolic=member.issym())
                else:
                    raise ConfigurationError(
                        f"model_data: {describe(str(archive))} member {describe(name)} is a device, FIFO or other "
                        "special file; expected regular files, directories and links only"
                    )
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise ConfigurationError(
            f"model_data: {describe(str(archive))} is not a readable model.tar.gz ({error}); "
            "expected a gzip-compressed tar"
        ) from None
