"""The CDK app: example stacks, deploying any model through context or a config file, outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from app import build_app
from constructs_lib import ConfigurationError

from .support import CDK_JSON_CONTEXT, ROOT, container, only, variant

EXAMPLE_STACKS = ["HfHubModelExample", "HfLlmExample", "HfFineTunedExample", "HfCustomScriptExample"]


def stacks_of(context: dict[str, Any] | None = None) -> dict[str, Stack]:
    app = build_app(App(context={**CDK_JSON_CONTEXT, **(context or {})}))
    return {child.node.id: child for child in app.node.children if isinstance(child, Stack)}


def test_cdk_json_carries_every_flag_the_pinned_cli_recommends() -> None:
    """What `cdk init` writes for the CLI in package.json; without them `cdk synth` says flags are unconfigured."""
    flags = ROOT / "node_modules" / "aws-cdk" / "lib" / "init-templates" / ".recommended-feature-flags.json"
    recommended = json.loads(flags.read_text())
    assert recommended, "the pinned CLI ships its recommended flags"
    assert {key: CDK_JSON_CONTEXT.get(key) for key in recommended} == recommended


@pytest.fixture(scope="module")
def example_templates() -> dict[str, Template]:
    return {name: Template.from_stack(stack) for name, stack in stacks_of().items()}


def test_no_context_synthesizes_one_example_stack_per_construct(example_templates: dict[str, Template]) -> None:
    assert sorted(example_templates) == sorted(EXAMPLE_STACKS)
    for template in example_templates.values():
        template.resource_count_is("AWS::SageMaker::Endpoint", 1)


def test_examples_show_the_three_ways_and_an_llm(example_templates: dict[str, Template]) -> None:
    hub = container(example_templates["HfHubModelExample"])
    assert hub["Environment"]["HF_MODEL_ID"].startswith("distilbert/")
    llm = example_templates["HfLlmExample"]
    assert "huggingface-vllm:" in json.dumps(container(llm)["Image"])
    assert container(llm)["Environment"]["HF_MODEL_ID"] == "Qwen/Qwen2.5-7B-Instruct"
    # A 7.6B model in bfloat16 (14.2 GiB) with its 32k context on one 24 GB GPU, as its publisher deploys it.
    assert variant(llm)["InstanceType"] == "ml.g6.xlarge"
    assert variant(llm)["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    tuned = container(example_templates["HfFineTunedExample"])
    assert tuned["ModelDataUrl"].endswith("model.tar.gz")
    custom = container(example_templates["HfCustomScriptExample"])
    assert custom["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py" and "ModelDataUrl" in custom


def test_every_stack_outputs_name_arn_and_an_invoke_command(example_templates: dict[str, Template]) -> None:
    for template in example_templates.values():
        outputs = template.to_json()["Outputs"]
        assert {"EndpointName", "EndpointArn", "InvokeCommand"} <= set(outputs)
        command = json.dumps(outputs["InvokeCommand"]["Value"])
        assert "aws sagemaker-runtime invoke-endpoint --endpoint-name" in command
        assert "--body" in command and "EndpointName" in command


def test_the_llm_example_is_invoked_with_an_openai_chat_body(example_templates: dict[str, Template]) -> None:
    value = example_templates["HfLlmExample"].to_json()["Outputs"]["InvokeCommand"]["Value"]
    text = "".join(part for part in value["Fn::Join"][1] if isinstance(part, str))
    body = json.loads(re.search(r"--body '([^']*)'", text)[1])  # type: ignore[index]
    assert body["messages"] == [{"role": "user", "content": "What is Amazon SageMaker?"}]
    assert isinstance(body["max_tokens"], int)


def test_engine_args_and_host_ami_from_context_reach_the_endpoint() -> None:
    stacks = stacks_of(
        {
            "model_id": "Qwen/Qwen2.5-7B-Instruct",
            "task": "text-generation",
            "engine_args": '{"max_num_seqs": 64, "enable_prefix_caching": true}',
            "inference_ami_version": "al2023-ami-sagemaker-inference-gpu-4-1",
        }
    )
    template = Template.from_stack(stacks["HuggingFaceEndpoint"])
    environment = container(template)["Environment"]
    assert environment["SM_VLLM_MAX_NUM_SEQS"] == "64"
    assert environment["SM_VLLM_ENABLE_PREFIX_CACHING"] == "true"
    assert variant(template)["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"


def test_a_host_ami_that_cannot_run_the_image_fails_the_app_synth() -> None:
    with pytest.raises(ConfigurationError) as error:
        stacks_of(
            {
                "model_id": "Qwen/Qwen2.5-7B-Instruct",
                "task": "text-generation",
                "inference_ami_version": "al2-ami-sagemaker-inference-gpu-3-1",
            }
        )
    assert "inference_ami_version: 'al2-ami-sagemaker-inference-gpu-3-1'" in str(error.value)
    assert "CUDA up to 12.4" in str(error.value) and "CUDA 13.0" in str(error.value)


def test_context_deploys_any_hub_model_without_code_changes() -> None:
    stacks = stacks_of(
        {
            "model_id": "cardiffnlp/twitter-roberta-base-sentiment-latest",
            "task": "text-classification",
            "instance_type": "ml.g4dn.xlarge",
            "instance_count": "2",
            "stack_name": "Sentiment",
        }
    )
    assert list(stacks) == ["Sentiment"]
    template = Template.from_stack(stacks["Sentiment"])
    assert container(template)["Environment"]["HF_MODEL_ID"] == "cardiffnlp/twitter-roberta-base-sentiment-latest"
    assert variant(template)["InstanceType"] == "ml.g4dn.xlarge"
    assert variant(template)["InitialInstanceCount"] == 2


def test_context_with_model_data_deploys_a_fine_tuned_model() -> None:
    stacks = stacks_of({"model_data": "s3://bucket/tuned/model.tar.gz", "task": "fill-mask"})
    template = Template.from_stack(stacks["HuggingFaceEndpoint"])
    assert container(template)["ModelDataUrl"] == "s3://bucket/tuned/model.tar.gz"


def test_config_file_deploys_several_endpoints(tmp_path: Path) -> None:
    config = tmp_path / "endpoints.json"
    config.write_text(
        json.dumps(
            {
                "endpoints": [
                    {"stack_name": "A", "model_id": "gpt2", "task": "text-generation", "serving": "inference-toolkit"},
                    {
                        "stack_name": "B",
                        "model_data": "s3://my-bucket/k/model.tar.gz",
                        "task": "fill-mask",
                        "environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"},
                    },
                ]
            }
        )
    )
    stacks = stacks_of({"config": str(config)})
    assert sorted(stacks) == ["A", "B"]
    b = container(Template.from_stack(stacks["B"]))
    assert b["Environment"]["SAGEMAKER_MODEL_SERVER_WORKERS"] == "2"
    a = container(Template.from_stack(stacks["A"]))
    assert "huggingface-pytorch-inference" in json.dumps(a["Image"])


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"task": "fill-mask"}, "given without a model"),
        ({"model_id": "gpt2", "instance_count": "two"}, "instance_count 'two' is not a whole number"),
        ({"model_id": "gpt2", "serving": "vlm"}, "serving 'vlm' is not one of auto, inference-toolkit, tgi, tei, vllm"),
        ({"model_id": "gpt2", "engine_args": "[1]"}, "engine_args must be a JSON object"),
        ({"model_id": "gpt2", "kind": "bogus"}, "kind 'bogus' is not one of"),
        ({"model_id": "gpt2", "kind": "custom-script"}, "kind 'custom-script' needs code_dir"),
        ({"model_id": "gpt2", "kind": "fine-tuned"}, "kind 'fine-tuned' needs model_data"),
        ({"model_id": "gpt2", "stack_name": "my stack"}, "stack_name 'my stack' is not a CloudFormation stack name"),
        ({"model_id": "gpt2", "stack_name": "1st"}, "stack_name '1st' is not a CloudFormation stack name"),
        ({"model_id": "gpt2", "encryption_key_arn": "not-an-arn"}, "encryption_key_arn 'not-an-arn' is not a KMS key"),
        (
            {"model_id": "gpt2", "encryption_key_arn": "arn:aws:kms:us-east-1:123456789012:alias/models"},
            "an alias ARN names no key to grant on",
        ),
    ],
)
def test_bad_context_is_a_clear_error(context: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        stacks_of(context)
    assert expected in str(error.value)


def test_config_file_with_unknown_key(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"model_id": "gpt2", "instance": "ml.g5.xlarge"}))
    with pytest.raises(ConfigurationError) as error:
        stacks_of({"config": str(config)})
    assert "unknown key(s) ['instance']" in str(error.value)


def test_bootstrap_version_rule_can_be_switched_off_for_a_local_aws() -> None:
    default = Template.from_stack(stacks_of()["HfHubModelExample"]).to_json()
    assert "CheckBootstrapVersion" in default.get("Rules", {})
    local = Template.from_stack(stacks_of({"bootstrap_version_rule": "false"})["HfHubModelExample"]).to_json()
    assert "CheckBootstrapVersion" not in local.get("Rules", {})
    assert "BootstrapVersion" not in local.get("Parameters", {})


@pytest.mark.parametrize("name", EXAMPLE_STACKS)
def test_example_stack_snapshot(name: str, example_templates: dict[str, Template], snapshot: SnapshotAssertion) -> None:
    template = example_templates[name].to_json()
    only_endpoint = only(example_templates[name], "AWS::SageMaker::Endpoint")
    assert only_endpoint["Properties"]["EndpointName"].startswith(name)
    assert template == snapshot(extension_class=JSONSnapshotExtension)


def test_config_file_turns_on_production_features(tmp_path: Path) -> None:
    config = tmp_path / "prod.json"
    config.write_text(
        json.dumps(
            {
                "stack_name": "Prod",
                "model_id": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                "task": "text-classification",
                "instance_type": "ml.g5.xlarge",
                "instance_count": 2,
                "autoscaling": {"min_capacity": 2, "max_capacity": 6, "target_invocations_per_instance": 50},
                "deployment": {"type": "canary", "percent": 10, "wait_seconds": 300},
                "data_capture": {"sampling_percentage": 20},
                "alarms": True,
                "dashboard": True,
                "tags": {"team": "ml-platform"},
                "hf_token_secret": "hf/token",
            }
        )
    )
    template = Template.from_stack(stacks_of({"config": str(config)})["Prod"])

    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 1)
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 2, "MaxCapacity": 6}
    )
    endpoint = only(template, "AWS::SageMaker::Endpoint")["Properties"]
    traffic = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert traffic["Type"] == "CANARY" and traffic["CanarySize"]["Value"] == 10
    config_props = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    assert config_props["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert len(template.find_resources("AWS::CloudWatch::Alarm")) >= 2
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    assert {"Key": "team", "Value": "ml-platform"} in endpoint["Tags"]
    token = json.dumps(container(template)["Environment"]["HF_API_TOKEN"])
    assert "resolve:secretsmanager" in token


def test_context_turns_on_serverless_with_json_text() -> None:
    stacks = stacks_of(
        {
            "model_id": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
            "serverless": '{"memory_size_mb": 4096, "max_concurrency": 10}',
        }
    )
    template = Template.from_stack(stacks["HuggingFaceEndpoint"])
    assert variant(template)["ServerlessConfig"] == {"MemorySizeInMB": 4096, "MaxConcurrency": 10}
    assert "-cpu-" in json.dumps(container(template)["Image"])


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"autoscaling": "{not json"}, "autoscaling '{not json' is not valid JSON"),
        ({"autoscaling": '{"max_capacity": 2, "maximum": 3}'}, "maximum"),
        ({"instance_selection": '{"family": ["g5"]}'}, "allowed keys"),
    ],
)
def test_bad_feature_settings_are_clear_errors(context: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        stacks_of({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", **context})
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"model_id": "gpt2", "instance_typ": "ml.m5.xlarge"}, "unknown key(s) ['instance_typ' (did you mean"),
        ({"model_idd": "gpt2"}, "unknown key(s) ['model_idd' (did you mean 'model_id'?)]"),
        ({"modelId": "gpt2"}, "unknown key(s) ['modelId' (did you mean 'model_id'?)]"),
        ({"model-id": "gpt2"}, "unknown key(s) ['model-id' (did you mean 'model_id'?)]"),
        ({"Model_id": "gpt2"}, "unknown key(s) ['Model_id' (did you mean 'model_id'?)]"),
        ({"model_id": "gpt2", "instance-type": "ml.m5.xlarge"}, "['instance-type' (did you mean 'instance_type'?)]"),
        ({"model_id": "gpt2", "instance_count": "\u00b2"}, "instance_count '\u00b2' is not a whole number"),
        (
            {"model_id": "gpt2", "hf_token_secret": "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345678"},
            "hf_token_secret 'hf_***' looks like a Hugging Face token",
        ),
        ({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", "instance_count": 2.7}, "instance_count 2.7"),
        ({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", "instance_count": True}, "instance_count True"),
        ({"kind": "hub", "model_id": "gpt2", "model_data": "s3://my-bucket/m.tar.gz"}, "['model_data'] do not apply"),
        (
            {"model_id": "gpt2", "instance_type": "ml.g5.xlarge", "entry_point": "serve.py"},
            "entry_point 'serve.py' needs code_dir, the directory that holds it",
        ),
        ({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", "environment": '{"A": null}'}, "must be a string"),
    ],
)
def test_context_mistakes_fail_instead_of_deploying_something_else(context: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        stacks_of(context)
    assert expected in str(error.value)


def test_config_file_cannot_be_combined_with_endpoint_keys(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"model_id": "gpt2", "instance_type": "ml.g5.xlarge"}))
    with pytest.raises(ConfigurationError, match=r"\['instance_type', 'model_id'\] given together with config="):
        stacks_of({"config": str(config), "model_id": "bert-base-uncased", "instance_type": "ml.m5.xlarge"})


def test_config_file_keys_next_to_endpoints_are_an_error(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    endpoint = {"model_id": "gpt2", "instance_type": "ml.g5.xlarge"}
    config.write_text(json.dumps({"endpoints": [endpoint], "instance_type": "ml.g6.xlarge", "tags": {"t": "x"}}))
    with pytest.raises(ConfigurationError, match=r"has \['instance_type', 'tags'\] next to \"endpoints\""):
        stacks_of({"config": str(config)})


def test_config_file_endpoint_names_must_differ(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    endpoints = [
        {"stack_name": stack, "model_id": "gpt2", "instance_type": "ml.g5.xlarge", "endpoint_name": "same"}
        for stack in ("A", "B")
    ]
    config.write_text(json.dumps({"endpoints": endpoints}))
    with pytest.raises(ConfigurationError, match=r"endpoint_name \['same'\] used by more than one endpoint"):
        stacks_of({"config": str(config)})


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"dashboard": "1"}, "dashboard 1 must be true or false"),
        ({"network_isolation": "[1]"}, "network_isolation [1] must be true or false"),
        ({"bootstrap_version_rule": "no"}, "bootstrap_version_rule 'no' must be true or false"),
    ],
)
def test_flags_must_be_booleans(context: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(expected)):
        stacks_of({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", **context})


def test_empty_alarms_object_means_default_alarms() -> None:
    stacks = stacks_of({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", "alarms": "{}"})
    alarms = Template.from_stack(next(iter(stacks.values()))).find_resources("AWS::CloudWatch::Alarm")
    assert alarms  # {} is "the default thresholds", not "no alarms"
    none = stacks_of({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", "alarms": "false"})
    assert not Template.from_stack(next(iter(none.values()))).find_resources("AWS::CloudWatch::Alarm")


def test_cdk_own_context_keys_are_not_mistaken_for_typos() -> None:
    context = {
        "@aws-cdk/core:newStyleStackSynthesis": True,
        "aws:cdk:enable-path-metadata": True,
        "acknowledged-issue-numbers": [32775],
        "availability-zones:account=123456789012:region=us-east-1": ["us-east-1a"],
    }
    assert sorted(stacks_of(context)) == sorted(EXAMPLE_STACKS)


def test_encryption_key_arn_from_context_encrypts_the_endpoint_storage() -> None:
    arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    stack = stacks_of(
        {
            "model_id": "gpt2",
            "instance_type": "ml.p3.2xlarge",
            "serving": "inference-toolkit",
            "encryption_key_arn": arn,
        }
    )["HuggingFaceEndpoint"]
    config = Template.from_stack(stack).find_resources("AWS::SageMaker::EndpointConfig")
    assert [c["Properties"]["KmsKeyId"] for c in config.values()] == [arn]


def test_empty_encryption_key_arn_means_no_key() -> None:
    stack = stacks_of({"model_id": "gpt2", "instance_type": "ml.g5.xlarge", "encryption_key_arn": ""})[
        "HuggingFaceEndpoint"
    ]
    config = Template.from_stack(stack).find_resources("AWS::SageMaker::EndpointConfig")
    assert [c["Properties"].get("KmsKeyId") for c in config.values()] == [None]
