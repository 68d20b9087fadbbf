"""Text Embeddings Inference (``serving.tei``): the architectures it loads, when ``Serving.AUTO`` picks it, and
its CPU sizing."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    HubModelEndpoint,
    ModelProfile,
    Serving,
    plan_deployment,
)
from constructs_lib.serving import tei

from ..fake_hub import (
    BGE_ID,
)
from ..support import (
    auto_key,
    container,
    hub_endpoint,
    synth,
    warnings_of,
)

BGE = "BAAI/bge-small-en-v1.5"  # BertModel, cached in tests/data/hub.context.json


def fallback_notes(endpoint: HubModelEndpoint) -> list[Any]:
    """The info AUTO leaves when it serves embeddings with the toolkit because TEI does not load the model."""
    found: list[Any] = Annotations.from_stack(Stack.of(endpoint)).find_info(
        "*", Match.string_like_regexp("TEI does not load")
    )
    return found


def test_auto_serving_picks_tei_for_feature_extraction() -> None:
    template = synth(
        lambda s: HubModelEndpoint(
            s, "Embed", model_id="BAAI/bge-small-en-v1.5", task="feature-extraction", instance_type="ml.g5.xlarge"
        ),
        region="us-west-2",
    )
    assert container(template)["Image"].startswith("246618743249.dkr.ecr.us-west-2.amazonaws.com/tei:")


def test_auto_serves_embeddings_of_an_architecture_tei_cannot_load_with_the_toolkit() -> None:
    endpoint = hub_endpoint("gpt2", task="feature-extraction")
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT
    assert "huggingface-pytorch-inference" in endpoint.image_uri
    infos = fallback_notes(endpoint)
    assert len(infos) == 1 and "GPT2LMHeadModel" in json.dumps(infos[0].entry.data)
    template = synth(lambda stack: HubModelEndpoint(stack, "E", model_id="gpt2", task="feature-extraction"))
    assert container(template)["Environment"]["HF_TASK"] == "feature-extraction"


def test_auto_keeps_tei_for_the_families_it_loads() -> None:
    endpoint = hub_endpoint(BGE, task="feature-extraction")
    assert endpoint.serving is Serving.TEI
    assert not warnings_of(endpoint, "Text Embeddings Inference loads")
    infos = fallback_notes(endpoint)
    assert infos == []


def test_explicit_toolkit_for_embeddings_gets_no_fallback_note() -> None:
    endpoint = hub_endpoint(BGE, task="feature-extraction", serving=Serving.INFERENCE_TOOLKIT)
    infos = fallback_notes(endpoint)
    assert infos == []


def test_explicit_tei_on_an_architecture_it_does_not_load_warns() -> None:
    endpoint = hub_endpoint("gpt2", task="feature-extraction", serving=Serving.TEI)
    assert endpoint.serving is Serving.TEI  # asked for: warned, not overridden
    found = warnings_of(endpoint, "GPT2LMHeadModel")
    assert len(found) == 1 and "constructs-lib:tei-architecture" in json.dumps(found[0].entry.data)


@pytest.mark.parametrize(
    ("architecture", "loads"),
    [
        (None, True),
        ("BertModel", True),
        ("NomicBertModel", True),
        ("MPNetForMaskedLM", True),
        ("Qwen3Model", True),
        ("GPT2LMHeadModel", False),
        ("T5EncoderModel", False),
    ],
)
def test_tei_families(architecture: str | None, loads: bool) -> None:
    assert tei.loads(architecture) is loads


@pytest.mark.parametrize(
    "architecture",
    ["Qwen2VLForConditionalGeneration", "Mistral3ForConditionalGeneration", "Gemma3ForConditionalGeneration"],
)
def test_vision_language_models_of_tei_families_are_not_taken_for_tei_models(architecture: str) -> None:
    assert not tei.loads(architecture)
    assert auto_key("feature-extraction", architecture) == "inference-toolkit"


def test_tei_on_cpu_is_sized_in_float32(profiles: dict[str, ModelProfile]) -> None:
    half = replace(profiles[BGE_ID], dtype="float16", parameters_by_dtype={"float16": 335_141_888})
    plan = plan_deployment(half, serving="tei", instance_type="ml.c5.xlarge")
    assert plan.fit.needed_host_gib == pytest.approx(half.weights_gib() * 2 * 1.2 + 2, abs=0.01)
