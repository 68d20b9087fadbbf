"""ECR image URIs as users write them (``images.ecr_uri``): accepted forms, partition suffixes, malformed URIs."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from constructs_lib import (
    ConfigurationError,
    InferenceImage,
)

from ..support import (
    error_of,
    image_stack,
)


@pytest.mark.parametrize(
    "uri",
    [
        "my-model:latest",
        "12345.dkr.ecr.us-east-1.amazonaws.com/my-model:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/My_Model:1",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com/my-model:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model@sha256:abc",
        "docker.io/library/python:3.12",
    ],
)
def test_from_uri_rejects_malformed_uris(uri: str) -> None:
    message = error_of(lambda: InferenceImage.from_uri(uri))
    assert f"image: {uri!r}" in message
    assert "e.g. '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1.0'" in message


def test_from_uri_opaque_token_needs_from_ecr_repository() -> None:
    stack, _ = image_stack()
    token = cdk.CfnParameter(stack, "ImageUri").value_as_string
    message = error_of(lambda: InferenceImage.from_uri(token))
    assert "image:" in message and "InferenceImage.from_ecr_repository(repository, tag)" in message


@pytest.mark.parametrize(
    "uri",
    [
        "886529160074.dkr.ecr.us-iso-east-1.c2s.ic.gov/huggingface-pytorch-inference:2.6.0",
        "094389454867.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/my-model:1",
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/my-model:1",
    ],
)
def test_from_uri_accepts_every_partition_suffix(uri: str) -> None:
    assert InferenceImage.from_uri(uri) is not None


@pytest.mark.parametrize(
    "uri",
    [
        "886529160074.dkr.ecr.us-iso-east-1.amazonaws.com/my-model:1",
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com/my-model:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn/my-model:1",
    ],
)
def test_from_uri_suffix_must_fit_the_region(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="has a URL suffix that does not fit its region"):
        InferenceImage.from_uri(uri)
