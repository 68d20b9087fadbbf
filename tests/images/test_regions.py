"""Registry accounts by region (``images.regions``): the CfnMapping of environment-agnostic stacks, and regions
without the image."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from constructs_lib import (
    InferenceImage,
)

from ..support import (
    SAGEMAKER,
    TOOLKIT_REPOSITORY,
    bound_uri,
    container,
    error_of,
    find_in_map,
    hub,
    image_stack,
    synth,
)


def test_token_region_uses_one_mapping_per_image_family() -> None:
    app = cdk.App()
    stack, role = image_stack(None, app)
    toolkit = InferenceImage.huggingface().bind(stack, role, instance_type="ml.g5.xlarge")
    again = InferenceImage.huggingface(transformers_version="4.49.0").bind(stack, role, instance_type="ml.m5.xlarge")
    tei = InferenceImage.tei().bind(stack, role, instance_type="ml.g5.xlarge")
    tei_cpu = InferenceImage.tei().bind(stack, role, instance_type="ml.m5.xlarge")

    assert stack.resolve(toolkit.image_uri) == {
        "Fn::Join": [
            "",
            [
                find_in_map("HuggingFaceDlcAccounts"), ".dkr.ecr.", {"Ref": "AWS::Region"}, ".",
                {"Ref": "AWS::URLSuffix"},
                f"/{TOOLKIT_REPOSITORY}:2.6.0-transformers5.5.3-gpu-py312-cu124-ubuntu22.04",
            ],
        ]
    }  # fmt: skip
    # An older version in the regions of the family's newest shares its mapping; another family gets its own,
    # even with the same accounts (the TEI GPU and CPU images).
    assert stack.resolve(again.image_uri)["Fn::Join"][1][0] == find_in_map("HuggingFaceDlcAccounts")
    assert stack.resolve(tei.image_uri)["Fn::Join"][1][0] == find_in_map("HuggingFaceTeiAccounts")
    assert stack.resolve(tei_cpu.image_uri)["Fn::Join"][1][0] == find_in_map("HuggingFaceTeiCpuAccounts")

    mappings = Template.from_stack(stack).to_json()["Mappings"]
    assert sorted(mappings) == ["HuggingFaceDlcAccounts", "HuggingFaceTeiAccounts", "HuggingFaceTeiCpuAccounts"]
    assert mappings["HuggingFaceTeiCpuAccounts"] == mappings["HuggingFaceTeiAccounts"]
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


def test_token_region_mappings_list_only_the_regions_that_have_every_image_of_the_stack() -> None:
    app = cdk.App()
    stack, role = image_stack(None, app)
    child = cdk.Stack(app, "Unrelated")  # an image bound in another stack gets its own mapping
    toolkit = InferenceImage.huggingface().bind(stack, role, instance_type="ml.g5.xlarge")
    tgi = InferenceImage.tgi().bind(stack, role, instance_type="ml.g5.xlarge")
    neuronx = InferenceImage.huggingface().bind(stack, role, instance_type="ml.inf2.xlarge")
    old_neuronx = InferenceImage.huggingface(transformers_version="4.36.2").bind(
        stack, role, instance_type="ml.inf2.xlarge"
    )
    InferenceImage.tgi().bind(child, iam.Role(child, "Role", assumed_by=SAGEMAKER), instance_type="ml.g5.xlarge")

    mappings = Template.from_stack(stack).to_json()["Mappings"]
    toolkit_map = stack.resolve(toolkit.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"][0]
    tgi_map = stack.resolve(tgi.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"][0]
    neuronx_map = stack.resolve(neuronx.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"][0]
    assert (toolkit_map, tgi_map, neuronx_map) == (
        "HuggingFaceDlcAccounts",
        "HuggingFaceLlmAccounts",
        "HuggingFaceNeuronxAccounts",
    )
    # A deploy to a region without one of the images fails on Fn::FindInMap instead of pulling a missing image:
    # every mapping lists the regions that have all four (the newer neuronx images are in the fewest).
    shared = set(mappings[neuronx_map])
    assert all(set(mappings[name]) == shared for name in mappings)
    assert "mx-central-1" not in shared and "ap-east-2" not in shared and "us-west-1" not in shared
    assert mappings[tgi_map]["us-east-1"] == {"account": "763104351884"}
    # A version whose regions differ from its family's newest: the family's id plus a digest of its own regions.
    old_map = stack.resolve(old_neuronx.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"][0]
    assert old_map.startswith("HuggingFaceNeuronxAccounts") and old_map != neuronx_map
    # Another stack with TGI only lists every region of the TGI images, with their accounts.
    child_mappings = Template.from_stack(child).to_json()["Mappings"]
    assert set(child_mappings) == {tgi_map}
    assert child_mappings[tgi_map]["mx-central-1"] == {"account": "637423239942"}
    assert child_mappings[tgi_map]["ap-southeast-6"] == {"account": "633930458069"}


def test_token_region_template_passes_cfn_lint() -> None:
    cfnlint_api = pytest.importorskip("cfnlint.api")
    app = cdk.App()
    stack, role = image_stack(None, app)
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


def test_region_without_the_image() -> None:
    message = error_of(lambda: bound_uri(InferenceImage.huggingface(), region="mx-central-1"))
    assert "region: 'mx-central-1' (the stack's region) has no Hugging Face inference" in message
    assert "supported regions: af-south-1, ap-east-1," in message and "us-gov-west-1" in message
    message = error_of(lambda: bound_uri(InferenceImage.tei(), region="ap-southeast-7"))
    assert "region: 'ap-southeast-7'" in message and "TEI 1.8.2 (gpu)" in message


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
