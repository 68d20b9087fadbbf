"""Shared helpers of the security feature tests."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    FineTunedEndpoint,
)

from ...support import (
    TUNED_URI,
)

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"


TOKEN_NAMES = {"HF_TOKEN", "HF_API_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN"}


def secret(stack: Stack) -> secretsmanager.ISecret:
    return secretsmanager.Secret.from_secret_complete_arn(stack, "HfToken", SECRET_ARN)


def template_of(stack: Stack) -> Template:
    return Template.from_stack(stack)


def tuned(stack: Stack, **props: Any) -> FineTunedEndpoint:
    props.setdefault("instance_type", "ml.m5.xlarge")
    return FineTunedEndpoint(stack, "Tuned", model_data=TUNED_URI, task="text-classification", **props)


def private_vpc(stack: Stack) -> ec2.Vpc:
    return ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)


ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
"""The isolated subnets of ``isolated_and_private_vpc``: no NAT, no internet gateway."""


def isolated_and_private_vpc(stack: Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )


def isolated_subnet_warnings(stack: Stack) -> list[Any]:
    found: list[Any] = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("only isolated subnets")
    )
    return found
