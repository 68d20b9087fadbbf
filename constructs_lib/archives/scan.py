"""What goes into an archive: the directory scan (symlinks followed, junk skipped) and its errors."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._core.errors import ConfigurationError, describe

_JUNK_NAMES = frozenset({".git", "__pycache__", ".ipynb_checkpoints", ".DS_Store"})
_JUNK_SUFFIXES = (".pyc",)
_MODEL_ROOT_JUNK = frozenset({".cache"})

_MODEL_LAYOUT = "a directory in save_pretrained layout (config.json, *.safetensors, tokenizer files, ...)"
_CODE_LAYOUT = "a directory holding inference.py and optionally requirements.txt"


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


def _model_entries(model_path: Path, *, without_code: bool) -> list[_Entry]:
    """The members of a model directory, at the archive root; ``code/`` left out when ``without_code``."""
    drop = _MODEL_ROOT_JUNK | ({"code"} if without_code else set())
    entries = _scan(model_path, "model_data", prefix="", hash_content=False, drop_top_level=frozenset(drop))
    if not any(not entry.is_dir for entry in entries):
        raise _empty_error("model_data", model_path, _MODEL_LAYOUT)
    return entries


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
            st = _member_stat(path, item.name, prop)
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


def _member_stat(path: Path, name: str, prop: str) -> os.stat_result:
    """The ``stat`` of a scanned member, symlinks followed; a name tar cannot hold or a dangling link is an error."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"{prop}: {describe(str(path))} has a file name that is not valid UTF-8, which a tar archive "
            "for SageMaker cannot hold; rename it"
        ) from None
    try:
        return os.stat(path)  # follows symlinks
    except FileNotFoundError:
        raise ConfigurationError(
            f"{prop}: {describe(str(path))} is a broken symbolic link (to {describe(os.readlink(path))}); "
            "symbolic links are followed and must point at an existing file or directory"
        ) from None
    except OSError as error:  # e.g. ELOOP for a link pointing at itself
        raise ConfigurationError(f"{prop}: {describe(str(path))} cannot be read: {error.strerror}") from None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
