"""Asynchronous inference (the ``async_inference`` prop): requests are queued, payloads and responses live in S3.

SageMaker queues requests whose payloads callers upload to S3, runs them on the endpoint's instances
and writes responses (and failures) to S3, with optional SNS notifications (``AsyncInferenceConfig``
of the endpoint config). ``AsyncInference`` is a value: one may configure several endpoints. What an
endpoint creates for it (the S3 locations, a bucket) is the endpoint's ``async_inference_locations``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._core.buckets import KEY_PREFIX, MAX_URI_LENGTH, S3Location, as_prefix, match_s3_uri, secure_bucket
from .._core.errors import ConfigurationError, Problems, check_config_keys
from .._core.nag import acknowledge_wildcard
from .._core.tokens import implements, is_unresolved, is_whole
from ..contract.facts import AsyncInferenceLocations, EndpointFacts, EndpointResources, FeatureOutputs
from .base import EndpointFeature

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns

OUTPUT_PREFIX = "async-inference/output/"
"""Key prefix of responses in a bucket (created, or ``output_bucket``)."""
FAILURE_PREFIX = "async-inference/failure/"
"""Key prefix of failed requests' error responses in a bucket (created, or ``output_bucket``)."""
INPUT_PREFIX = "async-inference/input/"
"""Key prefix where callers upload request payloads in a bucket (created, ``input_bucket`` or ``output_bucket``)."""
MAX_CONCURRENT_INVOCATIONS = 1000


def _check_s3_path(prop: str, value: str | None, problems: Problems) -> None:
    if value is None:
        return
    if isinstance(value, str) and is_unresolved(value):
        problems.add(prop, value, "is a deploy-time value; pass the bucket as an s3.IBucket instead")
        return
    match = match_s3_uri(value)
    if match is None:
        problems.add(
            prop,
            value,
            f"must be an S3 URI s3://bucket/prefix/ (a valid lowercase bucket name, at most {MAX_URI_LENGTH} "
            "characters)",
        )
    elif match.group("key") and not KEY_PREFIX.match(match.group("key")):
        problems.add(
            prop, value, "has a key prefix with unsupported characters (allowed: letters, digits, !_.*'()/=+-)"
        )


