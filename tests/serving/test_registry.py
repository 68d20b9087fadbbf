"""Which serving stacks exist and which one ``Serving.AUTO`` picks (``serving.registry``).

A serving stack of your own is a ``ServingStack`` subclass and one ``register_serving_stack`` call: the
toy stack below is written entirely in this file, and nothing else in the library needs to change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Template

from constructs_lib import (
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
    Processor,
    Serving,
    ServingStack,
    register_serving_stack,
)
from constructs_lib._core.errors import Problems
from constructs_lib.catalogue import dlc
from constructs_lib.serving.facts import AutoRequest, ImageRequest, MemoryDemand, ModelFacts, SizingKnobs
from constructs_lib.serving.registry import resolve_serving, unregister_serving_stack
from stacks.endpoint_stack import add_endpoint_outputs

from ..support import (
    PULL_ACTIONS,
    SST2,
    auto_key,
    container,
    error_of,
    new_stack,
    policy_statements,
)

TEI_ACCOUNT = "683313688378"
"""The registry account of the ``tei`` account table in us-east-1 (the toy's images use that table)."""


class ToyServing(ServingStack):
    """A serving stack of its own: its name, images, environment, tasks, memory model and invoke example."""

    name = "Toy"
    processors = frozenset({Processor.GPU, Processor.CPU})

    def __init__(self) -> None:
        self.demanded: list[str | None] = []
        """The models whose memory demand the planner asked for."""

    def check_image_request(self, request: ImageRequest, problems: Problems) -> None:
        return None  # one image per processor, whatever the request

    def resolve_image(self, request: ImageRequest, processor: Processor, where: str) -> dlc.ResolvedImage:
        return dlc.ResolvedImage(
            family="toy",
            version="0.1",
            repository=f"toy-{processor.value}",
            tag=f"0.1-{processor.value}",
            account_table="tei",
            regions=("us-east-1",),
            description=f"Toy 0.1 ({processor.value})",
            python_version=(3, 12),
        )

    def auto_selects(self, request: AutoRequest) -> bool:
        return request.task == "token-classification"

    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        return {"TOY_MODEL": model.model_id or "/opt/ml/model"}

    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        self.demanded.append(profile.model_id)
        weights = profile.weights_gib()
        return MemoryDemand(weights_gib=weights, host_gib=weights + 1)

    def invoke_example(self, task: str | None) -> dict[str, Any]:
        return {"toy_inputs": ["Hello"], "task": task}


@pytest.fixture
def toy() -> Iterator[ToyServing]:
    """The toy stack, registered with ``Serving.AUTO`` for the test only."""
    stack = ToyServing()
    register_serving_stack(stack)
    yield stack
    unregister_serving_stack(stack)


def runs_the_toy(endpoint: HubModelEndpoint, toy: ToyServing) -> bool:
    """Whether ``endpoint`` runs the registered ``toy``: the stack configured for the endpoint, which shares the
    toy's state (``demanded``)."""
    stack = endpoint.serving_stack
    return type(stack) is ToyServing and stack.demanded is toy.demanded and stack.key == "Toy"


NER = "dslim/bert-base-NER"
NER_PROFILE = ModelProfile(
    parameters=108_000_000, dtype="float32", architecture="BertForTokenClassification", task="token-classification"
)
"""A token classifier, described explicitly (no Hub lookup)."""


def test_for_serving_needs_a_resolved_serving() -> None:
    message = error_of(lambda: InferenceImage.for_serving(Serving.AUTO))
    assert "serving: <Serving.AUTO: 'auto'>" in message and "resolve_serving" in message
    assert message.endswith("allowed: INFERENCE_TOOLKIT, TGI, TEI, VLLM, SGLANG, LLAMACPP")


@pytest.mark.parametrize(
    ("serving", "task", "custom_script", "expected"),
    [
        # vLLM for LLMs and vision-language models; TGI (retired) only when asked for.
        (Serving.AUTO, "text-generation", False, Serving.VLLM),
        (Serving.AUTO, "image-text-to-text", False, Serving.VLLM),
        (Serving.AUTO, "feature-extraction", False, Serving.TEI),
        (Serving.AUTO, "sentence-similarity", False, Serving.TEI),
        (Serving.AUTO, "text-classification", False, Serving.INFERENCE_TOOLKIT),
        (Serving.AUTO, None, False, Serving.INFERENCE_TOOLKIT),
        (Serving.AUTO, "text-generation", True, Serving.INFERENCE_TOOLKIT),
        (Serving.AUTO, "feature-extraction", True, Serving.INFERENCE_TOOLKIT),
        (Serving.TGI, "text-classification", False, Serving.TGI),
        (Serving.VLLM, "text-classification", False, Serving.VLLM),
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
        ("text-generation", "LlamaForCausalLM", "vllm"),
        ("image-text-to-text", "LlavaForConditionalGeneration", "vllm"),
        # Encoder-decoder models, which vLLM's engine does not serve, stay on the toolkit.
        ("text-generation", "T5ForConditionalGeneration", "inference-toolkit"),
        ("text-generation", "BartForConditionalGeneration", "inference-toolkit"),
    ],
)
def test_default_serving_table(task: str, architecture: str | None, serving: str) -> None:
    assert auto_key(task, architecture) == serving


# -------------------------------------------------------------------------------- a stack of your own
@pytest.mark.parametrize(("instance_type", "processor"), [("ml.g5.xlarge", "gpu"), ("ml.m5.xlarge", "cpu")])
def test_a_stack_of_your_own_renders_its_image_and_container_environment(
    toy: ToyServing, instance_type: str, processor: str
) -> None:
    stack = new_stack()
    endpoint = HubModelEndpoint(
        stack, "Endpoint", model_id=SST2, task="text-classification", instance_type=instance_type, serving=toy
    )
    template = Template.from_stack(stack)

    # The endpoint runs the toy as configured for it (a copy with the endpoint's settings), and no Serving member
    # names it.
    assert runs_the_toy(endpoint, toy) and endpoint.serving is None
    assert container(template) == {
        "Environment": {"TOY_MODEL": SST2},
        "Image": f"{TEI_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/toy-{processor}:0.1-{processor}",
        "Mode": "SingleModel",
    }
    assert toy.demanded == [SST2]  # the planner sized the model with the toy's memory model
    pull = [s for s in policy_statements(template) if s["Action"] == PULL_ACTIONS]
    assert [s["Resource"] for s in pull] == [
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, f":ecr:us-east-1:{TEI_ACCOUNT}:repository/toy-{processor}"],
            ]
        }
    ]


