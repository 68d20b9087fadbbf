"""Command line: ``python -m constructs_lib {invoke-local,recommend,pack} ...``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m constructs_lib",
        description="Tools for Hugging Face models on SageMaker: try a script locally, pick an instance, pack "
        "several models onto one endpoint.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Imported here so that `--help` stays fast and each command loads only what it needs.
    from .local_invoke import add_invoke_local_command
    from .pack import add_pack_command
    from .recommend import add_recommend_command

    add_invoke_local_command(commands)
    add_recommend_command(commands)
    add_pack_command(commands)
    args = parser.parse_args(argv)
    exit_code: int = args.func(args)
    return exit_code
