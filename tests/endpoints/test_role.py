"""The execution role (``endpoints.role``): image pull, logs and metrics, and a role passed in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from constructs_lib import HubModelEndpoint, InferenceImage, Serving

from ..support import (
    ACCOUNT,
    PULL_ACTIONS,
    SST2,
    TOOLKIT_REPOSITORY,
    actions_of,
    hub,
    new_stack,
    only,
    policy_statements,
    resources,
    synth,
)


def test_role_may_pull_only_the_image_repository() -> None:
    template = synth(hub)
    statements = policy_statements(template)
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in actions_of(s))]
    pull = [s for s in ecr if "ecr:BatchGetImage" in actions_of(s)]
    assert len(pull) == 1
    assert "huggingface-pytorch-inference" in json.dumps(pull[0]["Resource"])
    assert pull[0]["Resource"] != "*"
    token = [s for s in ecr if s["Resource"] == "*"]
    assert token  # without it, the all() below holds for a role that cannot log in to ECR at all
    assert all(actions_of(s) == ["ecr:GetAuthorizationToken"] for s in token)


QWEN = "Qwen/Qwen2.5-0.5B-Instruct"  # cached in tests/data/hub.context.json, as BGE is
BGE = "BAAI/bge-small-en-v1.5"
OWN_IMAGE = "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/my-model:1"


@pytest.mark.parametrize(
    ("props", "repository"),
    [
        pytest.param(
            {"model_id": SST2, "task": "text-classification"},
            f"763104351884:repository/{TOOLKIT_REPOSITORY}",
            id="toolkit",
        ),
        pytest.param(
            {"model_id": QWEN, "task": "text-generation"},
            "763104351884:repository/huggingface-vllm",
            id="vllm",
        ),
        pytest.param(
            {"model_id": QWEN, "task": "text-generation", "serving": Serving.TGI},
            "763104351884:repository/huggingface-pytorch-tgi-inference",
            id="tgi",
        ),
        pytest.param({"model_id": BGE, "task": "feature-extraction"}, "683313688378:repository/tei", id="tei"),
        pytest.param(
            {"model_id": SST2, "task": "text-classification", "image": InferenceImage.from_uri(OWN_IMAGE)},
            "210987654321:repository/team/my-model",
            id="own-image",
        ),
    ],
)
def test_role_may_get_a_registry_token_and_pull_exactly_the_image_repository(
    props: dict[str, Any], repository: str
) -> None:
    stack = new_stack()
    HubModelEndpoint(stack, "Endpoint", instance_type="ml.g5.xlarge", **props)
    ecr = [s for s in policy_statements(Template.from_stack(stack)) if any(a.startswith("ecr:") for a in actions_of(s))]

    token = [s for s in ecr if "ecr:GetAuthorizationToken" in actions_of(s)]
    # ECR's login supports no resource-level permissions: one statement, that action alone, on "*".
    assert token == [{"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}]
    pull = [s for s in ecr if s not in token]
    assert pull == [
        {
            "Action": PULL_ACTIONS,
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":ecr:us-east-1:{repository}"]]},
        }
    ]


def test_role_writes_only_its_own_logs_and_metrics() -> None:
    stack = new_stack()
    hub(stack, endpoint_name="sentiment-prod")
    template = Template.from_stack(stack)
    statements = policy_statements(template)

    logs = [s for s in statements if any(a.startswith("logs:") for a in actions_of(s))]
    assert logs and all("/aws/sagemaker/Endpoints/sentiment-prod" in json.dumps(s["Resource"]) for s in logs)
    metrics = [s for s in statements if "cloudwatch:PutMetricData" in actions_of(s)]
    assert metrics == [
        {
            "Action": "cloudwatch:PutMetricData",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
            "Effect": "Allow",
            "Resource": "*",
        }
    ]
    # Every wildcard resource is one of the two actions that have no resource-level permissions.
    wildcard_actions = {a for s in statements if s["Resource"] == "*" for a in actions_of(s)}
    assert wildcard_actions <= {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}


def test_hub_model_access_is_inline_in_the_role_the_model_already_depends_on() -> None:
    template = synth(hub)

    template.resource_count_is("AWS::IAM::Policy", 0)
    ((role_id, role),) = resources(template, "AWS::IAM::Role").items()
    assert [policy["PolicyName"] for policy in role["Properties"]["Policies"]] == ["ServingAccess"]
    model = only(template, "AWS::SageMaker::Model")
    assert model["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert "DependsOn" not in model  # the GetAtt orders it; a DependsOn would be redundant (cfn-lint W3005)


def test_role_passed_in_is_used_as_is() -> None:
    stack = new_stack()
    role = iam.Role.from_role_arn(stack, "Imported", f"arn:aws:iam::{ACCOUNT}:role/team-sagemaker", mutable=False)
    endpoint = hub(stack, role=role)
    template = Template.from_stack(stack)

    assert endpoint.role is role
    template.resource_count_is("AWS::IAM::Role", 0)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/team-sagemaker"}
    )


def test_mutable_role_passed_in_receives_the_grants() -> None:
    stack = new_stack()
    role = iam.Role(stack, "TeamRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    hub(stack, role=role)
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::IAM::Role", 1)
    assert any("ecr:BatchGetImage" in actions_of(s) for s in policy_statements(template))
    # The grants went to the team role's DefaultPolicy: the model waits for it, and the two
    # wildcards the serving access needs are acknowledged for cdk-nag on that role.
    (policy_id,) = resources(template, "AWS::IAM::Policy")
    assert policy_id in only(template, "AWS::SageMaker::Model")["DependsOn"]
    acknowledged = [
        key
        for entry in role.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for key in dict(entry.data)
    ]
    assert any(key.endswith("AwsSolutions-IAM5[Resource::*]") for key in acknowledged), acknowledged
    assert any(key.endswith(":log-stream:*]") for key in acknowledged), acknowledged
