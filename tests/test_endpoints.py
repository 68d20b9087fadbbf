"""The three endpoint constructs: resources, environment, images, role and grants."""

from __future__ import annotations

import gzip
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Environment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelData,
    Serving,
)

from .support import (
    ACCOUNT,
    CPU_TOOLKIT_TAG,
    GPU_TOOLKIT_TAG,
    actions_of,
    container,
    new_stack,
    only,
    policy_statements,
    resources,
    synth,
    variant,
)

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TUNED_URI = "s3://my-bucket/models/model.tar.gz"


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(
        "def model_fn(model_dir):\n    return model_dir\n\n"
        "def predict_fn(data, model):\n    return {'model': model, 'inputs': data}\n"
    )
    return code


def hub(stack: Any, **kwargs: Any) -> HubModelEndpoint:
    kwargs.setdefault("instance_type", "ml.g5.xlarge")
    return HubModelEndpoint(stack, "Sentiment", model_id=SST2, task="text-classification", **kwargs)


# ----------------------------------------------------------------------------- resources
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
def test_each_construct_synthesizes_one_model_config_endpoint_and_role(build: Any, code_dir: Path) -> None:
    template = synth(lambda stack: build(stack, code_dir))

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


def test_hub_model_sets_model_id_task_and_revision() -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s, "E", model_id=SST2, task="text-classification", revision="v1.0", instance_type="ml.g5.xlarge"
        )
    )

    assert container(template)["Environment"] == {
        "HF_MODEL_ID": SST2,
        "HF_TASK": "text-classification",
        "HF_MODEL_REVISION": "v1.0",
    }
    assert "ModelDataUrl" not in container(template)
    assert container(template)["Mode"] == "SingleModel"


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


def test_fine_tuned_local_archive_becomes_a_file_asset(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    (tmp_path / "config.json").write_text("{}")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "config.json", arcname="config.json")
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=str(archive), task="text-classification")
    template = Template.from_stack(stack)

    url = json.dumps(container(template)["ModelDataUrl"])
    assert "cdk-hnb659fds-assets" in url and ".gz" in url
    assets = [a for a in stack.node.root.node.find_all() if type(a).__name__ == "Asset"]
    assert len(assets) == 1


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not even gzip", "is not gzip-compressed"),
        (b"PK\x03\x04 a zip renamed", "is not gzip-compressed"),
        (gzip.compress(b"gzip, but no tar inside" * 30), "is not a readable tar archive"),
    ],
)
def test_fine_tuned_local_archive_must_be_a_gzip_tar(tmp_path: Path, content: bytes, problem: str) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(content)
    with pytest.raises(ConfigurationError, match=f"model_data: '{re.escape(str(archive))}' {problem}"):
        FineTunedEndpoint(new_stack(), "E", model_data=str(archive), task="text-classification")


@pytest.mark.parametrize("empty", ["", "  "])
def test_empty_model_data_is_not_the_current_directory(empty: str) -> None:
    with pytest.raises(ConfigurationError, match=f"model_data: '{empty}' is empty"):
        FineTunedEndpoint(new_stack(), "E", model_data=empty, task="text-classification")


def test_custom_script_sets_sagemaker_program_and_ships_code(code_dir: Path) -> None:
    template = synth(lambda s: CustomScriptEndpoint(s, "E", code_dir=code_dir, model_id=SST2))

    env = container(template)["Environment"]
    assert env["HF_MODEL_ID"] == SST2
    assert env["SAGEMAKER_PROGRAM"] == "inference.py"
    assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    # The script travels in a code-only archive: without it the toolkit would ignore the script.
    assert "ModelDataUrl" in container(template)