@dataclass(frozen=True, kw_only=True)
class AsyncInference:
    """Asynchronous inference (the ``async_inference`` prop): requests are queued, payloads and
    responses live in S3.

    Callers upload a payload to the input location and call ``InvokeEndpointAsync`` with its URI;
    SageMaker writes the response under the output location (errors under the failure location)
    and notifies the topics. ``endpoint.grant_invoke(caller)`` grants all of that. Where the
    locations ended up is the endpoint's ``async_inference_locations``.

    Example::

        HubModelEndpoint(stack, "Summarizer", model_id="facebook/bart-large-cnn", task="summarization",
            instance_type="ml.g5.xlarge",
            async_inference=AsyncInference(success_topic=topic, max_concurrent_invocations_per_instance=4))
    """

    output_path: str | None = None
    """Where SageMaker writes responses, ``s3://bucket/prefix/``. Not together with ``output_bucket``.

    :default: - ``async-inference/output/`` in ``output_bucket``, or in a bucket created for the endpoint
      (SSE-S3, or SSE-KMS with the endpoint's ``encryption_key``; TLS only; no public access; retained)
    """
    failure_path: str | None = None
    """Where SageMaker writes the error responses of failed requests, ``s3://bucket/prefix/``.

    :default: - ``async-inference/failure/`` next to the outputs when they go to a bucket; with
      ``output_path``, SageMaker's default (no separate failure location)
    """
    input_path: str | None = None
    """Where callers upload request payloads, ``s3://bucket/prefix/``: callers get ``s3:PutObject`` and the
    execution role ``s3:GetObject`` there. Not together with ``input_bucket``.

    :default: - ``async-inference/input/`` in ``input_bucket``, ``output_bucket`` or the created bucket
    """
    output_bucket: s3.IBucket | None = None
    """A bucket of yours for responses (``async-inference/output/``), failures (``async-inference/failure/``)
    and, unless given otherwise, inputs (``async-inference/input/``).

    :default: - ``output_path`` if given, else a bucket created for the endpoint
    """
    input_bucket: s3.IBucket | None = None
    """A bucket of yours for request payloads (under ``async-inference/input/``).

    :default: - ``input_path`` if given, else the output bucket
    """
    success_topic: sns.ITopic | None = None
    """SNS topic notified when a request succeeds (the execution role may publish to it).

    :default: - no success notification
    """
    error_topic: sns.ITopic | None = None
    """SNS topic notified when a request fails (the execution role may publish to it).

    :default: - no error notification
    """
    max_concurrent_invocations_per_instance: int | None = None
    """How many requests SageMaker sends to each instance at once (1-1000).

    :default: - chosen by SageMaker
    """

    def __post_init__(self) -> None:
        problems = Problems("AsyncInference")
        for name in ("output_path", "failure_path", "input_path"):
            _check_s3_path(f"async_inference.{name}", getattr(self, name), problems)
        if self.output_path is not None and self.output_bucket is not None:
            problems.add_message(
                "async_inference.output_path / async_inference.output_bucket: both given; pass one place for the "
                "responses (a URI or a bucket)"
            )
        if self.input_path is not None and self.input_bucket is not None:
            problems.add_message(
                "async_inference.input_path / async_inference.input_bucket: both given; pass one place for the "
                "request payloads (a URI or a bucket)"
            )
        for name in ("output_bucket", "input_bucket"):
            bucket = getattr(self, name)
            if bucket is not None and not implements(bucket, "bucket_name", "arn_for_objects"):
                problems.add(f"async_inference.{name}", bucket, "must be an s3.IBucket")
        for name in ("success_topic", "error_topic"):
            topic = getattr(self, name)
            if topic is not None and not implements(topic, "topic_arn", "grant_publish"):
                problems.add(f"async_inference.{name}", topic, "must be an sns.ITopic")
        concurrency = self.max_concurrent_invocations_per_instance
        number_token = isinstance(concurrency, float) and is_unresolved(concurrency)  # a string token is no number
        if (
            concurrency is not None
            and not number_token
            and (not is_whole(concurrency) or not 1 <= concurrency <= MAX_CONCURRENT_INVOCATIONS)
        ):
            problems.add(
                "async_inference.max_concurrent_invocations_per_instance",
                concurrency,
                f"must be a whole number from 1 to {MAX_CONCURRENT_INVOCATIONS}",
            )
        problems.raise_if_any()

    _CONFIG_KEYS = ("output_path", "failure_path", "input_path", "max_concurrent_invocations_per_instance")

    @classmethod
    def from_config(cls, data: Any) -> Self:
        """An ``AsyncInference`` from JSON-able settings (the CDK app's context or config file).

        Locations are ``s3://`` URIs there; buckets and topics are constructs and have no config form.
        Example: ``{"output_path": "s3://my-bucket/async/out/", "max_concurrent_invocations_per_instance": 4}``.

        :raises ConfigurationError: for unknown keys (naming the allowed ones) or invalid values.
        """
        check_config_keys("async_inference", data, cls._CONFIG_KEYS)
        return cls(**data)

    def to_config(self) -> dict[str, Any]:
        """The JSON-able form :meth:`from_config` reads.

        :raises ConfigurationError: when a bucket or topic is set (constructs have no config form).
        """
        constructs = [
            name for name in ("output_bucket", "input_bucket", "success_topic", "error_topic") if getattr(self, name)
        ]
        if constructs:
            raise ConfigurationError(
                f"async_inference: {', '.join(constructs)} are constructs and have no config form; use S3 URIs"
            )
        return {name: getattr(self, name) for name in self._CONFIG_KEYS if getattr(self, name) is not None}


