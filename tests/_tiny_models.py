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


def build_lora_adapter(directory: Path, *, rank: int, base_model: str) -> Path:
    """Save a PEFT-style LoRA adapter of ``base_model`` to ``directory``: ``adapter_config.json`` with rank ``rank``
    and ``adapter_model.safetensors`` with one tiny A/B pair of q_proj in layer 0 (random, 8-wide)."""
    import json

    import torch
    from safetensors.torch import save_file

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
    generator = torch.Generator().manual_seed(0)
    prefix = "base_model.model.model.layers.0.self_attn.q_proj"
    tensors = {
        f"{prefix}.lora_A.weight": torch.randn(rank, 8, generator=generator),
        f"{prefix}.lora_B.weight": torch.zeros(8, rank),
    }
    save_file(tensors, str(directory / "adapter_model.safetensors"))
    return directory