def test_custom_script_entry_point_name_is_configurable(code_dir: Path) -> None:
    (code_dir / "serve.py").write_text("def transform_fn(model, data, content_type, accept):\n    return data\n")
    template = synth(
        lambda s: CustomScriptEndpoint(s, "E", code_dir=code_dir, entry_point="serve.py", model_data=TUNED_URI)
    )
    assert container(template)["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"


def test_custom_entry_point_alone_is_repacked_into_an_s3_archive(tmp_path: Path) -> None:
    # No inference.py at all: the toolkit imports SAGEMAKER_PROGRAM, so serve.py is enough.
    code = tmp_path / "code"
    code.mkdir()
    (code / "serve.py").write_text("def transform_fn(model, data, content_type, accept):\n    return data\n")
    template = synth(
        lambda s: CustomScriptEndpoint(
            s, "E", code_dir=code, entry_point="serve.py", model_data=TUNED_URI, instance_type="ml.g5.xlarge"
        )
    )
    assert container(template)["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"
    template.resource_count_is("Custom::ScriptRepack", 1)


# -------------------------------------------------------------------------------- images
@pytest.mark.parametrize(
    ("instance_type", "tag"),
    [("ml.g5.xlarge", GPU_TOOLKIT_TAG), ("ml.g4dn.xlarge", GPU_TOOLKIT_TAG), ("ml.m5.xlarge", CPU_TOOLKIT_TAG)],
)
def test_image_follows_the_instance_processor(instance_type: str, tag: str) -> None:
    template = synth(lambda s: hub(s, instance_type=instance_type), region="eu-west-1")
    assert container(template)["Image"] == (
        f"763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-inference:{tag}"
    )
    assert variant(template)["InstanceType"] == instance_type


def test_environment_agnostic_stack_reads_the_account_from_a_region_mapping() -> None:
    template = synth(hub, region=None)

    image = json.dumps(container(template)["Image"])
    assert "Fn::FindInMap" in image and "AWS::Region" in image and "AWS::URLSuffix" in image
    mappings = template.to_json()["Mappings"]
    (mapping,) = mappings.values()
    assert mapping["us-east-1"] == {"account": "763104351884"}
    assert mapping["af-south-1"] == {"account": "626614931356"}
    assert mapping["cn-north-1"] == {"account": "727897471807"}
    assert mapping["us-gov-west-1"] == {"account": "442386744353"}


def test_auto_serving_picks_tgi_for_text_generation() -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s, "Llm", model_id="Qwen/Qwen2.5-0.5B-Instruct", task="text-generation", instance_type="ml.g5.xlarge"
        )
    )
    assert "huggingface-pytorch-tgi-inference" in container(template)["Image"]
    assert container(template)["Environment"]["HF_MODEL_ID"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert "HF_TASK" not in container(template)["Environment"]


def test_auto_serving_picks_tei_for_feature_extraction() -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s, "Embed", model_id="BAAI/bge-small-en-v1.5", task="feature-extraction", instance_type="ml.g5.xlarge"
        ),
        region="us-west-2",
    )
    assert container(template)["Image"].startswith("246618743249.dkr.ecr.us-west-2.amazonaws.com/tei:")


def test_explicit_serving_overrides_auto() -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s,
            "Llm",
            model_id="gpt2",
            task="text-generation",
            serving=Serving.INFERENCE_TOOLKIT,
            instance_type="ml.g5.xlarge",
        )
    )
    assert "huggingface-pytorch-inference:" in container(template)["Image"]
    assert container(template)["Environment"]["HF_TASK"] == "text-generation"


def test_explicit_image_is_used() -> None:
    uri = "111122223333.dkr.ecr.us-east-1.amazonaws.com/my-serving:1.0"
    template = synth(lambda s: hub(s, image=InferenceImage.from_uri(uri)))
    assert container(template)["Image"] == uri


# ---------------------------------------------------------------------------------- role
def test_role_may_pull_only_the_image_repository() -> None:
    template = synth(hub)
    statements = policy_statements(template)
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in actions_of(s))]
    pull = [s for s in ecr if "ecr:BatchGetImage" in actions_of(s)]
    assert len(pull) == 1
    assert "huggingface-pytorch-inference" in json.dumps(pull[0]["Resource"])
    assert pull[0]["Resource"] != "*"
    token = [s for s in ecr if s["Resource"] == "*"]
    assert all(actions_of(s) == ["ecr:GetAuthorizationToken"] for s in token)


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