@dataclass(frozen=True)
class _AsyncState:
    """What the feature remembers per endpoint, for ``grant_invoke`` and :func:`async_inference_locations`."""

    locations: AsyncInferenceLocations
    output: S3Location
    failure: S3Location | None
    input: S3Location
    key: kms.IKey | None

    @property
    def writes(self) -> list[S3Location]:
        return [self.output, *([self.failure] if self.failure else [])]


def _parse_uri(uri: str) -> tuple[str, str]:
    match = match_s3_uri(uri)
    assert match is not None  # checked by AsyncInference
    return match.group("bucket"), as_prefix(match.group("key") or "")


def _resolve_locations(scope: Construct, settings: AsyncInference, key: kms.IKey | None) -> _AsyncState:
    scope = Construct(scope, "AsyncInference")
    created: list[s3.IBucket] = []

    def default_bucket() -> s3.IBucket:
        if settings.output_bucket is not None:
            return settings.output_bucket
        if not created:
            created.append(
                secure_bucket(scope, "Bucket", key=key, object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED)
            )
        return created[0]

    def from_uri(id: str, uri: str) -> S3Location:
        name, prefix = _parse_uri(uri)
        return S3Location(s3.Bucket.from_bucket_name(scope, id, name), prefix, created=False)

    def in_bucket(bucket: s3.IBucket, prefix: str) -> S3Location:
        return S3Location(bucket, prefix, created=bool(created) and bucket is created[0])

    if settings.output_path is not None:
        output = from_uri("OutputLocation", settings.output_path)
        failure = from_uri("FailureLocation", settings.failure_path) if settings.failure_path else None
    else:
        output = in_bucket(default_bucket(), OUTPUT_PREFIX)
        failure = (
            from_uri("FailureLocation", settings.failure_path)
            if settings.failure_path
            else in_bucket(output.bucket, FAILURE_PREFIX)
        )
    if settings.input_path is not None:
        input_ = from_uri("InputLocation", settings.input_path)
    else:
        input_ = in_bucket(settings.input_bucket or default_bucket(), INPUT_PREFIX)
    locations = AsyncInferenceLocations(
        output_uri=output.uri,
        failure_uri=failure.uri if failure else None,
        input_uri=input_.uri,
        output_bucket=output.bucket,
        input_bucket=input_.bucket,
        created_bucket=created[0] if created else None,
    )
    return _AsyncState(locations, output, failure, input_, key)


def _objects(locations: Iterable[S3Location]) -> list[str]:
    return list(dict.fromkeys(location.objects() for location in locations))


def _own_key(location: S3Location) -> kms.IKey | None:
    """The key of a bucket of the user's (a created bucket uses ``encryption_key``, granted elsewhere)."""
    return None if location.created else location.bucket.encryption_key


def _acknowledge_object_wildcards(grantee: iam.IGrantable, state: _AsyncState, reason: str) -> None:
    """cdk-nag's IAM5 for the object wildcard of each async location, on a role of this app."""
    if isinstance(grantee, iam.Role):
        for objects in _objects([*state.writes, state.input]):
            acknowledge_wildcard(grantee, objects, reason)


def _grant_role(role: iam.IRole, settings: AsyncInference, state: _AsyncState) -> None:
    # Write-only where SageMaker writes (it never reads or lists responses), read-only on payloads.
    iam.Grant.add_to_principal(
        grantee=role, actions=["s3:PutObject", "s3:AbortMultipartUpload"], resource_arns=_objects(state.writes)
    )
    iam.Grant.add_to_principal(grantee=role, actions=["s3:GetObject"], resource_arns=_objects([state.input]))
    _acknowledge_object_wildcards(
        role,
        state,
        "SageMaker names each async request's payload, response and failure object at run time; "
        "the wildcard is this one prefix.",
    )
    # encryption_key (which also encrypts a bucket created here) is granted by the security feature;
    # a bucket of yours may have a key of its own.
    for location in state.writes:
        key = _own_key(location)
        if key is not None:
            key.grant(role, "kms:Encrypt", "kms:GenerateDataKey")
    input_key = _own_key(state.input)
    if input_key is not None:
        input_key.grant_decrypt(role)
    for topic in (settings.success_topic, settings.error_topic):
        if topic is not None:
            topic.grant_publish(role)


