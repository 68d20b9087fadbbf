"""Tasks (``HF_TASK``) and what a model's architecture says about them, whatever the serving stack.

The inference toolkit accepts the keys of ``transformers.pipelines.SUPPORTED_TASKS`` of the
transformers version in the DLC, their aliases, and ``text-to-image`` (diffusers). The list is
static so that the library never imports transformers at synth time. Which tasks each serving stack
serves, and picks with ``Serving.AUTO``, is the stack's own knowledge (``constructs_lib.serving``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._core.errors import allowed_list

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


# Checkpoints whose only head is a classifier: nothing in them can generate text.
_CLASSIFIER_HEADS: tuple[str, ...] = (
    "ForAudioClassification",
    "ForCTC",
    "ForImageClassification",
    "ForMultipleChoice",
    "ForObjectDetection",
    "ForQuestionAnswering",
    "ForSemanticSegmentation",
    "ForSequenceClassification",
    "ForTokenClassification",
)
_LANGUAGE_MODEL_HEADS: tuple[str, ...] = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")
_GENERATIVE_TASKS: frozenset[str] = frozenset(
    {"text-generation", "text2text-generation", "summarization", "translation", "image-text-to-text"}
)
# Tasks whose pipeline loads a task-specific head (AutoModelFor<Task>) from the checkpoint.
_HEAD_TASKS: frozenset[str] = frozenset(
    {
        "fill-mask",
        "question-answering",
        "table-question-answering",
        "text-classification",
        "token-classification",
        "zero-shot-classification",
    }
)


def _is_generative(task: str) -> bool:
    return canonical_task(task) in _GENERATIVE_TASKS or _TRANSLATION_PAIR.match(task) is not None


# The modality a task needs the checkpoint to handle (take in, or for text-to-image and text-to-audio, give
# out). Tasks that mix modalities name the one a text-only model lacks; document-question-answering is left
# out: LayoutLM (v1) answers it from OCR'd words, with a text-only checkpoint.
_TASK_MODALITY: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "feature-extraction", "fill-mask", "question-answering", "sentence-similarity", "summarization",
            "table-question-answering", "text-classification", "text-generation", "text2text-generation",
            "token-classification", "translation", "zero-shot-classification",
        ),
        "text",
    ),
    **dict.fromkeys(
        (
            "depth-estimation", "image-classification", "image-feature-extraction", "image-segmentation",
            "image-text-to-text", "image-to-image", "image-to-text", "mask-generation", "object-detection",
            "text-to-image", "visual-question-answering", "zero-shot-image-classification",
            "zero-shot-object-detection",
        ),
        "image",
    ),
    **dict.fromkeys(
        ("audio-classification", "automatic-speech-recognition", "text-to-audio", "zero-shot-audio-classification"),
        "audio",
    ),
    "video-classification": "video",
}  # fmt: skip


def task_modality(task: str) -> str | None:
    """The modality ``task`` needs the model to handle (``None``: any, or an unknown task)."""
    if _TRANSLATION_PAIR.match(task):
        return "text"
    return _TASK_MODALITY.get(canonical_task(task))


def task_modality_problem(task: str | None, modalities: Sequence[str] | None) -> str | None:
    """Why a checkpoint that handles only ``modalities`` cannot run ``task`` (``None`` when it can, or when
    either is unknown): an image, audio or video task on a text model, or a text task on a vision or audio one."""
    if task is None or not modalities:
        return None
    needed = task_modality(task)
    if needed is None or needed in modalities:
        return None
    handles = " and ".join(modalities)
    return (
        f"cannot run on this model: the task needs a model that handles {needed}, and the checkpoint handles "
        f"{handles} only (from its config.json and files); use a task for {handles}, or a {needed} model"
    )


def task_architecture_problem(
    task: str | None, architecture: str | None, modalities: Sequence[str] | None = None
) -> str | None:
    """Why no server can run ``task`` with a checkpoint of ``architecture`` (``None`` when one can,
    or when either is unknown): a task for another modality than the checkpoint's (``modalities``, see
    ``task_modality_problem``), or a generative task on a checkpoint whose only head is a classifier.

    ``Serving.AUTO`` would send ``text-generation`` of a sentiment classifier to TGI, which cannot
    load it; the toolkit's pipeline cannot either.
    """
    if (problem := task_modality_problem(task, modalities)) is not None:
        return problem
    if task is None or architecture is None or not _is_generative(task):
        return None
    if not architecture.endswith(_CLASSIFIER_HEADS):
        return None
    trained_for = task_from_architecture(architecture)
    if trained_for not in PIPELINE_TASKS:
        trained_for = "its pipeline tag on the Hub"
    return (
        f"cannot be served with this model: its architecture {architecture} has a classifier head and no "
        f"language-model head to generate with; use the task the model was trained for ({trained_for}) "
        "or a generative model"
    )


def untrained_head_warning(task: str | None, architecture: str | None) -> str | None:
    """A warning when the pipeline for ``task`` would put an untrained head on a language model:
    ``text-classification`` of ``LlamaForCausalLM`` starts, and returns meaningless labels."""
    if task is None or architecture is None or canonical_task(task) not in _HEAD_TASKS:
        return None
    if not architecture.endswith(_LANGUAGE_MODEL_HEADS):
        return None
    if canonical_task(task) == "fill-mask" and not architecture.endswith("ForCausalLM"):
        # XLMWithLMHeadModel, FlaubertWithLMHeadModel and (M)BART's ForConditionalGeneration are what
        # AutoModelForMaskedLM loads for those models: their masked-LM head is trained.
        return None
    return (
        f"Task {task!r} loads a {canonical_task(task)} head, and the model's architecture {architecture} is a "
        "language model without one: the pipeline either fails at start-up or adds a randomly initialised "
        "head whose answers mean nothing. Check the model id, or use a task the model was trained for."
    )


# Families the toolkit's suffix table maps to text2text-generation (…ForConditionalGeneration,
# …EncoderDecoderModel) although AutoModelForSeq2SeqLM cannot load them: the pipeline that can.
_NOT_TEXT2TEXT_FAMILIES: tuple[tuple[str, str], ...] = (
    ("Whisper", "automatic-speech-recognition"),
    ("Speech2Text", "automatic-speech-recognition"),
    ("SpeechEncoderDecoder", "automatic-speech-recognition"),
    ("VisionEncoderDecoder", "image-to-text"),
    ("Blip", "image-to-text"),
    ("Pix2Struct", "image-to-text"),
    ("Kosmos2", "image-to-text"),
    ("Llava", "image-text-to-text"),
    ("Idefics", "image-text-to-text"),
    ("PaliGemma", "image-text-to-text"),
    ("Qwen2VL", "image-text-to-text"),
    ("Qwen2_5_VL", "image-text-to-text"),
    ("Mllama", "image-text-to-text"),
    ("Gemma3ForConditionalGeneration", "image-text-to-text"),
    ("Musicgen", "text-to-audio"),
    ("Moonshine", "automatic-speech-recognition"),
    ("InstructBlip", "image-to-text"),
    ("Florence2", "image-to-text"),
    ("Mistral3", "image-text-to-text"),
    ("Llama4", "image-text-to-text"),
    ("Gemma3n", "image-text-to-text"),
    ("Qwen3VL", "image-text-to-text"),
    ("Qwen2_5Omni", "image-text-to-text"),
    ("InternVL", "image-text-to-text"),
    ("SmolVLM", "image-text-to-text"),
    ("AyaVision", "image-text-to-text"),
    ("Glm4v", "image-text-to-text"),
)
# config.json keys only multimodal models carry: whatever the family, not a text-to-text model.
_MULTIMODAL_CONFIG_KEYS: tuple[tuple[str, str], ...] = (
    ("audio_config", "automatic-speech-recognition"),
    ("speech_config", "automatic-speech-recognition"),
    ("vision_config", "image-text-to-text"),
    ("image_token_index", "image-text-to-text"),
    ("image_token_id", "image-text-to-text"),
)


def inferred_task_problem(architecture: str | None, config: Mapping[str, Any] | None = None) -> str | None:
    """Why the toolkit, left to infer the task from ``architecture`` (no ``HF_TASK``), would fail at
    start-up; ``None`` when the inferred task is one its pipeline can load. ``config`` (``config.json``)
    tells multimodal models of families not listed here by their vision or audio settings."""
    if not isinstance(architecture, str) or (task := task_from_architecture(architecture)) is None:
        return f"the inference toolkit cannot infer a task from architecture {architecture!r}"
    if task not in PIPELINE_TASKS:
        return f"the inference toolkit infers task {task!r} from architecture {architecture}, and no pipeline serves it"
    if task != "text2text-generation":
        return None
    families = (right_task for family, right_task in _NOT_TEXT2TEXT_FAMILIES if architecture.startswith(family))
    keys = (right_task for key, right_task in _MULTIMODAL_CONFIG_KEYS if config is not None and key in config)
    right_task = next(families, None) or next(keys, None)
    if right_task is None:
        return None
    return (
        f"the inference toolkit infers task 'text2text-generation' from architecture {architecture}, "
        f"which that pipeline cannot load; this model is served as {right_task!r}"
    )


__all__ = [
    "KNOWN_TASKS",
    "PIPELINE_TASKS",
    "TASK_ALIASES",
    "canonical_task",
    "inferred_task_problem",
    "task_architecture_problem",
    "task_from_architecture",
    "task_modality",
    "task_modality_problem",
    "task_problem",
    "untrained_head_warning",
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
