"""``EndpointBase`` (``endpoints.base``): the resources every endpoint has, its attributes and grants, tags on
every resource, and the script checked against the image's Python."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnResource, Stack, TagManager
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Match, Template
from typing_extensions import get_protocol_members

from constructs_lib import (
    AsyncInference,
    AsyncInferenceLocations,
    AutoScaling,
    ConfigurationError,
    CustomScriptEndpoint,
    DataCapture,
    DeploymentGuardrails,
    EndpointBase,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    Serving,
)
from constructs_lib._core.access_logs import ACCESS_LOGS_ID
from constructs_lib._core.names import MODEL_ID_TAG

from ..support import (
    ACCOUNT,
    GPU_TOOLKIT_TAG,
    SST2,
    TUNED_URI,
    build_endpoint,
    container,
    created_buckets,
    error_of,
    hub,
    llama_dir_with_script,
    new_stack,
    only,
    resources,
    synth,
    write_script,
)

TAGS = {"team": "ml-platform", "cost-center": "4711", "équipe": "données été"}
INVOKE_ACTIONS = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
"""What ``grant_invoke`` allows on a built endpoint: real-time and streaming invocations."""


def taggable_resources(stack: Stack) -> list[CfnResource]:
    return [
        c
        for c in stack.node.find_all()
        if isinstance(c, CfnResource) and (TagManager.is_taggable(c) or TagManager.is_taggable_v2(c))
    ]


def tags_of(template: Template, stack: Stack, resource: CfnResource) -> dict[str, str]:
    body = template.to_json()["Resources"][stack.get_logical_id(resource)]
    tags = body["Properties"].get("Tags", [])
    if isinstance(tags, dict):  # some types (e.g. SSM) use a map
        return dict(tags)
    return {tag["Key"]: tag["Value"] for tag in tags}


def observability(**extra: Any) -> dict[str, Any]:
    return {"alarms": True, "dashboard": True, "deployment": DeploymentGuardrails.canary(), "tags": TAGS, **extra}


_PATTERN_MATCHING_SCRIPT = """\
def predict_fn(data, model):
    match data:
        case {"inputs": text}:
            return model(text)
    return model(data)
