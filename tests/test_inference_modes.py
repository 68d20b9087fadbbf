"""Async and serverless inference: endpoint config, buckets, grants, and every invalid combination."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from constructs_lib import ConfigurationError, FineTunedEndpoint, Serving
from constructs_lib.autoscaling import AutoScaling
from constructs_lib.inference_modes import (
    AsyncInference,
    ServerlessInference,
    async_inference_locations,
)
from constructs_lib.model.profile import ModelProfile
from constructs_lib.sizing import SizingOptions
from constructs_lib.variants import ModelVariant

from .support import (
    CPU_TOOLKIT_TAG,
    SST2,
    TUNED_URI,
    actions_of,
    build_endpoint,
    created_bucket,
    new_stack,
    only,
    resources,
)

build = build_endpoint  # no default instance_type in this module, unlike test_autoscaling / test_variants


def config_of(template: Template) -> dict[str, Any]:
    properties: dict[str, Any] = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    return properties


def statements_of(template: Template, policy_prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for logical_id, policy in resources(template, "AWS::IAM::Policy").items():
        if logical_id.startswith(policy_prefix):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def resources_for(statements: list[dict[str, Any]], action: str) -> str:
    return json.dumps([s["Resource"] for s in statements if action in actions_of(s)])


def error_of(kind: str = "hub", **props: Any) -> str:
    with pytest.raises(ConfigurationError) as error:
        build(kind, new_stack(), **props)
    return str(error.value)


# ------------------------------------------------------------------------------ async inference
@pytest.mark.parametrize("kind", ["hub", "tuned", "custom"])
def test_async_default_creates_an_encrypted_private_bucket_and_output_config(kind: str, code_dir: Path) -> None:
    stack = new_stack()
    endpoint = build(kind, stack, code_dir, instance_type="ml.m5.xlarge", async_inference=AsyncInference())
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
    build("hub", stack, instance_type="ml.m5.xlarge", async_inference=AsyncInference())
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
    endpoint = build(
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
    build("tuned", stack, instance_type="ml.m5.xlarge", encryption_key=key, async_inference=AsyncInference())
    bucket = created_bucket(Template.from_stack(stack))["Properties"]
    default = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert "Key" in json.dumps(default["KMSMasterKeyID"])


def test_async_output_bucket_of_yours_and_separate_input_bucket() -> None:
    stack = new_stack()
    outputs = s3.Bucket(stack, "Outputs")
    inputs = s3.Bucket(stack, "Inputs")
    build(
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
    endpoint = build("hub", stack, instance_type="ml.m5.xlarge", async_inference=AsyncInference())
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    statements = statements_of(Template.from_stack(stack), "CallerDefaultPolicy")

    actions = [a for s in statements for a in actions_of(s)]
    assert "sagemaker:InvokeEndpointAsync" in actions
    assert "async-inference/input/*" in resources_for(statements, "s3:PutObject")
    reads = resources_for(statements, "s3:GetObject")
    assert "async-inference/output/*" in reads and "async-inference/failure/*" in reads
    assert "async-inference/input" not in reads


def test_grant_invoke_without_async_grants_no_s3() -> None:
    stack = new_stack()
    endpoint = build("hub", stack, instance_type="ml.m5.xlarge")
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    statements = statements_of(Template.from_stack(stack), "CallerDefaultPolicy")
    assert [a for s in statements for a in actions_of(s)] == ["sagemaker:InvokeEndpoint"]
    assert async_inference_locations(endpoint) is None


def test_grant_invoke_with_async_and_key_grants_the_key() -> None:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    endpoint = build("tuned", stack, instance_type="ml.m5.xlarge", encryption_key=key, async_inference=AsyncInference())
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(caller)
    actions = [a for s in statements_of(Template.from_stack(stack), "CallerDefaultPolicy") for a in actions_of(s)]
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
    message = error_of(instance_type="ml.m5.xlarge", async_inference={"output_path": "s3://b/x/"})
    assert "async_inference: {'output_path': 's3://b/x/'} must be an AsyncInference" in message


def test_async_and_serverless_together_are_rejected() -> None:
    message = error_of(serverless=ServerlessInference(), async_inference=AsyncInference())
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


# ------------------------------------------------------------------------- serverless inference
@pytest.mark.parametrize("kind", ["hub", "tuned", "custom"])
def test_serverless_variant_has_serverless_config_and_a_cpu_image(kind: str, code_dir: Path) -> None:
    stack = new_stack()
    settings = ServerlessInference(memory_size_mb=3072, max_concurrency=10, provisioned_concurrency=2)
    build(kind, stack, code_dir, serverless=settings)
    template = Template.from_stack(stack)

    variant = config_of(template)["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 10, "ProvisionedConcurrency": 2}
    for absent in ("InstanceType", "InitialInstanceCount", "VolumeSizeInGB"):
        assert absent not in variant
    image = only(template, "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]["Image"]
    assert image.endswith(CPU_TOOLKIT_TAG)


def test_serverless_defaults() -> None:
    stack = new_stack()
    build("tuned", stack, serverless=ServerlessInference())
    variant = config_of(Template.from_stack(stack))["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}


def test_serverless_runs_tei_on_cpu() -> None:
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=TUNED_URI, task="feature-extraction", serverless=ServerlessInference())
    image = only(Template.from_stack(stack), "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]["Image"]
    assert "/tei-cpu:" in image


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"memory_size_mb": 1500}, "serverless.memory_size_mb: 1500 must be a multiple of 1024 from 1024 to 6144"),
        ({"memory_size_mb": 7168}, "serverless.memory_size_mb: 7168 must be a multiple of 1024 from 1024 to 6144"),
        ({"memory_size_mb": 0}, "serverless.memory_size_mb: 0 must be a multiple"),
        ({"max_concurrency": 0}, "serverless.max_concurrency: 0 must be a whole number from 1 to 200"),
        ({"max_concurrency": 201}, "serverless.max_concurrency: 201 must be a whole number from 1 to 200"),
        (
            {"max_concurrency": 5, "provisioned_concurrency": 6},
            "serverless.provisioned_concurrency: 6 must be a whole number from 1 to max_concurrency (5)",
        ),
        ({"provisioned_concurrency": 0}, "serverless.provisioned_concurrency: 0 must be a whole number"),
    ],
)
def test_serverless_invalid_values(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        ServerlessInference(**kwargs)
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"volume_size_gb": 30}, "volume_size_gb: 30 cannot be combined with serverless: serverless endpoints have no"),
        (
            {"startup_health_check_timeout": Duration.minutes(10)},
            "startup_health_check_timeout: '(given)' cannot be combined with serverless: SageMaker does not support "
            "ContainerStartupHealthCheckTimeoutInSeconds",
        ),
        (
            {"model_data_download_timeout": Duration.minutes(10)},
            "model_data_download_timeout: '(given)' cannot be combined with serverless",
        ),
        ({"instance_count": 2}, "instance_count: 2 cannot be combined with serverless"),
        ({"instance_selection": SizingOptions()}, "instance_selection: '(given)' cannot be combined with serverless"),
        ({"autoscaling": AutoScaling(max_capacity=2, target_invocations_per_instance=10)}, "autoscaling / serverless"),
        ({"variants": [ModelVariant(name="b", model_id=SST2)]}, "variants / serverless: both given"),
        ({"instance_type": "ml.m5.xlarge"}, "instance_type: 'ml.m5.xlarge' cannot be combined with serverless"),
    ],
)
def test_serverless_rejects_instance_only_props(props: dict[str, Any], expected: str) -> None:
    message = error_of("tuned", serverless=ServerlessInference(), **props)
    assert expected in message


def test_serverless_accepts_an_explicit_instance_count_of_one() -> None:
    stack = new_stack()
    build("tuned", stack, serverless=ServerlessInference(), instance_count=1)
    assert "ServerlessConfig" in config_of(Template.from_stack(stack))["ProductionVariants"][0]


def test_serverless_rejects_tgi() -> None:
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "Endpoint",
            model_data="s3://bucket/llm/model.tar.gz",
            task="text-generation",
            serverless=ServerlessInference(),
            serving=Serving.TGI,
        )
    assert "serving: 'TGI' cannot run serverless: TGI images are GPU-only" in str(error.value)


def test_serverless_rejects_a_model_too_big_for_its_memory() -> None:
    profile = ModelProfile(parameters=3_000_000_000, dtype="bfloat16")
    message = error_of("tuned", serverless=ServerlessInference(memory_size_mb=4096), model_profile=profile)
    assert "serverless.memory_size_mb: 4096 is too small for the model" in message


def test_serverless_memory_is_checked_against_the_weights_as_the_toolkit_loads_them(code_dir: Path) -> None:
    # 1.7B bfloat16 parameters: 3.2 GiB on disk, 6.3 GiB once the toolkit's default handler casts them to float32.
    profile = ModelProfile(parameters=1_700_000_000, dtype="bfloat16")
    largest = ServerlessInference(memory_size_mb=6144)
    message = error_of("tuned", serverless=largest, model_profile=profile)
    assert "serverless.memory_size_mb: 6144 is too small for the model" in message
    assert "take 6.3 GiB once loaded (1.70B params (bfloat16) as stored)" in message
    # A script with its own model_fn decides the dtype: the stored size is what is known.
    endpoint = build("custom", new_stack(), code_dir, serverless=largest, model_profile=profile)
    assert endpoint.instance_type is None


def test_serverless_memory_is_never_checked_below_the_stored_size() -> None:
    # TEI would serve float32 weights in float16 on a GPU; serverless runs CPU images, which keep float32.
    profile = ModelProfile(parameters=1_500_000_000, dtype="float32", task="feature-extraction")
    message = error_of(
        "tuned", serverless=ServerlessInference(memory_size_mb=4096), model_profile=profile, serving=Serving.TEI
    )
    assert "serverless.memory_size_mb: 4096 is too small for the model: its weights alone take 5.6 GiB" in message


def test_serverless_wrong_type_is_rejected() -> None:
    message = error_of("tuned", serverless=True)
    assert "serverless: True must be a ServerlessInference" in message


def test_serverless_from_config_round_trip_and_unknown_keys() -> None:
    settings = ServerlessInference.from_config({"memory_size_mb": 4096, "provisioned_concurrency": 1})
    assert settings == ServerlessInference(memory_size_mb=4096, provisioned_concurrency=1)
    assert ServerlessInference.from_config(settings.to_config()) == settings
    assert settings.to_config() == {"memory_size_mb": 4096, "provisioned_concurrency": 1}
    with pytest.raises(ConfigurationError) as error:
        ServerlessInference.from_config({"memory": 4096})
    assert "serverless: unknown key(s) memory; allowed: max_concurrency, memory_size_mb, provisioned_concurrency" in (
        str(error.value)
    )
    with pytest.raises(ConfigurationError, match="memory_size_mb: 100"):
        ServerlessInference.from_config({"memory_size_mb": 100})
