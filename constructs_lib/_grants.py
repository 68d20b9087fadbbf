"""Grants narrower than the L2 ``grant_*`` helpers, and the cdk-nag acknowledgements they need.

``IBucket.grant_read`` grants ``s3:GetObject*``, ``s3:GetBucket*`` and ``s3:List*``: more than a
model container needs and a wildcard finding for cdk-nag. SageMaker only reads the artifact.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from ._validation import is_unresolved


def grant_read_object(grantee: iam.IGrantable, bucket: s3.IBucket, key: str) -> None:
    """Allow ``s3:GetObject`` on one object (and decrypting it when the bucket has a KMS key)."""
    iam.Grant.add_to_principal(grantee=grantee, actions=["s3:GetObject"], resource_arns=[bucket.arn_for_objects(key)])
    if bucket.encryption_key is not None:
        bucket.encryption_key.grant_decrypt(grantee)


def grant_read_prefix(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: str) -> None:
    """Allow listing and reading the objects under ``prefix`` only (an uncompressed model)."""
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["s3:GetObject"], resource_arns=[bucket.arn_for_objects(f"{prefix}*")]
    )
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
    )
    if bucket.encryption_key is not None:
        bucket.encryption_key.grant_decrypt(grantee)


def acknowledge_wildcard(construct: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge cdk-nag's AwsSolutions-IAM5 finding for exactly one wildcard resource.

    ``resource`` is rendered the way cdk-nag names findings (``Ref`` and ``Fn::GetAtt`` become
    ``<Name>`` / ``<Name.Attr>``), so the acknowledgement covers that resource and nothing else.
    """
    rendered = render_for_nag(Stack.of(construct).resolve(resource)) if is_unresolved(resource) else resource
    finding = f"AwsSolutions-IAM5[Resource::{rendered}]"
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def render_for_nag(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render_for_nag(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    return str(value)
