"""ModelData forms bound in a stack: an S3 archive given a script is repacked at deploy time by ScriptRepack."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib._core.nag import render_for_nag
from constructs_lib.model_data.sources import ModelData

from ..support import SOURCE_KEY, actions_of, new_stack, resources, statements_of


def test_model_data_with_code_binds_a_script_repack(code_dir: Path) -> None:
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Models", "my-models")
    role = iam.Role(stack, "SageMakerRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    config = ModelData.from_bucket(bucket, SOURCE_KEY).with_code(code_dir).bind(stack, role)
    template = Template.from_stack(stack)
    (logical_id,) = resources(template, "Custom::ScriptRepack")
    assert stack.resolve(config.s3_uri) == {"Fn::GetAtt": [logical_id, "ModelDataUrl"]}
    assert config.compressed
    (statement,) = statements_of(template, "SageMakerRole")
    assert actions_of(statement) == ["s3:GetObject"]
    assert "/script-repack/" in render_for_nag(statement["Resource"])
