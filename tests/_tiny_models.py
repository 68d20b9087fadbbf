"""Tiny random Hugging Face models built on the fly (no downloads), for the local-invoke tests."""

from __future__ import annotations

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
