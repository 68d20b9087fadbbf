"""What a local archive or directory holds: whether the model lands at ``/opt/ml/model``, and its ``code/``.

SageMaker extracts a ``model.tar.gz`` into ``/opt/ml/model`` (and a packaged directory becomes it
as it is), so both are read here before anything is uploaded: the layout problems SageMaker only
shows after a deploy, and the ``code/`` files an archive ships, with its links followed the way the
container's file system will follow them.
"""

from __future__ import annotations

import functools
import gzip
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from .._core.errors import ConfigurationError, describe


@dataclass(frozen=True)
class ArchiveLayoutProblem:
    """A local archive that extracts to no model files at ``/opt/ml/model``, where serving stacks look.

    Every entry sits under one top-level directory (``tar czf m.tar.gz my-model/``: SageMaker
    extracts it to ``/opt/ml/model/my-model/``), or under several (``tar czf m.tar.gz my-model/ code/``),
    or the archive holds no files at all.
    """

    path: Path
    """The archive."""
    directory: str | None
    """The one top-level directory everything is under; ``None`` for an archive without files, or
    with several top-level directories (see ``directories``)."""
    directories: tuple[str, ...] = ()
    """The top-level directories, when there are several (``code/`` included) and no file at the root."""
    is_directory: bool = False
    """``path`` is a local model directory (packaged as it is) rather than an archive."""

    def message(self, prop: str = "model_data") -> str:
        """What is wrong, naming the prop, the archive and how to rebuild it."""
        if self.is_directory:
            subdirectories = self.directories or ((self.directory,) if self.directory else ())
            listed = ", ".join(f"{name + '/'!r}" for name in subdirectories)
            hint = f" ({str(self.path / self.directory)!r})" if self.directory else ""
            return (
                f"{prop}: {describe(str(self.path))} has no files at its root, only {listed}; the directory is "
                "packaged as /opt/ml/model as it is, so the model would sit one level down, where the serving "
                f"stack does not look: pass the directory that holds config.json and the weights{hint}"
            )
        if self.directories:
            listed = ", ".join(f"{name + '/'!r}" for name in self.directories)
            return (
                f"{prop}: {describe(str(self.path))} has no files at its root, only the directories {listed}; "
                "SageMaker extracts the archive into /opt/ml/model, where the serving stack looks for the model "
                "files (config.json, the weights): rebuild it with them at the root and any code/ beside them "
                "(`tar czf model.tar.gz -C model_dir .` with code/ inside model_dir), or pass the model directory"
            )
        if self.directory is None:
            return (
                f"{prop}: {describe(str(self.path))} holds no files; expected the model files at the archive "
                "root (create it with `tar czf model.tar.gz -C model_dir .` or pass the directory instead)"
            )
        return (
            f"{prop}: {describe(str(self.path))} holds everything under {self.directory + '/'!r}; SageMaker "
            f"extracts the archive into /opt/ml/model, so the model would be in /opt/ml/model/{self.directory}/, "
            f"where the serving stack does not look: rebuild it with `tar czf model.tar.gz -C {self.directory} .` "
            "or pass the model directory instead"
        )


# How far into the uncompressed tar stream the layout check reads: well-made archives show a file
# at the root within the first entries; a nested one is only reported when read to its end, so this
# bounds the time spent on a large archive whose first directory holds big files.
_LAYOUT_SCAN_BYTES = 64 * 1024 * 1024


