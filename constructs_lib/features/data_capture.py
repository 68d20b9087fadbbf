"""Data capture: requests and responses of an endpoint written to S3 (``DataCaptureConfig``).

SageMaker writes JSON Lines files under ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` with
the execution role. Without a destination the endpoint gets its own bucket (encrypted, TLS only,
no public access, retained when the stack is deleted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Self

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from .._core.buckets import KEY_PREFIX, MAX_URI_LENGTH, S3Location, as_prefix, match_s3_uri, secure_bucket
from .._core.errors import ConfigurationError, Problems, allowed_list, describe
from .._core.nag import acknowledge_wildcard
from .._core.tokens import is_unresolved
from ..contract.facts import EndpointFacts, EndpointResources, FeatureOutputs
from .base import EndpointFeature

if TYPE_CHECKING:
    from constructs import Construct

DEFAULT_PREFIX = "data-capture/"
"""Key prefix of captured data in a bucket destination."""

MAX_CONTENT_TYPES = 10
"""SageMaker accepts at most 10 JSON and 10 CSV content types."""

_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_MAX_CONTENT_TYPE_LENGTH = 256


@dataclass(frozen=True, kw_only=True)
class DataCapture:
    """Capture an endpoint's requests and responses to S3 (the ``data_capture`` prop).

    Example::

        HubModelEndpoint(stack, "Sentiment", model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            instance_type="ml.m5.xlarge", data_capture=DataCapture(sampling_percentage=20))
    """

    destination: s3.IBucket | str | None = None
    """Where to write: a bucket, or an ``s3://bucket/prefix/`` URI.

    :default: - a bucket created for the endpoint (SSE-S3, or SSE-KMS with ``encryption_key``)
    """
    prefix: str | None = None
    """Key prefix under a bucket destination. Not allowed with a URI that has a path (the path is the prefix).

    :default: ``"data-capture/"`` for a bucket destination, the URI's path for a URI
    """
    sampling_percentage: int = 100
    """Percentage of requests captured (0-100).

    :default: 100
    """
    capture_request: bool = True
    """Capture the request payloads (``CaptureMode: Input``).

    :default: True
    """
    capture_response: bool = True
    """Capture the response payloads (``CaptureMode: Output``).

    :default: True
    """
    json_content_types: Sequence[str] = ("application/json",)
    """Content types whose payloads are captured as JSON text (at most 10).

    :default: ``("application/json",)``
    """
    csv_content_types: Sequence[str] = ()
    """Content types whose payloads are captured as CSV text (at most 10).

    :default: - none (other content types are captured base64-encoded)
    """
    enabled: bool = True
    """Whether capture is on (``EnableCapture``); ``False`` keeps the configuration, and the bucket.

    :default: True
    """

    def __post_init__(self) -> None:
        # Tuples: the dataclass is frozen and hashable, and a caller's list cannot change it later.
        object.__setattr__(self, "json_content_types", _as_tuple(self.json_content_types))
        object.__setattr__(self, "csv_content_types", _as_tuple(self.csv_content_types))
        problems = Problems("DataCapture")
        self._check(problems)
        problems.raise_if_any()

    # -------------------------------------------------------------------------------- checks
    def _check(self, problems: Problems) -> None:
        percentage = self.sampling_percentage
        if not is_unresolved(percentage) and (
            not isinstance(percentage, int) or isinstance(percentage, bool) or not 0 <= percentage <= 100
        ):
            problems.add("data_capture.sampling_percentage", percentage, "must be a whole number from 0 to 100")
        for name in ("capture_request", "capture_response", "enabled"):
            if not isinstance(getattr(self, name), bool):
                problems.add(f"data_capture.{name}", getattr(self, name), "must be True or False")
        if self.capture_request is False and self.capture_response is False:
            problems.add_message(
                "data_capture: capture_request and capture_response are both False: nothing would be captured; "
                "keep at least one, or pass enabled=False to switch capture off"
            )
        for name in ("json_content_types", "csv_content_types"):
            _check_content_types(name, getattr(self, name), problems)
        self._check_destination(problems)

    def _check_destination(self, problems: Problems) -> None:
        destination, prefix = self.destination, self.prefix
        if (
            prefix is not None
            and not is_unresolved(prefix)
            and (not isinstance(prefix, str) or prefix.startswith("/") or not KEY_PREFIX.match(prefix))
        ):
            problems.add(
                "data_capture.prefix",
                prefix,
                "must be an S3 key prefix such as 'data-capture/' (letters, digits and !_.*'()/=+-, "
                "not starting with '/')",
            )
        if destination is None:
            return
        if isinstance(destination, str) and is_unresolved(destination):
            problems.add(
                "data_capture.destination",
                destination,
                "is a deploy-time value; pass the bucket as an s3.IBucket (e.g. s3.Bucket.from_bucket_name) instead",
            )
        elif isinstance(destination, str):
            match = match_s3_uri(destination)
            if match is None:
                problems.add(
                    "data_capture.destination",
                    destination,
                    "must be an S3 URI s3://bucket/prefix/ (a valid lowercase bucket name, at most "
                    f"{MAX_URI_LENGTH} characters) or an s3.IBucket",
                )
            elif match.group("key") and prefix is not None:
                problems.add(
                    "data_capture.prefix",
                    prefix,
                    f"cannot be combined with the destination URI {destination!r}, whose path is already the "
                    "prefix; put the whole location in destination",
                )
            elif match.group("key") and not KEY_PREFIX.match(match.group("key")):
                problems.add("data_capture.destination", destination, "has a key prefix with unsupported characters")
        elif not (hasattr(destination, "bucket_name") and hasattr(destination, "arn_for_objects")):
            problems.add("data_capture.destination", destination, "must be an s3.IBucket or an s3://bucket/prefix/ URI")

    # --------------------------------------------------------------------------------- config
    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Self:
        """A ``DataCapture`` from JSON-able settings (the CDK app's config file); the destination is
        an ``s3://`` URI there.

        Example: ``{"destination": "s3://my-bucket/capture/", "sampling_percentage": 20}``.

        :raises ConfigurationError: for unknown keys or invalid values.
        """
        if not isinstance(data, Mapping):
            raise ConfigurationError(f"data_capture: {describe(data)} must be a mapping of DataCapture settings")
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(
                f"data_capture: unknown key(s) {', '.join(unknown)}; allowed: {allowed_list(known)}"
            )
        destination = data.get("destination")
        if destination is not None and not isinstance(destination, str):
            raise ConfigurationError(
                f"data_capture.destination: {describe(destination)} must be an s3://bucket/prefix/ URI in a config file"
            )
        return cls(**data)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form ``from_config`` reads (only for URI or default destinations).

        :raises ConfigurationError: when the destination is a bucket construct.
        """
        if self.destination is not None and not isinstance(self.destination, str):
            raise ConfigurationError("data_capture.destination: a bucket construct has no config form; use an S3 URI")
        config: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value != field.default:
                config[field.name] = list(value) if isinstance(value, tuple) else value
        return config

    # ------------------------------------------------------------------------------ rendering
    def _capture_options(self) -> list[sagemaker.CfnEndpointConfig.CaptureOptionProperty]:
        modes = [mode for mode, on in (("Input", self.capture_request), ("Output", self.capture_response)) if on]
        return [sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=mode) for mode in modes]

    def _content_type_header(self) -> sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty | None:
        if not self.json_content_types and not self.csv_content_types:
            return None
        return sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
            json_content_types=list(self.json_content_types) or None,
            csv_content_types=list(self.csv_content_types) or None,
        )


