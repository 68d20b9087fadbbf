"""Checks of an LLM server's flags (``engine_args``) and of its ``SM_<SERVER>_*`` variables in ``environment``.

Each server (vLLM, SGLang, llama.cpp, vLLM on Neuron) describes its flags with ``FlagRules``: the ones the
library owns, those that count something, shares of memory, choices, the one that sets the context length, the
ones the sizing writes, the parallel sizes that must use the whole instance, and the quantization methods.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._core.tokens import is_unresolved
from ..catalogue.instances import InstanceSpec, Processor
from ..model.profile import ModelProfile
from ..model.quantization import PREQUANTIZED_METHODS
from .facts import EnvironmentEntry, ModelFacts, Reporter

PORT_OWNED = "the image's entrypoint serves on port 8080, where SageMaker sends requests; it cannot change"


@dataclass(frozen=True)
class FlagRules:
    """What one server accepts as flags, and which of them belong to the library or the sizing."""

    server: str
    """How messages name the server."""
    prefix: str
    """The variable prefix the image turns into flags (``SM_VLLM_``)."""
    owned: Mapping[str, str] = field(default_factory=dict)
    """Flags the library writes from a prop, and why they cannot be set (``model``, ``port``...)."""
    counts: tuple[str, ...] = ()
    """Flags that count something: whole numbers above 0."""
    fractions: Mapping[str, str] = field(default_factory=dict)
    """Flags that are a share above 0 and at most 1, and what of."""
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Flags with a fixed set of values."""
    context_flag: str | None = None
    """The flag that sets the longest sequence, checked against the model's context."""
    sized: tuple[str, ...] = ()
    """Flags the sizing writes: the same variable in ``environment`` would bypass it."""
    parallel: tuple[str, ...] = ()
    """Flags whose product is the number of GPUs the server uses; all of the instance's must be used."""
    quantization_flag: str | None = None
    """The flag that names a quantization method."""
    quantization_methods: frozenset[str] = frozenset()
    """The methods the server accepts (empty: not checked)."""
    prequantized: frozenset[str] = frozenset()
    """Methods that read a checkpoint already quantized that way."""

    def variable(self, flag: str) -> str:
        """The variable that carries ``flag``."""
        return f"{self.prefix}{flag.upper()}"


def whole(values: Mapping[str, Any], name: str) -> int | None:
    """A flag that counts something, when it is a whole number above 0 (``None``: not given, or not one)."""
    value = values.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    return None


def fraction(value: Any) -> float | None:
    """A share above 0 and at most 1 (``None``: not one)."""
    try:
        number = float(value) if value is not None and not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 1 else None


def check_flag(
    rules: FlagRules, name: str, value: Any, model: ModelFacts, report: Reporter, *, prop: str | None = None
) -> None:
    """Report a flag the server would refuse, or one that contradicts a prop or the model (no instance needed).

    :param prop: how messages name the flag.
    :default prop: ``engine_args[<name>]``
    """
    prop = prop or f"engine_args[{name!r}]"
    if is_unresolved(value):
        return
    if name in rules.owned:
        report.error(prop, value, f"cannot be set: {rules.owned[name]}")
    elif name == "host" and value != "0.0.0.0":
        report.error(prop, value, "must be '0.0.0.0' (or left out): SageMaker reaches the container from outside")
    elif name in rules.counts:
        if whole({name: value}, name) is None:
            report.error(prop, value, "must be a whole number above 0")
        elif name == rules.context_flag:
            _check_length(int(value), model.profile, prop, report, rules.server)
    elif name in rules.fractions:
        if isinstance(value, str) or fraction(value) is None:
            report.error(prop, value, f"must be a number above 0 and at most 1 ({rules.fractions[name]})")
    elif name in rules.choices and value not in rules.choices[name]:
        report.error(prop, value, f"is not a {rules.server} {name}; allowed: {', '.join(rules.choices[name])}")
    elif name == rules.quantization_flag:
        _check_quantization(rules, value, model.profile, prop, report)


