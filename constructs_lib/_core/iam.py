"""IAM statements as JSON, and grants narrower than the L2 ``grant_*`` helpers.

``IBucket.grant_read`` grants ``s3:GetObject*``, ``s3:GetBucket*`` and ``s3:List*``: more than a
model container needs and a wildcard finding for cdk-nag. SageMaker only reads the artifact.
Building one ``PolicyDocument`` from JSON statements is a single jsii call instead of several per
statement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_iam as iam

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

Statement = dict[str, Any]
"""An IAM policy statement as JSON (``Effect``, ``Action``, ``Resource``, ``Condition``)."""


def allow(actions: Iterable[str], resource: str, conditions: dict[str, Any] | None = None) -> Statement:
    """An ``Allow`` statement as JSON."""
    statement: Statement = {"Effect": "Allow", "Action": list(actions), "Resource": resource}
    if conditions:
        statement["Condition"] = conditions
    return statement


def policy_document(statements: Iterable[Statement]) -> iam.PolicyDocument:
    """One ``PolicyDocument`` for many statements: a single jsii call instead of several per statement."""
    return iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": list(statements)})


def grant_statements(grantee: iam.IGrantable, statements: Iterable[Statement]) -> None:
    """Add JSON statements to ``grantee``'s policy (what ``iam.Grant.add_to_principal`` does, statement-wise)."""
    principal = grantee.grant_principal
    for statement in statements:
        principal.add_to_principal_policy(iam.PolicyStatement.from_json(statement))


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
