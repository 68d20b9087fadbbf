"""What a checkpoint takes in or gives out (text, image, audio, video), read from ``config.json`` and its files.

The modalities decide whether a task can run on a model at all: ``image-classification`` of DistilBERT or
``text-classification`` of a ViT fails at start-up whatever the serving stack. They come from the model's
``model_type`` (families listed below), its vision, audio and text sub-configs, and its processor and tokenizer
files, never from the head name alone (``ForSequenceClassification`` exists for text and audio models alike).
Where nothing says enough, the modalities are unknown (``None``) and nothing is checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MODALITIES: tuple[str, ...] = ("text", "image", "audio", "video")
"""The modalities a ``ModelProfile`` names."""

_IMAGE = frozenset({"image"})
_AUDIO = frozenset({"audio"})
_VIDEO = frozenset({"video"})
_IMAGE_TEXT = frozenset({"image", "text"})
_AUDIO_TEXT = frozenset({"audio", "text"})

# transformers model_type values of families whose inputs are not (only) text. Audio encoders with a CTC
# head ship a character vocabulary, but they never take text in: their modality is audio.
_MODEL_TYPE_MODALITIES: Mapping[str, frozenset[str]] = {
    **dict.fromkeys(
        (
            "beit", "bit", "convnext", "convnextv2", "cvt", "deformable_detr", "deit", "depth_anything", "detr",
            "conditional_detr", "dinat", "dinov2", "dpt", "efficientnet", "focalnet", "glpn", "hiera", "levit",
            "mask2former", "maskformer", "mobilenet_v1", "mobilenet_v2", "mobilevit", "mobilevitv2", "nat",
            "poolformer", "pvt", "pvt_v2", "regnet", "resnet", "rt_detr", "sam", "segformer", "swin", "swin2sr",
            "swinv2", "table-transformer", "upernet", "van", "vit", "vit_hybrid", "vit_mae", "vit_msn", "vitdet",
            "vitmatte", "yolos", "zoedepth", "donut-swin",
        ),
        _IMAGE,
    ),
    **dict.fromkeys(
        (
            "audio-spectrogram-transformer", "data2vec-audio", "encodec", "hubert", "mctct", "mimi", "moonshine",
            "sew", "sew-d", "speech_to_text", "unispeech", "unispeech-sat", "wav2vec2", "wav2vec2-bert",
            "wav2vec2-conformer", "wavlm", "whisper",
        ),
        _AUDIO,
    ),
    **dict.fromkeys(("timesformer", "videomae", "vivit"), _VIDEO),
    **dict.fromkeys(
        (
            "blip", "blip-2", "chameleon", "clip", "florence2", "git", "idefics", "idefics2", "idefics3",
            "instructblip", "kosmos-2", "layoutlmv3", "llava", "llava_next", "llava_onevision", "mllama", "owlv2",
            "owlvit", "paligemma", "pix2struct", "qwen2_vl", "qwen2_5_vl", "siglip", "siglip2", "smolvlm", "vilt",
            "vision-encoder-decoder", "vision-text-dual-encoder",
        ),
        _IMAGE_TEXT,
    ),
    **dict.fromkeys(
        ("clap", "musicgen", "musicgen_melody", "seamless_m4t", "seamless_m4t_v2", "speecht5"), _AUDIO_TEXT
    ),
    "x_clip": frozenset({"video", "text"}),
}  # fmt: skip

# Sub-configs of composite models, and the modality each brings.
_SUB_CONFIG_MODALITIES: tuple[tuple[str, str], ...] = (
    ("vision_config", "image"),
    ("image_config", "image"),
    ("audio_config", "audio"),
    ("speech_config", "audio"),
    ("audio_encoder", "audio"),
    ("text_config", "text"),
    ("text_encoder", "text"),
    ("llm_config", "text"),
    ("language_config", "text"),
)
# Files that hold an image, audio or video processor: a model that ships one takes more than text.
_PROCESSOR_FILES = frozenset({"preprocessor_config.json", "video_preprocessor_config.json", "processor_config.json"})
# Keys that tell what a processor config processes. Image processors were "feature extractors" too before
# transformers 4.26 (ViTFeatureExtractor), so the class name alone does not tell images from audio.
_PROCESSOR_KEYS: tuple[tuple[str, str], ...] = (
    ("video_processor_type", "video"),
    ("image_processor_type", "image"),
    ("image_mean", "image"),
    ("sampling_rate", "audio"),
)


def checkpoint_modalities(
    config: Mapping[str, Any] | None,
    files: Iterable[str] | None,
    processor_config: Mapping[str, Any] | None = None,
) -> tuple[str, ...] | None:
    """The modalities of the checkpoint ``config`` (``config.json``) describes, in ``MODALITIES`` order.

    :param files: the repository's top-level file names; ``None`` when unknown (then a text model cannot be
        told from one that ships an image or audio processor, and the answer is ``None``).
    :param processor_config: ``preprocessor_config.json``, when it could be read.
    :returns: ``None`` when the config does not say enough to decide.
    """
    if not config:
        return None
    model_type = config.get("model_type")
    if isinstance(model_type, str) and model_type in _MODEL_TYPE_MODALITIES:
        return _ordered(_MODEL_TYPE_MODALITIES[model_type])
    found = {modality for key, modality in _SUB_CONFIG_MODALITIES if isinstance(config.get(key), Mapping)}
    if found:
        if _has_vocabulary(config):
            found.add("text")  # a language model with a vision tower bolted on (older Llava-style configs)
        return _ordered(found)
    return _flat_config_modalities(config, files, processor_config)


def _flat_config_modalities(
    config: Mapping[str, Any], files: Iterable[str] | None, processor_config: Mapping[str, Any] | None
) -> tuple[str, ...] | None:
    """A config without sub-configs, of a family not listed: text when it has a vocabulary and ships no
    image, audio or video processor; what the processor config names otherwise."""
    if files is None:
        return None
    if _PROCESSOR_FILES & set(files):
        kinds = {kind for key, kind in _PROCESSOR_KEYS if processor_config and key in processor_config}
        return _ordered(kinds | ({"text"} if _has_vocabulary(config) else set())) if len(kinds) == 1 else None
    return ("text",) if _has_vocabulary(config) and isinstance(config.get("architectures"), list) else None


def _has_vocabulary(config: Mapping[str, Any]) -> bool:
    vocabulary = config.get("vocab_size")
    return isinstance(vocabulary, int) and not isinstance(vocabulary, bool) and vocabulary > 0


def _ordered(modalities: Iterable[str]) -> tuple[str, ...]:
    present = set(modalities)
    return tuple(modality for modality in MODALITIES if modality in present)
