"""Where a model's artifacts come from: S3 objects and prefixes, local archives and directories.

``ModelData`` follows the ``Code`` / ``ModelData`` pattern of aws-cdk-lib: static factories
return private subclasses; the endpoint calls ``bind()`` once, which creates what it needs in
the endpoint's scope (assets, the deploy-time repack resource), grants read access on exactly
the artifact, and returns a small config struct.
"""

from __future__ import annotations

import abc
import functools
import gzip
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from constructs import Construct

from ._core.errors import ConfigurationError, describe
from ._core.iam import grant_read_object, grant_read_prefix
from ._core.nag import acknowledge_wildcard
from ._core.tokens import is_unresolved

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.*)$")
# S3 bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# ...and not an IP address, nor a prefix or suffix S3 reserves (access point aliases and the like).
_RESERVED_BUCKET_NAME = re.compile(r"^(\d+\.\d+\.\d+\.\d+|xn--.*|sthree-.*)$")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_DEFAULT_ENTRY_POINT = "inference.py"


def is_archive_name(name: str) -> bool:
    """Whether a key or file name says gzip tar (``.tar.gz`` or ``.tgz``, in any case): SageMaker reads the
    content, not the name, but a name is all there is to tell an object from a prefix someone forgot
    the ``/`` of."""
    return name.lower().endswith(_ARCHIVE_SUFFIXES)


MODEL_DATA_FORMS = (
    "an 's3://bucket/key.tar.gz' URI, an uncompressed 's3://bucket/prefix/' (ending in '/'), "
    "a local .tar.gz file or a local model directory"
)


@dataclass(frozen=True)
class ModelDataConfig:
    """What the SageMaker model needs to know about its artifacts."""

    s3_uri: str
    """``s3://`` URI of a ``model.tar.gz`` object or of an uncompressed prefix (ending in ``/``)."""
    compressed: bool
    """True for a ``model.tar.gz`` (``ModelDataUrl``); False for an uncompressed prefix
    (``ModelDataSource`` with ``CompressionType: None``)."""