def test_model_waits_for_the_role_policy() -> None:
    # The artifact grant lands in the role's DefaultPolicy, a resource of its own.
    template = synth(lambda s: FineTunedEndpoint(s, "Tuned", model_data=TUNED_URI, task="fill-mask"))
    (policy_id,) = resources(template, "AWS::IAM::Policy")
    depends_on = only(template, "AWS::SageMaker::Model").get("DependsOn", [])
    assert policy_id in depends_on


@pytest.mark.parametrize("late_grant", ["feature", "user"])
def test_endpoint_config_waits_for_grants_made_after_the_model(late_grant: str) -> None:
    from aws_cdk import aws_s3 as s3

    from constructs_lib import DataCapture

    stack = new_stack()
    if late_grant == "feature":
        hub(stack, data_capture=DataCapture())  # the capture grant is made while the config is built
    else:
        endpoint = hub(stack)
        s3.Bucket(stack, "Lookups", enforce_ssl=True).grant_read(endpoint.role)  # after construction
    template = Template.from_stack(stack)

    role_id = next(key for key in resources(template, "AWS::IAM::Role") if key.startswith("Sentiment"))
    (policy_id,) = [key for key in resources(template, "AWS::IAM::Policy") if key.startswith("SentimentRole")]
    depends_on = only(template, "AWS::SageMaker::EndpointConfig").get("DependsOn", [])
    assert policy_id in depends_on and role_id in depends_on


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


# ------------------------------------------------------------------------------- grants
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
                "Statement": [
                    {"Action": "sagemaker:InvokeEndpoint", "Effect": "Allow", "Resource": {"Ref": endpoint_id}}
                ]
            },
        },
    )


# ---------------------------------------------------------------------- exposed attributes
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


def test_variant_settings_reach_the_endpoint_config() -> None:
    template = synth(
        lambda s: hub(
            s,
            instance_type="ml.p3.2xlarge",
            instance_count=2,
            startup_health_check_timeout=Duration.minutes(15),
            model_data_download_timeout=Duration.minutes(20),
            volume_size_gb=100,
        )
    )
    settings = variant(template)
    model_name = settings.pop("ModelName")
    assert model_name["Fn::GetAtt"][1] == "ModelName"
    assert settings == {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 2,
        "InstanceType": "ml.p3.2xlarge",
        "InitialVariantWeight": 1,
        "ContainerStartupHealthCheckTimeoutInSeconds": 900,
        "ModelDataDownloadTimeoutInSeconds": 1200,
        "VolumeSizeInGB": 100,
    }


