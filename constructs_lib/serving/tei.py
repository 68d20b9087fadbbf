"""Text Embeddings Inference (TEI), for embedding, re-ranking and sentence-similarity models.

- **Images**: repository ``tei`` on GPU (catalogue family ``huggingface-tei``), ``tei-cpu`` on CPU
  (``huggingface-tei-cpu``); no neuronx image.
- **Environment**: ``HF_MODEL_ID`` (``/opt/ml/model`` for S3 or local artifacts), ``HF_MODEL_REVISION``;
  the token variable is ``HF_TOKEN`` (read since TEI 1.6).
- **Tasks**: embeddings, re-rankers and classifiers (sequence classification), SPLADE (masked LM
  heads); ``Serving.AUTO`` picks it for ``feature-extraction`` of an architecture it loads and for
  ``sentence-similarity``.
- **Memory**: float16 on one GPU; float32 in host memory on CPU. The checkpoint passes through host
  memory (x1.2 + 2 GiB).
"""

from __future__ import annotations

import re

from .._core.errors import ConfigurationError, Problems, describe
from ..catalogue import dlc
from ..catalogue.instances import Processor
from ..catalogue.tasks import canonical_task
from ..model.profile import ModelProfile
from .base import Serving, ServingStack, loaded_weights
from .facts import AutoRequest, ImageRequest, MemoryDemand, ModelFacts, SizingKnobs

GPU_FAMILY = "huggingface-tei"
CPU_FAMILY = "huggingface-tei-cpu"

AUTO_TASKS: frozenset[str] = frozenset({"feature-extraction", "sentence-similarity"})
"""Tasks ``Serving.AUTO`` serves with TEI (``feature-extraction`` only for architectures TEI loads)."""
SERVABLE_TASKS: frozenset[str] = frozenset(
    {"feature-extraction", "sentence-similarity", "text-classification", "fill-mask"}
)
"""Tasks TEI serves."""
_ANY_ARCHITECTURE_TASKS: frozenset[str] = frozenset({"sentence-similarity"})
"""Hub pipeline tags no transformers pipeline implements: TEI is the only stack for them, whatever the family."""

HOST_LOAD_FACTOR = 1.2
HOST_BASE_GIB = 2.0
_HALF_PRECISION_BYTES = 2  # TEI serves float32 checkpoints in float16 on GPU
_CPU_BYTES = 4  # TEI's CPU build runs float32

_ARCHITECTURE = re.compile(
    r"^(Bert|Camembert|DistilBert|Gemma3|Gte|JinaBert|MPNet|Mistral|ModernBert|New|NomicBert|Qwen2|Qwen3|Roberta"
    r"|XLMRoberta)(Model|TextModel|ForMaskedLM|ForCausalLM|ForSequenceClassification|ForTokenClassification)$"
)
"""Architectures of the model families Text Embeddings Inference loads (its "supported models" page: BERT,
CamemBERT, RoBERTa, XLM-RoBERTa, DistilBERT, Nomic, JinaBERT, Mistral, Alibaba GTE (``NewModel``), Qwen2,
Qwen3, MPNet, ModernBERT, Gemma3), with the heads their checkpoints carry; vision-language models of the
same names (``Qwen2VLForConditionalGeneration``, ``Mistral3ForConditionalGeneration``) are not among
them. TEI adds families over time, so a miss is only a warning (or, for ``Serving.AUTO``, a reason to
pick the inference toolkit, which loads every family)."""


def loads(architecture: str | None) -> bool:
    """Whether TEI loads a model of ``architecture`` (``True`` when the architecture is unknown)."""
    return architecture is None or _ARCHITECTURE.match(architecture) is not None


class TextEmbeddingsInference(ServingStack):
    """Text Embeddings Inference (``Serving.TEI``)."""

    serving = Serving.TEI
    name = "TEI"
    processors = frozenset({Processor.GPU, Processor.CPU})

    # ---------------------------------------------------------------------------------- images
    def check_image_request(self, request: ImageRequest, problems: Problems) -> None:
        families = (GPU_FAMILY, CPU_FAMILY)
        if request.version is not None and all(dlc.lookup(family, request.version) is None for family in families):
            problems.add(
                "version",
                request.version,
                f"is not a catalogued TEI DLC version; allowed: {dlc.allowed_text(families)}",
            )

    def resolve_image(self, request: ImageRequest, processor: Processor, where: str) -> dlc.ResolvedImage:
        if processor is Processor.NEURONX:
            raise ConfigurationError(
                f"instance_type: {where} runs neuronx images, but TEI images exist for GPU and CPU only; "
                "use a GPU (ml.g*/ml.p*) or CPU instance, or Serving.INFERENCE_TOOLKIT"
            )
        family = GPU_FAMILY if processor is Processor.GPU else CPU_FAMILY
        key = dlc.lookup(family, request.version)
        if key is None:
            raise ConfigurationError(
                f"version: {describe(request.version)} has no {processor.value} TEI DLC; "
                f"allowed: {dlc.allowed_text((family,))}"
            )
        return dlc.tagged_image(family, key, processor.value, "TEI")

    # ------------------------------------------------------------------------ tasks and AUTO
    def auto_selects(self, request: AutoRequest) -> bool:
        return request.task in AUTO_TASKS and (request.task in _ANY_ARCHITECTURE_TASKS or loads(request.architecture))

    def auto_note(self, request: AutoRequest) -> str | None:
        if request.custom_script or request.task not in AUTO_TASKS or self.auto_selects(request):
            return None
        return (
            f"Serving.AUTO serves {request.task!r} with the inference toolkit, not Text Embeddings Inference: TEI "
            f"does not load {request.architecture} models. The toolkit's feature-extraction pipeline returns one "
            "vector per token, not a pooled sentence embedding."
        )

    def task_problem(self, task: str | None) -> str | None:
        if task is None or canonical_task(task) in SERVABLE_TASKS:
            return None
        return (
            f"cannot serve task {task!r}: TEI serves {', '.join(sorted(SERVABLE_TASKS))}; "
            "use Serving.INFERENCE_TOOLKIT (or Serving.AUTO) for this task"
        )

    def architecture_warning(self, architecture: str | None) -> str | None:
        if loads(architecture):
            return None
        return (
            "Text Embeddings Inference loads BERT, RoBERTa, XLM-RoBERTa, DistilBERT, Nomic, JinaBERT, MPNet, "
            f"ModernBERT, Mistral, GTE, Qwen2/3 and Gemma3 models, and the model's architecture is {architecture}: "
            "the container will likely fail at start-up; use Serving.INFERENCE_TOOLKIT with task='feature-extraction'"
        )

    # -------------------------------------------------------------------------- environment
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        # TEI loads from HF_MODEL_ID, which is /opt/ml/model for artifacts from S3.
        env = {"HF_MODEL_ID": model.model_id or "/opt/ml/model"}
        if model.model_id and model.revision:
            env["HF_MODEL_REVISION"] = model.revision
        return env

    # ------------------------------------------------------------------------- memory model
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        weights, precision = loaded_weights(profile, knobs, _HALF_PRECISION_BYTES, "float32 weights served in float16")
        return MemoryDemand(weights, weights * HOST_LOAD_FACTOR + HOST_BASE_GIB, precision=precision)

    def cpu_weights_gib(self, profile: ModelProfile, demand: MemoryDemand) -> float:
        return profile.weights_gib(float_bytes=_CPU_BYTES)


STACK = TextEmbeddingsInference()
