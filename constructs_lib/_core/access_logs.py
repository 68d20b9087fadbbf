"""One S3 server access log bucket per stack, for every bucket the library creates.

AWS recommends server access logs on every bucket that holds data (cdk-nag ``AwsSolutions-S1``).
The library's buckets (async inference payloads and responses, data capture, repacked archives)
log into one bucket per stack rather than one each. That log bucket is the end of the chain: it
cannot log into itself, which AWS advises against, and logging it elsewhere would need yet
another bucket. It is the one bucket whose ``AwsSolutions-S1`` finding is acknowledged.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

ACCESS_LOGS_ID = "ConstructsLibAccessLogs"
"""Id of the log bucket, a direct child of the stack (one per stack, shared by all endpoints)."""

LOG_PREFIX_ROOT = "s3-access-logs/"

S1_REASON = (
    "This bucket is the S3 server access log destination of the buckets constructs_lib creates in this stack; "
    "it cannot log into itself (AWS advises against it) and logging it elsewhere would need another unlogged bucket."
)


def access_log_bucket(scope: Construct) -> s3.IBucket:
    """The stack's access log bucket, created on first use."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(ACCESS_LOGS_ID)
    if isinstance(existing, s3.Bucket):
        return existing
    bucket = s3.Bucket(
        stack,
        ACCESS_LOGS_ID,
        # Server access log delivery supports SSE-S3 only, not SSE-KMS.
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        # ACLs disabled: the logging service is allowed through the bucket policy (enable_access_logs).
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
    )
    cfn = bucket.node.default_child
    assert cfn is not None
    Validations.of(cfn).acknowledge(Acknowledgment(id="AwsSolutions-S1", reason=S1_REASON))
    return bucket


def enable_access_logs(bucket: s3.Bucket) -> None:
    """Deliver ``bucket``'s server access logs to the stack's log bucket, under a prefix of its own.

    The logging service is allowed through the log bucket's policy (ACLs stay disabled), only for
    that prefix and only for deliveries from ``bucket`` in this account: what CDK renders for
    ``server_access_logs_bucket`` with the ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`` flag,
    independent of the app's feature flags.
    """
    logs = access_log_bucket(bucket)
    prefix = f"{LOG_PREFIX_ROOT}{bucket.node.path}/"
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=logs.bucket_name, log_file_prefix=prefix
    )
    logs.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[logs.arn_for_objects(f"{prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": Stack.of(bucket).account},
            },
        )
    )
