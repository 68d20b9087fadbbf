"""Asynchronous inference (``features.async_inference``): output config, buckets, grants and every invalid value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from constructs_lib import (
    AsyncInference,
    ConfigurationError,
    ServerlessInference,
    async_inference_locations,
)

from ..support import (
    actions_of,
    build_endpoint,
    build_error,
    config_of,
    created_bucket,
    new_stack,
    resources,
    statements_of,
)


def resources_for(statements: list[dict[str, Any]], action: str) -> str:
    return json.dumps([s["Resource"] for s in statements if action in actions_of(s)])


@pytest.mark.parametrize("kind", ["hub", "tuned", "custom"])
def test_async_default_creates_an_encrypted_private_bucket_and_output_config(kind: str, code_dir: Path) -> None:
    stack = new_stack()
    endpoint = build_endpoint(kind, stack, code_dir, instance_type="ml.m5.xlarge", async_inference=AsyncInference())
    template = Template.from_stack(stack)

    bucket = created_bucket(template)["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert bucket["LoggingConfiguration"]["DestinationBucketName"]["Ref"].startswith("ConstructsLibAccessLogs")
    bucket_policy = json.dumps(
        [p for p in resources(template, "AWS::S3::BucketPolicy").values() if "AsyncInference" in json.dumps(p)]
    )
    assert "aws:SecureTransport" in bucket_policy
    output = config_of(template)["AsyncInferenceConfig"]["OutputConfig"]
    assert "/async-inference/output/" in json.dumps(output["S3OutputPath"])
    assert "/async-inference/failure/" in json.dumps(output["S3FailurePath"])
    assert "KmsKeyId" not in output and "NotificationConfig" not in output
    assert "ClientConfig" not in config_of(template)["AsyncInferenceConfig"]
    locations = async_inference_locations(endpoint)
    assert locations is not None and locations.created_bucket is not None
    assert locations.input_uri.endswith("/async-inference/input/")


def test_async_role_writes_only_outputs_and_reads_only_inputs() -> None:
    stack = new_stack()
    build_endpoint("hub", stack, instance_type="ml.m5.xlarge", async_inference=AsyncInference())
    statements = statements_of(Template.from_stack(stack), "EndpointRole")

    writes = resources_for(statements, "s3:PutObject")
    assert "async-inference/output/*" in writes and "async-inference/failure/*" in writes
    assert "async-inference/input/" not in writes
    reads = resources_for(statements, "s3:GetObject")
    assert "async-inference/input/*" in reads and "async-inference/output" not in reads
    assert all("s3:ListBucket" not in actions_of(s) and "s3:*" not in actions_of(s) for s in statements)


def test_async_with_uris_topics_concurrency_and_key() -> None:
    stack = new_stack()
    success = sns.Topic(stack, "Success")
    failure = sns.Topic(stack, "Failure")
    key = kms.Key(stack, "Key")
    endpoint = build_endpoint(
        "tuned",
        stack,
        instance_type="ml.m5.xlarge",
        encryption_key=key,
        async_inference=AsyncInference(
            output_path="s3://results-bucket/async/out",
            failure_path="s3://results-bucket/async/errors/",
            input_path="s3://payload-bucket/in/",
            success_topic=success,
            error_topic=failure,
            max_concurrent_invocations_per_instance=4,
        ),
    )
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::S3::Bucket", 0)
    async_config = config_of(template)["AsyncInferenceConfig"]
    output = async_config["OutputConfig"]
    assert output["S3OutputPath"] == "s3://results-bucket/async/out/"
    assert output["S3FailurePath"] == "s3://results-bucket/async/errors/"
    assert output["KmsKeyId"]["Fn::GetAtt"][0].startswith("Key")
    assert set(output["NotificationConfig"]) == {"SuccessTopic", "ErrorTopic"}
    assert async_config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 4}
    statements = statements_of(template, "EndpointRole")
    assert "sns:Publish" in json.dumps([actions_of(s) for s in statements])
    assert "results-bucket/async/out/*" in resources_for(statements, "s3:PutObject")
    assert "payload-bucket/in/*" in resources_for(statements, "s3:GetObject")
    locations = async_inference_locations(endpoint)
    assert locations is not None and locations.created_bucket is None
    assert locations.input_uri == "s3://payload-bucket/in/"


def test_async_created_bucket_uses_the_endpoint_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    build_endpoint("tuned", stack, instance_type="ml.m5.xlarge", encryption_key=key, async_inference=AsyncInference())
    bucket = created_bucket(Template.from_stack(stack))["Properties"]
    default = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert "Key" in json.dumps(default["KMSMasterKeyID"])


def test_async_created_bucket_is_encrypted_with_exactly_the_endpoint_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    build_endpoint("tuned", stack, instance_type="ml.m5.xlarge", encryption_key=key, async_inference=AsyncInference())
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]

    bucket = created_bucket(Template.from_stack(stack))["Properties"]
    assert bucket["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                },
            }
        ]
    }


def test_async_output_bucket_of_yours_and_separate_input_bucket() -> None:
    stack = new_stack()
    outputs = s3.Bucket(stack, "Outputs")
    inputs = s3.Bucket(stack, "Inputs")
    build_endpoint(
        "hub",
        stack,
        instance_type="ml.m5.xlarge",
        async_inference=AsyncInference(output_bucket=outputs, input_bucket=inputs),
    )
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::S3::Bucket", 2)  # only yours
    output = json.dumps(config_of(template)["AsyncInferenceConfig"]["OutputConfig"])
    assert "Outputs" in output and "Inputs" not in output
    reads = resources_for(statements_of(template, "EndpointRole"), "s3:GetObject")
    assert "Inputs" in reads and "async-inference/input/*" in reads


def test_grant_invoke_with_async_grants_invoke_async_upload_and_result_reads() -> None:
    stack = new_stack()
    endpoint = build_endpoint("hub", stack, instance_type="ml.m5.xlarge", async_inference=AsyncInference())
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    statements = statements_of(Template.from_stack(stack), "Caller")

    actions = [a for s in statements for a in actions_of(s)]
    assert "sagemaker:InvokeEndpointAsync" in actions
    # An async endpoint does not serve synchronous invocations: they are not granted.
    assert not {"sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"} & set(actions)
    assert "async-inference/input/*" in resources_for(statements, "s3:PutObject")
    reads = resources_for(statements, "s3:GetObject")
    assert "async-inference/output/*" in reads and "async-inference/failure/*" in reads
    assert "async-inference/input" not in reads


def test_grant_invoke_without_async_grants_no_s3() -> None:
    stack = new_stack()
    endpoint = build_endpoint("hub", stack, instance_type="ml.m5.xlarge")
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    statements = statements_of(Template.from_stack(stack), "Caller")
    assert [a for s in statements for a in actions_of(s)] == [
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
    ]
    assert async_inference_locations(endpoint) is None


def test_grant_invoke_with_async_and_key_grants_the_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    endpoint = build_endpoint(
        "tuned", stack, instance_type="ml.m5.xlarge", encryption_key=key, async_inference=AsyncInference()
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    actions = [a for s in statements_of(Template.from_stack(stack), "Caller") for a in actions_of(s)]
    assert "kms:Decrypt" in actions and "kms:GenerateDataKey" in actions
    assert not any(a.endswith("*") for a in actions)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"output_path": "https://bucket/x"}, "async_inference.output_path: 'https://bucket/x' must be an S3 URI"),
        (
            {"failure_path": "s3://Bad_Bucket/x/"},
            "async_inference.failure_path: 's3://Bad_Bucket/x/' must be an S3 URI",
        ),
        ({"input_path": "s3://bucket/a b/"}, "async_inference.input_path: 's3://bucket/a b/' has a key prefix"),
        ({"max_concurrent_invocations_per_instance": 0}, "max_concurrent_invocations_per_instance: 0 must be a whole"),
        ({"max_concurrent_invocations_per_instance": 1001}, "from 1 to 1000"),
        ({"max_concurrent_invocations_per_instance": True}, "max_concurrent_invocations_per_instance: True"),
        ({"success_topic": "arn:aws:sns:us-east-1:1:t"}, "async_inference.success_topic: 'arn:aws:sns"),
        ({"output_bucket": "my-bucket"}, "async_inference.output_bucket: 'my-bucket' must be an s3.IBucket"),
    ],
)
def test_async_invalid_values(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError, match="AsyncInference") as error:
        AsyncInference(**kwargs)
    assert expected in str(error.value)


def test_async_path_and_bucket_together_are_rejected() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "B")
    with pytest.raises(ConfigurationError) as error:
        AsyncInference(output_path="s3://b-1/x/", output_bucket=bucket, input_path="s3://b-1/i/", input_bucket=bucket)
    message = str(error.value)
    assert "output_path / async_inference.output_bucket: both given" in message
    assert "input_path / async_inference.input_bucket: both given" in message


def test_async_wrong_type_is_rejected() -> None:
    message = build_error(instance_type="ml.m5.xlarge", async_inference={"output_path": "s3://b/x/"})
    assert "async_inference: {'output_path': 's3://b/x/'} must be an AsyncInference" in message


def test_async_and_serverless_together_are_rejected() -> None:
    message = build_error(serverless=ServerlessInference(), async_inference=AsyncInference())
    assert "async_inference / serverless: both given" in message


def test_async_from_config_round_trip_and_unknown_keys() -> None:
    data = {"output_path": "s3://b-1/out/", "input_path": "s3://b-1/in/", "max_concurrent_invocations_per_instance": 2}
    settings = AsyncInference.from_config(data)
    assert settings.output_path == "s3://b-1/out/" and settings.max_concurrent_invocations_per_instance == 2
    assert settings.to_config() == data
    assert AsyncInference.from_config({}).to_config() == {}
    with pytest.raises(ConfigurationError) as error:
        AsyncInference.from_config({"output_path": "s3://b-1/x/", "success_topic": "arn:aws:sns:..."})
    message = str(error.value)
    assert "unknown key(s) success_topic" in message
    assert "allowed: failure_path, input_path, max_concurrent_invocations_per_instance, output_path" in message
    with pytest.raises(ConfigurationError, match="must be an S3 URI"):
        AsyncInference.from_config({"output_path": "nope"})
    with pytest.raises(ConfigurationError, match="must be a mapping"):
        AsyncInference.from_config(["s3://b/x/"])  # type: ignore[arg-type]


def test_async_to_config_rejects_constructs() -> None:
    stack = new_stack()
    with pytest.raises(ConfigurationError, match="success_topic are constructs"):
        AsyncInference(success_topic=sns.Topic(stack, "T")).to_config()
