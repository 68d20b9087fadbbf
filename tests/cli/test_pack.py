"""``pack`` (``cli.pack``): several Hub models on one endpoint, planned by the construct's own packing."""

from __future__ import annotations

import argparse
import os

import pytest

from constructs_lib.cli import main
from constructs_lib.cli.pack import add_pack_command

from ..support import SST2

QWEN7B = "Qwen/Qwen2.5-7B-Instruct"
"""Both models are in the app's hub.context.json, which the tests' cache holds: no Hub is asked."""


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="python -m constructs_lib")
    add_pack_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["pack", *argv, "--context-file", os.environ["CONSTRUCTS_LIB_HUB_CONTEXT"]])
    code: int = args.func(args)
    return code


def test_pack_prints_the_plan_the_construct_renders_and_one_endpoint_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(QWEN7B, f"{SST2}=2", "--min-instances", "0") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "Inference components on 3 x ml.g6.xlarge (1 x L4, 16 GiB, 4 vCPUs) (picked as the cheapest that holds every "
        "copy): ~$3.02/h"
    )
    assert lines[0].endswith("managed instance scaling from 0 to 3; $0.00/h at 0 instances")
    assert lines[1] == "  #1: Qwen257BInstruct (1 GPU, 11264 MB, 2 cores) - 1/1 GPUs, 11264/14745 MB, 2/4 cores"
    assert lines[2].startswith("  #2: DistilbertBaseUncasedFinetunedSst2English #1 ")
    assert lines[-1].endswith("= ~$2.48/h around the clock")


def test_pack_on_a_given_instance_type_and_the_same_model_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(SST2, SST2, "--instance-type", "ml.g5.12xlarge") == 0
    out = capsys.readouterr().out
    assert "1 x ml.g5.12xlarge (4 x A10G, 192 GiB, 48 vCPUs) (given)" in out
    assert "DistilbertBaseUncasedFinetunedSst2English (1 GPU" in out
    assert "DistilbertBaseUncasedFinetunedSst2English2 (1 GPU" in out


def test_pack_reports_copies_that_do_not_fit_with_the_arithmetic(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(f"{SST2}=5", "--instance-type", "ml.g5.12xlarge", "--max-instances", "1") == 2
    err = capsys.readouterr().err
    assert "the copies need 2 x ml.g5.12xlarge and max_instances is 1" in err and "first-fit decreasing" in err


def test_pack_is_a_command_of_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["pack", "--help"])
    assert "MODEL_ID[=COPIES]" in capsys.readouterr().out