def test_serving_auto_asks_a_registered_stack_of_your_own(toy: ToyServing) -> None:
    picked = HubModelEndpoint(
        new_stack(), "Endpoint", model_id=NER, task="token-classification", model_profile=NER_PROFILE
    )
    assert runs_the_toy(picked, toy)
    assert container(Template.from_stack(picked.stack))["Environment"] == {"TOY_MODEL": NER}
    assert auto_key("token-classification", "BertForTokenClassification") == "Toy"

    # Another task: the stacks before and after it in the order AUTO asks.
    other = HubModelEndpoint(
        new_stack(), "Endpoint", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge"
    )
    assert other.serving is Serving.INFERENCE_TOOLKIT
    assert auto_key("text-generation") == "vllm" and auto_key("feature-extraction") == "tei"

    # Unregistered, it is asked no more.
    unregister_serving_stack(toy)
    again = HubModelEndpoint(
        new_stack(), "Endpoint", model_id=NER, task="token-classification", model_profile=NER_PROFILE
    )
    assert again.serving is Serving.INFERENCE_TOOLKIT


def test_the_invoke_example_of_a_stack_of_your_own_is_the_apps_sample_request(toy: ToyServing) -> None:
    stack = new_stack()
    endpoint = HubModelEndpoint(
        stack, "Endpoint", model_id=NER, task="token-classification", instance_type="ml.g5.xlarge", serving=toy
    )
    add_endpoint_outputs(stack, endpoint, task="token-classification")

    command = Template.from_stack(stack).to_json()["Outputs"]["InvokeCommand"]["Value"]
    body = json.dumps({"toy_inputs": ["Hello"], "task": "token-classification"})
    assert command == {
        "Fn::Join": [
            "",
            [
                "aws sagemaker-runtime invoke-endpoint --endpoint-name ",
                {"Fn::GetAtt": [stack.get_logical_id(endpoint.cfn_endpoint), "EndpointName"]},
                " --region us-east-1 --content-type application/json --accept application/json"
                f" --cli-binary-format raw-in-base64-out --body '{body}' /dev/stdout",
            ],
        ]
    }


def test_only_a_serving_stack_can_be_registered() -> None:
    message = error_of(lambda: register_serving_stack("toy"))  # type: ignore[arg-type]
    assert message == "register_serving_stack: 'toy' is not a ServingStack"
