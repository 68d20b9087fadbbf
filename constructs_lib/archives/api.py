"""The public entry points: pack a model directory, a script directory, or add a script to an archive."""

from __future__ import annotations

from pathlib import Path

from .._core.errors import ConfigurationError, describe
from .cache import CACHE_DIR_ENV, PackagedArchive, _cached_build, _identity, default_cache_dir
from .scan import _CODE_LAYOUT, _MODEL_LAYOUT, _code_entries, _model_entries, _require_dir, _sort_key
from .stored_gzip import FORMAT_VERSION
from .tar_format import _copy_archive_without_code, _TarWriter, _write_entries

__all__ = [
    "CACHE_DIR_ENV",
    "FORMAT_VERSION",
    "PackagedArchive",
    "add_code_to_archive",
    "default_cache_dir",
    "package_code_only",
    "package_model_directory",
]


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
    :default code_dir: no ``code/`` added (a ``code/`` directory of ``model_dir`` is kept as is)
    :param cache_dir: where archives are cached.
    :default cache_dir: ``$CONSTRUCTS_LIB_CACHE_DIR``, else ``~/.cache/constructs_lib/archives``
    :raises ConfigurationError: if a directory is missing, empty, or holds a broken symlink.
    """
    model_path = _require_dir(model_dir, "model_data", _MODEL_LAYOUT)
    entries = _model_entries(model_path, without_code=code_dir is not None)
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
    :default cache_dir: ``$CONSTRUCTS_LIB_CACHE_DIR``, else ``~/.cache/constructs_lib/archives``
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
    :default cache_dir: ``$CONSTRUCTS_LIB_CACHE_DIR``, else ``~/.cache/constructs_lib/archives``
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
