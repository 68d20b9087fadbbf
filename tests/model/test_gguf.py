"""GGUF models (model/gguf.py): which models a listing holds, the file to serve, the header's facts, and the profiles
read from the Hub, a local directory and a local archive."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from constructs_lib.model.gguf import (
    GgufModel,
    bits_per_weight,
    choose_model,
    gguf_models,
    gguf_profile,
    read_gguf_facts,
)
from constructs_lib.model.local import profile_from_directory
from constructs_lib.model.weight_files import weight_formats

from .._tiny_gguf import gguf_bytes, llama_gguf, write_gguf_directory
from ..fake_hub import (
    GGUF_QUANT_SIZES,
    GGUF_QUANTS_ID,
    GGUF_SINGLE_FILE,
    GGUF_SINGLE_ID,
    GGUF_SPLIT_FIRST,
    GGUF_SPLIT_ID,
    GGUF_SPLIT_SIZES,
    LLAMA8B_PARAMETERS,
    FakeHub,
)
from ..support import lookup


# ------------------------------------------------------------------------------------ listings
def test_split_files_count_as_one_model_named_by_its_first_file() -> None:
    models = gguf_models(GGUF_SPLIT_SIZES)
    assert list(models) == [GGUF_SPLIT_FIRST, "Q8_0/llama-70b-Q8_0-00001-of-00002.gguf"]
    split = models[GGUF_SPLIT_FIRST]
    assert len(split.files) == 2
    assert split.size == sum(size for name, size in GGUF_SPLIT_SIZES.items() if name.startswith("Q4_K_M/"))
    assert split.quantization == "Q4_K_M"
    assert "2 files" in split.describe()


def test_projectors_and_other_files_are_not_models() -> None:
    models = gguf_models({**GGUF_QUANT_SIZES, "README.md": 10, "config.json": 5})
    assert sorted(models) == ["llama-8b-F16.gguf", "llama-8b-Q4_K_M.gguf", "llama-8b-Q8_0.gguf"]
    assert weight_formats(["mmproj-x-f16.gguf"]) == ()
    assert weight_formats(["Q4/model-Q4_K_M.gguf", "README.md"]) == ("gguf",)


def test_the_only_model_is_chosen_without_a_name() -> None:
    chosen, problem = choose_model({"a-Q4_K_M.gguf": 10, "mmproj-a.gguf": 3}, None)
    assert problem is None and chosen is not None and chosen.name == "a-Q4_K_M.gguf"


def test_several_models_without_a_name_list_the_candidates_with_their_sizes() -> None:
    chosen, problem = choose_model(GGUF_QUANT_SIZES, None)
    assert chosen is None and problem is not None
    assert "3 GGUF models" in problem
    assert "llama-8b-Q4_K_M.gguf (4.6 GiB)" in problem
    assert "llama-8b-Q8_0.gguf (8.0 GiB)" in problem
    assert "llama-8b-F16.gguf (15.0 GiB)" in problem


def test_any_file_of_a_split_model_names_it() -> None:
    second = "Q4_K_M/llama-70b-Q4_K_M-00002-of-00002.gguf"
    chosen, problem = choose_model(GGUF_SPLIT_SIZES, second)
    assert problem is None and chosen is not None and chosen.name == GGUF_SPLIT_FIRST


def test_a_name_that_is_not_there_says_which_are() -> None:
    chosen, problem = choose_model(GGUF_QUANT_SIZES, "llama-8b-Q5_K_M.gguf")
    assert chosen is None and problem is not None
    assert "is not a GGUF model" in problem and "llama-8b-Q8_0.gguf (8.0 GiB)" in problem


@pytest.mark.parametrize(
    ("name", "bits"),
    [("m-Q4_K_M.gguf", 4.8), ("m-Q8_0.gguf", 8.5), ("m-F16.gguf", 16.0), ("m.IQ2_XS.gguf", 2.5), ("m.gguf", 4.8)],
)
def test_bits_per_weight_follow_the_quantization_in_the_name(name: str, bits: float) -> None:
    assert bits_per_weight(GgufModel(name, (name,), 1)) == bits


# ------------------------------------------------------------------------------------- headers
def test_the_header_gives_the_shape_after_skipping_the_vocabulary() -> None:
    facts = read_gguf_facts(llama_gguf(context=32768, layers=28, heads=28, kv_heads=4, embedding=3584))
    assert facts is not None
    assert (facts.architecture, facts.context_length, facts.block_count) == ("llama", 32768, 28)
    assert (facts.head_count, facts.head_count_kv, facts.embedding_length) == (28, 4, 3584)


def test_a_prefix_that_ends_early_keeps_what_it_read() -> None:
    header = gguf_bytes({"general.architecture": "qwen2", "qwen2.block_count": 24, "qwen2.context_length": 32768})
    facts = read_gguf_facts(header[: len(header) - 4])  # the last value is cut
    assert facts is not None and facts.architecture == "qwen2" and facts.block_count == 24
    assert facts.context_length is None


@pytest.mark.parametrize("data", [b"", b"GGML" + bytes(20), b"GGUF" + (1).to_bytes(4, "little") + bytes(16)])
def test_what_is_not_gguf_v2_or_v3_has_no_facts(data: bytes) -> None:
    assert read_gguf_facts(data) is None


def test_a_profile_from_gguf_files_is_sized_by_the_smallest_model() -> None:
    profile = gguf_profile(GGUF_QUANT_SIZES, read_gguf_facts(llama_gguf()))
    assert profile.weights_bytes == GGUF_QUANT_SIZES["llama-8b-Q4_K_M.gguf"]
    assert profile.weight_formats == ("gguf",)
    assert profile.kv_cache_bytes_per_token(2) == 2 * 32 * 8 * 128 * 2  # layers x kv heads x head dim, K and V
    assert profile.max_position_embeddings == 131072
    # Parameters estimated from 4.8 bits per weight of the Q4_K_M file: Llama-3-8B's 8.0B.
    assert 7.5e9 < profile.parameters < 8.6e9


# ------------------------------------------------------------------------------------- the Hub
def test_a_hub_gguf_repository_is_read_from_its_file_list_and_one_header(fake_hub: FakeHub, tmp_path: Path) -> None:
    context = tmp_path / "hub.context.json"
    fake_hub.clear()
    profile = lookup(fake_hub, GGUF_SINGLE_ID, context)
    assert profile.weight_formats == ("gguf",)
    assert profile.gguf_files == {GGUF_SINGLE_FILE: 4_920_734_016}
    assert profile.parameters == LLAMA8B_PARAMETERS  # the Hub's gguf summary
    assert (profile.num_layers, profile.num_key_value_heads, profile.max_position_embeddings) == (32, 8, 131072)
    assert profile.task == "text-generation"
    header_reads = [r for r in fake_hub.requests if r.path.endswith(".gguf")]
    assert len(header_reads) == 1 and header_reads[0].headers.get("Range", "").startswith("bytes=0-")


def test_a_hub_gguf_profile_is_cached_like_every_other(fake_hub: FakeHub, tmp_path: Path) -> None:
    context = tmp_path / "hub.context.json"
    first = lookup(fake_hub, GGUF_QUANTS_ID, context)
    entry = next(iter(json.loads(context.read_text()).values()))
    assert entry["gguf_files"] == GGUF_QUANT_SIZES
    fake_hub.clear()
    assert lookup(fake_hub, GGUF_QUANTS_ID, context) == first
    assert fake_hub.requests == []


def test_a_split_model_in_a_folder_is_read_from_its_first_file(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.clear()
    profile = lookup(fake_hub, GGUF_SPLIT_ID, tmp_path / "hub.context.json")
    assert profile.num_layers == 80 and profile.num_attention_heads == 64
    read = [r.path for r in fake_hub.requests if r.path.endswith(".gguf")]
    assert read == [f"/{GGUF_SPLIT_ID}/resolve/main/{GGUF_SPLIT_FIRST}"]  # the smallest model is the split one
    assert (
        profile.weights_bytes
        == GGUF_SPLIT_SIZES[GGUF_SPLIT_FIRST] + GGUF_SPLIT_SIZES["Q4_K_M/llama-70b-Q4_K_M-00002-of-00002.gguf"]
    )


# ------------------------------------------------------------------------------- local models
def sparse(path: Path, header: bytes, size: int) -> None:
    """A GGUF file of ``size`` bytes that takes no disk: its header, then a hole."""
    path.write_bytes(header)
    os.truncate(path, size)


def test_a_directory_of_gguf_files_is_profiled_from_its_smallest_model(tmp_path: Path) -> None:
    sparse(tmp_path / "m-Q4_K_M.gguf", llama_gguf(layers=28, heads=28, kv_heads=4, embedding=3584), 4_683_000_000)
    sparse(tmp_path / "m-Q8_0.gguf", llama_gguf(layers=28, heads=28, kv_heads=4, embedding=3584), 8_099_000_000)
    profile = profile_from_directory(tmp_path)
    assert profile.source == "directory"
    assert profile.weights_bytes == 4_683_000_000
    assert profile.num_layers == 28 and profile.gguf_files is not None and len(profile.gguf_files) == 2


def test_a_directory_with_other_weights_and_gguf_keeps_both(tmp_path: Path) -> None:
    directory = write_gguf_directory(
        tmp_path,
        {
            "config.json": json.dumps({"architectures": ["LlamaForCausalLM"], "torch_dtype": "float16"}).encode(),
            "pytorch_model.bin": bytes(1000),
            "gguf/llama-F16.gguf": llama_gguf(),
        },
    )
    profile = profile_from_directory(directory)
    assert "gguf" in profile.weight_formats and len(profile.weight_formats) > 1
    assert profile.gguf_files is not None and list(profile.gguf_files) == ["gguf/llama-F16.gguf"]


def test_an_archive_lists_its_members_and_reads_one_header(tmp_path: Path) -> None:
    from constructs_lib.model_data.sources import ModelData

    source = write_gguf_directory(tmp_path / "src", {"m-Q4_K_M.gguf": llama_gguf(layers=16), "README.md": b"x"})
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in source.iterdir():
            tar.add(path, arcname=f"./{path.name}")
    data = ModelData.parse(str(archive))
    files = data.local_files()
    assert files is not None and set(files) == {"m-Q4_K_M.gguf", "README.md"}
    header = data.read_file_prefix("m-Q4_K_M.gguf", 1 << 20)
    assert header is not None and read_gguf_facts(header) == read_gguf_facts(llama_gguf(layers=16))
    assert data.read_file_prefix("missing.gguf", 10) is None
