"""ScriptRepack's template: the function, the custom resource, the output bucket and least-privilege grants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from constructs_lib import ConfigurationError, ScriptRepack
from constructs_lib._core.nag import render_for_nag

from ..support import (
    MODEL_FN_SCRIPT,
    SOURCE_KEY,
    actions_of,
    created_buckets,
    new_stack,
    only,
    policy_statements,
    resources,
    statements_of,
    write_script,
)


@pytest.fixture(scope="module")
def built(module_code_dir: Path) -> tuple[Stack, ScriptRepack, Template]:
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
    repack = ScriptRepack(
        stack, "Repack", model_data_bucket=bucket, model_data_key=SOURCE_KEY, code_dir=str(module_code_dir)
    )
    sagemaker_role = iam.Role(stack, "SageMakerRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    repack.grant_read(sagemaker_role)
    return stack, repack, Template.from_stack(stack)


def test_function_and_custom_resource(built: tuple[Stack, ScriptRepack, Template]) -> None:
    _, _, template = built
    functions = resources(template, "AWS::Lambda::Function")
    repack_functions = [f for f in functions.values() if f["Properties"].get("Handler") == "index.on_event"]
    assert len(repack_functions) == 1
    properties = repack_functions[0]["Properties"]
    newest_python = max(
        (runtime.name for runtime in lambda_.Runtime.ALL if runtime.name.startswith("python3.")),
        key=lambda name: int(name.split(".")[1]),
    )
    assert properties["Runtime"] == newest_python  # cdk-nag AwsSolutions-L1
    assert properties["Timeout"] == 900
    assert properties["MemorySize"] == 3008
    assert "LogGroup" in properties["LoggingConfig"]
    custom = only(template, "Custom::ScriptRepack")["Properties"]
    assert custom["SourceBucket"] == "my-models"
    assert custom["SourceKey"] == SOURCE_KEY
    assert custom["CodeKey"].endswith(".zip")
    assert custom["CodeHash"] in custom["CodeKey"]
    assert custom["OutputPrefix"].startswith("script-repack/") and custom["OutputPrefix"].endswith("/")


def test_model_data_url_is_the_custom_resource_attribute(built: tuple[Stack, ScriptRepack, Template]) -> None:
    stack, repack, template = built
    (logical_id,) = resources(template, "Custom::ScriptRepack")
    assert stack.resolve(repack.model_data_url) == {"Fn::GetAtt": [logical_id, "ModelDataUrl"]}


def test_function_role_is_scoped_to_single_objects_and_the_output_prefix(
    built: tuple[Stack, ScriptRepack, Template],
) -> None:
    _, repack, template = built
    statements = statements_of(template, "RepackServiceRole")
    s3_statements = [s for s in statements if any(a.startswith("s3:") for a in actions_of(s))]
    by_resource = {render_for_nag(s["Resource"]): sorted(actions_of(s)) for s in s3_statements}
    assert by_resource.pop("arn:<AWS::Partition>:s3:::my-models/fine-tuned/model.tar.gz") == ["s3:GetObject"]
    (code_arn,) = [arn for arn in by_resource if arn.endswith(".zip")]
    assert by_resource.pop(code_arn) == ["s3:GetObject"] and "*" not in code_arn
    ((output_arn, output_actions),) = by_resource.items()
    assert output_arn.endswith(f"/{repack.output_prefix}*")
    assert output_actions == sorted(["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"])
    for statement in statements:
        assert all("*" not in action for action in actions_of(statement))
        assert statement["Resource"] != "*"


def test_no_managed_policies(built: tuple[Stack, ScriptRepack, Template]) -> None:
    _, _, template = built
    text = str(template.to_json())
    for name in (
        "AmazonSageMakerFullAccess",
        "AdministratorAccess",
        "AWSLambdaBasicExecutionRole",
        "AmazonS3FullAccess",
    ):
        assert name not in text
    for role in resources(template, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_output_bucket_defaults(built: tuple[Stack, ScriptRepack, Template]) -> None:
    _, _, template = built
    (bucket,) = created_buckets(template).values()
    properties = bucket["Properties"]
    # Server access logs go to the stack's shared log bucket, under this bucket's own prefix.
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {
            "Ref": next(iter(resources(template, "AWS::S3::Bucket").keys() - created_buckets(template).keys()))
        },
        "LogFilePrefix": "s3-access-logs/TestStack/Repack/OutputBucket/",
    }
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "VersioningConfiguration" not in properties
    assert properties["LifecycleConfiguration"]["Rules"][0]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }
    assert bucket["DeletionPolicy"] == "Delete"
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_grant_read_gives_get_object_on_the_output_prefix_only(built: tuple[Stack, ScriptRepack, Template]) -> None:
    _, repack, template = built
    statements = statements_of(template, "SageMakerRole")
    assert len(statements) == 1
    assert actions_of(statements[0]) == ["s3:GetObject"]
    assert render_for_nag(statements[0]["Resource"]).endswith(f"/{repack.output_prefix}*")


def test_given_output_bucket_is_used(module_code_dir: Path) -> None:
    stack = new_stack()
    source = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
    output = s3.Bucket.from_bucket_name(stack, "Out", "shared-output")
    repack = ScriptRepack(
        stack,
        "Repack",
        model_data_bucket=source,
        model_data_key=SOURCE_KEY,
        code_dir=str(module_code_dir),
        output_bucket=output,
        memory_size=1024,
        timeout=Duration.minutes(5),
    )
    template = Template.from_stack(stack)
    assert resources(template, "AWS::S3::Bucket") == {}
    assert repack.output_bucket is output
    assert only(template, "Custom::ScriptRepack")["Properties"]["OutputBucket"] == "shared-output"
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "index.on_event", "MemorySize": 1024, "Timeout": 300}
    )
    assert any(
        render_for_nag(s["Resource"]) == f"arn:<AWS::Partition>:s3:::shared-output/{repack.output_prefix}*"
        for s in policy_statements(template)
    )


def test_invalid_props_are_reported_together(tmp_path: Path) -> None:
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
    with pytest.raises(ConfigurationError) as raised:
        ScriptRepack(
            stack,
            "Repack",
            model_data_bucket=bucket,
            model_data_key="model.zip",
            code_dir=str(tmp_path),
            memory_size=64,
            timeout=Duration.minutes(20),
        )
    message = str(raised.value)
    assert "4 invalid props" in message
    for fragment in ("model_data_key: 'model.zip'", "no inference.py", "memory_size: 64", "timeout"):
        assert fragment in message


def test_code_dir_must_hold_the_entry_point(tmp_path: Path) -> None:
    write_script(tmp_path, "def predict_fn(data, model):\n    return data\n")
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
    with pytest.raises(ConfigurationError, match=r"code_dir: .* holds no serve\.py; SageMaker would ignore the code"):
        ScriptRepack(
            stack,
            "Repack",
            model_data_bucket=bucket,
            model_data_key="m.tgz",
            code_dir=str(tmp_path),
            entry_point="serve.py",
        )


def test_missing_code_dir(tmp_path: Path) -> None:
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
    with pytest.raises(ConfigurationError, match=r"code_dir: .* is not a local directory"):
        ScriptRepack(
            stack, "Repack", model_data_bucket=bucket, model_data_key=SOURCE_KEY, code_dir=str(tmp_path / "nope")
        )


def test_cdk_nag_has_no_findings_and_acknowledges_only_the_unavoidable_ones(
    module_code_dir: Path, tmp_path: Path
) -> None:
    """AwsSolutions passes; what it would report is acknowledged narrowly, on the resource's owner.

    IAM5 on ``<output bucket>/<prefix>*`` (the key holds a hash known only at deploy time), IAM5 on
    ``<function arn>:*`` (the Provider framework's own invoke grant), and S1 on the stack's access
    log bucket (the end of the logging chain). The output bucket itself now has access logs.
    """
    import cdk_nag
    from aws_cdk import App, Environment, Validations

    app = App(outdir=str(tmp_path))
    stack = Stack(app, "NagStack", env=Environment(account="123456789012", region="us-east-1"))
    bucket = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
    ScriptRepack(stack, "Repack", model_data_bucket=bucket, model_data_key=SOURCE_KEY, code_dir=str(module_code_dir))
    Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app))
    app.synth()  # raises ValidationFailed on any unacknowledged finding

    acknowledged = sorted(
        (construct.node.path, re.sub(r"\[.*", "", rule_id.removeprefix("Annotation::")))
        for construct in app.node.find_all()
        for entry in construct.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule_id in entry.data
    )
    assert acknowledged == [
        ("NagStack/ConstructsLibAccessLogs/Resource", "AwsSolutions-S1"),
        ("NagStack/Repack/ProviderRole", "AwsSolutions-IAM5"),
        ("NagStack/Repack/ServiceRole", "AwsSolutions-IAM5"),
    ]


def test_code_asset_ignores_bytecode_caches(tmp_path: Path) -> None:
    def code_key(directory: Path) -> str:
        stack = new_stack()
        bucket = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
        ScriptRepack(stack, "Repack", model_data_bucket=bucket, model_data_key=SOURCE_KEY, code_dir=str(directory))
        key: str = only(Template.from_stack(stack), "Custom::ScriptRepack")["Properties"]["CodeKey"]
        return key

    write_script(tmp_path)
    clean = code_key(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "inference.cpython-312.pyc").write_bytes(b"\x00")
    assert code_key(tmp_path) == clean
    write_script(tmp_path, MODEL_FN_SCRIPT + "# changed\n")
    assert code_key(tmp_path) != clean


def test_both_functions_depend_on_their_roles_policies_only(built: tuple[Stack, ScriptRepack, Template]) -> None:
    _, _, template = built
    policies = resources(template, "AWS::IAM::Policy")
    roles = resources(template, "AWS::IAM::Role")
    functions = resources(template, "AWS::Lambda::Function")
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    assert "index.on_event" in handlers and len(functions) == 2  # the repack function and the Provider's
    for function in functions.values():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        depends_on = function["DependsOn"]
        assert depends_on and set(depends_on) <= set(policies) and role_id not in depends_on
        assert all(policies[policy]["Properties"]["Roles"] == [{"Ref": role_id}] for policy in depends_on)
        assert not set(depends_on) & set(roles)


def test_kms_keys_of_the_source_and_output_buckets_are_granted(module_code_dir: Path) -> None:
    stack = new_stack()
    source = s3.Bucket(stack, "Source", encryption=s3.BucketEncryption.KMS)
    output = s3.Bucket(stack, "Output", encryption=s3.BucketEncryption.KMS)
    ScriptRepack(
        stack,
        "Repack",
        model_data_bucket=source,
        model_data_key=SOURCE_KEY,
        code_dir=str(module_code_dir),
        output_bucket=output,
    )
    template = Template.from_stack(stack)

    def kms_actions_on(key_fragment: str) -> set[str]:
        return {
            action
            for statement in statements_of(template, "RepackServiceRole")
            if key_fragment in str(statement["Resource"])
            for action in actions_of(statement)
        }

    assert kms_actions_on("SourceKey") == {"kms:Decrypt"}
    assert kms_actions_on("OutputKey") == {"kms:Decrypt", "kms:GenerateDataKey"}
