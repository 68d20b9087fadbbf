"""Tasks (``HF_TASK``) that the Hugging Face serving stacks accept.

The inference toolkit accepts the keys of ``transformers.pipelines.SUPPORTED_TASKS`` of the
transformers version in the DLC, their aliases, and ``text-to-image`` (diffusers). The list is
static so that the library never imports transformers at synth time.
"""

from __future__ import annotations

import re

from ._validation import allowed_list

PIPELINE_TASKS: frozenset[str] = frozenset(
    {
        "audio-classification",
        "automatic-speech-recognition",
        "depth-estimation",
        "document-question-answering",
        "feature-extraction",
        "fill-mask",
        "image-classification",
        "image-feature-extraction",
        "image-segmentation",
        "image-text-to-text",
        "image-to-image",
        "image-to-text",
        "mask-generation",
        "object-detection",
        "question-answering",
        "summarization",
        "table-question-answering",
        "text-classification",
        "text-generation",
        "text-to-audio",
        "text2text-generation",
        "token-classification",
        "translation",
        "video-classification",
        "visual-question-answering",
        "zero-shot-audio-classification",
        "zero-shot-classification",
        "zero-shot-image-classification",
        "zero-shot-object-detection",
        # diffusers, served by the toolkit when the DLC has diffusers installed
        "text-to-image",
        # Hub pipeline tags served by Text Embeddings Inference
        "sentence-similarity",
    }
)

TASK_ALIASES: dict[str, str] = {
    "sentiment-analysis": "text-classification",
    "ner": "token-classification",
    "vqa": "visual-question-answering",
    "text-to-speech": "text-to-audio",
}

KNOWN_TASKS: frozenset[str] = PIPELINE_TASKS | frozenset(TASK_ALIASES)


# transformers' pipeline() accepts "translation_XX_to_YY" (it splits on "_" and wants exactly these
# four parts) besides "translation".
_TRANSLATION_PAIR = re.compile(r"^translation_[^_]+_to_[^_]+$")


def canonical_task(task: str) -> str:
    """Map an alias (``sentiment-analysis``) to the pipeline task it stands for."""
    return TASK_ALIASES.get(task, task)


def task_problem(task: str) -> str | None:
    """Why ``task`` is not a task the serving stacks know, or ``None`` when it is.

    ``translation_xx_to_yy`` variants are accepted, as transformers does.
    """
    if task in KNOWN_TASKS or _TRANSLATION_PAIR.match(task):
        return None
    return f"is not a known Hugging Face task; allowed: {allowed_list(KNOWN_TASKS, 100)}"


TGI_TASKS: frozenset[str] = frozenset({"text-generation"})
"""Tasks ``Serving.AUTO`` serves with Text Generation Inference."""
TEI_TASKS: frozenset[str] = frozenset({"feature-extraction", "sentence-similarity"})
"""Tasks ``Serving.AUTO`` serves with Text Embeddings Inference."""


SERVABLE_TASKS: dict[str, frozenset[str]] = {
    # Causal LMs, seq2seq LMs (T5, BART) and vision-language models.
    "tgi": frozenset({"text-generation", "text2text-generation", "image-text-to-text"}),
    # Embeddings, re-rankers and classifiers (sequence classification), SPLADE (masked LM heads).
    "tei": frozenset({"feature-extraction", "sentence-similarity", "text-classification", "fill-mask"}),
}
"""Tasks TGI and TEI can serve; the inference toolkit serves every task in ``KNOWN_TASKS``."""


def serving_task_problem(serving: str, task: str | None) -> str | None:
    """Why ``serving`` (a ``Serving`` value) cannot serve ``task``, or ``None`` when it can, when
    ``task`` is ``None`` or when ``serving`` is the inference toolkit (which serves every task)."""
    servable = SERVABLE_TASKS.get(serving)
    if task is None or servable is None or canonical_task(task) in servable:
        return None
    return (
        f"cannot serve task {task!r}: {serving.upper()} serves {', '.join(sorted(servable))}; "
        "use Serving.INFERENCE_TOOLKIT (or Serving.AUTO) for this task"
    )


TEI_ONLY_TASKS: frozenset[str] = frozenset({"sentence-similarity"})
"""Hub pipeline tags that no transformers pipeline implements: the inference toolkit's default
``model_fn`` builds ``pipeline(HF_TASK)`` and fails at start-up with ``Unknown task``."""


def toolkit_task_problem(task: str | None) -> str | None:
    """Why the inference toolkit's default handlers cannot serve ``task`` (``None`` when they can)."""
    if task is None or canonical_task(task) not in TEI_ONLY_TASKS:
        return None
    return (
        "is a Hub pipeline tag, not a transformers pipeline: the inference toolkit's default model_fn cannot "
        "build it, and the endpoint would fail at start-up; serve it with Serving.TEI (what Serving.AUTO picks "
        "for it), pass task='feature-extraction' for the toolkit's embeddings, or load the model in your own "
        "model_fn"
    )


def default_serving(task: str | None) -> str:
    """The serving stack ``Serving.AUTO`` picks for a model without a custom script, as a ``Serving``
    value: ``tgi`` for text generation, ``tei`` for embeddings, ``inference-toolkit`` otherwise.

    The one table both the constructs and ``recommend`` read, so that a preview never differs from
    the synth.
    """
    if task in TGI_TASKS:
        return "tgi"
    if task in TEI_TASKS:
        return "tei"
    return "inference-toolkit"


__all__ = [
    "KNOWN_TASKS",
    "canonical_task",
    "default_serving",
    "serving_task_problem",
    "task_problem",
    "toolkit_task_problem",
]


# The inference toolkit's table (transformers_utils.ARCHITECTURES_2_TASK), in its order: it scans
# every suffix without stopping, so the LAST matching suffix wins, and we mirror that.
_ARCHITECTURE_SUFFIX_TASKS: tuple[tuple[str, str], ...] = (
    ("TapasForQuestionAnswering", "table-question-answering"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForTokenClassification", "token-classification"),
    ("ForSequenceClassification", "text-classification"),
    ("ForMultipleChoice", "multiple-choice"),
    ("ForMaskedLM", "fill-mask"),
    ("ForCausalLM", "text-generation"),
    ("ForConditionalGeneration", "text2text-generation"),
    ("MTModel", "text2text-generation"),
    ("EncoderDecoderModel", "text2text-generation"),
    ("GPT2LMHeadModel", "text-generation"),
    ("T5WithLMHeadModel", "text2text-generation"),
)


def task_from_architecture(architecture: str) -> str | None:
    """The task the inference toolkit infers from ``config.json``'s first architecture, if any."""
    task = None
    for suffix, candidate in _ARCHITECTURE_SUFFIX_TASKS:
        if architecture.endswith(suffix):
            task = candidate
    return task
