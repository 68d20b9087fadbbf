"""Security (``features.security``): the Hugging Face token secret, VPC, network isolation and KMS encryption."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    ServerlessInference,
    Serving,
)
from constructs_lib.features.security.token import secret_from_config

from ..support import (
    SST2,
    TUNED_URI,
    actions_of,
    container,
    llama_dir_with_script,
    new_stack,
    only,
    policy_statements,
    resources,
    tgi_retired_warnings,
    write_script,
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


def test_vpc_puts_the_model_in_private_subnets_with_a_created_security_group() -> None:
    stack = new_stack()
    vpc = private_vpc(stack)
    endpoint = tuned(stack, vpc=vpc)
    template = template_of(stack)

    vpc_config = only(template, "AWS::SageMaker::Model")["Properties"]["VpcConfig"]
    private = [stack.resolve(s.subnet_id) for s in vpc.private_subnets]
    assert vpc_config["Subnets"] == private
    groups = resources(template, "AWS::EC2::SecurityGroup")
    assert len(groups) == 1
    group_id, group = next(iter(groups.items()))
    assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
    assert group["Properties"]["SecurityGroupEgress"][0]["CidrIp"] == "0.0.0.0/0"
    assert "SecurityGroupIngress" not in group["Properties"]
    # connections exposes that group, e.g. to open a database to the model.
    assert [stack.resolve(g.security_group_id) for g in endpoint.connections.security_groups] == [
        {"Fn::GetAtt": [group_id, "GroupId"]}
    ]


def test_connections_let_other_resources_accept_traffic_from_the_model() -> None:
    stack = new_stack()
    vpc = private_vpc(stack)
    endpoint = tuned(stack, vpc=vpc)
    database = ec2.SecurityGroup(stack, "Database", vpc=vpc)
    database.connections.allow_from(endpoint.connections, ec2.Port.tcp(5432))
    template = template_of(stack)

    ingress = only(template, "AWS::EC2::SecurityGroupIngress")["Properties"]
    assert ingress["FromPort"] == 5432
    assert ingress["SourceSecurityGroupId"]["Fn::GetAtt"][0].startswith("TunedSecurityGroup")


def test_given_security_groups_and_subnets_are_used_as_is() -> None:
    stack = new_stack()
    vpc = private_vpc(stack)
    group = ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-0123456789abcdef0")
    endpoint = tuned(
        stack, vpc=vpc, security_groups=[group], vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)
    )
    template = template_of(stack)

    vpc_config = only(template, "AWS::SageMaker::Model")["Properties"]["VpcConfig"]
    assert vpc_config["SecurityGroupIds"] == ["sg-0123456789abcdef0"]
    assert vpc_config["Subnets"] == [stack.resolve(s.subnet_id) for s in vpc.public_subnets]
    template.resource_count_is("AWS::EC2::SecurityGroup", 0)
    assert endpoint.connections.security_groups[0].security_group_id == "sg-0123456789abcdef0"


def test_role_may_manage_network_interfaces_only_in_the_endpoint_subnets_and_vpc() -> None:
    stack = new_stack()
    vpc = private_vpc(stack)
    tuned(stack, vpc=vpc)
    statements = policy_statements(template_of(stack))

    def statement_with(action: str) -> dict[str, Any]:
        found = [s for s in statements if action in actions_of(s)]
        assert len(found) == 1, action
        return found[0]

    create = json.dumps(statement_with("ec2:CreateNetworkInterface")["Resource"])
    assert ":network-interface/*" in create
    for subnet in vpc.private_subnets:
        assert json.dumps(stack.resolve(subnet.subnet_id)) in create
    assert ":security-group/" in create
    assert ":subnet/" in create and '"*"' not in create

    manage = statement_with("ec2:DeleteNetworkInterface")
    assert set(actions_of(manage)) == {
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    }
    condition = json.dumps(manage["Condition"]["ArnEquals"]["ec2:Vpc"])
    assert ":vpc/" in condition and json.dumps(stack.resolve(vpc.vpc_id)) in condition

    describe = statement_with("ec2:DescribeVpcs")
    assert describe["Resource"] == "*"
    assert set(actions_of(describe)) == {
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    }


def test_no_vpc_means_no_vpc_config_no_ec2_permissions_and_no_connections() -> None:
    stack = new_stack()
    endpoint = tuned(stack)
    template = template_of(stack)

    assert "VpcConfig" not in only(template, "AWS::SageMaker::Model")["Properties"]
    assert not [s for s in policy_statements(template) if any(a.startswith("ec2:") for a in actions_of(s))]
    with pytest.raises(ConfigurationError, match=r"connections: .* runs outside a VPC; pass vpc="):
        _ = endpoint.connections


def test_subnets_and_security_groups_need_a_vpc() -> None:
    stack = new_stack()
    group = ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-0123456789abcdef0")
    with pytest.raises(ConfigurationError) as error:
        tuned(stack, security_groups=[group], vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC))
    assert "vpc_subnets: '(given)' only applies with vpc" in str(error.value)
    assert "security_groups: '(given)' only applies with vpc" in str(error.value)


def test_vpc_without_private_subnets_needs_a_subnet_selection() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(
        stack, "Public", subnet_configuration=[ec2.SubnetConfiguration(name="p", subnet_type=ec2.SubnetType.PUBLIC)]
    )
    with pytest.raises(ConfigurationError, match=r"vpc: '\(selection\)' selects no subnets of the VPC \(the default"):
        tuned(stack, vpc=vpc)


def test_hub_model_in_isolated_subnets_warns() -> None:
    stack = new_stack()
    vpc = isolated_and_private_vpc(stack)
    HubModelEndpoint(stack, "Endpoint", model_id=SST2, instance_type="ml.g5.xlarge", vpc=vpc, vpc_subnets=ISOLATED)
    found = isolated_subnet_warnings(stack)
    assert len(found) == 1
    text = json.dumps(found[0].entry.data)
    assert "constructs-lib:isolated-subnets" in text and SST2 in text


def test_script_requirements_to_install_from_isolated_subnets_warn(tmp_path: Path) -> None:
    code = write_script(tmp_path / "code")

    def build() -> Stack:
        stack = new_stack()
        vpc = isolated_and_private_vpc(stack)
        CustomScriptEndpoint(
            stack, "E", code_dir=code, model_data=TUNED_URI, instance_type="ml.m5.xlarge", vpc=vpc, vpc_subnets=ISOLATED
        )
        return stack

    assert isolated_subnet_warnings(build()) == []  # the model is in S3 and nothing is installed
    (code / "requirements.txt").write_text("langdetect==1.0.9\n")
    found = isolated_subnet_warnings(build())
    assert len(found) == 1
    text = json.dumps(found[0].entry.data)
    assert f"pip-installs {code / 'requirements.txt'} from PyPI" in text and "Hugging Face Hub" not in text


def test_hub_model_with_requirements_in_isolated_subnets_names_both_downloads(tmp_path: Path) -> None:
    code = write_script(tmp_path / "code", "def predict_fn(data, model):\n    return model(data)\n")
    (code / "requirements.txt").write_text("langdetect==1.0.9\n")
    stack = new_stack()
    vpc = isolated_and_private_vpc(stack)
    CustomScriptEndpoint(
        stack, "E", code_dir=code, model_id=SST2, instance_type="ml.g5.xlarge", vpc=vpc, vpc_subnets=ISOLATED
    )
    found = isolated_subnet_warnings(stack)
    assert len(found) == 1
    text = json.dumps(found[0].entry.data)
    assert f"downloads '{SST2}' from the Hugging Face Hub and pip-installs" in text
    assert "package the model in S3 (FineTunedEndpoint) and ship wheels in code/" in text


@pytest.mark.parametrize(("serving", "runs"), [(Serving.AUTO, Serving.VLLM), (Serving.TGI, Serving.TGI)])
def test_requirements_vllm_and_tgi_do_not_install_need_no_internet(
    tmp_path: Path, serving: Serving, runs: Serving
) -> None:
    model = llama_dir_with_script(tmp_path / "model", "def predict_fn(data, model):\n    return data\n")
    (model / "code" / "requirements.txt").write_text("langdetect==1.0.9\n")
    stack = new_stack()
    vpc = isolated_and_private_vpc(stack)
    endpoint = FineTunedEndpoint(
        stack,
        "E",
        model_data=str(model),
        task="text-generation",
        instance_type="ml.g5.xlarge",
        vpc=vpc,
        vpc_subnets=ISOLATED,
        serving=serving,
    )
    assert endpoint.serving is runs  # which ignores code/
    assert isolated_subnet_warnings(stack) == []
    assert len(tgi_retired_warnings(endpoint)) == (1 if runs is Serving.TGI else 0)


def test_isolated_subnets_are_fine_for_a_model_in_s3_and_egress_subnets_for_a_hub_model() -> None:
    stack = new_stack()
    vpc = isolated_and_private_vpc(stack)
    tuned(stack, vpc=vpc, vpc_subnets=ISOLATED)
    HubModelEndpoint(stack, "Hub", model_id=SST2, instance_type="ml.g5.xlarge", vpc=vpc)  # default: egress
    assert isolated_subnet_warnings(stack) == []


def test_too_many_security_groups_are_rejected() -> None:
    stack = new_stack()
    groups = [ec2.SecurityGroup.from_security_group_id(stack, f"Sg{i}", f"sg-{i:017x}") for i in range(6)]
    with pytest.raises(ConfigurationError, match="security_groups: '6 groups' must hold 1 to 5"):
        tuned(stack, vpc=private_vpc(stack), security_groups=groups)


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
