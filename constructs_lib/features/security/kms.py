"""KMS encryption (``encryption_key``): the volume's ``KmsKeyId``, also used by async outputs and data capture."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from ..._core.errors import Problems
from ..._core.tokens import implements, is_unresolved
from ...catalogue.instances import InstanceSpec

KMS_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
"""What the execution role may do with ``encryption_key`` (volume, async outputs, data capture): the symmetric-key
actions that ``kms:GenerateDataKey*`` and ``kms:ReEncrypt*`` stood for, named (no data key pairs)."""

_ARN_REGION = re.compile(r"^arn:[a-z-]+:kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):")
_EXAMPLE_PLAIN_INSTANCES = "ml.m5.xlarge, ml.c5.xlarge or ml.p3.2xlarge"


def check_key(
    key: Any, problems: Problems, *, stack_region: str, spec: InstanceSpec | None, serverless: bool = False
) -> None:
    """Record why ``encryption_key`` cannot encrypt this endpoint (``None`` is fine).

    :param stack_region: the endpoint's region (a token for an environment-agnostic stack).
    :param spec: the endpoint's instance type (``None``: serverless, or not known yet).
    :param serverless: whether the endpoint runs on serverless inference.
    :default serverless: False
    """
    if key is None:
        return
    if not implements(key, "key_arn", "grant"):
        problems.add("encryption_key", key, "must be a kms.IKey (e.g. kms.Key.from_key_arn(self, 'Key', arn))")
        return
    if serverless:
        problems.add(
            "encryption_key",
            "(given)",
            "cannot be used with serverless inference: serverless endpoints have no storage volume to encrypt "
            "with a customer managed key; drop encryption_key or use instances",
        )
        return
    key_region = _arn_region(key.key_arn)
    if key_region is not None and not is_unresolved(stack_region) and key_region != stack_region:
        problems.add(
            "encryption_key",
            key.key_arn,
            f"is a key in {key_region}, but the endpoint is in {stack_region}: SageMaker only uses KMS keys "
            "of the endpoint's own region; use a key (or a multi-Region replica) in that region",
        )
        return
    problem = key_instance_problem(spec) if spec is not None else None
    if problem is not None:
        problems.add("encryption_key", "(given)", problem)


def key_instance_problem(spec: InstanceSpec) -> str | None:
    """Why a KMS key cannot encrypt the storage of ``spec`` (``None``: it can)."""
    if not spec.local_nvme:
        return None
    return (
        f"cannot be used on {spec.name}: its storage is local NVMe, already encrypted by the instance's "
        "hardware, and SageMaker rejects KmsKeyId there (after a long deploy); use an instance without "
        f"local storage (e.g. {_EXAMPLE_PLAIN_INSTANCES}) or leave encryption_key unset"
    )


def grant_key(role: iam.IRole, key: kms.IKey) -> None:
    """Let the role use the key, and let SageMaker create grants on it for AWS resources only."""
    # The role encrypts the storage volume and writes async outputs and captured data with the key;
    # SageMaker creates grants on it for the volume, only for AWS resources.
    key.grant(role, *KMS_KEY_ACTIONS)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )


def _arn_region(arn: str) -> str | None:
    """The region of a literal KMS ARN (``None`` for tokens and other forms)."""
    match = _ARN_REGION.match(arn) if isinstance(arn, str) else None
    return match.group("region") if match else None
