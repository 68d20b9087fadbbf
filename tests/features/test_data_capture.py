"""Data capture (``features.data_capture``): DataCaptureConfig, the destination bucket, grants, validation and
config files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    ConfigurationError,
    DataCapture,
    FineTunedEndpoint,
    HubModelEndpoint,
    ServerlessInference,
)

from ..support import (
    TUNED_URI,
    actions_of,
    created_bucket,
    created_buckets,
    new_stack,
    only,
    policy_statements,
    resources,
)


def endpoint(stack: Stack, capture: DataCapture, **props: Any) -> FineTunedEndpoint:
    props.setdefault("instance_type", "ml.m5.xlarge")
    return FineTunedEndpoint(
        stack, "E", model_data=TUNED_URI, task="text-classification", data_capture=capture, **props
    )


def capture_config(template: Template) -> dict[str, Any]:
    config: dict[str, Any] = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]["DataCaptureConfig"]
    return config


def put_statements(template: Template) -> list[dict[str, Any]]:
    return [s for s in policy_statements(template) if any(a.startswith("s3:Put") for a in actions_of(s))]


def test_default_capture_writes_everything_to_a_created_bucket() -> None:
    stack = new_stack()
    created = endpoint(stack, DataCapture())
    template = Template.from_stack(stack)

    bucket_id = next(iter(created_buckets(template)))
    assert capture_config(template) == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/data-capture/"]]},
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }
    bucket = created.data_capture_bucket
    assert bucket is not None and stack.resolve(bucket.bucket_name) == {"Ref": bucket_id}
    # The role may only put objects under the prefix.
    statements = put_statements(template)
    assert len(statements) == 1
    assert actions_of(statements[0]) == ["s3:PutObject"]
    assert statements[0]["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/data-capture/*"]]}


def test_created_bucket_is_encrypted_private_and_tls_only() -> None:
    stack = new_stack()
    endpoint(stack, DataCapture())
    template = Template.from_stack(stack)

    props = created_bucket(template)["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"]["Ref"].startswith("EDataCaptureBucket")
    ]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    # Captured data outlives the stack.
    assert created_bucket(template)["DeletionPolicy"] == "Retain"
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "s3-access-logs/TestStack/E/DataCaptureBucket/"


def test_encryption_key_encrypts_the_bucket_and_the_capture() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    endpoint(stack, DataCapture(), encryption_key=key)
    template = Template.from_stack(stack)

    key_arn = stack.resolve(key.key_arn)
    assert capture_config(template)["KmsKeyId"] == key_arn
    rule = created_bucket(template)["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    kms_actions = {
        a
        for s in policy_statements(template)
        if s["Resource"] == key_arn
        for a in actions_of(s)
        if a.startswith("kms:")
    }
    assert {"kms:Encrypt", "kms:GenerateDataKey"} <= kms_actions


def test_uri_destination_uses_that_location_and_creates_no_bucket() -> None:
    stack = new_stack()
    endpoint(stack, DataCapture(destination="s3://capture-bucket/team/sentiment", sampling_percentage=25))
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::S3::Bucket", 0)
    config = capture_config(template)
    assert config["DestinationS3Uri"] == "s3://capture-bucket/team/sentiment/"
    assert config["InitialSamplingPercentage"] == 25
    assert "KmsKeyId" not in config
    resource = json.dumps(put_statements(template)[0]["Resource"])
    assert ":s3:::capture-bucket/team/sentiment/*" in resource


def test_bare_bucket_uri_takes_the_prefix() -> None:
    stack = new_stack()
    endpoint(stack, DataCapture(destination="s3://capture-bucket", prefix="sentiment"))
    assert capture_config(Template.from_stack(stack))["DestinationS3Uri"] == "s3://capture-bucket/sentiment/"


def test_bucket_destination_with_its_own_key_grants_that_key() -> None:
    stack = new_stack()
    bucket_key = kms.Key(stack, "BucketKey")
    bucket = s3.Bucket(stack, "Mine", encryption_key=bucket_key)
    endpoint(stack, DataCapture(destination=bucket, prefix="capture/"))
    template = Template.from_stack(stack)

    assert capture_config(template)["DestinationS3Uri"] == {
        "Fn::Join": ["", ["s3://", stack.resolve(bucket.bucket_name), "/capture/"]]
    }
    key_statements = [s for s in policy_statements(template) if s["Resource"] == stack.resolve(bucket_key.key_arn)]
    assert {"kms:Encrypt", "kms:GenerateDataKey"} <= {a for s in key_statements for a in actions_of(s)}


def test_options_map_to_capture_modes_content_types_and_enable_flag() -> None:
    stack = new_stack()
    endpoint(
        stack,
        DataCapture(
            capture_response=False,
            json_content_types=[],
            csv_content_types=["text/csv", "application/csv"],
            enabled=False,
            sampling_percentage=0,
        ),
    )
    config = capture_config(Template.from_stack(stack))

    assert config["CaptureOptions"] == [{"CaptureMode": "Input"}]
    assert config["CaptureContentTypeHeader"] == {"CsvContentTypes": ["text/csv", "application/csv"]}
    assert config["EnableCapture"] is False
    assert config["InitialSamplingPercentage"] == 0


def test_no_content_types_leaves_the_header_out() -> None:
    stack = new_stack()
    endpoint(stack, DataCapture(json_content_types=(), capture_request=False))
    config = capture_config(Template.from_stack(stack))
    assert "CaptureContentTypeHeader" not in config
    assert config["CaptureOptions"] == [{"CaptureMode": "Output"}]


def test_without_data_capture_nothing_is_added() -> None:
    stack = new_stack()
    created = FineTunedEndpoint(stack, "E", model_data=TUNED_URI, task="fill-mask", instance_type="ml.m5.xlarge")
    template = Template.from_stack(stack)
    assert "DataCaptureConfig" not in only(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    template.resource_count_is("AWS::S3::Bucket", 0)
    assert created.data_capture_bucket is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sampling_percentage": 150}, "data_capture.sampling_percentage: 150 must be a whole number from 0 to 100"),
        ({"sampling_percentage": -1}, "data_capture.sampling_percentage: -1 must be a whole number from 0 to 100"),
        ({"sampling_percentage": 2.5}, "data_capture.sampling_percentage: 2.5 must be a whole number"),
        ({"sampling_percentage": True}, "data_capture.sampling_percentage: True must be a whole number"),
        ({"capture_request": False, "capture_response": False}, "nothing would be captured"),
        ({"enabled": "yes"}, "data_capture.enabled: 'yes' must be True or False"),
        ({"json_content_types": ["json"]}, "data_capture.json_content_types: 'json' is not a content type"),
        ({"csv_content_types": "text csv"}, "data_capture.csv_content_types: 'text csv' is not a content type"),
        ({"csv_content_types": [f"text/x{i}" for i in range(11)]}, "'11 entries' is too many: at most 10"),
        ({"json_content_types": ["application/json"] * 2}, "lists a content type twice"),
        ({"destination": "http://bucket/x/"}, "data_capture.destination: 'http://bucket/x/' must be an S3 URI"),
        ({"destination": "s3://Bad_Bucket/x/"}, "data_capture.destination: 's3://Bad_Bucket/x/' must be an S3 URI"),
        ({"destination": 42}, "data_capture.destination: 42 must be an s3.IBucket or an s3://bucket/prefix/ URI"),
        ({"destination": "s3://bucket/x/", "prefix": "y/"}, "data_capture.prefix: 'y/' cannot be combined"),
        ({"prefix": "/leading"}, "data_capture.prefix: '/leading' must be an S3 key prefix"),
    ],
)
def test_invalid_values_are_rejected_with_the_property_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        DataCapture(**kwargs)
    assert message in str(error.value)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as error:
        DataCapture(sampling_percentage=101, json_content_types=["nope"], destination="ftp://x")
    message = str(error.value)
    assert message.startswith("DataCapture has 3 invalid props")
    assert "sampling_percentage" in message and "json_content_types" in message and "destination" in message


def test_content_types_are_stored_as_tuples() -> None:
    types = ["text/csv"]
    capture = DataCapture(csv_content_types=types)
    types.append("oops")
    assert capture.csv_content_types == ("text/csv",)


def test_data_capture_prop_must_be_a_data_capture() -> None:
    with pytest.raises(ConfigurationError, match=r"data_capture: .* must be a DataCapture"):
        endpoint(new_stack(), {"sampling_percentage": 10})  # type: ignore[arg-type]


def test_data_capture_is_rejected_on_serverless() -> None:
    with pytest.raises(ConfigurationError, match=r"data_capture: '\(given\)' is not supported by serverless inference"):
        FineTunedEndpoint(
            new_stack(),
            "E",
            model_data=TUNED_URI,
            task="text-classification",
            serverless=ServerlessInference(),
            data_capture=DataCapture(),
        )


def test_data_capture_works_on_hub_models_too() -> None:
    stack = new_stack()
    HubModelEndpoint(
        stack,
        "E",
        model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        task="text-classification",
        instance_type="ml.m5.xlarge",
        data_capture=DataCapture(sampling_percentage=5),
    )
    assert capture_config(Template.from_stack(stack))["InitialSamplingPercentage"] == 5


def test_from_config_round_trips() -> None:
    data = {
        "destination": "s3://capture-bucket/sentiment/",
        "sampling_percentage": 20,
        "capture_response": False,
        "csv_content_types": ["text/csv"],
    }
    capture = DataCapture.from_config(data)
    assert capture == DataCapture(
        destination="s3://capture-bucket/sentiment/",
        sampling_percentage=20,
        capture_response=False,
        csv_content_types=("text/csv",),
    )
    assert capture.to_config() == data
    assert DataCapture.from_config(capture.to_config()) == capture
    assert DataCapture.from_config({}) == DataCapture()


def test_from_config_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigurationError, match=r"data_capture: unknown key\(s\) sample_rate, sampling; allowed: "):
        DataCapture.from_config({"sampling": 10, "sample_rate": 1})


def test_from_config_validates_values() -> None:
    with pytest.raises(ConfigurationError, match="sampling_percentage: 500"):
        DataCapture.from_config({"sampling_percentage": 500})
    with pytest.raises(ConfigurationError, match="must be an s3://bucket/prefix/ URI in a config file"):
        DataCapture.from_config({"destination": {"bucket": "x"}})
    with pytest.raises(ConfigurationError, match="must be a mapping"):
        DataCapture.from_config(["sampling_percentage"])  # type: ignore[arg-type]


def test_to_config_needs_a_uri_destination() -> None:
    stack = new_stack()
    with pytest.raises(ConfigurationError, match="a bucket construct has no config form"):
        DataCapture(destination=s3.Bucket.from_bucket_name(stack, "B", "bucket")).to_config()
