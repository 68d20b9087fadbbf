"""Tests for constructs_lib.images: DLC URIs, region mappings, errors, grants, serving resolution.

Every literal URI below was checked against ``sagemaker.image_uris.retrieve`` (SageMaker Python
SDK 2.257.7, image_scope="inference"), the source the DLC catalogue is generated from.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from constructs_lib._core.errors import ConfigurationError
from constructs_lib.images import ImageConfig, InferenceImage, Serving, resolve_serving

# Stacks that are never synthesized share one app: only synthesis is slow, and an app cannot be
# changed after it has been synthesized, so template tests build their own (cheap) app.
_APP = cdk.App()
_IDS = itertools.count()

SAGEMAKER = iam.ServicePrincipal("sagemaker.amazonaws.com")
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


def _stack(region: str | None = "us-east-1", app: cdk.App | None = None) -> tuple[cdk.Stack, iam.Role]:
    env = cdk.Environment(account="111111111111", region=region) if region else None
    stack = cdk.Stack(app or _APP, f"Stack{next(_IDS)}", env=env)
    return stack, iam.Role(stack, "Role", assumed_by=SAGEMAKER)


def _bind(image: InferenceImage, region: str | None = "us-east-1", instance_type: str | None = "ml.g5.xlarge") -> str:
    stack, role = _stack(region)
    return image.bind(stack, role, instance_type=instance_type).image_uri


# ------------------------------------------------------------------------------------------
# Literal URIs (concrete regions), verified against the SageMaker SDK

HF = "huggingface-pytorch-inference"
URI_TABLE: list[tuple[str, Callable[[], InferenceImage], str, str | None, str]] = [
    (
        "newest toolkit, GPU",
        InferenceImage.huggingface, "us-east-1", "ml.g5.xlarge",
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{HF}:2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "newest toolkit, CPU",
        InferenceImage.huggingface, "us-east-1", "ml.m5.xlarge",
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{HF}:2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04",
    ),
    (
        "serverless is CPU",
        InferenceImage.huggingface, "us-east-1", None,
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{HF}:2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04",
    ),
    (
        "SDK short forms keep their spelling in the tag",
        lambda: InferenceImage.huggingface(transformers_version="4.51", pytorch_version="2.6"),
        "eu-central-1", "ml.g5.xlarge",
        f"763104351884.dkr.ecr.eu-central-1.amazonaws.com/{HF}:2.6-transformers4.51-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "a short transformers version alone selects the floating tag",
        lambda: InferenceImage.huggingface(transformers_version="4.51"), "us-east-1", "ml.g5.xlarge",
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{HF}:2.6-transformers4.51-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "oldest catalogued toolkit, own account",
        lambda: InferenceImage.huggingface(transformers_version="4.26.0"), "ap-south-2", "ml.g4dn.xlarge",
        f"772153158452.dkr.ecr.ap-south-2.amazonaws.com/{HF}:1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
    ),
    (
        "China: amazonaws.com.cn",
        InferenceImage.huggingface, "cn-north-1", "ml.g5.xlarge",
        f"727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/{HF}:2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "Inferentia2: neuronx repository",
        InferenceImage.huggingface, "us-east-1", "ml.inf2.xlarge",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference-neuronx:"
        "2.7.1-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04",
    ),
    (
        "Inferentia2 in GovCloud, short forms resolved like the SDK does for neuronx",
        lambda: InferenceImage.huggingface(transformers_version="4.51", pytorch_version="2.7"),
        "us-gov-west-1", "ml.inf2.8xlarge",
        "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/huggingface-pytorch-inference-neuronx:"
        "2.7.1-transformers4.51.3-neuronx-py310-sdk2.24.1-ubuntu22.04",
    ),
    (
        "TGI 3.3.6",
        lambda: InferenceImage.tgi("3.3.6"), "eu-west-1", "ml.g5.2xlarge",
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
        "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04",
    ),
    (
        "TGI short form in GovCloud",
        lambda: InferenceImage.tgi("3.0"), "us-gov-west-1", "ml.p4d.24xlarge",
        "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
        "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04-v2.1",
    ),
    (
        "TEI GPU",
        lambda: InferenceImage.tei("1.8.2"), "us-west-2", "ml.g5.xlarge",
        "246618743249.dkr.ecr.us-west-2.amazonaws.com/tei:2.0.1-tei1.8.2-gpu-py310-cu122-ubuntu22.04",
    ),
    (
        "TEI CPU",
        lambda: InferenceImage.tei("1.8.2"), "us-west-2", "ml.m5.xlarge",
        "246618743249.dkr.ecr.us-west-2.amazonaws.com/tei-cpu:2.0.1-tei1.8.2-cpu-py310-ubuntu22.04",
    ),
    (
        "TEI CPU in China, short form",
        lambda: InferenceImage.tei("1.8"), "cn-northwest-1", None,
        "451049120500.dkr.ecr.cn-northwest-1.amazonaws.com.cn/tei-cpu:2.0.1-tei1.8.2-cpu-py310-ubuntu22.04",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("factory", "region", "instance_type", "expected"),
    [row[1:] for row in URI_TABLE],
    ids=[row[0] for row in URI_TABLE],
)
def test_literal_uri_matches_sagemaker_sdk(
    factory: Callable[[], InferenceImage], region: str, instance_type: str | None, expected: str
) -> None:
    assert _bind(factory(), region, instance_type) == expected


def test_image_config_fields_for_a_concrete_region() -> None:
    stack, role = _stack("eu-west-1")
    config = InferenceImage.tgi().bind(stack, role, instance_type="ml.g5.xlarge")
    assert isinstance(config, ImageConfig)
    assert config.repository_name == "huggingface-pytorch-tgi-inference"
    assert config.serving is Serving.TGI
    assert stack.resolve(config.repository_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:eu-west-1:763104351884:repository/huggingface-pytorch-tgi-inference",
            ],
        ]
    }


def test_defaults_pick_newest_pairings() -> None:
    # transformers alone -> newest PyTorch for it; PyTorch alone -> newest transformers with it.
    assert "1.13.1-transformers4.26.0-gpu" in _bind(InferenceImage.huggingface(transformers_version="4.26.0"))
    assert "2.3.0-transformers4.48.0-gpu" in _bind(InferenceImage.huggingface(pytorch_version="2.3.0"))
    assert ":2.7.0-tgi3.3.6-gpu" in _bind(InferenceImage.tgi())
    assert "/tei:2.0.1-tei1.8.2-gpu" in _bind(InferenceImage.tei())


def test_for_serving_and_serving_property() -> None:
    assert InferenceImage.for_serving(Serving.INFERENCE_TOOLKIT).serving is Serving.INFERENCE_TOOLKIT
    assert InferenceImage.for_serving(Serving.TGI).serving is Serving.TGI
    assert InferenceImage.for_serving(Serving.TEI).serving is Serving.TEI
    assert "tgi3.3.6" in _bind(InferenceImage.for_serving(Serving.TGI))
    assert InferenceImage.from_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1").serving is None
    image = InferenceImage.from_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1", serving=Serving.TGI)
    assert image.serving is Serving.TGI


# ------------------------------------------------------------------------------------------
# Environment-agnostic stacks: CfnMapping + Fn::FindInMap


def _find_in_map(mapping: str) -> dict[str, Any]:
    return {"Fn::FindInMap": [mapping, {"Ref": "AWS::Region"}, "account"]}


def test_token_region_uses_one_mapping_per_account_table() -> None:
    app = cdk.App()
    stack, role = _stack(None, app)
    toolkit = InferenceImage.huggingface().bind(stack, role, instance_type="ml.g5.xlarge")
    again = InferenceImage.huggingface(transformers_version="4.49.0").bind(stack, role, instance_type="ml.m5.xlarge")
    tei = InferenceImage.tei().bind(stack, role, instance_type="ml.g5.xlarge")

    assert stack.resolve(toolkit.image_uri) == {
        "Fn::Join": [
            "",
            [
                _find_in_map("HuggingFaceDlcAccounts"), ".dkr.ecr.", {"Ref": "AWS::Region"}, ".",
                {"Ref": "AWS::URLSuffix"},
                f"/{HF}:2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04",
            ],
        ]
    }  # fmt: skip
    assert stack.resolve(again.image_uri)["Fn::Join"][1][0] == _find_in_map("HuggingFaceDlcAccounts")
    assert stack.resolve(tei.image_uri)["Fn::Join"][1][0] == _find_in_map("HuggingFaceTeiAccounts")

    mappings = Template.from_stack(stack).to_json()["Mappings"]
    assert sorted(mappings) == ["HuggingFaceDlcAccounts", "HuggingFaceTeiAccounts"]
    dlc, tei_accounts = mappings["HuggingFaceDlcAccounts"], mappings["HuggingFaceTeiAccounts"]
    # Every region the toolkit image is published in (35), with the regional accounts.
    assert len(dlc) == 35
    assert dlc["us-east-1"] == {"account": "763104351884"}
    assert dlc["af-south-1"] == {"account": "626614931356"}
    assert dlc["cn-northwest-1"] == {"account": "727897471807"}
    assert dlc["us-gov-east-1"] == {"account": "446045086412"}
    assert dlc["ca-west-1"] == {"account": "204538143572"}
    assert "mx-central-1" not in dlc  # no toolkit image there
    assert len(tei_accounts) == 35
    assert tei_accounts["us-east-1"] == {"account": "683313688378"}
    assert tei_accounts["eu-west-1"] == {"account": "141502667606"}
    assert tei_accounts["cn-north-1"] == {"account": "450853457545"}


def test_token_region_mapping_lists_only_the_regions_of_its_images() -> None:
    app = cdk.App()
    stack, role = _stack(None, app)
    child = cdk.Stack(app, "Unrelated")  # an image bound in another stack gets its own mapping
    toolkit = InferenceImage.huggingface().bind(stack, role, instance_type="ml.g5.xlarge")
    tgi = InferenceImage.tgi().bind(stack, role, instance_type="ml.g5.xlarge")
    neuronx = InferenceImage.huggingface().bind(stack, role, instance_type="ml.inf2.xlarge")
    InferenceImage.tgi().bind(child, iam.Role(child, "Role", assumed_by=SAGEMAKER), instance_type="ml.g5.xlarge")

    mappings = Template.from_stack(stack).to_json()["Mappings"]
    toolkit_map = stack.resolve(toolkit.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"][0]
    tgi_map = stack.resolve(tgi.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"][0]
    neuronx_map = stack.resolve(neuronx.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"][0]
    assert toolkit_map == "HuggingFaceDlcAccounts" and len({toolkit_map, tgi_map, neuronx_map}) == 3
    # A deploy to a region without the image fails on Fn::FindInMap instead of pulling a missing image.
    assert "mx-central-1" not in mappings[toolkit_map] and "ap-east-2" not in mappings[toolkit_map]
    assert mappings[tgi_map]["mx-central-1"] == {"account": "637423239942"}
    assert mappings[tgi_map]["ap-southeast-6"] == {"account": "633930458069"}
    assert "us-west-1" not in mappings[neuronx_map] and "us-west-1" in mappings[toolkit_map]
    child_mappings = Template.from_stack(child).to_json()["Mappings"]
    assert child_mappings == {tgi_map: mappings[tgi_map]}


def test_token_region_template_passes_cfn_lint() -> None:
    cfnlint_api = pytest.importorskip("cfnlint.api")
    app = cdk.App()
    stack, role = _stack(None, app)
    for image, instance_type in (
        (InferenceImage.huggingface(), "ml.inf2.xlarge"),
        (InferenceImage.tgi(), "ml.g5.xlarge"),
        (InferenceImage.tei(), None),
    ):
        cdk.CfnOutput(
            stack, f"Uri{instance_type}", value=image.bind(stack, role, instance_type=instance_type).image_uri
        )
    matches = cfnlint_api.lint_all(json.dumps(Template.from_stack(stack).to_json()))
    # Errors and warnings, as the cfn-lint CLI reports by default (informational rules are opt-in).
    assert [str(match) for match in matches if match.rule.id[0] in "EW"] == []


# ------------------------------------------------------------------------------------------
# Grants


def _policy_statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    statements: list[dict[str, Any]] = []
    for policy in policies.values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def test_dlc_grant_is_scoped_to_the_repository() -> None:
    app = cdk.App()
    stack, role = _stack("us-east-1", app)
    InferenceImage.huggingface().bind(stack, role, instance_type="ml.g5.xlarge")
    statements = _policy_statements(stack)
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements
    assert {
        "Action": PULL,
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":ecr:us-east-1:763104351884:repository/{HF}"]]
        },
    } in statements
    assert len(statements) == 2  # nothing else, in particular no pull on "*"


def test_dlc_grant_for_token_region_uses_the_mapped_account() -> None:
    app = cdk.App()
    stack, role = _stack(None, app)
    InferenceImage.tei().bind(stack, role, instance_type="ml.m5.xlarge")
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": PULL,
                            "Effect": "Allow",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:", {"Ref": "AWS::Partition"}, ":ecr:", {"Ref": "AWS::Region"}, ":",
                                        _find_in_map("HuggingFaceTeiAccounts"), ":repository/tei-cpu",
                                    ],
                                ]
                            },
                        }
                    ]
                )
            }
        },
    )  # fmt: skip


def test_from_uri_grants_on_the_parsed_repository() -> None:
    app = cdk.App()
    stack, role = _stack("us-east-1", app)
    uri = "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/my-model@sha256:" + "a" * 64
    config = InferenceImage.from_uri(uri).bind(stack, role, instance_type=None)
    assert config.image_uri == uri
    assert config.repository_name == "team/my-model"
    assert config.serving is None
    statements = _policy_statements(stack)
    assert {
        "Action": PULL,
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":ecr:us-east-1:210987654321:repository/team/my-model"],
            ]
        },
    } in statements
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements
    assert len(statements) == 2


def test_from_uri_with_tokens_grants_on_the_repository_built_from_the_parts() -> None:
    stack, role = _stack("us-east-1")
    repository = ecr.Repository(stack, "Repo")
    config = InferenceImage.from_uri(repository.repository_uri_for_tag("v1")).bind(stack, role, instance_type=None)
    arn = stack.resolve(config.repository_arn)["Fn::Join"][1]
    assert arn[-2:] == [":repository/", {"Ref": "Repo02AC86CF"}]
    assert stack.resolve(config.repository_name) == {"Ref": "Repo02AC86CF"}


def test_from_ecr_repository_uses_grant_pull() -> None:
    app = cdk.App()
    stack, role = _stack("us-east-1", app)
    repository = ecr.Repository(stack, "Repo")
    config = InferenceImage.from_ecr_repository(repository, "v2", serving=Serving.INFERENCE_TOOLKIT).bind(
        stack, role, instance_type="ml.g5.xlarge"
    )
    assert config.serving is Serving.INFERENCE_TOOLKIT
    assert stack.resolve(config.image_uri)["Fn::Join"][1][-1].endswith(":v2")
    statements = _policy_statements(stack)
    pull = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["Repo02AC86CF", "Arn"]}]
    assert [sorted(s["Action"]) for s in pull] == [sorted(PULL)]
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements

    digest = "sha256:" + "b" * 64
    by_digest = InferenceImage.from_ecr_repository(repository, digest).bind(stack, role, instance_type=None)
    assert stack.resolve(by_digest.image_uri)["Fn::Join"][1][-1] == "@" + digest


# ------------------------------------------------------------------------------------------
# Errors: each names the prop, the bad value and what is allowed


def _error(call: Callable[[], object]) -> str:
    with pytest.raises(ConfigurationError) as info:
        call()
    return str(info.value)


def test_unknown_transformers_version() -> None:
    message = _error(lambda: InferenceImage.huggingface(transformers_version="4.99"))
    assert "transformers_version: '4.99' is not a catalogued Hugging Face inference DLC version" in message
    assert "allowed: 4.26.0, 4.28.1, 4.34.1, 4.36.2, 4.37.0, 4.43.2, 4.48.0, 4.49.0, 4.51.3, 4.55.4" in message
    assert "short form: 4.26, " in message


def test_pytorch_version_not_paired_with_transformers_version() -> None:
    message = _error(lambda: InferenceImage.huggingface(transformers_version="4.26.0", pytorch_version="2.6.0"))
    assert "pytorch_version: '2.6.0' is not catalogued with transformers_version '4.26.0'" in message
    assert message.endswith("allowed: 1.13, 1.13.1")


def test_unknown_pytorch_version_alone() -> None:
    message = _error(lambda: InferenceImage.huggingface(pytorch_version="9.9"))
    assert "pytorch_version: '9.9' is not a catalogued" in message
    assert "2.6.0" in message and "1.13.1" in message


def test_unknown_tgi_and_tei_versions() -> None:
    message = _error(lambda: InferenceImage.tgi("9.9.9"))
    assert "version: '9.9.9' is not a catalogued TGI (huggingface-llm) DLC version" in message
    assert "3.2.3, 3.3.4, 3.3.6 (or a short form: " in message
    message = _error(lambda: InferenceImage.tei("0.1"))
    assert "version: '0.1' is not a catalogued TEI DLC version; allowed: 1.2.3, 1.4.0" in message


@pytest.mark.parametrize(
    ("instance_type", "shown", "processor"),
    [
        ("ml.m5.xlarge", "'ml.m5.xlarge'", "cpu"),
        (None, "None (serverless, CPU)", "cpu"),
        ("ml.inf2.xlarge", "'ml.inf2.xlarge'", "neuronx"),
    ],
)
def test_tgi_is_gpu_only(instance_type: str | None, shown: str, processor: str) -> None:
    message = _error(lambda: _bind(InferenceImage.tgi(), instance_type=instance_type))
    assert f"instance_type: {shown} runs {processor} images, but TGI images are GPU-only" in message
    assert "GPU instance" in message and "Serving.INFERENCE_TOOLKIT" in message


def test_tei_has_no_neuronx_image() -> None:
    message = _error(lambda: _bind(InferenceImage.tei(), instance_type="ml.inf2.xlarge"))
    assert "instance_type: 'ml.inf2.xlarge' runs neuronx images, but TEI images exist for GPU and CPU only" in message


def test_toolkit_version_without_an_image_for_the_processor() -> None:
    on_inf2 = _error(
        lambda: _bind(InferenceImage.huggingface(transformers_version="4.49.0"), instance_type="ml.inf2.xlarge")
    )
    assert "transformers_version: '4.49.0' has no neuronx Hugging Face inference DLC" in on_inf2
    assert "allowed: 4.28.1, 4.34.1, 4.36.2, 4.43.2, 4.51.3, 4.55.4" in on_inf2
    on_gpu = _error(
        lambda: _bind(InferenceImage.huggingface(transformers_version="4.55.4"), instance_type="ml.g5.xlarge")
    )
    assert "transformers_version: '4.55.4' has no gpu Hugging Face inference DLC" in on_gpu
    assert "allowed: 4.26.0, 4.28.1, 4.37.0, 4.48.0, 4.49.0, 4.51.3" in on_gpu


def test_region_without_the_image() -> None:
    message = _error(lambda: _bind(InferenceImage.huggingface(), region="mx-central-1"))
    assert "region: 'mx-central-1' (the stack's region) has no Hugging Face inference" in message
    assert "supported regions: af-south-1, ap-east-1," in message and "us-gov-west-1" in message
    message = _error(lambda: _bind(InferenceImage.tei(), region="ap-southeast-7"))
    assert "region: 'ap-southeast-7'" in message and "TEI 1.8.2 (gpu)" in message


def test_token_instance_type() -> None:
    stack, role = _stack()
    token = cdk.CfnParameter(stack, "InstanceType").value_as_string
    message = _error(lambda: InferenceImage.huggingface().bind(stack, role, instance_type=token))
    assert "instance_type:" in message and "use a concrete instance type" in message
    # TGI has GPU images only, so a deploy-time instance type still has exactly one image.
    assert "tgi3.3.6-gpu" in InferenceImage.tgi().bind(stack, role, instance_type=token).image_uri


@pytest.mark.parametrize(
    "uri",
    [
        "my-model:latest",
        "12345.dkr.ecr.us-east-1.amazonaws.com/my-model:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/My_Model:1",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com/my-model:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model@sha256:abc",
        "docker.io/library/python:3.12",
    ],
)
def test_from_uri_rejects_malformed_uris(uri: str) -> None:
    message = _error(lambda: InferenceImage.from_uri(uri))
    assert f"image: {uri!r}" in message
    assert "e.g. '123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1.0'" in message


def test_from_uri_opaque_token_needs_from_ecr_repository() -> None:
    stack, _ = _stack()
    token = cdk.CfnParameter(stack, "ImageUri").value_as_string
    message = _error(lambda: InferenceImage.from_uri(token))
    assert "image:" in message and "InferenceImage.from_ecr_repository(repository, tag)" in message


def test_from_ecr_repository_rejects_bad_tags() -> None:
    stack, _ = _stack()
    repository = ecr.Repository(stack, "Repo")
    message = _error(lambda: InferenceImage.from_ecr_repository(repository, "-bad tag"))
    assert "tag: '-bad tag' is not an image tag" in message


def test_for_serving_needs_a_resolved_serving() -> None:
    message = _error(lambda: InferenceImage.for_serving(Serving.AUTO))
    assert "serving: <Serving.AUTO: 'auto'>" in message and "resolve_serving" in message
    assert "allowed: INFERENCE_TOOLKIT, TGI, TEI" in message


# ------------------------------------------------------------------------------------------
# Serving resolution


@pytest.mark.parametrize(
    ("serving", "task", "custom_script", "expected"),
    [
        (Serving.AUTO, "text-generation", False, Serving.TGI),
        (Serving.AUTO, "feature-extraction", False, Serving.TEI),
        (Serving.AUTO, "sentence-similarity", False, Serving.TEI),
        (Serving.AUTO, "text-classification", False, Serving.INFERENCE_TOOLKIT),
        (Serving.AUTO, None, False, Serving.INFERENCE_TOOLKIT),
        (Serving.AUTO, "text-generation", True, Serving.INFERENCE_TOOLKIT),
        (Serving.AUTO, "feature-extraction", True, Serving.INFERENCE_TOOLKIT),
        (Serving.TGI, "text-classification", False, Serving.TGI),
        (Serving.TEI, None, True, Serving.TEI),
        (Serving.INFERENCE_TOOLKIT, "text-generation", False, Serving.INFERENCE_TOOLKIT),
    ],
)
def test_resolve_serving(serving: Serving, task: str | None, custom_script: bool, expected: Serving) -> None:
    assert resolve_serving(serving, task=task, custom_script=custom_script) is expected


def test_serving_values_are_strings() -> None:
    assert [s.value for s in Serving] == ["auto", "inference-toolkit", "tgi", "tei"]
    assert Serving("tgi") is Serving.TGI


def test_from_uri_in_another_region_than_the_stack_is_an_error() -> None:
    app = cdk.App()
    stack, role = _stack("us-east-1", app)
    uri = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/my-model:1"
    with pytest.raises(ConfigurationError, match="is in eu-west-1, but the stack deploys to us-east-1"):
        InferenceImage.from_uri(uri).bind(stack, role, instance_type=None)
    agnostic, agnostic_role = _stack(None, app)
    assert InferenceImage.from_uri(uri).bind(agnostic, agnostic_role, instance_type=None).image_uri == uri


@pytest.mark.parametrize(
    "uri",
    [
        "886529160074.dkr.ecr.us-iso-east-1.c2s.ic.gov/huggingface-pytorch-inference:2.6.0",
        "094389454867.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/my-model:1",
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/my-model:1",
    ],
)
def test_from_uri_accepts_every_partition_suffix(uri: str) -> None:
    assert InferenceImage.from_uri(uri) is not None


@pytest.mark.parametrize(
    "uri",
    [
        "886529160074.dkr.ecr.us-iso-east-1.amazonaws.com/my-model:1",
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com/my-model:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn/my-model:1",
    ],
)
def test_from_uri_suffix_must_fit_the_region(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="has a URL suffix that does not fit its region"):
        InferenceImage.from_uri(uri)
