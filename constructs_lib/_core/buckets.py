"""The buckets the library creates and the ``s3://`` URIs it accepts.

Every bucket created here is encrypted, SSL-only, blocks public access and logs to the stack's
access-log bucket (:mod:`.access_logs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .access_logs import enable_access_logs

S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<key>.*))?$")
KEY_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/=+-]*$")
MAX_URI_LENGTH = 512


@dataclass(frozen=True)
class S3Location:
    """A key prefix in a bucket; ``created`` when the bucket is one the library made."""

    bucket: s3.IBucket
    prefix: str  # "" or ending in "/"
    created: bool

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket.bucket_name}/{self.prefix}"

    def objects(self) -> str:
        """The ARN pattern of the objects under the prefix."""
        return self.bucket.arn_for_objects(f"{self.prefix}*")


def match_s3_uri(value: Any) -> re.Match[str] | None:
    """The match of a valid ``s3://bucket/key`` URI (groups ``bucket`` and ``key``), else ``None``."""
    match = S3_URI.match(value) if isinstance(value, str) else None
    if match is None or len(value) > MAX_URI_LENGTH or ".." in value:
        return None
    return match


def as_prefix(prefix: str) -> str:
    """``prefix`` ending in ``/`` (``""`` stays ``""``)."""
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def secure_bucket(scope: Construct, id: str, *, key: kms.IKey | None = None, **options: Any) -> s3.Bucket:
    """A bucket encrypted with ``key`` (S3-managed without one), SSL enforced, public access blocked,
    with server access logs; ``options`` are further ``s3.Bucket`` props."""
    bucket = s3.Bucket(
        scope,
        id,
        encryption=s3.BucketEncryption.KMS if key is not None else s3.BucketEncryption.S3_MANAGED,
        encryption_key=key,
        bucket_key_enabled=key is not None or None,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        **options,
    )
    enable_access_logs(bucket)
    return bucket