# ---------------------------------------------------------------------------------- helpers
def _as_tuple(values: Any) -> tuple[Any, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        # A lone string would otherwise become a tuple of characters; a non-string is reported
        # by the content-type check.
        return (values,)
    return tuple(values)


def _check_content_types(name: str, values: tuple[str, ...], problems: Problems) -> None:
    if len(values) > MAX_CONTENT_TYPES:
        problems.add(f"data_capture.{name}", f"{len(values)} entries", f"is too many: at most {MAX_CONTENT_TYPES}")
    for value in values:
        if is_unresolved(value):
            continue
        if not isinstance(value, str) or len(value) > _MAX_CONTENT_TYPE_LENGTH or not _CONTENT_TYPE.match(value):
            problems.add(
                f"data_capture.{name}", value, "is not a content type of the form type/subtype, e.g. 'text/csv'"
            )
    strings = [value for value in values if isinstance(value, str)]
    if len(set(strings)) != len(strings):
        problems.add(f"data_capture.{name}", list(values), "lists a content type twice")


def _destination(scope: Construct, capture: DataCapture, key: kms.IKey | None) -> S3Location:
    target = capture.destination
    if isinstance(target, str):
        match = match_s3_uri(target)
        assert match is not None  # checked by DataCapture
        bucket = s3.Bucket.from_bucket_name(scope, "DataCaptureDestination", match.group("bucket"))
        prefix = as_prefix(match.group("key") or capture.prefix or "")
    else:
        if target is None:
            bucket = secure_bucket(
                scope, "DataCaptureBucket", key=key, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
            )
        else:
            bucket = target
        prefix = as_prefix(DEFAULT_PREFIX if capture.prefix is None else capture.prefix)
    return S3Location(bucket, prefix, created=target is None)


def _grant_writes(role: iam.IRole, destination: S3Location, key: kms.IKey | None) -> None:
    # Only PutObject, only under the prefix: SageMaker never reads or lists captured data.
    iam.Grant.add_to_principal(
        grantee=role,
        actions=["s3:PutObject"],
        resource_arns=[destination.objects()],
    )
    if isinstance(role, iam.Role):
        acknowledge_wildcard(
            role,
            destination.objects(),
            "SageMaker names the captured-data objects (<endpoint>/<variant>/yyyy/mm/dd/hh/...) at run time; "
            "the wildcard is the capture prefix only.",
        )
    # encryption_key (which also encrypts a bucket created here) is granted by the security feature;
    # a bucket of yours may have a key of its own.
    bucket_key = None if destination.created else destination.bucket.encryption_key
    if bucket_key is not None:
        bucket_key.grant(role, "kms:Encrypt", "kms:GenerateDataKey")


class DataCaptureFeature(EndpointFeature):
    """The ``data_capture`` prop: ``DataCaptureConfig``, the destination bucket and the role's grants."""

    def __init__(self, props: Any) -> None:
        self._capture = props.get("data_capture")
        self._destination: S3Location | None = None

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        if not isinstance(self._capture, DataCapture):
            problems.add(
                "data_capture", self._capture, "must be a DataCapture, e.g. DataCapture(sampling_percentage=20)"
            )
            return
        if facts.serverless:
            problems.add(
                "data_capture",
                "(given)",
                "is not supported by serverless inference; capture on an instance-based endpoint, or log "
                "payloads from your own code",
            )

    def config_properties(self, facts: EndpointFacts, role: iam.IRole) -> dict[str, Any]:
        capture: DataCapture = self._capture
        key = facts.encryption_key
        destination = self._destination = _destination(facts.scope, capture, key)
        _grant_writes(role, destination, key)
        config = sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=capture.enabled,
            initial_sampling_percentage=capture.sampling_percentage,
            destination_s3_uri=destination.uri,
            kms_key_id=key.key_arn if key is not None else None,
            capture_options=capture._capture_options(),
            capture_content_type_header=capture._content_type_header(),
        )
        return {"data_capture_config": config}

    def apply(self, facts: EndpointFacts, resources: EndpointResources) -> FeatureOutputs:
        assert self._destination is not None  # set by config_properties
        return FeatureOutputs(data_capture_bucket=self._destination.bucket)


FEATURE_CLASS = DataCaptureFeature
