"""Which serving stacks exist and which one ``Serving.AUTO`` picks (``serving.registry``)."""

from __future__ import annotations

import pytest

from constructs_lib import (
    InferenceImage,
    Serving,
)
from constructs_lib.serving.registry import resolve_serving

from ..support import (
    auto_key,
    error_of,
)


def test_for_serving_needs_a_resolved_serving() -> None:
    message = error_of(lambda: InferenceImage.for_serving(Serving.AUTO))
    assert "serving: <Serving.AUTO: 'auto'>" in message and "resolve_serving" in message
    assert "allowed: INFERENCE_TOOLKIT, TGI, TEI" in message


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


@pytest.mark.parametrize(
    ("task", "architecture", "serving"),
    [
        ("feature-extraction", None, "tei"),  # unknown architecture: the task decides
        ("feature-extraction", "XLMRobertaModel", "tei"),
        ("feature-extraction", "NewModel", "tei"),
        ("feature-extraction", "T5EncoderModel", "inference-toolkit"),
        ("feature-extraction", "LlamaForCausalLM", "inference-toolkit"),
        # The toolkit has no sentence-similarity pipeline: TEI stays the only choice (and warns).
        ("sentence-similarity", "T5EncoderModel", "tei"),
        ("text-generation", "LlamaForCausalLM", "tgi"),
    ],
)
def test_default_serving_table(task: str, architecture: str | None, serving: str) -> None:
    assert auto_key(task, architecture) == serving
