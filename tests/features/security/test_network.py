"""The VPC (``features.security.network``): subnets, security groups, connections, the role's ENI permissions
and the isolated-subnet warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    Serving,
)

from ...support import (
    SST2,
    TUNED_URI,
    actions_of,
    llama_dir_with_script,
    new_stack,
    only,
    policy_statements,
    resources,
    tgi_retired_warnings,
    write_script,
)
from .support import ISOLATED, isolated_and_private_vpc, isolated_subnet_warnings, private_vpc, template_of, tuned


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
