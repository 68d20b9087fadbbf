"""Model profiles: from the (fake) Hub through the real huggingface_hub client, and from local directories."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path
from typing import Any

import pytest

from constructs_lib._core.errors import ConfigurationError
from constructs_lib.model.context_file import CONTEXT_FILE_ENV, context_key, default_context_file
from constructs_lib.model.hub_lookup import HubLookup, lookup_hub_profile
from constructs_lib.model.local import profile_from_directory
from constructs_lib.model.profile import ModelProfile
from tests.fake_hub import (
    BERT_ID,
    BERT_PARAMETERS,
    BERT_TENSORS,
    BGE_ID,
    BGE_PARAMETERS,
    BIN_ID,
    BIN_SIZE,
    GATED_ID,
    LLAMA8B_ID,
    LLAMA8B_PARAMETERS,
    LLAMA70B_ID,
    LLAMA70B_PARAMETERS,
    MISSING_ID,
    MIXTRAL_ID,
    MIXTRAL_PARAMETERS,
    TOKEN,
    FakeHub,
    safetensors_bytes,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")


@pytest.fixture
def context(tmp_path: Path) -> Path:
    return tmp_path / "app" / "hub.context.json"


def lookup(fake_hub: FakeHub, model_id: str, context: Path, **kwargs: Any) -> ModelProfile:
    return lookup_hub_profile(model_id, context_file=context, endpoint=fake_hub.url, **kwargs)


# --------------------------------------------------------------------------- Hub profiles


@pytest.mark.parametrize(
    ("model_id", "parameters", "dtype", "layers", "heads", "kv_heads", "experts", "task"),
    [
        (BERT_ID, BERT_PARAMETERS, "float32", 12, 12, None, None, "text-classification"),
        (LLAMA8B_ID, LLAMA8B_PARAMETERS, "bfloat16", 32, 32, 8, None, "text-generation"),
        (LLAMA70B_ID, LLAMA70B_PARAMETERS, "bfloat16", 80, 64, 8, None, "text-generation"),
        (MIXTRAL_ID, MIXTRAL_PARAMETERS, "bfloat16", 32, 32, 8, 8, "text-generation"),
        (BGE_ID, BGE_PARAMETERS, "float32", 24, 16, None, None, "feature-extraction"),
    ],
)
def test_hub_profiles(
    fake_hub: FakeHub,
    context: Path,
    model_id: str,
    parameters: int,
    dtype: str,
    layers: int,
    heads: int,
    kv_heads: int | None,
    experts: int | None,
    task: str,
) -> None:
    profile = lookup(fake_hub, model_id, context)
    assert profile.parameters == parameters
    assert profile.dtype == dtype
    assert profile.parameters_by_dtype == {dtype: parameters}
    assert (profile.num_layers, profile.num_attention_heads, profile.num_key_value_heads) == (layers, heads, kv_heads)
    assert profile.num_experts == experts
    assert profile.task == task
    assert profile.model_id == model_id
    assert profile.source == "hub"
    assert not profile.gated


def test_bert_profile_is_read_from_the_safetensors_header_with_a_range_request(
    fake_hub: FakeHub, context: Path
) -> None:
    fake_hub.clear()
    profile = lookup(fake_hub, BERT_ID, context)
    assert profile.parameters == BERT_PARAMETERS
    ranged = [r for r in fake_hub.requests if r.method == "GET" and r.path.endswith("/model.safetensors")]
    assert ranged and ranged[0].headers.get("range", ranged[0].headers.get("Range", "")).startswith("bytes=0-")


def test_gqa_and_head_dim(fake_hub: FakeHub, context: Path) -> None:
    llama = lookup(fake_hub, LLAMA8B_ID, context)
    assert llama.head_dim == 128
    # 2 (K and V) x 32 layers x 8 kv heads x 128 dims x 2 bytes
    assert llama.kv_cache_bytes_per_token() == 131072
    big = lookup(fake_hub, LLAMA70B_ID, context)
    assert big.head_dim is None and big.effective_head_dim == 8192 // 64
    assert big.kv_cache_bytes_per_token() == 2 * 80 * 8 * 128 * 2


def test_answers_are_cached_and_reused_offline_without_any_request(
    fake_hub: FakeHub, context: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = lookup(fake_hub, LLAMA8B_ID, context)
    lookup(fake_hub, BGE_ID, context)
    data = json.loads(context.read_text())
    assert list(data) == sorted(data) == [context_key(BGE_ID, None), context_key(LLAMA8B_ID, None)]
    assert data["hub:fake-org/llama-8b-instruct@main"]["parameters"] == LLAMA8B_PARAMETERS
    assert context.read_text() == json.dumps(data, indent=2, sort_keys=True) + "\n"

    fake_hub.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = lookup(fake_hub, LLAMA8B_ID, context)
    assert again == first
    assert fake_hub.requests == []


def test_cache_hit_makes_no_request_even_online(fake_hub: FakeHub, context: Path) -> None:
    lookup(fake_hub, MIXTRAL_ID, context)
    fake_hub.clear()
    assert lookup(fake_hub, MIXTRAL_ID, context).num_experts == 8
    assert fake_hub.requests == []


def test_cache_write_merges_with_existing_entries(fake_hub: FakeHub, context: Path) -> None:
    context.parent.mkdir(parents=True)
    context.write_text(json.dumps({"hub:someone/else@v1": ModelProfile(parameters=5).to_json()}))
    lookup(fake_hub, BGE_ID, context)
    data = json.loads(context.read_text())
    assert set(data) == {"hub:someone/else@v1", "hub:fake-org/bge-large@main"}
    assert (
        lookup_hub_profile("someone/else", revision="v1", context_file=context, endpoint=fake_hub.url).parameters == 5
    )


def test_offline_without_cache_is_a_clear_error(
    fake_hub: FakeHub, context: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_hub.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError) as error:
        lookup(fake_hub, LLAMA8B_ID, context)
    text = str(error.value)
    assert LLAMA8B_ID in text
    assert "could not reach the Hugging Face Hub" in text
    assert "cdk synth" in text and "python -m constructs_lib recommend" in text and "model_profile=" in text
    assert fake_hub.requests == []
    assert not context.exists()


def test_offline_via_huggingface_hub_constant(
    fake_hub: FakeHub, context: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigurationError, match="could not reach the Hugging Face Hub"):
        lookup(fake_hub, BGE_ID, context)


def test_unreachable_hub_is_reported_as_offline(context: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConfigurationError) as error:
        lookup_hub_profile(LLAMA8B_ID, context_file=context, endpoint=f"http://127.0.0.1:{port}")
    assert "could not reach the Hugging Face Hub" in str(error.value)
    assert "connection failed" in str(error.value)
    assert not context.exists()


def test_gated_model_without_token_is_an_error(fake_hub: FakeHub, context: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        lookup(fake_hub, GATED_ID, context)
    assert GATED_ID in str(error.value)
    assert "gated" in str(error.value) and "hf_token_secret" in str(error.value)
    assert not context.exists()


def test_gated_model_with_a_token_that_has_no_access(fake_hub: FakeHub, context: Path) -> None:
    # The token passes the early check; the Hub then answers 401 GatedRepo (GatedRepoError).
    with pytest.raises(ConfigurationError, match=r"is gated on the Hugging Face Hub.*hf_token_secret"):
        lookup(fake_hub, GATED_ID, context, token="hf_no_access")


def test_gated_model_with_token(fake_hub: FakeHub, context: Path) -> None:
    fake_hub.clear()
    profile = lookup(fake_hub, GATED_ID, context, token=TOKEN)
    assert profile.gated
    assert profile.num_key_value_heads == 8 and profile.head_dim == 64
    assert any(
        r.headers.get("authorization") == f"Bearer {TOKEN}" or r.headers.get("Authorization") == f"Bearer {TOKEN}"
        for r in fake_hub.requests
    )


def test_missing_repository(fake_hub: FakeHub, context: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        lookup(fake_hub, MISSING_ID, context)
    assert f"{MISSING_ID!r} was not found on the Hugging Face Hub" in str(error.value)
    assert "spelling" in str(error.value)
    assert not context.exists()


def test_missing_revision(fake_hub: FakeHub, context: Path) -> None:
    with pytest.raises(ConfigurationError, match="revision: 'v9' was not found"):
        lookup(fake_hub, LLAMA8B_ID, context, revision="v9")


def test_revision_is_part_of_the_cache_key(fake_hub: FakeHub, context: Path) -> None:
    profile = lookup(fake_hub, LLAMA8B_ID, context, revision="main")
    assert profile.revision == "main"
    assert "hub:fake-org/llama-8b-instruct@main" in json.loads(context.read_text())


def test_bin_only_repository_falls_back_to_file_sizes(fake_hub: FakeHub, context: Path) -> None:
    profile = lookup(fake_hub, BIN_ID, context)
    assert profile.weights_bytes == BIN_SIZE  # training_args.bin is not counted
    assert profile.parameters_by_dtype is None
    assert profile.dtype == "float32"
    assert profile.parameters == BIN_SIZE // 4
    assert profile.weights_gib() == pytest.approx(BIN_SIZE / 2**30)


# --------------------------------------------------------------------------- context file location


def test_default_context_file_is_next_to_cdk_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONTEXT_FILE_ENV, raising=False)
    (tmp_path / "cdk.json").write_text("{}")
    nested = tmp_path / "stacks" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert default_context_file() == tmp_path.resolve() / "hub.context.json"
    monkeypatch.setenv(CONTEXT_FILE_ENV, str(tmp_path / "elsewhere.json"))
    assert default_context_file() == tmp_path / "elsewhere.json"
    assert HubLookup().context_file == tmp_path / "elsewhere.json"


def test_default_context_file_without_cdk_json_is_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONTEXT_FILE_ENV, raising=False)
    assert default_context_file(tmp_path) == tmp_path.resolve() / "hub.context.json"


def test_corrupt_context_file_is_reported(context: Path) -> None:
    context.parent.mkdir(parents=True)
    context.write_text("{not json")
    with pytest.raises(ConfigurationError, match="is not valid JSON"):
        lookup_hub_profile(BERT_ID, context_file=context, endpoint="http://127.0.0.1:9")


@pytest.mark.parametrize("entry", [[1, 2], "8B", 42, {"parameters": "many"}])
def test_malformed_cache_entry_says_to_delete_it(context: Path, entry: object) -> None:
    context.parent.mkdir(parents=True)
    context.write_text(json.dumps({context_key(BERT_ID, None): entry}))
    with pytest.raises(ConfigurationError, match=f"entry 'hub:{BERT_ID}@main' is invalid.*delete it"):
        lookup_hub_profile(BERT_ID, context_file=context, endpoint="http://127.0.0.1:9")


# --------------------------------------------------------------------------- ModelProfile


def test_profile_validation_names_the_field() -> None:
    with pytest.raises(ConfigurationError, match=r"model_profile\.parameters: 0 must be a positive integer"):
        ModelProfile(parameters=0)
    with pytest.raises(ConfigurationError, match=r"model_profile\.dtype: 'fp64' is not allowed"):
        ModelProfile(parameters=10, dtype="fp64")
    with pytest.raises(ConfigurationError, match=r"model_profile\.num_layers"):
        ModelProfile(parameters=10, num_layers=-1)


def test_profile_task_must_be_a_known_task() -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, task="classify")
    assert "model_profile.task: 'classify' is not a known Hugging Face task; allowed: " in str(error.value)
    assert ModelProfile(parameters=10, task=None).task is None
    assert ModelProfile(parameters=10, task="sentiment-analysis").task == "sentiment-analysis"


@pytest.mark.parametrize("name", ["gated", "private"])
def test_profile_gated_and_private_must_be_bools(name: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, **{name: "no"})
    assert f"model_profile.{name}: 'no' must be True or False" in str(error.value)
    with pytest.raises(ConfigurationError, match=rf"model_profile\.{name}: 1 must be True or False"):
        ModelProfile(parameters=10, **{name: 1})


@pytest.mark.parametrize("count", [0, -5, True, 1.5, "10"])
def test_profile_parameters_by_dtype_counts_must_be_positive_integers(count: Any) -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, parameters_by_dtype={"bfloat16": count})
    assert f"model_profile.parameters_by_dtype['bfloat16']: {count!r} must be a positive integer" in str(error.value)


def test_profile_parameters_by_dtype_keys_must_be_known_dtypes() -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelProfile(parameters=10, parameters_by_dtype={"fp64": 10})
    assert "model_profile.parameters_by_dtype: dtypes ['fp64'] are unknown; allowed: " in str(error.value)


def test_profile_json_round_trip() -> None:
    profile = ModelProfile(
        parameters=1000,
        dtype="float16",
        parameters_by_dtype={"float16": 900, "float32": 100},
        num_layers=2,
        num_attention_heads=4,
        model_id="a/b",
        source="hub",
    )
    restored = ModelProfile.from_json(json.loads(json.dumps(profile.to_json())))
    assert restored == profile
    assert restored.stored_weights_bytes == 900 * 2 + 100 * 4


def test_weights_and_quantized_weights() -> None:
    profile = ModelProfile(parameters=2**30, dtype="bfloat16")
    assert profile.weights_gib() == 2.0
    assert profile.weights_gib("awq") == pytest.approx(0.55)
    assert profile.weights_gib("fp8") == pytest.approx(1.05)
    explicit = ModelProfile(parameters=2**30, weights_bytes=3 * 2**30)
    assert explicit.weights_gib() == 3.0


def test_kv_cache_defaults() -> None:
    mha = ModelProfile(parameters=10, num_layers=2, num_attention_heads=4, hidden_size=64)
    assert mha.kv_cache_bytes_per_token() == 2 * 2 * 4 * 16 * 2
    assert mha.kv_cache_bytes_per_token(dtype_bytes=1) == 2 * 2 * 4 * 16
    assert ModelProfile(parameters=10).kv_cache_bytes_per_token() is None


# --------------------------------------------------------------------------- local directories


def _write_config(directory: Path, config: dict[str, Any]) -> None:
    (directory / "config.json").write_text(json.dumps(config))


def test_profile_from_directory_single_file(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes(BERT_TENSORS, with_data=False))
    _write_config(
        tmp_path,
        {
            "architectures": ["BertForSequenceClassification"],
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "hidden_size": 768,
            "max_position_embeddings": 512,
        },
    )
    profile = profile_from_directory(tmp_path)
    assert profile.parameters == BERT_PARAMETERS
    assert profile.dtype == "float32"
    assert profile.source == "directory"
    assert profile.architecture == "BertForSequenceClassification"


def test_profile_from_directory_written_by_the_safetensors_package(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    from safetensors.numpy import save_file

    save_file(
        {"a": np.zeros((4, 8), dtype=np.float16), "b": np.zeros((3,), dtype=np.float32)},
        str(tmp_path / "model.safetensors"),
    )
    profile = profile_from_directory(tmp_path)
    assert profile.parameters_by_dtype == {"float16": 32, "float32": 3}
    assert profile.dtype == "float16"
    assert profile.stored_weights_bytes == 32 * 2 + 3 * 4


def test_profile_from_sharded_directory_with_index(tmp_path: Path) -> None:
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(
        safetensors_bytes({"x": ("BF16", [100, 10]), "y": ("BF16", [10])}, with_data=True)
    )
    (tmp_path / "model-00002-of-00002.safetensors").write_bytes(
        safetensors_bytes({"z": ("BF16", [50, 2])}, with_data=True)
    )
    (tmp_path / "stray.safetensors").write_bytes(safetensors_bytes({"ignored": ("F32", [1000])}))
    index = {
        "metadata": {"total_size": 2220},
        "weight_map": {
            "x": "model-00001-of-00002.safetensors",
            "y": "model-00001-of-00002.safetensors",
            "z": "model-00002-of-00002.safetensors",
        },
    }
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    profile = profile_from_directory(tmp_path)
    assert profile.parameters == 1000 + 10 + 100
    assert profile.parameters_by_dtype == {"bfloat16": 1110}


def test_profile_from_sharded_directory_without_index(tmp_path: Path) -> None:
    (tmp_path / "a.safetensors").write_bytes(safetensors_bytes({"x": ("F16", [10, 10])}))
    (tmp_path / "b.safetensors").write_bytes(safetensors_bytes({"y": ("F16", [5])}))
    assert profile_from_directory(tmp_path).parameters == 105


def test_missing_shard_is_reported(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"x": "gone.safetensors"}}))
    with pytest.raises(ConfigurationError, match="missing shards"):
        profile_from_directory(tmp_path)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024},  # GPT-2
            {"num_layers": 12, "num_attention_heads": 12, "hidden_size": 768, "max_position_embeddings": 1024},
        ),
        (
            {"n_layers": 6, "n_heads": 12, "dim": 768, "max_position_embeddings": 512},  # DistilBERT
            {"num_layers": 6, "num_attention_heads": 12, "hidden_size": 768, "max_position_embeddings": 512},
        ),
        (
            {
                "architectures": ["LlavaForConditionalGeneration"],  # multimodal: the language model's shape
                "text_config": {
                    "num_hidden_layers": 32,
                    "num_attention_heads": 32,
                    "num_key_value_heads": 8,
                    "hidden_size": 4096,
                    "max_position_embeddings": 8192,
                },
            },
            {"num_layers": 32, "num_key_value_heads": 8, "architecture": "LlavaForConditionalGeneration"},
        ),
        (
            {"num_hidden_layers": 61, "num_attention_heads": 128, "n_routed_experts": 256},  # DeepSeek-style MoE
            {"num_experts": 256},
        ),
        (
            {"num_hidden_layers": 32, "num_attention_heads": 32, "num_local_experts": 8},  # Mixtral-style MoE
            {"num_experts": 8},
        ),
    ],
)
def test_config_aliases(tmp_path: Path, config: dict[str, Any], expected: dict[str, Any]) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes({"w": ("BF16", [8, 8])}))
    _write_config(tmp_path, config)
    profile = profile_from_directory(tmp_path)
    for name, value in expected.items():
        assert getattr(profile, name) == value, name


def test_quantized_checkpoint_is_int4(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(
        safetensors_bytes({"qweight": ("I32", [512, 4096]), "scales": ("F16", [32, 4096])})
    )
    _write_config(tmp_path, {"quantization_config": {"quant_method": "awq", "bits": 4}, "torch_dtype": "float16"})
    profile = profile_from_directory(tmp_path)
    assert profile.dtype == "int4"
    assert profile.stored_weights_bytes == 512 * 4096 * 4 + 32 * 4096 * 2
    # Each int32 element packs eight 4-bit weights: the parameter count is that of the original model.
    assert profile.parameters == 512 * 4096 * 8 + 32 * 4096
    assert profile.parameters_by_dtype == {"int4": 512 * 4096 * 8, "float16": 32 * 4096}


def test_8bit_gptq_checkpoint_packs_four_weights_per_int32(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes({"qweight": ("I32", [256, 1024])}))
    _write_config(tmp_path, {"quantization_config": {"quant_method": "gptq", "bits": 8}})
    profile = profile_from_directory(tmp_path)
    assert (profile.dtype, profile.parameters) == ("int8", 256 * 1024 * 4)
    assert profile.stored_weights_bytes == 256 * 1024 * 4


@pytest.mark.parametrize(("method", "bits"), [("exl2", 4.0), ("exl2", 4.65), ("gptq", 3), ("awq", 4.0)])
def test_other_quantized_formats_build_a_profile(tmp_path: Path, method: str, bits: float) -> None:
    (tmp_path / "model.safetensors").write_bytes(
        safetensors_bytes({"q": ("I32", [512, 1024]), "scales": ("F16", [8, 1024])})
    )
    _write_config(tmp_path, {"quantization_config": {"quant_method": method, "bits": bits}})
    profile = profile_from_directory(tmp_path)
    assert profile.dtype == "int4"
    assert profile.stored_weights_bytes == 512 * 1024 * 4 + 8 * 1024 * 2  # the bytes on disk, whatever the packing


def test_int32_tensors_of_an_unquantized_model_are_not_unpacked(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(
        safetensors_bytes({"w": ("BF16", [64, 64]), "position_ids": ("I32", [1, 512])})
    )
    _write_config(tmp_path, {"torch_dtype": "bfloat16"})
    assert profile_from_directory(tmp_path).parameters == 64 * 64 + 512


def test_bin_only_directory_uses_file_sizes_and_torch_dtype(tmp_path: Path) -> None:
    (tmp_path / "pytorch_model-00001-of-00002.bin").write_bytes(b"\0" * 3000)
    (tmp_path / "pytorch_model-00002-of-00002.bin").write_bytes(b"\0" * 1000)
    (tmp_path / "training_args.bin").write_bytes(b"\0" * 500)
    _write_config(tmp_path, {"torch_dtype": "float16", "num_hidden_layers": 2})
    profile = profile_from_directory(tmp_path)
    assert profile.weights_bytes == 4000
    assert profile.dtype == "float16"
    assert profile.parameters == 2000


@pytest.mark.parametrize("header", [b"{not json", b"\xff\xfe\x00garbage"])
def test_corrupt_safetensors_header_is_a_clear_error(tmp_path: Path, header: bytes) -> None:
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ConfigurationError, match="has a safetensors header that is not JSON"):
        profile_from_directory(tmp_path)


def test_directory_without_weights_is_an_error(tmp_path: Path) -> None:
    _write_config(tmp_path, {"num_hidden_layers": 2})
    with pytest.raises(ConfigurationError, match="no weights found"):
        profile_from_directory(tmp_path)


def test_unknown_pipeline_tag_is_not_used_as_task(tmp_path: Path) -> None:
    from tests.fake_hub import BERT_TENSORS, FakeRepo, safetensors_bytes

    ranker = FakeRepo(
        "fake-org/reranker",
        {"config.json": b'{"model_type": "bert"}', "model.safetensors": safetensors_bytes(BERT_TENSORS)},
        info={"pipeline_tag": "text-ranking"},
    )
    with FakeHub([ranker]) as hub:
        profile = lookup_hub_profile("fake-org/reranker", context_file=tmp_path / "h.json", endpoint=hub.url)
    assert profile.task is None
    assert profile.parameters > 0
