"""AWS tag rules: which keys and values a resource accepts."""

from __future__ import annotations

import unicodedata

MAX_TAGS = 50
_TAG_KEY_MAX = 128
_TAG_VALUE_MAX = 256
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def tag_problem(text: str, *, key: bool) -> str | None:
    """Why ``text`` is not a valid tag key (``key=True``) or value, or ``None`` when it is."""
    if not isinstance(text, str):
        return "must be a string"
    limit, low = (_TAG_KEY_MAX, 1) if key else (_TAG_VALUE_MAX, 0)
    if not low <= len(text) <= limit:
        return f"must be {low} to {limit} characters long (is {len(text)})"
    bad = sorted({c for c in text if not _tag_char_ok(c)})
    if bad:
        return f"contains {', '.join(map(repr, bad))}: tags allow only letters, digits, spaces and _ . : / = + - @"
    if key and text.lower().startswith("aws:"):
        return "starts with 'aws:', which is reserved for AWS"
    return None


def _tag_char_ok(char: str) -> bool:
    return char in _TAG_PUNCTUATION or unicodedata.category(char)[0] in "LZN"


def safe_tag_value(value: str) -> str:
    """``value`` made into a valid tag value: invalid characters become ``_``, cut to 256 characters."""
    return "".join(c if _tag_char_ok(c) else "_" for c in value)[:_TAG_VALUE_MAX]
