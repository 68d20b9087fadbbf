"""Hugging Face access tokens in plain text: by the variable that holds one, or by the value itself.

Writing a token into a template puts the secret in the template, the console and every
``DescribeModel`` response; tokens belong in Secrets Manager (``hf_token_secret``).
"""

from __future__ import annotations

import re

TOKEN_VARIABLES = frozenset({"HF_TOKEN", "HF_API_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN"})
"""Environment variables that the Hugging Face containers read a token from."""

_HF_TOKEN_VALUE = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")
"""What a Hugging Face access token looks like, whatever it is put in."""


def looks_like_hf_token(value: object) -> bool:
    """Whether ``value`` is (or contains) a Hugging Face access token (``hf_`` and 30+ letters/digits)."""
    return isinstance(value, str) and _HF_TOKEN_VALUE.search(value) is not None


def holds_hf_token(key: str, value: object) -> bool:
    """Whether an environment entry would put a token in plain text: by its name or by its value."""
    return key in TOKEN_VARIABLES or looks_like_hf_token(value)
