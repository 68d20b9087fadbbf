"""Serving stacks whose images are one family of the DLC catalogue (vLLM, SGLang, llama.cpp, vLLM on Neuron, and
TGI): the version checks and the image of each processor, written once (``CataloguedFamilyStack``); and what the
LLM servers but TGI share (``LlmServerStack``: a chat body to invoke them with, a long start-up, latency alarms for
whole generations)."""

from __future__ import annotations

from typing import Any, ClassVar

from .._core.errors import ConfigurationError, Problems, describe
from ..catalogue import dlc
from ..catalogue.instances import Processor
from ..catalogue.tasks import canonical_task
from .base import ServingStack
from .facts import ImageRequest


class CataloguedFamilyStack(ServingStack):
    """A stack whose image is ``family``'s, with one tag per processor it has (``processors``)."""

    family: ClassVar[str]
    """The catalogue family (``huggingface-sglang``)."""
    image_name: ClassVar[str]
    """How messages name the image (``Hugging Face SGLang DLC``)."""
    version_kind: ClassVar[str] = "version"
    """What the family's versions are (``build`` for llama.cpp)."""

    def check_image_request(self, request: ImageRequest, problems: Problems) -> None:
        if request.version is not None and dlc.lookup(self.family, request.version) is None:
            problems.add(
                "version",
                request.version,
                f"is not a catalogued {self.image_name} {self.version_kind}; allowed: {self.allowed_versions()}",
            )

    def resolve_image(self, request: ImageRequest, processor: Processor, where: str) -> dlc.ResolvedImage:
        if processor not in self.processors:
            problem = self.processor_problem()
            raise ConfigurationError(f"instance_type: {where} runs {processor.value} images, {problem}")
        key = dlc.lookup(self.family, request.version)
        if key is None:
            raise ConfigurationError(
                f"version: {describe(request.version)} has no {self.image_name} for {where}; allowed: "
                f"{self.allowed_versions()}"
            )
        return dlc.tagged_image(self.family, key, processor.value, self.name)

    def image_version(self, request: ImageRequest) -> str | None:
        return dlc.lookup(self.family, request.version)

    def processor_problem(self) -> str:
        """Why the family's images cannot run on an instance of another processor, and what to do instead."""
        return f"but the {self.image_name} runs on {self.hardware_remedy()} only"

    def allowed_versions(self) -> str:
        """The family's versions, for messages."""
        return dlc.allowed_text((self.family,))


CHAT_EXAMPLE: dict[str, Any] = {
    "messages": [{"role": "user", "content": "What is Amazon SageMaker?"}],
    "max_tokens": 64,
}
"""An OpenAI chat-completions body, which every LLM server's ``/invocations`` takes."""


class LlmServerStack(CataloguedFamilyStack):
    """An LLM server: a few generative tasks, OpenAI bodies, a whole generation per invocation, and minutes to
    start."""

    servable_tasks: ClassVar[frozenset[str]] = frozenset({"text-generation", "image-text-to-text"})
    """The tasks the server serves (an explicit choice with another task is an error)."""

    latency_p99_seconds = 30  # a whole generation is one invocation
    min_startup_timeout_seconds: ClassVar[int] = 600
    """Downloading the weights and warming up (CUDA graphs, compiled graphs) take minutes."""
    startup_seconds_per_gib: ClassVar[int] = 10

    def startup_timeout_seconds(self, weights_gib: float | None) -> int | None:
        """``min_startup_timeout_seconds`` + ``startup_seconds_per_gib`` per GiB of weights, at most 3600 s."""
        base = self.min_startup_timeout_seconds
        return int(min(3600, base + self.startup_seconds_per_gib * (weights_gib or 0)))

    def task_problem(self, task: str | None) -> str | None:
        if task is None or canonical_task(task) in self.servable_tasks:
            return None
        return (
            f"cannot serve task {task!r}: {self.name} serves {', '.join(sorted(self.servable_tasks))}; "
            "use Serving.INFERENCE_TOOLKIT (or Serving.AUTO) for this task"
        )

    def no_fit_hint(self) -> str:
        return "a 4-bit AWQ or GPTQ checkpoint of the model, or engine_args={'quantization': 'fp8'}"

    def invoke_example(self, task: str | None) -> dict[str, Any]:
        """An OpenAI chat-completions body."""
        return dict(CHAT_EXAMPLE)