class AsyncInferenceFeature(EndpointFeature):
    """The ``async_inference`` prop."""

    def __init__(self, props: Any) -> None:
        self._settings = props.get("async_inference")
        self._state: _AsyncState | None = None

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        if not isinstance(self._settings, AsyncInference):
            problems.add("async_inference", self._settings, "must be an AsyncInference, e.g. AsyncInference()")
            return
        if facts.serverless:
            problems.add_message(
                "async_inference / serverless: both given; serverless endpoints cannot queue requests: pick one "
                "(async inference runs on instances and can scale to zero with AutoScaling(scale_to_zero=True))"
            )

    def config_properties(self, facts: EndpointFacts, role: iam.IRole) -> dict[str, Any]:
        settings: AsyncInference = self._settings
        key = facts.encryption_key
        state = self._state = _resolve_locations(facts.scope, settings, key)
        _grant_role(role, settings, state)
        locations = state.locations
        notification = None
        if settings.success_topic is not None or settings.error_topic is not None:
            notification = sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                success_topic=settings.success_topic.topic_arn if settings.success_topic else None,
                error_topic=settings.error_topic.topic_arn if settings.error_topic else None,
            )
        client = None
        if settings.max_concurrent_invocations_per_instance is not None:
            client = sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=settings.max_concurrent_invocations_per_instance
            )
        config = sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
            output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                s3_output_path=locations.output_uri,
                s3_failure_path=locations.failure_uri,
                kms_key_id=key.key_arn if key is not None else None,
                notification_config=notification,
            ),
            client_config=client,
        )
        return {"async_inference_config": config}

    def apply(self, facts: EndpointFacts, resources: EndpointResources) -> FeatureOutputs:
        assert self._state is not None  # set by config_properties
        return FeatureOutputs(async_inference_locations=self._state.locations)

    def grant_invoke(
        self, facts: EndpointFacts, resources: EndpointResources, grantee: iam.IGrantable
    ) -> list[iam.Grant]:
        state = self._state
        if state is None:
            return []
        endpoint_arn = resources.endpoint.ref
        grants = [
            iam.Grant.add_to_principal(
                grantee=grantee, actions=["sagemaker:InvokeEndpointAsync"], resource_arns=[endpoint_arn]
            ),
            # Callers upload payloads and read back responses and failures; nothing else in the buckets.
            iam.Grant.add_to_principal(
                grantee=grantee, actions=["s3:PutObject"], resource_arns=_objects([state.input])
            ),
            iam.Grant.add_to_principal(grantee=grantee, actions=["s3:GetObject"], resource_arns=_objects(state.writes)),
        ]
        _acknowledge_object_wildcards(
            grantee,
            state,
            "Each async request has its own payload, response and failure object, named per request; "
            "the wildcard is this one prefix of the endpoint's async locations.",
        )
        if state.key is not None:
            # Payloads and responses are encrypted with encryption_key (created bucket, KmsKeyId).
            grants.append(state.key.grant(grantee, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"))
        input_key = _own_key(state.input)
        if input_key is not None:
            grants.append(input_key.grant(grantee, "kms:Encrypt", "kms:GenerateDataKey"))
        for location in state.writes:
            key = _own_key(location)
            if key is not None:
                grants.append(key.grant_decrypt(grantee))
        return grants


FEATURE_CLASS = AsyncInferenceFeature
