"""``python -m constructs_lib recommend MODEL_ID``: which instances serve a Hub model, cheapest first.

Looks the model up like a synth does (through ``hub.context.json``, so running it online fills the
cache that later offline synths read) and prints the sizing table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from .._core.errors import ConfigurationError
from ..catalogue.tasks import task_architecture_problem, task_problem
from ..model.hub_lookup import lookup_hub_profile
from ..model.profile import ModelProfile
from ..serving.base import ServingStack
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
        description="Look a Hub model up (cached in hub.context.json) and list the GPU instances that can "
        "serve it, cheapest first, with the memory math and TGI settings.",
    )
    parser.add_argument("model_id", metavar="MODEL_ID", help="Hub model id, e.g. meta-llama/Llama-3.1-8B-Instruct")
    parser.add_argument("--task", help="pipeline task (default: the Hub's pipeline_tag)")
    parser.add_argument(
        "--serving",
        default="auto",
        help="auto, inference-toolkit, tgi or tei (default: auto, "
        "from the task: tei for embeddings, tgi for text generation)",
    )
    parser.add_argument("--revision", help="branch, tag or commit (default: main)")
    parser.add_argument("--quantize", help="TGI quantization, e.g. awq, gptq, bitsandbytes-nf4, fp8")
    parser.add_argument("--families", help="comma-separated GPU families, e.g. g5,g6 (default: all)")
    parser.add_argument("--max-price", type=float, help="maximum USD per hour")
    parser.add_argument("--all", action="store_true", help="also list instances that do not fit, with the reason")
    parser.add_argument("--token", help="Hub token for gated/private models (default: HF_TOKEN or a saved login)")
    parser.add_argument("--context-file", type=Path, help="cache file (default: hub.context.json next to cdk.json)")
    parser.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")
    parser.set_defaults(func=run_recommend)


def run_recommend(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``recommend`` for parsed arguments, printing to ``out`` (default: ``sys.stdout``)."""
    stream = out or sys.stdout
    try:
        options = SizingOptions(
            families=[f.strip() for f in args.families.split(",") if f.strip()] if args.families else None,
            max_price_per_hour=args.max_price,
            quantize=args.quantize,
        )
        profile = lookup_hub_profile(
            args.model_id,
            revision=args.revision,
            token=args.token,
            context_file=args.context_file,
            endpoint=args.endpoint,
        )
        if args.task:
            # What the endpoint refuses with this task, the preview refuses too.
            problem = task_problem(args.task) or task_architecture_problem(args.task, profile.architecture)
            if problem:
                raise ConfigurationError(f"--task: {args.task!r} {problem}")
            profile = _with_task(profile, args.task)
        stack = serving_stack(args.serving, profile)
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
            "No GPU instance fits. Consider a 4-bit AWQ or GPTQ checkpoint of the model, --quantize "
            "bitsandbytes-nf4 (TGI), other --families or a higher --max-price.",
            file=stream,
        )
    if rows:
        print(format_table(profile, stack, options, rows), file=stream)
    if fitting:
        plan = plan_deployment(profile, serving=stack, instance_type=None, options=options)
        print(f"\nPicked: {plan.summary}", file=stream)
        return 0
    return 1


def _with_task(profile: ModelProfile, task: str) -> ModelProfile:
    from dataclasses import replace

    return replace(profile, task=task)


def _env_summary(profile: ModelProfile, stack: ServingStack, options: SizingOptions, fit: InstanceFit) -> str:
    shown = stack.summary_environment_keys()
    if not shown or not fit.fits:
        return fit.reason or ""
    plan = plan_deployment(profile, serving=stack, instance_type=fit.spec.name, options=options)
    return " ".join(f"{key}={plan.environment[key]}" for key in shown if key in plan.environment)


def format_table(profile: ModelProfile, stack: ServingStack, options: SizingOptions, fits: list[InstanceFit]) -> str:
    """The instance table: instance, GPUs, GPU memory, needed, price/h, the server's settings (or why it does not
    fit)."""
    header = (
        "instance",
        "GPUs",
        "GPU mem",
        "needed",
        "price/h",
        f"{stack.name} env" if stack.summary_environment_keys() else "notes",
    )
    rows = [header]
    for fit in fits:
        price = f"${fit.price_per_hour:.2f}" if fit.price_per_hour is not None else "-"
        gpus = f"{fit.spec.accelerators} x {fit.spec.accelerator_model}"
        rows.append(
            (
                fit.spec.name,
                gpus,
                f"{fit.available_gpu_gib:.1f} GiB",
                f"{fit.needed_gpu_gib:.1f} GiB",
                price,
                _env_summary(profile, stack, options, fit),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)
