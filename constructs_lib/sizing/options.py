"""How to pick the instance: ``SizingOptions`` (the ``instance_selection`` prop) and its checks."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .._core.errors import ConfigurationError, Problems, allowed_list
from .._core.tokens import is_number
from ..catalogue.instances import FAMILIES, INSTANCE_CATALOGUE
from ..model.profile import ModelProfile
from ..model.quantization import PREQUANTIZED_METHODS, QUANTIZE_BYTES_PER_PARAMETER

HEADROOM_DEFAULT = 0.15
"""Fraction added to weights + KV cache for activations and fragmentation."""


@dataclass(frozen=True)
class SizingOptions:
    """Constraints and knobs for instance selection (the ``instance_selection`` prop)."""

    families: Sequence[str] | None = None
    """Instance families to choose from, e.g. ``["g5", "g6"]``: GPU families, CPU families (for llama.cpp) or
    Inferentia and Trainium families (``inf2``, ``trn1``: vLLM on Neuron).

    :default: - the serving stack's usual ones: every GPU family in the catalogue (``GPU_FAMILIES``); for
      llama.cpp the CPU families too
    """
    max_price_per_hour: float | None = None
    """Upper bound on price x ``min_instance_count`` (USD/hour).

    :default: - no limit
    """
    min_instance_count: int = 1
    """Instances the variant runs; prices are compared for this many.

    :default: 1
    """
    prices: Mapping[str, float] | None = None
    """Instance prices overriding the indicative catalogue prices.

    :default: - catalogue prices
    """
    max_input_tokens: int | None = None
    """TGI ``MAX_INPUT_TOKENS``.

    :default: - ``max_total_tokens`` minus up to 1024
    """
    max_total_tokens: int | None = None
    """TGI ``MAX_TOTAL_TOKENS``.

    :default: - as many as memory allows for 4 concurrent sequences, capped at 32768 and the model's context
    """
    max_batch_total_tokens: int | None = None
    """TGI ``MAX_BATCH_TOTAL_TOKENS``.

    :default: - TGI measures free memory
    """
    max_batch_prefill_tokens: int | None = None
    """TGI ``MAX_BATCH_PREFILL_TOKENS``.

    :default: ``max_input_tokens`` + 50
    """
    min_context_tokens: int | None = None
    """The shortest context (prompt plus output tokens of one sequence) the instance must serve: vLLM's
    ``max_model_len`` is never set below it, and TGI's ``MAX_TOTAL_TOKENS`` is at least this.

    :default: - 4096, or the model's context when shorter
    """
    concurrent_sequences: int | None = None
    """Sequences of full length the KV cache must hold at once.

    :default: - vLLM: 1, the least it starts with (what model publishers' instance picks imply); TGI: 4
    """
    quantize: str | None = None
    """Quantization the server applies (TGI ``HF_MODEL_QUANTIZE``; vLLM ``--quantization``, for the
    methods it shares: awq, gptq, marlin, fp8, and bitsandbytes-nf4 as vLLM's bitsandbytes).

    :default: - no quantization
    """
    headroom: float = HEADROOM_DEFAULT
    """Fraction added to weights + KV cache for activations and fragmentation.

    :default: 0.15
    """

    def __post_init__(self) -> None:
        problems = Problems("instance_selection")
        if self.families is not None:
            if isinstance(self.families, str) or not self.families:
                problems.add("instance_selection.families", self.families, "must be a non-empty list of families")
            else:
                unknown = [f for f in self.families if f not in FAMILIES]
                if unknown:
                    problems.add(
                        "instance_selection.families",
                        unknown,
                        f"are not catalogued instance families; allowed: {allowed_list(FAMILIES, 60)}",
                    )
        if self.max_price_per_hour is not None and not _positive_number(self.max_price_per_hour):
            problems.add("instance_selection.max_price_per_hour", self.max_price_per_hour, "must be a positive number")
        if not _positive_int(self.min_instance_count):
            problems.add("instance_selection.min_instance_count", self.min_instance_count, "must be at least 1")
        if self.prices is not None:
            unknown_prices = sorted(set(self.prices) - set(INSTANCE_CATALOGUE))
            if unknown_prices:
                problems.add("instance_selection.prices", unknown_prices, "are not known instance types")
            bad = {k: v for k, v in self.prices.items() if not _positive_number(v)}
            if bad:
                problems.add("instance_selection.prices", bad, "must be positive numbers")
        for name in (
            "max_input_tokens",
            "max_total_tokens",
            "max_batch_total_tokens",
            "max_batch_prefill_tokens",
            "min_context_tokens",
            "concurrent_sequences",
        ):
            value = getattr(self, name)
            if value is not None and not _positive_int(value):
                problems.add(f"instance_selection.{name}", value, "must be a positive integer")
        if self.quantize is not None and self.quantize not in QUANTIZE_BYTES_PER_PARAMETER:
            problems.add(
                "instance_selection.quantize",
                self.quantize,
                f"is not allowed; allowed: {allowed_list(QUANTIZE_BYTES_PER_PARAMETER)}",
            )
        if not (
            isinstance(self.headroom, (int, float)) and not isinstance(self.headroom, bool) and 0 <= self.headroom <= 1
        ):
            problems.add("instance_selection.headroom", self.headroom, "must be a fraction between 0 and 1")
        if not problems:
            _check_token_order(self, problems)
        problems.raise_if_any()


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: object) -> bool:
    return isinstance(value, int | float) and is_number(value) and value > 0


def _check_token_order(options: SizingOptions, problems: Problems) -> None:
    inp, total = options.max_input_tokens, options.max_total_tokens
    batch, prefill = options.max_batch_total_tokens, options.max_batch_prefill_tokens
    if inp is not None and total is not None and inp >= total:
        problems.add("instance_selection.max_input_tokens", inp, f"must be less than max_total_tokens ({total})")
    if prefill is not None and inp is not None and prefill < inp:
        problems.add(
            "instance_selection.max_batch_prefill_tokens", prefill, f"must be at least max_input_tokens ({inp})"
        )
    if batch is not None and total is not None and batch < total:
        problems.add("instance_selection.max_batch_total_tokens", batch, f"must be at least max_total_tokens ({total})")
    least = options.min_context_tokens
    if least is not None and total is not None and total < least:
        problems.add("instance_selection.max_total_tokens", total, f"must be at least min_context_tokens ({least})")


def check_quantize(
    profile: ModelProfile,
    quantize: str | None,
    *,
    subject: str = "instance_selection",
    server: str = "TGI",
    methods: Collection[str] = tuple(QUANTIZE_BYTES_PER_PARAMETER),
) -> None:
    """Reject a ``quantize`` that ``server`` cannot apply to this checkpoint.

    awq, gptq, marlin and exl2 read weights already quantized with that method: TGI fails at start-up
    on a 16-bit checkpoint. The on-the-fly methods need 16-bit weights to quantize.
    """
    if quantize is None:
        return
    prequantized = profile.dtype in ("int4", "int8", "float8")
    # int32 tensors in a float checkpoint: packed weights whose config does not say so (AutoGPTQ's
    # quantize_config.json, for one). Not enough to call it quantized, too much to call it 16-bit.
    maybe_prequantized = prequantized or bool(profile.parameters_by_dtype and "int32" in profile.parameters_by_dtype)
    name = profile.model_id or "the model"
    if quantize in PREQUANTIZED_METHODS and not maybe_prequantized:
        on_the_fly = sorted(set(methods) - PREQUANTIZED_METHODS)
        raise ConfigurationError(
            f"{subject}.quantize: {quantize!r} loads a checkpoint already quantized with {quantize}, and {name} is "
            f"stored in {profile.dtype}; serve a {quantize} checkpoint of the model ({server} then reads the method "
            f"from its config.json, quantize may stay unset), or quantize while loading with one of "
            f"{allowed_list(on_the_fly)} (for a model_profile given by hand: set its dtype, e.g. dtype='int4')"
        )
    if quantize not in PREQUANTIZED_METHODS and prequantized:
        raise ConfigurationError(
            f"{subject}.quantize: {quantize!r} quantizes 16-bit weights while loading them, and {name} is already "
            f"quantized ({profile.dtype}); leave quantize unset ({server} reads the checkpoint's method from "
            "config.json)"
        )
