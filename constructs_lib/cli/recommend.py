"""``python -m constructs_lib recommend MODEL_ID``: which instances serve a Hub model, cheapest first.

Looks the model up like a synth does (through ``hub.context.json``, so running it online fills the
cache that later offline synths read) and prints the sizing table.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from .._core.errors import ConfigurationError, Problems
from ..catalogue.instances import Processor
from ..catalogue.tasks import task_architecture_problem, task_problem
from ..model.hub_lookup import lookup_hub_profile
from ..model.profile import ModelProfile
from ..serving.base import Serving, ServingStack
from ..serving.environment import check_engine_args
from ..serving.facts import GpuFit, ModelFacts
from ..sizing.fit import InstanceFit
from ..sizing.options import SizingOptions
from ..sizing.planner import fit_table, plan_deployment, served_weights_gib, serving_stack


def add_recommend_command(subparsers: Any) -> None:
    """Register ``recommend`` on an ``argparse`` sub-parser collection; its ``func(args)`` returns an exit code.

    Exit codes: 0 when at least one instance fits, 1 when none does, 2 for invalid input or a failed lookup.
    """
    parser = subparsers.add_parser(
        "recommend",
        help="list the instances that can serve a Hugging Face model, cheapest first",
        description="Look a Hub model up (cached in hub.context.json) and list the instances that can "
        "serve it, cheapest first, with the memory math and the server's settings (for vLLM, the max_model_len "
        "each instance allows; for llama.cpp, CPU instances too).",
    )
    parser.add_argument("model_id", metavar="MODEL_ID", help="Hub model id, e.g. meta-llama/Llama-3.1-8B-Instruct")
    parser.add_argument("--task", help="pipeline task (default: the Hub's pipeline_tag)")
    parser.add_argument(
        "--serving",
        default="auto",
        help=f"{', '.join(s.value for s in Serving)} (default: auto, from the model: llamacpp for GGUF models, vllm "
        "for text generation, tei for embeddings, the inference toolkit otherwise)",
    )
    parser.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server flag the sizing takes into account, as engine_args (vLLM, SGLang, llama.cpp), e.g. "
        "max_model_len=8192 or "
        "gpu_memory_utilization=0.85; repeatable",
    )
    parser.add_argument("--min-context", type=int, help="the shortest context (tokens) to size for (default: 4096)")
    parser.add_argument("--concurrent-sequences", type=int, help="full-length sequences the KV cache must hold")
    parser.add_argument("--revision", help="branch, tag or commit (default: main)")
    parser.add_argument("--quantize", help="quantization the server applies, e.g. fp8, awq, bitsandbytes-nf4")
    parser.add_argument("--gguf-file", help="the GGUF file llama.cpp serves, when the repository holds several")
    parser.add_argument(
        "--families",
        help="comma-separated instance families, e.g. g5,g6, m5 or inf2,trn1 (default: those the server picks from)",
    )
    parser.add_argument("--max-price", type=float, help="maximum USD per hour")
    parser.add_argument("--all", action="store_true", help="also list instances that do not fit, with the reason")
    add_hub_arguments(parser)
    parser.set_defaults(func=run_recommend)


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a command that looks models up on the Hub, which :func:`hub_profile` reads."""
    parser.add_argument("--token", help="Hub token for gated/private models (default: HF_TOKEN or a saved login)")
    parser.add_argument("--context-file", type=Path, help="cache file (default: hub.context.json next to cdk.json)")
    parser.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")


def hub_profile(args: argparse.Namespace, model_id: str, revision: str | None = None) -> ModelProfile:
    """The Hub profile of ``model_id``, looked up with the options of :func:`add_hub_arguments`."""
    return lookup_hub_profile(
        model_id, revision=revision, token=args.token, context_file=args.context_file, endpoint=args.endpoint
    )


