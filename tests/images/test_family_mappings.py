"""Environment-agnostic stacks: one region -> account mapping per image family, listing exactly its regions."""

from __future__ import annotations

from aws_cdk.assertions import Template

from constructs_lib import HubModelEndpoint, InferenceImage, ModelProfile, Serving
from constructs_lib.catalogue import dlc

from ..support import SST2, new_stack

LLAMA = ModelProfile(parameters=8_030_261_248, num_layers=32, num_attention_heads=32, num_key_value_heads=8,
                     hidden_size=4096, max_position_embeddings=131072, task="text-generation")  # fmt: skip


def test_each_family_gets_its_own_mapping_with_its_own_regions() -> None:
    stack = new_stack(region=None)
    HubModelEndpoint(stack, "Toolkit", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge")
    HubModelEndpoint(stack, "Llm", model_id="meta-llama/Llama-3.1-8B-Instruct", model_profile=LLAMA)
    HubModelEndpoint(stack, "Old", model_id="meta-llama/Llama-3.1-8B-Instruct", model_profile=LLAMA,
                     serving=Serving.TGI)  # fmt: skip
    HubModelEndpoint(
        stack, "Embed", model_id=SST2, task="feature-extraction", serving=Serving.TEI, instance_type="ml.g5.xlarge"
    )
    mappings = Template.from_stack(stack).to_json()["Mappings"]
    assert set(mappings) == {
        "HuggingFaceDlcAccounts",
        "HuggingFaceVllmAccounts",
        "HuggingFaceLlmAccounts",
        "HuggingFaceTeiAccounts",
    }
    vllm = mappings["HuggingFaceVllmAccounts"]
    assert set(vllm) == dlc.family_regions("huggingface-vllm")
    assert len(vllm) == 42 and "me-west-1" not in vllm  # the HF vLLM images' own region set
    assert set(mappings["HuggingFaceDlcAccounts"]) == dlc.family_regions("huggingface")
    assert set(mappings["HuggingFaceDlcAccounts"]) != set(vllm)


def test_an_older_version_with_other_regions_gets_a_mapping_of_its_own() -> None:
    """The neuronx toolkit images before 4.43 are in 37 regions, the newer ones in 24."""
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
    assert len(mappings["HuggingFaceNeuronxAccounts"]) == 24  # the family's newest version's regions
    assert len(mappings[neuronx[1]]) == 37
