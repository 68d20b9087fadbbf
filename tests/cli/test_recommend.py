"""``recommend`` (``cli.recommend``): the instance table for a (fake) Hub model, cheapest first."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from constructs_lib.cli.recommend import add_recommend_command

from ..fake_hub import (
    BERT_ID,
    BGE_ID,
    GGUF_QUANTS_ID,
    GGUF_SINGLE_ID,
    LLAMA8B_ID,
    LLAMA70B_ID,
    MISSING_ID,
    FakeHub,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")


def run(fake_hub: FakeHub, context: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="python -m constructs_lib")
    add_recommend_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["recommend", *argv, "--endpoint", fake_hub.url, "--context-file", str(context)])
    code: int = args.func(args)
    return code


def rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ml.")]


def test_recommend_llm_lists_fitting_instances_cheapest_first(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = tmp_path / "hub.context.json"
    assert run(fake_hub, context, LLAMA8B_ID) == 0
    out = capsys.readouterr().out
    # Text generation runs on vLLM by default.
    assert "8.03B params (bfloat16), 15.0 GiB of weights loaded, serving vllm" in out
    assert out.splitlines()[1].split() == [
        "instance",
        "accelerators",
        "memory",
        "needed",
        "price/h",
        "vLLM",
        "settings",
    ]
    table = rows(out)
    assert table[0].startswith("ml.g6.xlarge ")
    # 15.0 GiB weights + 1.5 GiB overhead + 4096 tokens x 128 KiB / 0.9 (0.6 GiB) = 17.0 GiB, within 0.9 x 22.4 GiB.
    assert "1 x L4" in table[0] and "20.2 GiB" in table[0] and "17.0 GiB" in table[0] and "$1.01" in table[0]
    # The KV cache holds 26624 of the model's 131072 tokens on one L4; on one L40S the whole context.
    assert table[0].endswith("SM_VLLM_TENSOR_PARALLEL_SIZE=1; vLLM max_model_len 26624 (the model's context: 131072)")
    l40s = next(line for line in table if line.startswith("ml.g6e.xlarge "))
    assert l40s.endswith("SM_VLLM_TENSOR_PARALLEL_SIZE=1; vLLM max_model_len 131072 (the model's full context)")
    four = next(line for line in table if line.startswith("ml.g6.12xlarge "))
    assert "SM_VLLM_TENSOR_PARALLEL_SIZE=4; " in four and four.endswith(", tensor parallel over 4 GPUs")
    # Cheapest first; instances without a catalogued price last.
    priced = [line for line in table if "$" in line]
    prices = [float(line.split("$")[1].split()[0]) for line in priced]
    assert prices == sorted(prices) and table[: len(priced)] == priced
    assert not any("g4dn" in line for line in table)  # T4 is never picked for vLLM
    assert "Picked: fake-org/llama-8b-instruct" in out and "picked ml.g6.xlarge" in out
    # The lookup filled the cache, like a synth would.
    assert "hub:fake-org/llama-8b-instruct@main" in json.loads(context.read_text())

    # TGI, asked for, keeps its own memory model and settings.
    assert run(fake_hub, context, LLAMA8B_ID, "--serving", "tgi") == 0
    out = capsys.readouterr().out
    assert "serving tgi" in out
    assert out.splitlines()[1].split() == ["instance", "accelerators", "memory", "needed", "price/h", "TGI", "settings"]
    table = rows(out)
    assert table[0].startswith("ml.g6.xlarge ")
    assert "1 x L4" in table[0] and "22.4 GiB" in table[0] and "20.5 GiB" in table[0] and "$1.01" in table[0]
    assert "SM_NUM_GPUS=1 MAX_INPUT_TOKENS=3072 MAX_TOTAL_TOKENS=4096" in table[0]
    assert not any("g4dn" in line for line in table)  # T4 cannot run TGI


def test_recommend_all_shows_reasons(fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(fake_hub, tmp_path / "c.json", LLAMA70B_ID, "--all", "--families", "g5,g6e") == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert table[0].startswith("ml.g6e.12xlarge ")
    assert {line.split()[0].split(".")[1] for line in table} == {"g5", "g6e"}
    small = next(line for line in table if line.startswith("ml.g5.xlarge "))
    # 131.4 GiB weights + 4096 tokens x 320 KiB / 0.9 (1.4 GiB) + 1.5 GiB overhead, against 0.9 x 22.4 GiB.
    assert small.endswith(
        "needs 134.3 GiB GPU memory (131.4 GiB weights + 1.4 GiB KV cache for 4096 tokens + 1.5 GiB overhead), "
        "and vLLM may use 20.2 GiB: gpu_memory_utilization 0.9 of one A10G"
    )


def test_recommend_quantize(fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(fake_hub, tmp_path / "c.json", LLAMA70B_ID, "--quantize", "bitsandbytes-nf4") == 0
    out = capsys.readouterr().out
    # vLLM's bitsandbytes: 36.1 GiB + 1.4 GiB KV cache + 1.5 GiB = 39.0 GiB, within one L40S (0.9 x 44.9 GiB).
    assert rows(out)[0].startswith("ml.g6e.xlarge ")
    assert "SM_VLLM_TENSOR_PARALLEL_SIZE=1 SM_VLLM_QUANTIZATION=bitsandbytes; " in rows(out)[0]
    assert run(fake_hub, tmp_path / "c.json", LLAMA70B_ID, "--quantize", "bitsandbytes-nf4", "--serving", "tgi") == 0
    out = capsys.readouterr().out
    assert rows(out)[0].startswith("ml.g6.12xlarge ")
    assert "HF_MODEL_QUANTIZE=bitsandbytes-nf4" in rows(out)[0]


def test_recommend_embedding_model_uses_tei(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", BGE_ID) == 0
    out = capsys.readouterr().out
    assert "serving tei" in out and "TEI settings" in out
    assert rows(out)[0].startswith("ml.g4dn.xlarge ")


def test_recommend_task_and_serving_overrides(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", BERT_ID, "--task", "feature-extraction") == 0
    assert "serving tei" in capsys.readouterr().out
    assert run(fake_hub, tmp_path / "c.json", BERT_ID, "--serving", "tgi") == 0
    assert rows(capsys.readouterr().out)[0].startswith("ml.g6.xlarge ")


def test_recommend_refuses_a_task_the_endpoint_refuses(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A sentiment classifier cannot generate: the endpoint refuses it, so the preview must not size it for vLLM.
    assert run(fake_hub, tmp_path / "c.json", BERT_ID, "--task", "text-generation") == 2
    captured = capsys.readouterr()
    assert "--task: 'text-generation' cannot be served with this model" in captured.err
    assert "serving " not in captured.out


def test_recommend_nothing_fits_under_the_price(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", LLAMA8B_ID, "--max-price", "0.5") == 1
    out = capsys.readouterr().out
    assert "No instance fits" in out
    assert rows(out) == []


def test_recommend_missing_model_is_exit_code_2(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", MISSING_ID) == 2
    assert "was not found on the Hugging Face Hub" in capsys.readouterr().err


def test_recommend_bad_option_is_exit_code_2(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", LLAMA8B_ID, "--families", "z9") == 2
    assert "instance_selection.families" in capsys.readouterr().err


def test_recommend_a_gguf_repository_lists_cpu_and_gpu_instances_for_llamacpp(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", GGUF_SINGLE_ID) == 0
    out = capsys.readouterr().out
    assert "serving llamacpp" in out
    table = rows(out)
    first = table[0].split()
    assert first[0].startswith(("ml.m5.", "ml.c5.", "ml.r5.")) and first[1:4] == ["2", "vCPUs", "8"]
    assert any(line.startswith("ml.g6.xlarge ") and "SM_LLAMACPP_N_GPU_LAYERS=999" in line for line in table)
    assert "Picked:" in out and "llama.cpp ctx_size" in out


def test_recommend_several_quantizations_need_gguf_file(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", GGUF_QUANTS_ID) == 2
    assert "pick one: llama-8b-F16.gguf (15.0 GiB)" in capsys.readouterr().err
    assert run(fake_hub, tmp_path / "c.json", GGUF_QUANTS_ID, "--gguf-file", "llama-8b-Q8_0.gguf") == 0
    assert "8.0 GiB of weights loaded, serving llamacpp" in capsys.readouterr().out


def test_recommend_on_neuron_families_sizes_vllm_by_neuron_cores(
    fake_hub: FakeHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake_hub, tmp_path / "c.json", LLAMA8B_ID, "--families", "inf2,trn1") == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert table and all(line.startswith(("ml.inf2.", "ml.trn1.")) for line in table)
    assert "(2 cores)" in table[0] and "tensor parallel over 2 NeuronCores" in table[0]
