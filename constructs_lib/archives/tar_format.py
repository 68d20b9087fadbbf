"""The tar stream of an archive: members with normalised metadata, ustar and pax headers, and the
members of an existing ``model.tar.gz`` copied through."""

from __future__ import annotations

import contextlib
import gzip
import os
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

from .._core.errors import ConfigurationError, describe
from .scan import _Entry
from .stored_gzip import _CHUNK, _StoredGzipWriter

_TAR_BLOCK = 512
_TAR_RECORD = 20 * _TAR_BLOCK  # pad the end like GNU tar and tarfile do
_MAX_OCTAL_SIZE = 0o77777777777  # 8 GiB - 1: larger sizes go into a pax "size" record


class _Progress(Protocol):
    def update(self, n: int) -> object: ...


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
