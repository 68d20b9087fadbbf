"""The Hugging Face token secret (``features.security.token``): how it reaches each serving stack, what is
refused."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import aws_secretsmanager as secretsmanager

from constructs_lib import (
    ConfigurationError,
    HubModelEndpoint,
    Serving,
)
from constructs_lib.features.security.token import secret_from_config

from ...support import (
    SST2,
    actions_of,
    container,
    new_stack,
    policy_statements,
)
from .support import SECRET_ARN, TOKEN_NAMES, secret, template_of, tuned


@pytest.mark.parametrize(
    ("task", "instance_type", "serving", "expected"),
    [
        pytest.param(
            "text-classification", "ml.m5.xlarge", Serving.AUTO, {"HF_API_TOKEN", "HF_TOKEN"}, id="inference-toolkit"
        ),
        pytest.param("text-generation", "ml.g5.xlarge", Serving.AUTO, {"HF_TOKEN"}, id="vllm"),
        pytest.param("text-generation", "ml.g5.xlarge", Serving.TGI, {"HF_TOKEN"}, id="tgi"),
        pytest.param("feature-extraction", "ml.g5.xlarge", Serving.AUTO, {"HF_TOKEN"}, id="tei"),
    ],
)
def test_token_reaches_each_serving_stack_as_a_dynamic_reference(
    task: str, instance_type: str, serving: Serving, expected: set[str]
) -> None:
    stack = new_stack()
    HubModelEndpoint(
        stack,
        "E",
        model_id="org/gated-model",
        task=task,
        instance_type=instance_type,
        hf_token_secret=secret(stack),
        serving=serving,
    )
    template = template_of(stack)

    env = container(template)["Environment"]
    assert set(env) & TOKEN_NAMES == expected
    for name in expected:
        assert env[name] == f"{{{{resolve:secretsmanager:{SECRET_ARN}:SecretString:::}}}}"


def test_token_of_a_secret_in_the_stack_is_never_in_plain_text() -> None:
    stack = new_stack()
    token = secretsmanager.Secret(stack, "Token")
    HubModelEndpoint(
        stack, "E", model_id="org/gated", task="text-generation", instance_type="ml.g5.xlarge", hf_token_secret=token
    )
    template = template_of(stack)

    value = container(template)["Environment"]["HF_TOKEN"]
    secret_id = stack.resolve(token.secret_arn)
    assert value == {"Fn::Join": ["", ["{{resolve:secretsmanager:", secret_id, ":SecretString:::}}"]]}
    # Every token variable anywhere in the template is a dynamic reference, nothing else.
    text = json.dumps(template.to_json())
    for match in re.finditer(r'"(HF_TOKEN|HF_API_TOKEN|HUGGING_FACE_HUB_TOKEN)": (.{0,60})', text):
        assert "resolve:secretsmanager" in match.group(2)
    # The role never reads the secret: CloudFormation resolves the reference at deploy time.
    assert not [s for s in policy_statements(template) if any(a.startswith("secretsmanager:") for a in actions_of(s))]


def test_secret_name_from_config_resolves_by_name() -> None:
    stack = new_stack()
    HubModelEndpoint(
        stack, "E", model_id=SST2, instance_type="ml.m5.xlarge", hf_token_secret=secret_from_config(stack, "hf-token")
    )

    reference = json.dumps(container(template_of(stack))["Environment"]["HF_API_TOKEN"])
    assert "{{resolve:secretsmanager:arn:" in reference and ":secret:hf-token:SecretString:::}}" in reference


@pytest.mark.parametrize(
    ("value", "expected_arn"),
    [
        (SECRET_ARN, SECRET_ARN),
        ("arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token", None),
        ("hf/token", None),
    ],
)
def test_secret_from_config_accepts_complete_arn_partial_arn_and_name(value: str, expected_arn: str | None) -> None:
    stack = new_stack()
    imported = secret_from_config(stack, value)
    assert imported.node.id == "HfTokenSecret"
    if expected_arn is not None:
        assert imported.secret_full_arn == expected_arn
    else:
        assert imported.secret_full_arn is None


@pytest.mark.parametrize("value", ["", "arn:aws:s3:::bucket", "has spaces in it"])
def test_secret_from_config_rejects_what_is_neither_a_name_nor_an_arn(value: str) -> None:
    with pytest.raises(ConfigurationError, match="hf_token_secret"):
        secret_from_config(new_stack(), value)


def test_token_secret_must_be_a_secret() -> None:
    with pytest.raises(
        ConfigurationError, match=r"hf_token_secret: '<str>' must be a secretsmanager\.ISecret"
    ) as error:
        tuned(new_stack(), hf_token_secret="hf_abc")
    assert "hf_abc" not in str(error.value)


def test_plain_text_token_in_environment_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match=r"environment\['HF_TOKEN'\]: '\*\*\*' puts a Hugging Face token"):
        tuned(new_stack(), environment={"HF_TOKEN": "hf_abc"})
