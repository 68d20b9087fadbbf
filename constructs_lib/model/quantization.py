"""How much memory quantized weights take: bytes per parameter by quantization method.

4-bit methods (awq, gptq, marlin, exl2, bitsandbytes-nf4/fp4) take 0.55 bytes per parameter: 0.5
plus ~10% for scales, zero points and the embeddings and norms kept in 16 bit. 8-bit methods
(bitsandbytes, eetq, fp8) take 1.05. The names are the quantization methods as TGI spells them
(``HF_MODEL_QUANTIZE``); each serving stack says which of them it accepts.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._core.errors import ConfigurationError, allowed_list, describe

QUANTIZE_BYTES_PER_PARAMETER: Mapping[str, float] = {
    "awq": 0.55,
    "gptq": 0.55,
    "marlin": 0.55,
    "exl2": 0.55,
    "bitsandbytes-nf4": 0.55,
    "bitsandbytes-fp4": 0.55,
    "bitsandbytes": 1.05,
    "eetq": 1.05,
    "fp8": 1.05,
}
"""Bytes per parameter after quantization, by method."""

PREQUANTIZED_METHODS: frozenset[str] = frozenset({"awq", "gptq", "marlin", "exl2"})
"""Methods that load a checkpoint already quantized that way; the others (bitsandbytes*, eetq, fp8)
quantize 16-bit weights while loading them."""


def quantized_bytes_per_parameter(quantize: str) -> float:
    """Bytes per parameter after ``quantize`` (raises ``ConfigurationError`` for unknown values)."""
    try:
        return QUANTIZE_BYTES_PER_PARAMETER[quantize]
    except KeyError:
        raise ConfigurationError(
            f"quantize: {describe(quantize)} is not a TGI quantization; allowed: "
            f"{allowed_list(QUANTIZE_BYTES_PER_PARAMETER)}"
        ) from None