class ModelData(abc.ABC):
    """The artifacts of a model: ``save_pretrained`` files, optionally with ``code/inference.py``."""

    @staticmethod
    def from_s3(uri: str, *, prop: str = "model_data") -> ModelData:
        """An object ``s3://bucket/key.tar.gz`` or an uncompressed prefix ``s3://bucket/prefix/``.

        :param uri: the S3 URI.
        :param prop: the property name used in error messages.
        :default prop: ``"model_data"``
        """
        match = _S3_URI.match(uri)
        if match is None:
            raise ConfigurationError(f"{prop}: {describe(uri)} is not an S3 URI; expected {MODEL_DATA_FORMS}")
        bucket, key = match["bucket"], match["key"]
        if not _BUCKET_NAME.match(bucket) or ".." in bucket or _RESERVED_BUCKET_NAME.match(bucket):
            raise ConfigurationError(
                f"{prop}: {describe(uri)} has an invalid bucket name {bucket!r}; bucket names are 3-63 "
                "lowercase letters, digits, dots and hyphens, not an IP address, and without the prefixes "
                "S3 reserves (xn--, sthree-)"
            )
        if key.startswith("/") or "//" in key:
            # Usually f"s3://{bucket}/{prefix}" with a prefix that already starts or ends with '/'.
            where = "starts with '/'" if key.startswith("/") else "contains '//'"
            raise ConfigurationError(
                f"{prop}: {describe(uri)} has an empty path segment: its key {key!r} {where}; S3 keys are literal, "
                "so 'a//b' is not the object 'a/b': remove the extra '/' (or, if the key really is so, use "
                "ModelData.from_bucket)"
            )
        if key.endswith("/"):
            if is_archive_name(key.rstrip("/")):
                raise ConfigurationError(
                    f"{prop}: {describe(uri)} names an archive but ends in '/', which makes it an uncompressed "
                    f"prefix that SageMaker would look for files under; did you mean 's3://{bucket}/"
                    f"{key.rstrip('/')}'? (If the prefix really is so named, use ModelData.from_bucket.)"
                )
            return _S3Prefix(bucket, key)
        if not is_archive_name(key):
            raise ConfigurationError(
                f"{prop}: {describe(uri)} is neither a gzip tar archive (key ending in .tar.gz or .tgz) nor a "
                f"prefix (ending in '/'); SageMaker can only load {MODEL_DATA_FORMS}"
            )
        return _S3Object(bucket, key)

    @staticmethod
    def from_bucket(bucket: s3.IBucket, key: str) -> ModelData:
        """A ``model.tar.gz`` (or a prefix when ``key`` ends in ``/``) in a bucket of this CDK app.

        Use this when the bucket name is only known at deploy time (a token).
        """
        if not is_unresolved(key) and not key.endswith("/") and not is_archive_name(key):
            raise ConfigurationError(
                f"model_data: key {describe(key)} must end in .tar.gz or .tgz (an archive) or '/' (an uncompressed "
                "prefix)"
            )
        if not is_unresolved(key) and key.endswith("/"):
            return _S3Prefix(bucket.bucket_name, key, bucket)
        return _S3Object(bucket.bucket_name, key, bucket)

    @staticmethod
    def from_asset(path: str | Path, *, prop: str = "model_data") -> ModelData:
        """A local ``model.tar.gz`` (uploaded as is) or a local ``save_pretrained`` directory.

        A directory is packaged into a deterministic ``model.tar.gz`` (cached, so an unchanged
        model is neither packed nor uploaded again) with the model files at the archive root.

        :param path: the local archive or directory.
        :param prop: the property name used in error messages.
        :default prop: ``"model_data"``
        """
        if not str(path).strip() or (isinstance(path, Path) and path == Path("")):
            # Path("") is the current directory (as is Path(os.environ.get("MODEL_DIR", ""))): packaging
            # it would upload whatever is there. The string "." stays an explicit choice.
            raise ConfigurationError(f"{prop}: {describe(str(path))} is empty; expected {MODEL_DATA_FORMS}")
        local = Path(path)
        if local.is_dir():
            return _LocalDirectory(local)
        if local.is_file():
            if not is_archive_name(local.name):
                raise ConfigurationError(
                    f"{prop}: {describe(str(path))} is a local file but not a gzip tar archive (.tar.gz or .tgz); "
                    f"expected {MODEL_DATA_FORMS}"
                )
            return _LocalArchive(local, _check_local_archive(local, prop))
        raise ConfigurationError(f"{prop}: {describe(str(path))} does not exist; expected {MODEL_DATA_FORMS}")

    @staticmethod
    def parse(value: str | Path | ModelData, *, prop: str = "model_data") -> ModelData:
        """Turn the ``model_data`` prop (a ``ModelData``, an S3 URI or a local path) into ``ModelData``.

        :param value: a ``ModelData``, an S3 URI or a local path.
        :param prop: the property name used in error messages.
        :default prop: ``"model_data"``
        """
        if isinstance(value, ModelData):
            return value
        if isinstance(value, str) and is_unresolved(value):
            raise ConfigurationError(
                f"{prop}: {describe(value)} is a token; the bucket must be known to grant read access: "
                "use ModelData.from_bucket(bucket, key) instead"
            )
        if isinstance(value, str) and value.startswith("s3://"):
            return ModelData.from_s3(value, prop=prop)
        if isinstance(value, str) and re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
            scheme = value.split("://", 1)[0]
            hint = "; write the scheme in lowercase: s3://" if scheme.lower() == "s3" else ""
            raise ConfigurationError(f"{prop}: {describe(value)} is not an S3 URI{hint}; expected {MODEL_DATA_FORMS}")
        if not isinstance(value, (str, Path)):
            raise ConfigurationError(f"{prop}: {describe(value)} is not a string; expected {MODEL_DATA_FORMS}")
        return ModelData.from_asset(value, prop=prop)

    @property
    def local_directory(self) -> Path | None:
        """The local model directory, when the model comes from one (used to profile the model)."""
        return None

    @property
    def layout_problem(self) -> ArchiveLayoutProblem | None:
        """Why a local archive or directory would put no model files at ``/opt/ml/model`` (``None`` when
        it would, or for S3 forms)."""
        return None

    @property
    def shipped_code(self) -> ShippedCode | None:
        """The ``code/`` files a local archive ships (``None`` when it ships none, when it cannot be
        read to its end within the scan bound, or for other forms)."""
        return None

    @abc.abstractmethod
    def with_code(self, code_dir: Path, entry_point: str = _DEFAULT_ENTRY_POINT) -> ModelData:
        """The same model with ``code_dir`` added under ``code/`` in the archive SageMaker loads; ``entry_point``
        is the script there the toolkit imports."""

    @abc.abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        """Create what the artifacts need in ``scope`` and grant ``grantee`` read access to them."""


def code_only(code_dir: Path) -> ModelData:
    """An archive holding only ``code/``: how a custom script ships with a Hub model."""
    return _LocalCodeOnly(code_dir)


class _S3Object(ModelData):
    def __init__(self, bucket_name: str, key: str, bucket: s3.IBucket | None = None) -> None:
        self._bucket_name = bucket_name
        self._key = key
        self._bucket = bucket

    def _bucket_in(self, scope: Construct) -> s3.IBucket:
        if self._bucket is not None:
            return self._bucket
        from aws_cdk import aws_s3 as s3  # only artifacts in S3 need it: keep it out of every import

        return s3.Bucket.from_bucket_name(scope, "ModelDataBucket", self._bucket_name)

    def with_code(self, code_dir: Path, entry_point: str = _DEFAULT_ENTRY_POINT) -> ModelData:
        return _RepackedS3Object(self, code_dir, entry_point)

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        grant_read_object(grantee, self._bucket_in(scope), self._key)
        return ModelDataConfig(f"s3://{self._bucket_name}/{self._key}", compressed=True)


