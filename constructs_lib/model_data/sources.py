"""Where a model's artifacts come from: S3 objects and prefixes, local archives and directories.

``ModelData`` follows the ``Code`` / ``ModelData`` pattern of aws-cdk-lib: static factories
return private subclasses; the endpoint calls ``bind()`` once, which creates what it needs in
the endpoint's scope (assets, the deploy-time repack resource), grants read access on exactly
the artifact, and returns a small config struct.

The local forms are ``local.LocalArtifact`` objects (what is staged, what it shows before that)
that one subclass here publishes as a CDK file asset; ``inspect`` reads archives and directories.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from constructs import Construct

from .._core.errors import ConfigurationError, describe
from .._core.iam import grant_read_object, grant_read_prefix
from .._core.nag import acknowledge_wildcard
from .._core.names import DEFAULT_ENTRY_POINT, is_archive_name
from .._core.paths import path_kind
from .._core.tokens import is_unresolved
from .inspect import ArchiveLayoutProblem, ShippedCode, check_local_archive
from .local import CodeOnly, LocalArchive, LocalArtifact, LocalDirectory

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.*)$")
# S3 bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# ...and not an IP address, nor a prefix or suffix S3 reserves (access point aliases and the like).
_RESERVED_BUCKET_NAME = re.compile(r"^(\d+\.\d+\.\d+\.\d+|xn--.*|sthree-.*)$")


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
        """
        if not str(path).strip() or (isinstance(path, Path) and path == Path("")):
            # Path("") is the current directory (as is Path(os.environ.get("MODEL_DIR", ""))): packaging
            # it would upload whatever is there. The string "." stays an explicit choice.
            raise ConfigurationError(f"{prop}: {describe(str(path))} is empty; expected {MODEL_DATA_FORMS}")
        local = Path(path)
        kind = path_kind(local)
        if kind == "directory":
            return _StagedArchive(LocalDirectory(local))
        if kind == "file":
            if not is_archive_name(local.name):
                raise ConfigurationError(
                    f"{prop}: {describe(str(path))} is a local file but not a gzip tar archive (.tar.gz or .tgz); "
                    f"expected {MODEL_DATA_FORMS}"
                )
            return _StagedArchive(LocalArchive(local, check_local_archive(local, prop)))
        raise ConfigurationError(f"{prop}: {describe(str(path))} does not exist; expected {MODEL_DATA_FORMS}")

    @staticmethod
    def parse(value: str | Path | ModelData, *, prop: str = "model_data") -> ModelData:
        """Turn the ``model_data`` prop (a ``ModelData``, an S3 URI or a local path) into ``ModelData``.

        :param value: a ``ModelData``, an S3 URI or a local path.
        :param prop: the property name used in error messages.
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

    def local_files(self) -> dict[str, int] | None:
        """The files a local archive or directory puts in ``/opt/ml/model`` (path -> size; ``None`` for S3)."""
        return None

    def read_file_prefix(self, name: str, size: int) -> bytes | None:
        """The first ``size`` bytes of file ``name`` of a local archive or directory (``None`` for S3, or no such
        file)."""
        return None

    @abc.abstractmethod
    def with_code(self, code_dir: Path, entry_point: str = DEFAULT_ENTRY_POINT) -> ModelData:
        """The same model with ``code_dir`` added under ``code/`` in the archive SageMaker loads; ``entry_point``
        is the script there the toolkit imports."""

    @abc.abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        """Create what the artifacts need in ``scope`` and grant ``grantee`` read access to them."""


def code_only(code_dir: Path) -> ModelData:
    """An archive holding only ``code/``: how a custom script ships with a Hub model."""
    return _StagedArchive(CodeOnly(code_dir))


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

    def with_code(self, code_dir: Path, entry_point: str = DEFAULT_ENTRY_POINT) -> ModelData:
        return _RepackedS3Object(self, code_dir, entry_point)

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        grant_read_object(grantee, self._bucket_in(scope), self._key)
        return ModelDataConfig(f"s3://{self._bucket_name}/{self._key}", compressed=True)


class _S3Prefix(_S3Object):
    def with_code(self, code_dir: Path, entry_point: str = DEFAULT_ENTRY_POINT) -> ModelData:
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
    """The local forms: a ``.tar.gz`` on disk (``artifact``) published as a CDK file asset."""

    def __init__(self, artifact: LocalArtifact) -> None:
        self._artifact = artifact

    @property
    def local_directory(self) -> Path | None:
        return self._artifact.local_directory

    @property
    def layout_problem(self) -> ArchiveLayoutProblem | None:
        return self._artifact.layout_problem

    @property
    def shipped_code(self) -> ShippedCode | None:
        return self._artifact.shipped_code

    def local_files(self) -> dict[str, int] | None:
        return self._artifact.local_files()

    def read_file_prefix(self, name: str, size: int) -> bytes | None:
        return self._artifact.read_file_prefix(name, size)

    def with_code(self, code_dir: Path, entry_point: str = DEFAULT_ENTRY_POINT) -> ModelData:
        return _StagedArchive(self._artifact.with_code(code_dir))

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        path, digest = self._artifact.archive()
        from aws_cdk import AssetHashType
        from aws_cdk import aws_s3_assets as s3_assets  # only local artifacts need it

        asset = s3_assets.Asset(
            scope,
            "ModelArtifact",
            path=str(Path(path).resolve()),  # CDK reads a relative one against its node process's directory
            asset_hash=digest,
            asset_hash_type=AssetHashType.CUSTOM if digest else None,
        )
        # Least privilege: the one object, not the whole bootstrap assets bucket (Asset.grant_read would).
        grant_read_object(grantee, asset.bucket, asset.s3_object_key)
        return ModelDataConfig(asset.s3_object_url, compressed=True)


class _RepackedS3Object(ModelData):
    """An S3 ``model.tar.gz`` that gets ``code/`` added at deploy time by a custom resource."""

    def __init__(self, source: _S3Object, code_dir: Path, entry_point: str) -> None:
        self._source = source
        self._code_dir = code_dir
        self._entry_point = entry_point

    def with_code(self, code_dir: Path, entry_point: str = DEFAULT_ENTRY_POINT) -> ModelData:
        return _RepackedS3Object(self._source, code_dir, entry_point)

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ModelDataConfig:
        from ..repack.construct import ScriptRepack

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