def test_user_environment_is_merged() -> None:
    template = synth(lambda s: hub(s, environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}))
    assert container(template)["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    assert container(template)["Environment"]["HF_MODEL_ID"] == SST2


def test_endpoint_name_defaults_to_a_stable_name_from_the_construct_path() -> None:
    first = synth(hub)
    second = synth(hub)
    name = only(first, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]
    assert name == only(second, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]
    assert name.startswith("TestStack-Sentiment") and len(name) <= 63


def test_model_data_from_bucket_accepts_tokens() -> None:
    from aws_cdk import aws_s3 as s3

    stack = new_stack()
    bucket = s3.Bucket(stack, "Models")
    FineTunedEndpoint(stack, "E", model_data=ModelData.from_bucket(bucket, "tuned/model.tar.gz"), task="fill-mask")
    template = Template.from_stack(stack)
    url = container(template)["ModelDataUrl"]
    assert "Fn::Join" in url and "tuned/model.tar.gz" in json.dumps(url)


# ------------------------------------------------------------------ local models and scripts
def _asset_archive(stack: Any) -> Path:
    """The staged file of the endpoint's model artifact asset."""
    from aws_cdk import aws_s3_assets as s3_assets

    (asset,) = [c for c in stack.node.find_all() if isinstance(c, s3_assets.Asset) and c.node.id == "ModelArtifact"]
    return Path(stack.node.root.outdir) / asset.asset_path


def _members(archive: Path) -> list[str]:
    import tarfile

    with tarfile.open(archive, mode="r:gz") as tar:
        return [member.name for member in tar.getmembers() if member.isfile()]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}))
    (model / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    return model


def test_local_directory_is_packaged_once_with_a_stable_asset_hash(model_dir: Path) -> None:
    def asset_url() -> Any:
        stack = new_stack()
        FineTunedEndpoint(stack, "E", model_data=str(model_dir), instance_type="ml.g5.xlarge")
        return container(Template.from_stack(stack))["ModelDataUrl"], _asset_archive(stack)

    (first_url, first_archive), (second_url, _) = asset_url(), asset_url()
    assert first_url == second_url  # same bytes, same hash, no re-upload
    assert sorted(_members(first_archive)) == ["config.json", "model.safetensors"]


def test_local_directory_with_a_script_puts_the_code_under_code(model_dir: Path, code_dir: Path) -> None:
    stack = new_stack()
    CustomScriptEndpoint(stack, "E", code_dir=code_dir, model_data=str(model_dir), instance_type="ml.g5.xlarge")
    members = _members(_asset_archive(stack))
    assert {"config.json", "model.safetensors", "code/inference.py"} <= set(members)


def test_local_archive_with_a_script_gets_code_added(model_dir: Path, code_dir: Path, tmp_path: Path) -> None:
    import tarfile

    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "config.json", arcname="config.json")
    stack = new_stack()
    CustomScriptEndpoint(stack, "E", code_dir=code_dir, model_data=str(archive), instance_type="ml.g5.xlarge")
    assert set(_members(_asset_archive(stack))) >= {"config.json", "code/inference.py"}


def test_hub_model_with_a_script_ships_a_code_only_archive(code_dir: Path) -> None:
    stack = new_stack()
    CustomScriptEndpoint(stack, "E", code_dir=code_dir, model_id=SST2)
    assert _members(_asset_archive(stack)) == ["code/inference.py"]


def _model_directory_with_script(root: Path, script: str) -> Path:
    from tests.fake_hub import safetensors_bytes

    root.mkdir()
    (root / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "torch_dtype": "float16"}))
    (root / "model.safetensors").write_bytes(safetensors_bytes({"w": ("F16", [64, 64])}, with_data=True))
    (root / "code").mkdir()
    (root / "code" / "inference.py").write_text(script)
    return root


def test_fine_tuned_directory_shipping_a_script_is_checked_when_the_toolkit_runs_it(tmp_path: Path) -> None:
    broken = _model_directory_with_script(
        tmp_path / "broken", "def transform_fn(model, data, ct, accept):\n    pass\n\ndef predict_fn(d, m):\n    pass\n"
    )
    with pytest.raises(ConfigurationError, match="transform_fn"):
        FineTunedEndpoint(
            new_stack(), "E", model_data=str(broken), task="text-classification", instance_type="ml.g5.xlarge"
        )
    # TGI ignores code/: the endpoint builds as before, with a warning that the script will not run.
    stack = new_stack()
    endpoint = FineTunedEndpoint(
        stack, "E", model_data=str(broken), task="text-generation", instance_type="ml.g5.xlarge"
    )
    assert endpoint.serving is Serving.TGI
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("is not run: TGI ignores"))
    assert len(warnings) == 1