def run_recommend(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``recommend`` for parsed arguments; returns the exit code.

    :param out: where the table is printed.
    :default out: ``sys.stdout``
    """
    stream = out or sys.stdout
    try:
        options = SizingOptions(
            families=[f.strip() for f in args.families.split(",") if f.strip()] if args.families else None,
            max_price_per_hour=args.max_price,
            quantize=args.quantize,
            min_context_tokens=args.min_context,
            concurrent_sequences=args.concurrent_sequences,
        )
        engine_args = _engine_args(args.engine_arg)
        profile = hub_profile(args, args.model_id, args.revision)
        if args.task:
            # What the endpoint refuses with this task, the preview refuses too.
            problem = task_problem(args.task) or task_architecture_problem(
                args.task, profile.architecture, profile.modalities
            )
            if problem:
                raise ConfigurationError(f"--task: {args.task!r} {problem}")
            profile = _with_task(profile, args.task)
        stack = serving_stack(args.serving, profile, options)
        if engine_args:
            stack = _with_engine_args(stack, engine_args, profile)
        stack = _with_model_file(stack, args.model_id, args.gguf_file, profile)
        table = fit_table(profile, serving=stack, options=options)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fitting = [fit for fit in table if fit.fits]
    print(
        f"{args.model_id}: {profile.describe_size()}, "
        f"{served_weights_gib(profile, serving=stack, options=options):.1f} GiB of weights loaded, "
        f"serving {stack.key}",
        file=stream,
    )
    rows = table if args.all else fitting
    if not fitting:
        print(
            f"No instance fits. Consider {stack.no_fit_hint()}, other --families or a higher --max-price.",
            file=stream,
        )
    if rows:
        print(format_table(profile, stack, options, rows), file=stream)
    if fitting:
        plan = plan_deployment(profile, serving=stack, instance_type=None, options=options)
        print(f"\nPicked: {plan.summary}", file=stream)
        return 0
    return 1


def _engine_args(pairs: list[str]) -> dict[str, str | int | float | bool]:
    """``--engine-arg NAME=VALUE`` pairs, with numbers and ``true``/``false`` read as such."""
    parsed: dict[str, str | int | float | bool] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--engine-arg: {pair!r} is not NAME=VALUE, e.g. max_model_len=8192")
        parsed[name] = _engine_value(text)
    return parsed


def _engine_value(text: str) -> str | int | float | bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _with_engine_args(
    stack: ServingStack, engine_args: dict[str, str | int | float | bool], profile: ModelProfile
) -> ServingStack:
    """The stack with the flags, checked as an endpoint checks them."""
    problems = Problems("--engine-arg")
    check_engine_args(stack, engine_args, ModelFacts(profile=profile), _Errors(problems))
    problems.raise_if_any()
    return stack.configured(replace(stack.settings, engine_args=engine_args))


def _with_model_file(stack: ServingStack, model_id: str, gguf_file: str | None, profile: ModelProfile) -> ServingStack:
    """The stack with the GGUF file to serve, checked as an endpoint checks it (several files need one)."""
    configured = stack.configured(replace(stack.settings, model_file=gguf_file))
    problems = Problems("--gguf-file")
    configured.check_settings(ModelFacts(model_id=model_id, profile=profile), _Errors(problems))
    problems.raise_if_any()
    return configured


class _Errors:
    """A ``Reporter`` for the command line: errors only."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def error(self, prop: str, value: object, problem: str) -> None:
        self.problems.add(prop, value, problem)

    def warning(self, id: str, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)


def _with_task(profile: ModelProfile, task: str) -> ModelProfile:
    return replace(profile, task=task)


def _env_summary(profile: ModelProfile, stack: ServingStack, options: SizingOptions, fit: InstanceFit) -> str:
    if not fit.fits:
        return fit.reason or ""
    shown = stack.summary_environment_keys()
    plan = plan_deployment(profile, serving=stack, instance_type=fit.spec.name, options=options)
    settings = " ".join(f"{key}={plan.environment[key]}" for key in shown if key in plan.environment)
    note = stack.fit_note(profile, GpuFit(fit.spec, fit.gpus_used, fit.kv_capacity_tokens), plan.environment)
    if not note or note in settings:
        return settings
    return f"{settings}; {note}" if settings else note


def _shape(fit: InstanceFit) -> tuple[str, str, str]:
    """The accelerators, the memory that holds the model and what it needs there: GPU or device memory, or on CPU
    instances host memory."""
    spec = fit.spec
    if spec.processor is Processor.CPU:
        return f"{spec.vcpus} vCPUs", f"{spec.memory_gib:g} GiB host", f"{fit.needed_host_gib:.1f} GiB"
    accelerators = f"{spec.accelerators} x {spec.accelerator_model}"
    if spec.neuron_cores:
        accelerators += f" ({spec.neuron_cores} cores)"
    return accelerators, f"{fit.available_gpu_gib:.1f} GiB", f"{fit.needed_gpu_gib:.1f} GiB"


def format_table(profile: ModelProfile, stack: ServingStack, options: SizingOptions, fits: list[InstanceFit]) -> str:
    """The instance table: instance, accelerators (or vCPUs), the memory that holds the model (GPU, device or host),
    what the model needs of it, price/h, the server's settings (or why it does not fit)."""
    header = ("instance", "accelerators", "memory", "needed", "price/h", f"{stack.name} settings")
    rows = [header]
    for fit in fits:
        price = f"${fit.price_per_hour:.2f}" if fit.price_per_hour is not None else "-"
        rows.append((fit.spec.name, *_shape(fit), price, _env_summary(profile, stack, options, fit)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)