def _check_length(length: int, profile: ModelProfile | None, prop: str, report: Reporter, server: str) -> None:
    context = profile.max_position_embeddings if profile is not None else None
    if context is not None and length > context:
        report.error(
            prop,
            length,
            f"exceeds the model's context of {context} tokens (max_position_embeddings), which {server} refuses "
            f"at start-up; use at most {context}",
        )


def _check_quantization(
    rules: FlagRules, method: Any, profile: ModelProfile | None, prop: str, report: Reporter
) -> None:
    if rules.quantization_methods and method not in rules.quantization_methods:
        report.error(
            prop,
            method,
            f"is not a {rules.server} quantization method; allowed: {', '.join(sorted(rules.quantization_methods))} "
            f"(a method newer than this list can be passed as environment {rules.variable('quantization')}, unsized)",
        )
        return
    if profile is None or method not in rules.prequantized:
        return
    counts = profile.parameters_by_dtype or {}
    packed = profile.dtype in ("int4", "int8") or "int32" in counts  # int32: packed 4-bit weights
    if not packed:
        family = next((m for m in PREQUANTIZED_METHODS if str(method).startswith(m)), method)
        report.error(
            prop,
            method,
            f"reads a checkpoint already quantized with {family}, and {profile.model_id or 'the model'} is stored in "
            f"{profile.dtype}; serve a {family} checkpoint of the model ({rules.server} then reads the method from "
            "its config.json), or quantize while loading (e.g. 'fp8')",
        )


def check_variable(rules: FlagRules, entry: EnvironmentEntry, report: Reporter) -> bool:
    """Report an ``SM_<SERVER>_*`` variable of ``environment`` that repeats a flag, bypasses the sizing, or that
    the server would refuse. Returns whether the variable was judged."""
    key, value = entry.key, entry.value
    if not key.startswith(rules.prefix):
        return False
    prop = f"environment[{key!r}]"
    flag = key.removeprefix(rules.prefix).lower()
    if flag in {name.lower() for name in entry.engine_args}:
        report.error(prop, value, f"is engine_args[{flag!r}] as well; keep one of the two (engine_args is checked)")
    elif flag in rules.sized and entry.sized and key in entry.sizing and entry.sizing[key] != value:
        report.error(
            prop,
            value,
            f"bypasses the instance sizing, which wrote {entry.sizing[key]!r} after checking the memory; set "
            f"engine_args={{'{flag}': ...}} instead, so that the fit is checked with it",
        )
    else:
        check_flag(rules, flag, value, entry.model, report, prop=prop)
    return True


def check_parallel(rules: FlagRules, environment: Mapping[str, Any], spec: InstanceSpec, report: Reporter) -> None:
    """The parallel sizes in the finished environment against the GPUs of ``spec``: the server must use all of
    them. Without any (a variant, which is not sized), the server runs on one GPU: a warning says so."""
    if spec.processor is not Processor.GPU or not rules.parallel:
        return
    values = {name: environment.get(rules.variable(name)) for name in rules.parallel}
    if any(is_unresolved(v) for v in values.values()):
        return
    first = rules.variable(rules.parallel[0])
    if values[rules.parallel[0]] is None and spec.accelerators > 1:
        report.warning(
            f"constructs-lib:variant-{rules.prefix.removeprefix('SM_').removesuffix('_').lower()}-parallel",
            f"{rules.server} runs on 1 of the {spec.accelerators} GPUs of {spec.name} without {first}; set "
            f"environment={{'{first}': '{spec.accelerators}'}} if {spec.accelerators} divides the model's attention "
            "heads, or use a single-GPU instance",
        )
        return
    used = math.prod(whole(values, name) or 1 for name in rules.parallel)
    if used != spec.accelerators:
        report.error(
            first,
            whole(values, rules.parallel[0]) or values[rules.parallel[0]],
            f"runs {rules.server} on {used} GPU(s), and {spec.name} has {spec.accelerators}: {rules.server} must use "
            f"all of them; set {rules.parallel[0]} to {spec.accelerators}, or choose an instance with {used} GPU(s)",
        )
