"""KMS encryption (``features.security.kms``): the volume key, the instances that refuse it, its grants and region."""

from __future__ import annotations

import pytest
from aws_cdk import aws_kms as kms

from constructs_lib import (
    ConfigurationError,
    FineTunedEndpoint,
)

from ...support import (
    TUNED_URI,
    actions_of,
    new_stack,
    only,
    policy_statements,
)
from .support import template_of, tuned


@pytest.mark.parametrize("instance_type", ["ml.p3.2xlarge", "ml.m5.xlarge", "ml.c5.xlarge"])
def test_encryption_key_encrypts_the_volume_on_instances_without_local_storage(instance_type: str) -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    tuned(stack, instance_type=instance_type, encryption_key=key)
    template = template_of(stack)

    config = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["KmsKeyId"] == stack.resolve(key.key_arn)


@pytest.mark.parametrize(
    "instance_type", ["ml.g4dn.xlarge", "ml.g5.xlarge", "ml.g6.xlarge", "ml.p4d.24xlarge", "ml.m5d.large"]
)
def test_encryption_key_is_rejected_on_instances_with_local_nvme(instance_type: str) -> None:
    stack = new_stack()
    with pytest.raises(ConfigurationError) as error:
        tuned(stack, instance_type=instance_type, encryption_key=kms.Key(stack, "Key"))
    message = str(error.value)
    assert f"encryption_key: '(given)' cannot be used on {instance_type}: its storage is local NVMe" in message
    assert "ml.m5.xlarge" in message and "ml.p3.2xlarge" in message and "leave encryption_key unset" in message


def test_encryption_key_is_rejected_on_the_default_instance() -> None:
    stack = new_stack()
    with pytest.raises(ConfigurationError, match=r"cannot be used on ml\.g5\.xlarge"):
        FineTunedEndpoint(stack, "E", model_data=TUNED_URI, task="fill-mask", encryption_key=kms.Key(stack, "Key"))


def test_encryption_key_grants_the_role_use_of_the_key() -> None:
    stack = new_stack()
    key = kms.Key.from_key_arn(
        stack, "Key", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    tuned(stack, encryption_key=key)
    statements = [s for s in policy_statements(template_of(stack)) if any(a.startswith("kms:") for a in actions_of(s))]

    granted = {a for s in statements for a in actions_of(s)}
    assert {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"} <= granted
    assert not any("*" in action for action in granted)  # named actions, no cdk-nag IAM5 wildcard finding
    assert all(s["Resource"] == key.key_arn for s in statements)
    create_grant = next(s for s in statements if "kms:CreateGrant" in actions_of(s))
    assert create_grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_encryption_key_from_another_region_is_an_error() -> None:
    stack = new_stack()
    arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with pytest.raises(ConfigurationError) as error:
        tuned(stack, encryption_key=kms.Key.from_key_arn(stack, "Key", arn))
    assert f"encryption_key: {arn!r} is a key in eu-west-1, but the endpoint is in us-east-1" in str(error.value)
    # A key created in the stack, or any key in an environment-agnostic stack, has no region to compare.
    agnostic = new_stack(region=None)
    tuned(agnostic, encryption_key=kms.Key.from_key_arn(agnostic, "Key", arn))


def test_encryption_key_must_be_a_key() -> None:
    with pytest.raises(ConfigurationError, match=r"encryption_key: 'alias/mine' must be a kms\.IKey"):
        tuned(new_stack(), encryption_key="alias/mine")