def test_fine_tuned_shipped_script_honours_sagemaker_program(tmp_path: Path) -> None:
    model = _model_directory_with_script(tmp_path / "m", "def predict_fn(data, model):\n    return data\n")
    (model / "code" / "serve.py").write_text("def transform_fn(model, data, ct, accept):\n    return data\n")
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "E",
        model_data=str(model),
        task="text-classification",
        instance_type="ml.g5.xlarge",
        environment={"SAGEMAKER_PROGRAM": "serve.py"},
    )
    assert container(Template.from_stack(stack))["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"


_PATTERN_MATCHING_SCRIPT = """\
def predict_fn(data, model):
    match data:
        case {"inputs": text}:
            return model(text)
    return model(data)
"""


def test_script_syntax_the_image_python_lacks_fails_the_synth(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(_PATTERN_MATCHING_SCRIPT)
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
    code = tmp_path / "code"
    code.mkdir()
    handler = "def predict_fn(data, model):\n    try:\n        return model(data)\n"
    (code / "inference.py").write_text(handler + "    except* ValueError:\n        return None\n")
    with pytest.raises(ConfigurationError, match=r"Exception groups .* but the image runs Python 3\.10"):
        CustomScriptEndpoint(new_stack(), "E", code_dir=code, model_id=SST2, instance_type="ml.inf2.xlarge")


def test_shipped_script_grammar_is_checked_only_where_the_toolkit_imports_it(tmp_path: Path) -> None:
    model = _model_directory_with_script(tmp_path / "m", _PATTERN_MATCHING_SCRIPT)

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


# ------------------------------------------------------------------------ Inferentia input shapes
def _neuron_warnings(stack: Any) -> list[Any]:
    return Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("neuron input shapes"))


def _hub_on_inf2(environment: dict[str, str] | None = None) -> Any:
    stack = new_stack()
    HubModelEndpoint(
        stack, "E", model_id=SST2, task="text-classification", instance_type="ml.inf2.xlarge", environment=environment
    )
    return stack


def test_inferentia_without_input_shapes_warns_for_hub_models() -> None:
    warnings = _neuron_warnings(_hub_on_inf2())
    assert len(warnings) == 1
    assert "set environment HF_OPTIMUM_SEQUENCE_LENGTH" in json.dumps(warnings[0].entry.data)
    assert _neuron_warnings(_hub_on_inf2({"HF_OPTIMUM_SEQUENCE_LENGTH": "128", "HF_OPTIMUM_BATCH_SIZE": "4"})) == []
    with pytest.raises(
        ConfigurationError, match=r"environment\['HF_OPTIMUM_SEQUENCE_LENGTH'\]: '0' must be a positive"
    ):
        _hub_on_inf2({"HF_OPTIMUM_SEQUENCE_LENGTH": "0"})


def test_inferentia_needs_the_shapes_of_a_local_model(tmp_path: Path) -> None:
    model = _model_directory_with_script(tmp_path / "m", "def predict_fn(data, model):\n    return data\n")
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(), "E", model_data=str(model), task="text-classification", instance_type="ml.inf2.xlarge"
        )
    assert f"model_data: {str(model)!r} has no neuron input shapes in config.json" in str(error.value)
    # An optimum-neuron export records the shapes it was compiled for.
    config = json.loads((model / "config.json").read_text())
    config["neuron"] = {"static_batch_size": 1, "static_sequence_length": 128}
    (model / "config.json").write_text(json.dumps(config))
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=str(model), task="text-classification", instance_type="ml.inf2.xlarge")
    assert _neuron_warnings(stack) == []


def test_an_endpoint_name_given_twice_in_one_environment_is_an_error() -> None:
    stack = new_stack()
    HubModelEndpoint(stack, "A", model_id=SST2, task="text-classification", endpoint_name="sentiment")
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(stack, "B", model_id=SST2, task="text-classification", endpoint_name="sentiment")
    assert "endpoint_name: 'sentiment' is also the name of TestStack/A: endpoint names are unique" in str(error.value)
    # Another stack of the app in another region, or an environment-agnostic one: no clash.
    app = Stack.of(stack).node.root
    for name, env in (("West", Environment(account=ACCOUNT, region="us-west-2")), ("Agnostic", None)):
        other = Stack(app, name, env=env)
        HubModelEndpoint(other, "A", model_id=SST2, task="text-classification", endpoint_name="sentiment")
