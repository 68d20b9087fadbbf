"""A component endpoint in a VPC and with a KMS key (components/endpoint.py): the endpoint config and every model
run in the VPC, the key encrypts the instances' storage, and packing skips instance types the key cannot serve."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms

from ..support import SST2, error_of, only, resources
from .support import shared_endpoint, shared_stack, template_of


def test_the_config_and_every_model_run_in_the_vpc_with_the_endpoints_security_group() -> None:
    stack = shared_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    endpoint = shared_endpoint(stack, vpc=vpc)
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")
    endpoint.add_model("Other", model_id=SST2, task="text-classification")
    template = template_of(endpoint)
    config = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]["VpcConfig"]
    (group,) = resources(template, "AWS::EC2::SecurityGroup")
    assert config == {
        "SecurityGroupIds": [{"Fn::GetAtt": [group, "GroupId"]}],
        "Subnets": [{"Ref": "VpcPrivateSubnet1Subnet536B997A"}, {"Ref": "VpcPrivateSubnet2Subnet3788AAA1"}],
    }
    models = resources(template, "AWS::SageMaker::Model").values()
    assert [m["Properties"]["VpcConfig"] for m in models] == [config, config]
    assert endpoint.connections.security_groups[0].node.path == "TestStack/Shared/SecurityGroup"


def test_connections_outside_a_vpc_is_a_clear_error() -> None:
    endpoint = shared_endpoint()
    assert "connections: the endpoint has no network connections because it runs outside a VPC" in error_of(
        lambda: endpoint.connections
    )


def test_the_key_encrypts_the_storage_and_packing_skips_local_nvme_types() -> None:
    stack = shared_stack()
    key = kms.Key(stack, "Key")
    endpoint = shared_endpoint(stack, instance_type=None, encryption_key=key)
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")
    config = only(template_of(endpoint), "AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["KmsKeyId"] == {"Fn::GetAtt": ["Key961B73FD", "Arn"]}
    # g4dn, g5 and g6 have local NVMe storage, which SageMaker encrypts itself and refuses a KmsKeyId for.
    assert endpoint.instance_type == "ml.p3.2xlarge"


def test_a_key_on_an_instance_type_with_local_storage_is_refused() -> None:
    stack = shared_stack()
    key = kms.Key(stack, "Key")
    error = error_of(lambda: shared_endpoint(stack, encryption_key=key))
    assert "encryption_key: '(given)' cannot be used on ml.g5.12xlarge: its storage is local NVMe" in error