def check_local_archive(path: Path, prop: str) -> ArchiveLayoutProblem | None:
    """A local ``model.tar.gz`` must be a gzip-compressed tar: SageMaker only finds out after a deploy.

    Also reports an archive without files at its root (see ``ArchiveLayoutProblem``), when it can
    be read to its end within ``_LAYOUT_SCAN_BYTES``; larger ones are not judged.
    """
    try:
        stat = path.stat()
        return _layout_problem(path, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        problem = f"is not a readable tar archive ({error})"
    except _NotGzip:
        problem = "is not gzip-compressed"
    raise ConfigurationError(
        f"{prop}: {describe(str(path))} {problem}; expected a model.tar.gz (create it with "
        "`tar czf model.tar.gz -C model_dir .` or pass the directory instead)"
    )


class _NotGzip(Exception):
    pass


@functools.lru_cache(maxsize=64)
def _layout_problem(path: Path, size: int, mtime_ns: int, inode: int) -> ArchiveLayoutProblem | None:
    """The layout scan, once per version of the file (an endpoint and its variants may share it)."""
    with path.open("rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            raise _NotGzip
        handle.seek(0)
        # GzipFile reads multi-member gzip streams (bgzip, concatenated parts), as SageMaker's tar does.
        with gzip.GzipFile(fileobj=handle) as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            top_directories: set[str] = set()
            for member in tar:
                parts = [part for part in member.name.split("/") if part not in ("", ".")]
                if parts and len(parts) == 1 and not member.isdir():
                    return None  # a file at the root: the layout SageMaker expects
                if parts:
                    top_directories.add(parts[0])
                # Checked before the next header is read: reading it means decompressing this member.
                if tar.offset > _LAYOUT_SCAN_BYTES:
                    return None
    if not top_directories:
        return ArchiveLayoutProblem(path, None)
    if top_directories == {"code"}:
        return None  # only a script, whose model_fn finds the model itself: not a model one directory down
    if len(top_directories) == 1:
        return ArchiveLayoutProblem(path, top_directories.pop())
    return ArchiveLayoutProblem(path, None, tuple(sorted(top_directories)))


def directory_layout_problem(path: Path) -> ArchiveLayoutProblem | None:
    """A directory holding only subdirectories (``models/`` around ``my-model/``): the same mistake as
    a nested archive. ``code/`` alone, and hidden entries, are not a model."""
    try:
        entries = list(path.iterdir())
    except OSError:
        return None
    if any(entry.is_file() for entry in entries):
        return None
    subdirectories = sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    if not subdirectories or subdirectories == ["code"]:
        return None  # empty directories and script-only ones are reported elsewhere
    if len(subdirectories) == 1:
        return ArchiveLayoutProblem(path, subdirectories[0], is_directory=True)
    return ArchiveLayoutProblem(path, None, tuple(subdirectories), is_directory=True)


@dataclass(frozen=True)
class ShippedCode:
    """The small files under ``code/`` in a local archive: what the toolkit imports and installs."""

    archive: Path
    """The archive they are in."""
    files: tuple[tuple[str, bytes], ...]
    """``(path under code/, content)`` of each regular file, and of each link whose target was read."""
    dangling: tuple[tuple[str, str], ...] = ()
    """``(path under code/, link target)`` of each symbolic link whose target is not in the archive:
    SageMaker extracts it as a link to nothing in the container."""

    def extract_to(self, directory: Path) -> None:
        """Write the files to ``directory/code/``."""
        code = directory / "code"
        for name, content in self.files:
            target = code / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


# Files under code/ larger than this are not scripts or requirement lists (wheels, data): not read.
_CODE_FILE_BYTES = 1024 * 1024
# Small files elsewhere that a link under code/ may point to (a script kept next to the weights).
_LINKABLE_SUFFIXES = (".py", ".txt")
_MAX_LINK_HOPS = 8


@functools.lru_cache(maxsize=64)
def read_shipped_code(path: Path, size: int, mtime_ns: int, inode: int) -> ShippedCode | None:
    """Read ``code/`` out of an archive, as far as ``_LAYOUT_SCAN_BYTES`` into it.

    ``tar czf m.tar.gz *`` writes ``code/`` first (the shell sorts it before ``config.json``);
    ``tar czf m.tar.gz -C dir .`` writes entries in directory order, so ``code/`` may come after
    gigabytes of weights, and is then not read. A tar writes a directory's entries together, so the
    ``code/`` files found before the bound are all of them.

    Links under ``code/`` (``tar`` stores symbolic links as links unless given ``-h``) are followed
    to what the archive holds, as the container's file system will: a hard link to the file it
    names, a symbolic link relative to its directory.
    """
    contents: dict[str, bytes] = {}
    links: dict[str, tuple[str, bool]] = {}  # archive path -> (target, is a symbolic link)
    names: set[str] = set()
    complete = True
    with (
        path.open("rb") as handle,
        gzip.GzipFile(fileobj=handle) as stream,
        tarfile.open(fileobj=stream, mode="r|") as tar,
    ):
        for member in tar:
            name = _archive_path(member.name)
            if name is None:
                continue
            # Every directory on the way counts as present: tar extracts them even without their own entries.
            names.update("/".join(name.split("/")[:depth]) for depth in range(1, name.count("/") + 2))
            in_code = name.startswith("code/")
            if member.isfile() and member.size <= _CODE_FILE_BYTES and (in_code or name.endswith(_LINKABLE_SUFFIXES)):
                extracted = tar.extractfile(member)
                if extracted is not None:
                    contents[name] = extracted.read()
            elif (member.issym() or member.islnk()) and in_code:
                links[name] = (member.linkname, member.issym())
            if tar.offset > _LAYOUT_SCAN_BYTES:
                complete = False
                break
    files = [(name[len("code/") :], content) for name, content in contents.items() if name.startswith("code/")]
    dangling: list[tuple[str, str]] = []
    for name, (target, symbolic) in links.items():
        content, outside = _follow_link(name, target, symbolic, contents, links)
        if content is not None:
            files.append((name[len("code/") :], content))
        elif symbolic and (outside or (complete and _link_target(name, target) not in names)):
            dangling.append((name[len("code/") :], target))
    if not files and not dangling:
        return None
    return ShippedCode(path, tuple(files), tuple(dangling))


def _archive_path(member_name: str) -> str | None:
    """A member's path from the archive's root (``./code/x`` -> ``code/x``); ``None`` when it escapes it."""
    parts = [part for part in member_name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _link_target(name: str, target: str) -> str | None:
    """Where a symbolic link at ``name`` points, from the archive's root (``None``: outside the archive)."""
    if target.startswith("/"):
        return None
    parts = name.split("/")[:-1]
    for part in target.split("/"):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _follow_link(
    name: str, target: str, symbolic: bool, contents: dict[str, bytes], links: dict[str, tuple[str, bool]]
) -> tuple[bytes | None, bool]:
    """The content a link resolves to (``None`` when not read), and whether it leaves the archive."""
    for _ in range(_MAX_LINK_HOPS):
        resolved = _link_target(name, target) if symbolic else _archive_path(target)
        if resolved is None:
            return None, True
        if resolved in contents:
            return contents[resolved], False
        if resolved not in links:
            return None, False
        name, (target, symbolic) = resolved, links[resolved]
    return None, False  # a loop of links: left to the archive's own tools


@functools.lru_cache(maxsize=64)
def archive_members(path: Path, size: int, mtime_ns: int, inode: int) -> dict[str, int]:
    """The regular files of a local ``.tar.gz`` (path inside the archive -> size), read once per file version.

    Reading the member list decompresses the whole archive: only a server that must name its model file
    (llama.cpp) asks for it.
    """
    members: dict[str, int] = {}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            name = _archive_path(member.name)
            if name is not None and member.isfile():
                members[name] = member.size
    return members


def read_member_prefix(path: Path, name: str, size: int) -> bytes | None:
    """The first ``size`` bytes of member ``name`` (a path inside ``/opt/ml/model``) of a local ``.tar.gz``."""
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if member.isfile() and _archive_path(member.name) == name:
                handle = archive.extractfile(member)
                return handle.read(size) if handle is not None else None
    return None
