"""ModelData forms bound in a stack: an S3 archive given a script is repacked at deploy time by ScriptRepack."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import ConfigurationError, CustomScriptEndpoint, FineTunedEndpoint, ModelData
from constructs_lib._core.nag import render_for_nag

from ..support import (
    SOURCE_KEY,
    TUNED_URI,
    actions_of,
    container,
    new_stack,
    policy_statements,
    resources,
    statements_of,
    synth,
)


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


def test_fine_tuned_s3_archive_uses_model_data_url_and_reads_only_that_object() -> None:
    template = synth(lambda s: FineTunedEndpoint(s, "E", model_data=TUNED_URI, task="text-classification"))

    assert container(template)["ModelDataUrl"] == TUNED_URI
    assert container(template)["Environment"] == {"HF_TASK": "text-classification"}
    s3_statements = [s for s in policy_statements(template) if any(a.startswith("s3:") for a in actions_of(s))]
    resources_read = json.dumps([s["Resource"] for s in s3_statements])
    assert "models/model.tar.gz" in resources_read
    assert "my-bucket/*" not in resources_read
    assert all("s3:Put" not in a and "s3:Delete" not in a for s in s3_statements for a in actions_of(s))


def test_fine_tuned_s3_prefix_uses_uncompressed_model_data_source() -> None:
    template = synth(lambda s: FineTunedEndpoint(s, "E", model_data="s3://my-bucket/models/tuned/", task="fill-mask"))

    assert "ModelDataUrl" not in container(template)
    assert container(template)["ModelDataSource"] == {
        "S3DataSource": {"S3Uri": "s3://my-bucket/models/tuned/", "S3DataType": "S3Prefix", "CompressionType": "None"}
    }
    resources_read = json.dumps([s["Resource"] for s in policy_statements(template)])
    assert "models/tuned/*" in resources_read


@pytest.mark.parametrize("empty", ["", "  "])
def test_empty_model_data_is_not_the_current_directory(empty: str) -> None:
    with pytest.raises(ConfigurationError, match=f"model_data: '{empty}' is empty"):
        FineTunedEndpoint(new_stack(), "E", model_data=empty, task="text-classification")


def test_model_data_from_bucket_accepts_tokens() -> None:
    from aws_cdk import aws_s3 as s3

    stack = new_stack()
    bucket = s3.Bucket(stack, "Models")
    FineTunedEndpoint(stack, "E", model_data=ModelData.from_bucket(bucket, "tuned/model.tar.gz"), task="fill-mask")
    template = Template.from_stack(stack)
    url = container(template)["ModelDataUrl"]
    assert "Fn::Join" in url and "tuned/model.tar.gz" in json.dumps(url)


@pytest.mark.parametrize(
    "uri", ["s3://192.168.1.1/m.tar.gz", "s3://xn--bucket/m.tar.gz", "s3://sthree-bucket/m.tar.gz"]
)
def test_bucket_names_s3_reserves_are_rejected(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="has an invalid bucket name"):
        FineTunedEndpoint(new_stack(), "E", model_data=uri, task="text-classification", instance_type="ml.g5.xlarge")


def test_uppercase_s3_scheme_is_explained() -> None:
    with pytest.raises(ConfigurationError, match="write the scheme in lowercase: s3://"):
        FineTunedEndpoint(
            new_stack(),
            "E",
            model_data="S3://bucket/m.tar.gz",
            task="text-classification",
            instance_type="ml.g5.xlarge",
        )


@pytest.mark.parametrize(
    ("model_data", "expected"),
    [
        ("s3://bucket/model.zip", "neither a gzip tar archive"),
        ("s3://bucket/models/model", "neither a gzip tar archive (key ending in .tar.gz or .tgz)"),
        # An archive's name with a '/' after it: a prefix nobody writes files under.
        ("s3://bucket/models/model.tar.gz/", "did you mean 's3://bucket/models/model.tar.gz'?"),
        ("s3://Bad_Bucket/model.tar.gz", "invalid bucket name"),
        ("https://bucket.s3.amazonaws.com/model.tar.gz", "is not an S3 URI"),
        ("./does/not/exist", "does not exist"),
        # f"s3://{bucket}/{prefix}" with a prefix that already has a '/': the key is literal.
        ("s3://bucket//", "has an empty path segment: its key '/' starts with '/'"),
        ("s3://bucket//models/model.tar.gz", "has an empty path segment"),
        ("s3://bucket/models//model.tar.gz", "its key 'models//model.tar.gz' contains '//'; S3 keys are literal"),
    ],
)
def test_bad_model_data(model_data: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(new_stack(), "E", model_data=model_data, task="fill-mask", instance_type="ml.g5.xlarge")
    assert f"model_data: {model_data!r}" in str(error.value)
    assert expected in str(error.value)


@pytest.mark.parametrize("key", ["models/model.tgz", "models/MODEL.TAR.GZ", "models/model.tar.gz"])
def test_gzip_tar_archives_are_known_by_either_suffix_in_any_case(key: str) -> None:
    # SageMaker reads the content; .tgz is the same format under its short name.
    template = synth(
        lambda s: FineTunedEndpoint(
            s, "E", model_data=f"s3://bucket/{key}", task="fill-mask", instance_type="ml.g5.xlarge"
        )
    )
    assert container(template)["ModelDataUrl"] == f"s3://bucket/{key}"


def test_local_file_that_is_not_an_archive(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(new_stack(), "E", model_data=str(weights), task="fill-mask")
    assert "is a local file but not a gzip tar archive" in str(error.value)


def test_custom_script_with_an_uncompressed_prefix(code_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, model_data="s3://bucket/prefix/")
    assert "uncompressed S3 prefix" in str(error.value)


def test_empty_path_object_is_not_the_current_directory() -> None:
    with pytest.raises(ConfigurationError, match=re.escape("model_data: '.' is empty")):
        FineTunedEndpoint(new_stack(), "E", model_data=Path(""), task="text-classification")


def test_access_point_alias_is_a_valid_bucket_reference() -> None:
    endpoint = FineTunedEndpoint(
        new_stack(),
        "E",
        model_data="s3://models-ap-abcdefghijklmnopqrstuvwxyz01-s3alias/m/model.tar.gz",
        task="text-classification",
        instance_type="ml.g5.xlarge",
    )
    assert endpoint.instance_type == "ml.g5.xlarge"
