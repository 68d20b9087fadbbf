"""``recommend`` for LLMs on vLLM: the server, the max_model_len each instance allows, and the flags it sizes with."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from constructs_lib.cli.recommend import add_recommend_command

from ..fake_hub import LLAMA8B_ID, MHA7B_ID, FakeHub

pytestmark = pytest.mark.usefixtures("hermetic_hf")


def run(fake_hub: FakeHub, context: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="python -m constructs_lib")
    add_recommend_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["recommend", *argv, "--endpoint", fake_hub.url, "--context-file", str(context)])
    code: int = args.func(args)
    return code


def row(output: str, instance: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{instance} "))


def test_each_instance_shows_the_max_model_len_it_allows(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", LLAMA8B_ID) == 0
    out = capsys.readouterr().out
    assert "8.03B params (bfloat16), 15.0 GiB of weights loaded, serving vllm" in out
    assert out.splitlines()[1].split()[-2:] == ["vLLM", "settings"]
    first = out.splitlines()[2]
    assert first.startswith("ml.g6.xlarge ")
    assert "SM_VLLM_TENSOR_PARALLEL_SIZE=1; vLLM max_model_len 26624 (the model's context: 131072)" in first
    assert "vLLM max_model_len 131072 (the model's full context)" in row(out, "ml.g6e.xlarge")
    assert "tensor parallel over 4 GPUs" in row(out, "ml.g6.12xlarge")
    assert "Picked: fake-org/llama-8b-instruct" in out and "vLLM max_model_len 26624" in out.split("Picked:")[1]


def test_engine_args_and_the_minimum_context_change_the_table(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = tmp_path / "c.json"
    assert run(fake_hub, context, LLAMA8B_ID, "--engine-arg", "quantization=fp8", "--families", "g6") == 0
    assert "vLLM max_model_len 78848" in row(capsys.readouterr().out, "ml.g6.xlarge")
    assert run(fake_hub, context, LLAMA8B_ID, "--min-context", "32768", "--families", "g6,g6e") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[2].startswith("ml.g6e.xlarge ")
    assert "ml.g6.xlarge " not in out  # 24 GB holds 27297 tokens, not 32768


def test_a_bad_engine_arg_is_a_clear_error(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", MHA7B_ID, "--engine-arg", "max_model_len=8192") == 2
    err = capsys.readouterr().err
    assert "engine_args['max_model_len']: 8192 exceeds the model's context of 4096 tokens" in err
    assert run(fake_hub, tmp_path / "c.json", MHA7B_ID, "--engine-arg", "max_model_len") == 2
    assert "--engine-arg: 'max_model_len' is not NAME=VALUE" in capsys.readouterr().err


def test_tgi_is_still_there_when_asked_for(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", LLAMA8B_ID, "--serving", "tgi") == 0
    assert "serving tgi" in capsys.readouterr().out
