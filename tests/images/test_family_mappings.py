"""Environment-agnostic stacks: one region -> account mapping per image family (its own accounts), every mapping
listing only the regions that have every image of the stack, so that a region without one of them fails on the
first Fn::FindInMap instead of passing one image's lookup and failing on another's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from constructs_lib import ConfigurationError, HubModelEndpoint, InferenceImage, ModelProfile, Serving
from constructs_lib._core.stack_facts import stack_facts
from constructs_lib.catalogue import dlc
from constructs_lib.catalogue.instances import Processor
from constructs_lib.images.regions import image_location
from constructs_lib.serving.facts import ImageRequest
from constructs_lib.serving.registry import stack_of

from ..support import SST2, new_stack

LLAMA = ModelProfile(parameters=8_030_261_248, num_layers=32, num_attention_heads=32, num_key_value_heads=8,
                     hidden_size=4096, max_position_embeddings=131072, task="text-generation")  # fmt: skip


def _regions(serving: Serving, processor: Processor, version: str | None = None) -> frozenset[str]:
    """The regions of one catalogued image, from the catalogue itself."""
    image = stack_of(serving).resolve_image(ImageRequest(version=version), processor, "a test instance")
    return frozenset(image.regions)


def _find_in_maps(node: Any) -> list[list[Any]]:
    """Every ``Fn::FindInMap`` of a template fragment."""
    if isinstance(node, dict):
        found = [node["Fn::FindInMap"]] if "Fn::FindInMap" in node else []
        return found + [call for value in node.values() for call in _find_in_maps(value)]
    if isinstance(node, list):
        return [call for value in node for call in _find_in_maps(value)]
    return []


def _lookups_in(template: dict[str, Any], region: str) -> list[bool]:
    """Whether each of the template's DLC account lookups succeeds in ``region``, as CloudFormation evaluates
    ``Fn::FindInMap`` on ``AWS::Region``."""
    lookups = _find_in_maps(template["Resources"])
    assert lookups and all(call[1] == {"Ref": "AWS::Region"} for call in lookups)
    return [region in template["Mappings"][call[0]] for call in lookups]


def _toolkit_and_tei(stack: Stack) -> None:
    HubModelEndpoint(stack, "Toolkit", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge")
    HubModelEndpoint(
        stack, "Embed", model_id=SST2, task="feature-extraction", serving=Serving.TEI, instance_type="ml.g5.xlarge"
    )


def test_a_toolkit_and_a_tei_endpoint_each_keep_their_own_accounts_for_the_regions_of_both() -> None:
    stack = new_stack(region=None)
    _toolkit_and_tei(stack)
    template = Template.from_stack(stack).to_json()
    mappings = template["Mappings"]
    assert set(mappings) == {"HuggingFaceDlcAccounts", "HuggingFaceTeiAccounts"}
    both = _regions(Serving.INFERENCE_TOOLKIT, Processor.GPU) & _regions(Serving.TEI, Processor.GPU)
    for mapping_id, table in (("HuggingFaceDlcAccounts", "dlc"), ("HuggingFaceTeiAccounts", "tei")):
        assert set(mappings[mapping_id]) == both
        accounts = dlc.accounts(table)
        assert all(mappings[mapping_id][region] == {"account": accounts[region]} for region in both)
    assert mappings["HuggingFaceDlcAccounts"]["us-east-1"] != mappings["HuggingFaceTeiAccounts"]["us-east-1"]


def test_a_region_without_one_of_the_stacks_families_fails_every_lookup_or_none() -> None:
    """Toolkit, TEI and vLLM images in one agnostic stack: vLLM has regions the other two have not."""
    stack = new_stack(region=None)
    _toolkit_and_tei(stack)
    HubModelEndpoint(stack, "Llm", model_id="meta-llama/Llama-3.1-8B-Instruct", model_profile=LLAMA)
    template = Template.from_stack(stack).to_json()
    toolkit = _regions(Serving.INFERENCE_TOOLKIT, Processor.GPU)
    tei = _regions(Serving.TEI, Processor.GPU)
    vllm = _regions(Serving.VLLM, Processor.GPU)
    assert vllm - toolkit, "the test needs a region that has vLLM images and no toolkit image"
    every = toolkit & tei & vllm
    for region in sorted(toolkit | tei | vllm | {"me-west-1"}):
        lookups = _lookups_in(template, region)
        if region in every:
            assert all(lookups), region
        else:
            assert not any(lookups), f"{region} passes one image's lookup and lacks another image"
    assert set(template["Mappings"]["HuggingFaceVllmAccounts"]) == every


def test_mappings_written_before_a_family_with_fewer_regions_are_narrowed_and_keep_their_lookups() -> None:
    """The vLLM endpoint comes first; the toolkit's, with fewer regions, narrows its mapping afterwards."""
    stack = new_stack(region=None)
    first = HubModelEndpoint(stack, "Llm", model_id="meta-llama/Llama-3.1-8B-Instruct", model_profile=LLAMA)
    HubModelEndpoint(stack, "Toolkit", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge")
    template = Template.from_stack(stack).to_json()
    toolkit = _regions(Serving.INFERENCE_TOOLKIT, Processor.GPU)
    assert set(template["Mappings"]["HuggingFaceVllmAccounts"]) == toolkit & _regions(Serving.VLLM, Processor.GPU)
    image = stack.resolve(first.image_uri)["Fn::Join"][1][0]["Fn::FindInMap"]
    assert image == ["HuggingFaceVllmAccounts", {"Ref": "AWS::Region"}, "account"]


def test_a_single_family_stack_lists_all_its_regions() -> None:
    stack = new_stack(region=None)
    HubModelEndpoint(stack, "Llm", model_id="meta-llama/Llama-3.1-8B-Instruct", model_profile=LLAMA)
    vllm = Template.from_stack(stack).to_json()["Mappings"]["HuggingFaceVllmAccounts"]
    assert set(vllm) == dlc.family_regions("huggingface-vllm")
    assert len(vllm) == 42 and "me-west-1" not in vllm  # the HF vLLM images' own region set


def test_an_older_version_with_other_regions_gets_a_mapping_of_its_own() -> None:
    """The neuronx toolkit images before 4.43 are in 37 regions, the newer ones in 24: two mappings (two ids),
    both listing the regions that have both images."""
    stack = new_stack(region=None)
    for transformers in ("4.55.4", "4.36.2"):
        HubModelEndpoint(
            stack,
            f"Inf{transformers.replace('.', '')}",
            model_id=SST2,
            task="text-classification",
            instance_type="ml.inf2.xlarge",
            image=InferenceImage.huggingface(transformers_version=transformers),
            environment={"HF_OPTIMUM_SEQUENCE_LENGTH": "128"},
        )
    mappings = Template.from_stack(stack).to_json()["Mappings"]
    neuronx = sorted(name for name in mappings if name.startswith("HuggingFaceNeuronxAccounts"))
    assert len(neuronx) == 2 and neuronx[0] == "HuggingFaceNeuronxAccounts"
    newer = _regions(Serving.INFERENCE_TOOLKIT, Processor.NEURONX, "4.55.4")
    older = _regions(Serving.INFERENCE_TOOLKIT, Processor.NEURONX, "4.36.2")
    assert (len(newer), len(older)) == (24, 37)
    assert set(mappings[neuronx[0]]) == set(mappings[neuronx[1]]) == newer & older


def test_images_that_share_no_region_are_a_synth_error() -> None:
    """No two catalogued families are that far apart today: a vLLM image is given a region of its own."""
    stack = new_stack(region=None)
    HubModelEndpoint(stack, "Toolkit", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge")
    vllm = stack_of(Serving.VLLM).resolve_image(ImageRequest(), Processor.GPU, "a test instance")
    assert "us-isof-east-1" in vllm.regions and "us-isof-east-1" not in _regions(
        Serving.INFERENCE_TOOLKIT, Processor.GPU
    )
    with pytest.raises(ConfigurationError, match=r"image: no region has both the .* and the stack's other images"):
        image_location(stack_facts(stack), replace(vllm, regions=("us-isof-east-1",)))