"""


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda s, _: hub(s), id="hub"),
        pytest.param(lambda s, _: FineTunedEndpoint(s, "Tuned", model_data=TUNED_URI, task="fill-mask"), id="tuned"),
        pytest.param(
            lambda s, code: CustomScriptEndpoint(s, "Custom", code_dir=code, model_data=TUNED_URI), id="custom-s3"
        ),
        pytest.param(lambda s, code: CustomScriptEndpoint(s, "Custom", code_dir=code, model_id=SST2), id="custom-hub"),
    ],
)
def test_each_construct_synthesizes_one_model_config_endpoint_and_role(build: Any, handlers_code_dir: Path) -> None:
    template = synth(lambda stack: build(stack, handlers_code_dir))

    template.resource_count_is("AWS::SageMaker::Model", 1)
    template.resource_count_is("AWS::SageMaker::EndpointConfig", 1)
    template.resource_count_is("AWS::SageMaker::Endpoint", 1)
    roles = [
        r
        for r in resources(template, "AWS::IAM::Role").values()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "sagemaker.amazonaws.com"
    ]
    assert len(roles) == 1
    # Model and EndpointConfig never get physical names: a change must be able to replace them.
    assert "ModelName" not in only(template, "AWS::SageMaker::Model")["Properties"]
    assert "EndpointConfigName" not in only(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    # No managed policies at all on the execution role, least of all AmazonSageMakerFullAccess.
    assert "ManagedPolicyArns" not in roles[0]["Properties"]
    assert "FullAccess" not in json.dumps(template.to_json())


def test_explicit_image_is_used() -> None:
    uri = "111122223333.dkr.ecr.us-east-1.amazonaws.com/my-serving:1.0"
    template = synth(lambda s: hub(s, image=InferenceImage.from_uri(uri)))
    assert container(template)["Image"] == uri


def test_grant_invoke_allows_only_invoke_on_this_endpoint() -> None:
    stack = new_stack()
    endpoint = hub(stack)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    endpoint.grant_invoke(caller)
    template = Template.from_stack(stack)

    endpoint_id = stack.resolve(endpoint.cfn_endpoint.logical_id)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": Match.string_like_regexp("Caller")}],
            "PolicyDocument": {
                "Statement": [{"Action": INVOKE_ACTIONS, "Effect": "Allow", "Resource": {"Ref": endpoint_id}}]
            },
        },
    )


def test_exposed_attributes() -> None:
    stack = new_stack()
    endpoint = hub(stack, instance_type="ml.g4dn.xlarge", endpoint_name="sentiment")

    assert endpoint.instance_type == "ml.g4dn.xlarge"
    assert endpoint.image_uri.endswith(GPU_TOOLKIT_TAG)
    logical_id = stack.resolve(endpoint.cfn_endpoint.logical_id)
    assert stack.resolve(endpoint.endpoint_name) == {"Fn::GetAtt": [logical_id, "EndpointName"]}
    assert stack.resolve(endpoint.endpoint_arn) == {"Ref": logical_id}
    assert endpoint.cfn_model.node.id == "Model"
    assert endpoint.cfn_endpoint_config.node.id == "EndpointConfig"
    assert endpoint.node.default_child is endpoint.cfn_endpoint


# ------------------------------------------------------------------ the endpoint in the rest of CDK
def test_an_api_gateway_sagemaker_integration_invokes_the_endpoint() -> None:
    stack = new_stack()
    endpoint = hub(stack)
    api = apigateway.RestApi(stack, "Api")
    api.root.add_method("POST", apigateway.SagemakerIntegration(endpoint))
    template = Template.from_stack(stack)  # synthesizes

    endpoint_id = stack.get_logical_id(endpoint.cfn_endpoint)
    (method,) = resources(template, "AWS::ApiGateway::Method").values()
    integration = method["Properties"]["Integration"]
    assert integration["Uri"] == {
        "Fn::Join": [
            "",
            [
                "arn:", {"Ref": "AWS::Partition"}, ":apigateway:us-east-1:runtime.sagemaker:path/endpoints/",
                {"Fn::GetAtt": [endpoint_id, "EndpointName"]}, "/invocations",
            ],
        ]
    }  # fmt: skip
    (integration_role, attribute) = integration["Credentials"]["Fn::GetAtt"]
    assert attribute == "Arn"
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": integration_role}],
            "PolicyDocument": {
                "Statement": [{"Action": INVOKE_ACTIONS, "Effect": "Allow", "Resource": {"Ref": endpoint_id}}]
            },
        },
    )


def test_a_bucket_grants_read_to_the_endpoint_execution_role() -> None:
    stack = new_stack()
    endpoint = hub(stack)
    lookups = s3.Bucket(stack, "Lookups")
    grant = lookups.grant_read(endpoint)
    template = Template.from_stack(stack)

    assert grant.success
    bucket_arn = stack.resolve(lookups.bucket_arn)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": stack.get_logical_id(endpoint.role.node.default_child)}],  # type: ignore[arg-type]
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
                        "Effect": "Allow",
                        "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
                    }
                ]
            },
        },
    )


def test_an_endpoint_is_an_aws_sagemaker_iendpoint() -> None:
    stack = new_stack()
    endpoint = hub(stack)

    # jsii interfaces are protocols without runtime checks: what jsii is told, and every member present.
    assert {sagemaker.IEndpoint, iam.IGrantable} <= set(type(endpoint).__jsii_ifaces__)
    members = get_protocol_members(sagemaker.IEndpoint)
    assert {"endpoint_arn", "endpoint_name", "endpoint_ref", "grant_invoke"} <= members
    assert [member for member in sorted(members) if not hasattr(endpoint, member)] == []
    endpoint_id = stack.get_logical_id(endpoint.cfn_endpoint)
    assert stack.resolve(endpoint.endpoint_ref.endpoint_arn) == {"Ref": endpoint_id}
    assert stack.resolve(endpoint.endpoint_ref.endpoint_arn) == stack.resolve(endpoint.endpoint_arn)


def test_grant_invoke_on_an_async_endpoint_is_one_grant_covering_invoke_async_and_the_s3_locations() -> None:
    stack = new_stack()
    endpoint = build_endpoint("hub", stack, instance_type="ml.m5.xlarge", async_inference=AsyncInference())
    function = lambda_.Function(
        stack,
        "Caller",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )
    grant = endpoint.grant_invoke(function)

    assert isinstance(grant, iam.Grant) and grant.success
    locations = endpoint.async_inference_locations
    assert locations is not None and locations.created_bucket is not None
    bucket_arn = stack.resolve(locations.created_bucket.bucket_arn)

    def objects(prefix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [bucket_arn, f"/async-inference/{prefix}/*"]]}

    endpoint_arn = {"Ref": stack.get_logical_id(endpoint.cfn_endpoint)}
    assert [stack.resolve(statement.to_statement_json()) for statement in grant.principal_statements] == [
        {"Action": "sagemaker:InvokeEndpointAsync", "Effect": "Allow", "Resource": endpoint_arn},
        {"Action": "s3:PutObject", "Effect": "Allow", "Resource": objects("input")},
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": [objects("output"), objects("failure")]},
    ]


def test_the_scalable_target_takes_scaling_of_your_own() -> None:
    stack = new_stack()
    endpoint = hub(stack, autoscaling=AutoScaling(max_capacity=4, target_invocations_per_instance=100))
    target = endpoint.scalable_target

    assert isinstance(target, appscaling.ScalableTarget)
    target.scale_on_schedule(
        "Nightly", schedule=appscaling.Schedule.cron(hour="22", minute="0"), min_capacity=1, max_capacity=1
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ScheduledActions": [
                {
                    "ScheduledActionName": "Nightly",
                    "Schedule": "cron(0 22 * * ? *)",
                    "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1},
                }
            ]
        },
    )
    assert hub(new_stack()).scalable_target is None


def test_what_features_create_is_a_typed_attribute_of_the_endpoint() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    endpoint = hub(
        stack, instance_type="ml.m5.xlarge", async_inference=AsyncInference(), data_capture=DataCapture(), vpc=vpc
    )
    template = Template.from_stack(stack)

    for name in ("async_inference_locations", "data_capture_bucket", "connections", "scalable_target"):
        assert isinstance(inspect.getattr_static(EndpointBase, name), property), name  # not set on the instance
    locations = endpoint.async_inference_locations
    assert isinstance(locations, AsyncInferenceLocations) and isinstance(locations.created_bucket, s3.Bucket)
    capture = endpoint.data_capture_bucket
    assert isinstance(capture, s3.Bucket)
    assert capture is not locations.created_bucket
    buckets = {stack.resolve(bucket.bucket_name)["Ref"] for bucket in (locations.created_bucket, capture)}
    assert buckets == set(created_buckets(template))
    connections = endpoint.connections
    assert isinstance(connections, ec2.Connections)
    (group_id,) = resources(template, "AWS::EC2::SecurityGroup")
    assert [stack.resolve(group.security_group_id) for group in connections.security_groups] == [
        {"Fn::GetAtt": [group_id, "GroupId"]}
    ]

    plain = hub(new_stack())
    assert (plain.async_inference_locations, plain.data_capture_bucket) == (None, None)
    message = error_of(lambda: plain.connections)
    assert message == (
        "HubModelEndpoint 'TestStack/Sentiment': connections: the endpoint has no network connections because it "
        "runs outside a VPC; pass vpc=... to run the containers in your VPC"
    )


def test_endpoint_name_defaults_to_a_stable_name_from_the_construct_path() -> None:
    first = synth(hub)
    second = synth(hub)
    name = only(first, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]
    assert name == only(second, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]
    assert name.startswith("TestStack-Sentiment") and len(name) <= 63


def test_script_syntax_the_image_python_lacks_fails_the_synth(tmp_path: Path) -> None:
    code = write_script(tmp_path / "code", _PATTERN_MATCHING_SCRIPT)
    old_image = InferenceImage.huggingface(transformers_version="4.26.0")  # a py39 image
    with pytest.raises(ConfigurationError) as caught:
        CustomScriptEndpoint(
            new_stack(), "E", code_dir=code, model_id=SST2, instance_type="ml.g5.xlarge", image=old_image
        )
    message = str(caught.value)
    assert "Pattern matching is only supported in Python 3.10 and greater, but the image runs Python 3.9" in message
    assert str(code / "inference.py") in message
    # The default image runs a Python that has the syntax.
    stack = new_stack()
    CustomScriptEndpoint(stack, "E", code_dir=code, model_id=SST2, instance_type="ml.g5.xlarge")
    assert "-py312-" in container(Template.from_stack(stack))["Image"]


def test_script_grammar_follows_the_neuron_image_python(tmp_path: Path) -> None:
    handler = "def predict_fn(data, model):\n    try:\n        return model(data)\n"
    code = write_script(tmp_path / "code", handler + "    except* ValueError:\n        return None\n")
    with pytest.raises(ConfigurationError, match=r"Exception groups .* but the image runs Python 3\.10"):
        CustomScriptEndpoint(new_stack(), "E", code_dir=code, model_id=SST2, instance_type="ml.inf2.xlarge")


def test_shipped_script_grammar_is_checked_only_where_the_toolkit_imports_it(tmp_path: Path) -> None:
    model = llama_dir_with_script(tmp_path / "m", _PATTERN_MATCHING_SCRIPT)

    def tuned_on(image: InferenceImage) -> FineTunedEndpoint:
        return FineTunedEndpoint(
            new_stack(),
            "E",
            model_data=str(model),
            task="text-classification",
            instance_type="ml.g5.xlarge",
            image=image,
        )

    with pytest.raises(ConfigurationError, match="Pattern matching is only supported"):
        tuned_on(InferenceImage.huggingface(transformers_version="4.26.0"))
    # A custom image's Python is unknown: nothing to compare against.
    uri = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/my-server:1.0"
    tuned_on(InferenceImage.from_uri(uri, serving=Serving.INFERENCE_TOOLKIT))


@pytest.mark.parametrize(
    ("build", "model_id"),
    [
        pytest.param(
            lambda s, _: HubModelEndpoint(
                s, "Hub", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge", **observability()
            ),
            SST2,
            id="hub",
        ),
        pytest.param(
            lambda s, _: FineTunedEndpoint(
                s,
                "Tuned",
                model_data="s3://my-bucket/model.tar.gz",
                task="fill-mask",
                instance_type="ml.m5.xlarge",
                **observability(),
            ),
            None,
            id="tuned",
        ),
        pytest.param(
            lambda s, code: CustomScriptEndpoint(
                s, "Custom", code_dir=code, model_id=SST2, instance_type="ml.m5.xlarge", **observability()
            ),
            SST2,
            id="custom-hub",
        ),
    ],
)
def test_tags_reach_every_taggable_resource(build: Any, model_id: str | None, code_dir: Path) -> None:
    stack = new_stack()
    build(stack, code_dir)
    template = Template.from_stack(stack)

    taggable = taggable_resources(stack)
    types = {r.cfn_resource_type for r in taggable}
    assert {
        "AWS::IAM::Role",
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
        "AWS::CloudWatch::Alarm",
    } <= types
    expected = dict(TAGS)
    if model_id:
        expected[MODEL_ID_TAG] = model_id
    for resource in taggable:
        assert tags_of(template, stack, resource) == expected, resource.node.path
    # The dashboard exists but AWS::CloudWatch::Dashboard takes no tags.
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_tags_reach_buckets_created_by_a_feature() -> None:
    stack = new_stack()
    HubModelEndpoint(
        stack,
        "Async",
        model_id=SST2,
        task="text-classification",
        instance_type="ml.m5.xlarge",
        async_inference=AsyncInference(),
        **observability(),
    )
    template = Template.from_stack(stack)

    # The stack's S3 access log bucket is shared by every endpoint of the stack: it is not the endpoint's.
    shared = stack.node.find_child(ACCESS_LOGS_ID)
    taggable = [r for r in taggable_resources(stack) if not r.node.path.startswith(shared.node.path + "/")]
    assert "AWS::S3::Bucket" in {r.cfn_resource_type for r in taggable}
    for resource in taggable:
        assert tags_of(template, stack, resource) == {**TAGS, MODEL_ID_TAG: SST2}, resource.node.path


def test_user_tag_overrides_the_model_id_tag() -> None:
    stack = new_stack()
    HubModelEndpoint(
        stack,
        "Hub",
        model_id=SST2,
        task="text-classification",
        instance_type="ml.m5.xlarge",
        tags={MODEL_ID_TAG: "sentiment"},
    )
    template = Template.from_stack(stack)
    for resource in taggable_resources(stack):
        assert tags_of(template, stack, resource) == {MODEL_ID_TAG: "sentiment"}
