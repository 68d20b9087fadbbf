"""Local artifacts, staged as a ``model.tar.gz`` on disk: a model archive, a model directory, a ``code/`` directory.

Each form says which archive to upload (packed and cached by ``packaging``, imported only when an
archive has to be built) and what can be told before that: the local model directory, a layout
that would put no model files at ``/opt/ml/model``, the ``code/`` an archive ships. Publishing the
archive as a CDK file asset is the ``ModelData`` side (``sources``).
"""

from __future__ import annotations

import abc
import tarfile
import zlib
from pathlib import Path

from .inspect import (
    ArchiveLayoutProblem,
    ShippedCode,
    archive_members,
    directory_layout_problem,
    read_member_prefix,
    read_shipped_code,
)


class LocalArtifact(abc.ABC):
    """A local form of the model artifacts, before it is uploaded."""

    @property
    def local_directory(self) -> Path | None:
        """The local model directory, when the model comes from one (used to profile the model)."""
        return None

    @property
    def layout_problem(self) -> ArchiveLayoutProblem | None:
        """Why the archive or directory would put no model files at ``/opt/ml/model`` (``None`` when it would)."""
        return None

    @property
    def shipped_code(self) -> ShippedCode | None:
        """The ``code/`` files an archive ships (``None`` when it ships none or cannot be read to its end
        within the scan bound)."""
        return None

    def local_files(self) -> dict[str, int] | None:
        """The model's files as they will be in ``/opt/ml/model`` (path -> size); ``None`` when unreadable."""
        return None

    def read_file_prefix(self, name: str, size: int) -> bytes | None:
        """The first ``size`` bytes of file ``name`` of the model (``None``: no such file, or unreadable)."""
        return None

    @abc.abstractmethod
    def with_code(self, code_dir: Path) -> LocalArtifact:
        """The same artifacts with ``code_dir`` as ``code/`` in the archive."""

    @abc.abstractmethod
    def archive(self) -> tuple[Path, str | None]:
        """The archive to upload and its asset hash (``None`` lets CDK hash the file)."""


class LocalArchive(LocalArtifact):
    """A local ``model.tar.gz``: uploaded as is, or repacked with a ``code_dir``."""

    def __init__(self, path: Path, layout: ArchiveLayoutProblem | None, code_dir: Path | None = None) -> None:
        self._path = path
        self._layout = layout
        self._code_dir = code_dir

    @property
    def layout_problem(self) -> ArchiveLayoutProblem | None:
        return self._layout

    @property
    def shipped_code(self) -> ShippedCode | None:
        if self._code_dir is not None:
            return None  # CustomScriptEndpoint's code_dir replaces code/, and it is checked on its own
        try:
            stat = self._path.stat()
            return read_shipped_code(self._path, stat.st_size, stat.st_mtime_ns, stat.st_ino)
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            return None  # check_local_archive has already said what is wrong with it

    def with_code(self, code_dir: Path) -> LocalArtifact:
        return LocalArchive(self._path, self._layout, code_dir)

    def local_files(self) -> dict[str, int] | None:
        try:
            stat = self._path.stat()
            return archive_members(self._path, stat.st_size, stat.st_mtime_ns, stat.st_ino)
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            return None  # check_local_archive has already said what is wrong with it

    def read_file_prefix(self, name: str, size: int) -> bytes | None:
        try:
            return read_member_prefix(self._path, name, size)
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            return None

    def archive(self) -> tuple[Path, str | None]:
        if self._code_dir is None:
            return self._path, None
        from ..archives.api import add_code_to_archive

        packed = add_code_to_archive(self._path, self._code_dir)
        return packed.path, packed.asset_hash


class LocalDirectory(LocalArtifact):
    """A local ``save_pretrained`` directory, packed into a deterministic ``model.tar.gz``."""

    def __init__(self, path: Path, code_dir: Path | None = None) -> None:
        self._path = path
        self._code_dir = code_dir

    @property
    def layout_problem(self) -> ArchiveLayoutProblem | None:
        return directory_layout_problem(self._path)

    @property
    def local_directory(self) -> Path | None:
        return self._path

    def with_code(self, code_dir: Path) -> LocalArtifact:
        return LocalDirectory(self._path, code_dir)

    def local_files(self) -> dict[str, int] | None:
        return {
            str(path.relative_to(self._path)): path.stat().st_size for path in self._path.rglob("*") if path.is_file()
        }

    def read_file_prefix(self, name: str, size: int) -> bytes | None:
        try:
            with (self._path / name).open("rb") as handle:
                return handle.read(size)
        except OSError:
            return None

    def archive(self) -> tuple[Path, str | None]:
        from ..archives.api import package_model_directory

        packed = package_model_directory(self._path, code_dir=self._code_dir)
        return packed.path, packed.asset_hash


class CodeOnly(LocalArtifact):
    """An archive holding only ``code/``: how a custom script ships with a Hub model."""

    def __init__(self, code_dir: Path) -> None:
        self._code_dir = code_dir

    def with_code(self, code_dir: Path) -> LocalArtifact:
        return CodeOnly(code_dir)

    def archive(self) -> tuple[Path, str | None]:
        from ..archives.api import package_code_only

        packed = package_code_only(self._code_dir)
        return packed.path, packed.asset_hash
