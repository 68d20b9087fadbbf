"""Network isolation (``features.security``), and problems across the security props reported together."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    ServerlessInference,
    Serving,
)

from ...support import (
    SST2,
    TUNED_URI,
    new_stack,
    only,
    write_script,
)
from .support import private_vpc, secret, template_of, tuned


def test_network_isolation_sets_the_model_flag() -> None:
    stack = new_stack()
    tuned(stack, network_isolation=True)
    assert only(template_of(stack), "AWS::SageMaker::Model")["Properties"]["EnableNetworkIsolation"] is True


def test_network_isolation_is_off_by_default() -> None:
    stack = new_stack()
    tuned(stack)
    assert "EnableNetworkIsolation" not in only(template_of(stack), "AWS::SageMaker::Model")["Properties"]


@pytest.mark.parametrize(
    ("task", "instance_type", "requested", "serving"),
    [
        ("text-classification", "ml.m5.xlarge", Serving.AUTO, "INFERENCE_TOOLKIT"),
        ("text-generation", "ml.g5.xlarge", Serving.AUTO, "VLLM"),
        ("text-generation", "ml.g5.xlarge", Serving.TGI, "TGI"),
        ("feature-extraction", "ml.g5.xlarge", Serving.AUTO, "TEI"),
    ],
)
def test_network_isolation_is_rejected_for_a_hub_download(
    task: str, instance_type: str, requested: Serving, serving: str
) -> None:
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(
            new_stack(),
            "E",
            model_id="org/model",
            task=task,
            instance_type=instance_type,
            network_isolation=True,
            serving=requested,
        )
    message = str(error.value)
    assert "network_isolation: True cannot be used with a model the container downloads from the Hub" in message
    assert f"('org/model', served by {serving})" in message


def test_network_isolation_is_rejected_for_a_custom_script_with_a_hub_model(tmp_path: Path) -> None:
    write_script(tmp_path)
    with pytest.raises(ConfigurationError, match="network_isolation: True cannot be used with a model the container"):
        CustomScriptEndpoint(
            new_stack(), "E", code_dir=tmp_path, model_id=SST2, instance_type="ml.m5.xlarge", network_isolation=True
        )


def test_network_isolation_with_a_token_is_pointless_and_rejected() -> None:
    stack = new_stack()
    with pytest.raises(ConfigurationError, match="hf_token_secret: '\\(given\\)' has no use with network_isolation"):
        tuned(stack, network_isolation=True, hf_token_secret=secret(stack))


def test_network_isolation_must_be_a_bool() -> None:
    with pytest.raises(ConfigurationError, match="network_isolation: 'yes' must be True or False"):
        tuned(new_stack(), network_isolation="yes")


def test_serverless_rejects_vpc_isolation_and_key_together() -> None:
    stack = new_stack()
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            stack,
            "E",
            model_data=TUNED_URI,
            task="text-classification",
            serverless=ServerlessInference(),
            vpc=private_vpc(stack),
            network_isolation=True,
            encryption_key=kms.Key(stack, "Key"),
        )
    message = str(error.value)
    assert "vpc: '(given)' cannot be used with serverless inference" in message
    assert "network_isolation: True is not supported by serverless inference" in message
    assert "encryption_key: '(given)' cannot be used with serverless inference" in message


def test_every_problem_is_reported_at_once() -> None:
    stack = new_stack()
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(
            stack,
            "E",
            model_id=SST2,
            instance_type="ml.g5.xlarge",
            network_isolation=True,
            encryption_key=kms.Key(stack, "Key"),
            security_groups=[],
        )
    message = str(error.value)
    assert "network_isolation: True cannot be used" in message
    assert "encryption_key: '(given)' cannot be used on ml.g5.xlarge" in message
    assert "security_groups: '(given)' only applies with vpc" in message


def test_network_isolation_with_requirements_to_install_is_a_warning(tmp_path: Path) -> None:
    code = write_script(tmp_path / "code")
    stack = new_stack()
    CustomScriptEndpoint(
        stack, "E", code_dir=code, model_data=TUNED_URI, instance_type="ml.m5.xlarge", network_isolation=True
    )
    find = Annotations.from_stack(stack).find_warning
    assert find("*", Match.string_like_regexp("pip install")) == []
    (code / "requirements.txt").write_text("langdetect==1.0.9\n")
    stack = new_stack()
    CustomScriptEndpoint(
        stack, "E", code_dir=code, model_data=TUNED_URI, instance_type="ml.m5.xlarge", network_isolation=True
    )
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("pip install"))
    assert len(warnings) == 1 and "network_isolation" in str(warnings[0].entry.data)
