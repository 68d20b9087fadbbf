"""``python -m constructs_lib pack MODEL_ID[=COPIES] ...``: several Hub models on one endpoint, as inference
components: the instance type and count packing picks, which copies run where, the price, and what the same models
cost as one endpoint each.

Each model is looked up like a synth does (through ``hub.context.json``) and added to an
``InferenceComponentEndpoint`` built in memory, so the plan printed is the one the construct renders, from the
same sizing, packing and report code.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, TextIO

from aws_cdk import App, Environment, Stack

from .._core.errors import ConfigurationError
from ..components.endpoint import InferenceComponentEndpoint
from ..components.report import plan_summary
from .recommend import add_hub_arguments, hub_profile

PLACEHOLDER_ACCOUNT = "123456789012"
"""The account of the in-memory stack: packing depends on the region's images and prices only."""
_COPIES = re.compile(r"^(?P<model>[^=]+?)(?:=(?P<copies>\d+))?$")


def add_pack_command(subparsers: Any) -> None:
    """Register ``pack`` on an ``argparse`` sub-parser collection; its ``func(args)`` returns an exit code.

    Exit codes: 0 when the models fit, 2 for invalid input, a failed lookup or models that fit no instance type.
    """
    parser = subparsers.add_parser(
        "pack",
        help="plan several Hugging Face models on one endpoint (inference components), with the cost",
        description="Look Hub models up (cached in hub.context.json), size each as an inference component and pack "
        "their copies onto the cheapest GPU instance type (or the one given); print which copies run on which "
        "instance, the price per hour, and what one endpoint per model would cost.",
    )
    parser.add_argument(
        "models", nargs="+", metavar="MODEL_ID[=COPIES]", help="Hub model ids, each with its copies (default: 1)"
    )
    parser.add_argument("--instance-type", help="the instance type every model shares (default: the cheapest)")
    parser.add_argument("--max-instances", type=int, help="the most instances (default: what the copies need)")
    parser.add_argument("--min-instances", type=int, default=1, help="0 lets the endpoint scale to zero (default: 1)")
    parser.add_argument("--region", default="us-east-1", help="AWS region of the images (default: us-east-1)")
    add_hub_arguments(parser)
    parser.set_defaults(func=run_pack)


def run_pack(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``pack`` for parsed arguments; returns the exit code.

    :param out: where the table is printed.
    :default out: ``sys.stdout``
    """
    stream = out or sys.stdout
    try:
        endpoint = _endpoint(args)
        ids: list[str] = []
        for model_id, copies in _models(args.models):
            profile = hub_profile(args, model_id)
            if profile.task is None:
                raise ConfigurationError(f"{model_id}: the Hub gives no pipeline task; pack takes models that have one")
            ids.append(_component_id(model_id, ids))
            endpoint.add_model(ids[-1], model_id=model_id, model_profile=profile, copies=copies)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    plan = endpoint.plan
    assert plan is not None  # at least one model was added
    print(plan_summary(plan, min_instances=args.min_instances), file=stream)
    return 0


def _endpoint(args: argparse.Namespace) -> InferenceComponentEndpoint:
    stack = Stack(App(), "Pack", env=Environment(account=PLACEHOLDER_ACCOUNT, region=args.region))
    return InferenceComponentEndpoint(
        stack,
        "Endpoint",
        instance_type=args.instance_type,
        min_instances=args.min_instances,
        max_instances=args.max_instances,
    )


def _models(arguments: list[str]) -> list[tuple[str, int]]:
    """``org/model=2`` as ``("org/model", 2)``."""
    models = []
    for argument in arguments:
        match = _COPIES.match(argument)
        if match is None:
            raise ConfigurationError(f"MODEL_ID[=COPIES]: {argument!r} is not a model id with copies, e.g. org/model=2")
        models.append((match["model"], int(match["copies"] or 1)))
    return models


def _component_id(model_id: str, taken: list[str]) -> str:
    """A construct id from the model's name (``Qwen2.5-7B-Instruct`` -> ``Qwen257BInstruct``), numbered when the
    same name is taken, so that a model given twice stays two components."""
    parts = re.split(r"[^A-Za-z0-9]+", model_id.rsplit("/", 1)[-1])
    name = "".join(part[:1].upper() + part[1:] for part in parts if part) or "Model"
    return name if name not in taken else f"{name}{len(taken) + 1}"
