"""Tiny Hugging Face models built on the fly (no downloads): a random one the local-invoke tests run, and its
files written without torch for the tests that only package and deploy a model."""

from __future__ import annotations

import json
from pathlib import Path

WORDS = [
    "good",
    "bad",
    "great",
    "terrible",
    "movie",
    "film",
    "the",
    "a",
    "is",
    "was",
    "i",
    "love",
    "hate",
    "this",
    "it",
    "not",
    "very",
    "and",
    "but",
    "fun",
]
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LABELS = {0: "NEGATIVE", 1: "POSITIVE"}


def build_text_classifier(directory: Path) -> Path:
    """Save a 2-layer, 32-wide random ``BertForSequenceClassification`` and its tokenizer to ``directory``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = SPECIAL_TOKENS + WORDS + [f"##{letter}" for letter in letters] + letters
    vocab = list(dict.fromkeys(vocab))
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=2,
        id2label=LABELS,
        label2id={label: index for index, label in LABELS.items()},
    )
    model = BertForSequenceClassification(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def write_text_classifier_files(directory: Path) -> Path:
    """The ``save_pretrained`` layout of ``build_text_classifier``'s model, written without torch or transformers:
    ``config.json``, a ``model.safetensors`` of zeros with the same tensors, and ``vocab.txt``. Nothing can run
    it, but packaging, sizing and a deploy read exactly these files; the environments without the ``[local]``
    extra (``./run.sh test``'s newest-versions run) deploy it."""
    from tests.fake_hub import safetensors_bytes

    directory.mkdir(parents=True, exist_ok=True)
    hidden, layers, vocab = 32, 2, len(SPECIAL_TOKENS) + len(WORDS)
    tensors: dict[str, tuple[str, list[int]]] = {
        "bert.embeddings.word_embeddings.weight": ("F32", [vocab, hidden]),
        "bert.embeddings.position_embeddings.weight": ("F32", [64, hidden]),
    }
    for layer in range(layers):
        tensors[f"bert.encoder.layer.{layer}.attention.self.query.weight"] = ("F32", [hidden, hidden])
        tensors[f"bert.encoder.layer.{layer}.intermediate.dense.weight"] = ("F32", [37, hidden])
    tensors["classifier.weight"] = ("F32", [len(LABELS), hidden])
    config = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "max_position_embeddings": 64,
        "vocab_size": vocab,
        "torch_dtype": "float32",
        "id2label": {str(index): label for index, label in LABELS.items()},
        "label2id": {label: index for index, label in LABELS.items()},
    }
    (directory / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (directory / "model.safetensors").write_bytes(safetensors_bytes(tensors, with_data=True))
    (directory / "vocab.txt").write_text("\n".join(SPECIAL_TOKENS + WORDS) + "\n", encoding="utf-8")
    return directory


def build_lora_adapter(directory: Path, *, rank: int, base_model: str) -> Path:
    """Save a PEFT-style LoRA adapter of ``base_model`` to ``directory``, without torch: ``adapter_config.json`` with
    rank ``rank`` and an ``adapter_model.safetensors`` with one A/B pair of q_proj in layer 0 (8-wide, zeros)."""
    from tests.fake_hub import safetensors_bytes

    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": rank,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "target_modules": ["q_proj"],
    }
    (directory / "adapter_config.json").write_text(json.dumps(config, indent=2))
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    tensors = {f"{prefix}.lora_A.weight": ("F32", [rank, 8]), f"{prefix}.lora_B.weight": ("F32", [8, rank])}
    (directory / "adapter_model.safetensors").write_bytes(safetensors_bytes(tensors, with_data=True))
    return directory