class _S3Prefix(_S3Object):
    def with_code(self, code_dir: Path, entry_point: str = _DEFAULT_ENTRY_POINT) -> ModelData:
        raise ConfigurationError(
            f"model_data: {describe(f's3://{self._bucket_name}/{self._key}')} is an uncompressed S3 prefix, which "
            "this library cannot add code/ to; upload the script to <prefix>code/ yourself and use "
            "FineTunedEndpoint, or give a model.tar.gz or a local model directory"
        )

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        bucket = self._bucket_in(scope)
        grant_read_prefix(grantee, bucket, self._key)
        # Reading a whole prefix is what an uncompressed model is; the wildcard is that prefix only.
        if isinstance(grantee, iam.Role):
            acknowledge_wildcard(
                grantee, bucket.arn_for_objects(f"{self._key}*"), "The model is every object under this prefix."
            )
        return ModelDataConfig(f"s3://{self._bucket_name}/{self._key}", compressed=False)


class _StagedArchive(ModelData):
    """Base of the local forms: a ``.tar.gz`` on disk published as a CDK file asset."""

    @abc.abstractmethod
    def _archive(self) -> tuple[Path, str | None]:
        """The archive to upload and its asset hash (``None`` lets CDK hash the file)."""

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        path, digest = self._archive()
        from aws_cdk import AssetHashType
        from aws_cdk import aws_s3_assets as s3_assets  # only local artifacts need it

        asset = s3_assets.Asset(
            scope,
            "ModelArtifact",
            path=str(path),
            asset_hash=digest,
            asset_hash_type=AssetHashType.CUSTOM if digest else None,
        )
        # Least privilege: the one object, not the whole bootstrap assets bucket (Asset.grant_read would).
        grant_read_object(grantee, asset.bucket, asset.s3_object_key)
        return ModelDataConfig(asset.s3_object_url, compressed=True)


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


def _check_local_archive(path: Path, prop: str) -> ArchiveLayoutProblem | None:
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
def _shipped_code(path: Path, size: int, mtime_ns: int, inode: int) -> ShippedCode | None:
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


class _LocalArchive(_StagedArchive):
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
            return _shipped_code(self._path, stat.st_size, stat.st_mtime_ns, stat.st_ino)
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            return None  # _check_local_archive has already said what is wrong with it

    def with_code(self, code_dir: Path, entry_point: str = _DEFAULT_ENTRY_POINT) -> ModelData:
        return _LocalArchive(self._path, self._layout, code_dir)

    def _archive(self) -> tuple[Path, str | None]:
        if self._code_dir is None:
            return self._path, None
        from .packaging import add_code_to_archive

        packed = add_code_to_archive(self._path, self._code_dir)
        return packed.path, packed.asset_hash


def _directory_layout_problem(path: Path) -> ArchiveLayoutProblem | None:
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


class _LocalDirectory(_StagedArchive):
    def __init__(self, path: Path, code_dir: Path | None = None) -> None:
        self._path = path
        self._code_dir = code_dir

    @property
    def layout_problem(self) -> ArchiveLayoutProblem | None:
        return _directory_layout_problem(self._path)

    @property
    def local_directory(self) -> Path | None:
        return self._path

    def with_code(self, code_dir: Path, entry_point: str = _DEFAULT_ENTRY_POINT) -> ModelData:
        return _LocalDirectory(self._path, code_dir)

    def _archive(self) -> tuple[Path, str | None]:
        from .packaging import package_model_directory

        packed = package_model_directory(self._path, code_dir=self._code_dir)
        return packed.path, packed.asset_hash


class _LocalCodeOnly(_StagedArchive):
    def __init__(self, code_dir: Path) -> None:
        self._code_dir = code_dir

    def with_code(self, code_dir: Path, entry_point: str = _DEFAULT_ENTRY_POINT) -> ModelData:
        return _LocalCodeOnly(code_dir)

    def _archive(self) -> tuple[Path, str | None]:
        from .packaging import package_code_only

        packed = package_code_only(self._code_dir)
        return packed.path, packed.asset_hash


class _RepackedS3Object(ModelData):
    """An S3 ``model.tar.gz`` that gets ``code/`` added at deploy time by a custom resource."""

    def __init__(self, source: _S3Object, code_dir: Path, entry_point: str) -> None:
        self._source = source
        self._code_dir = code_dir
        self._entry_point = entry_point

    def with_code(self, code_dir: Path, entry_point: str = _DEFAULT_ENTRY_POINT) -> ModelData:
        return _RepackedS3Object(self._source, code_dir, entry_point)

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        from .repack import ScriptRepack

        repack = ScriptRepack(
            scope,
            "ScriptRepack",
            model_data_bucket=self._source._bucket_in(scope),
            model_data_key=self._source._key,
            code_dir=str(self._code_dir),
            entry_point=self._entry_point,
        )
        repack.grant_read(grantee)
        return ModelDataConfig(repack.model_data_url, compressed=True)
