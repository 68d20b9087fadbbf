"""Hub lookups (``model.hub_lookup``): profiles from the (fake) Hub through the real huggingface_hub client,
cached, offline, gated, missing."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.model.context_file import context_key
from constructs_lib.model.hub_lookup import lookup_hub_profile

from ..fake_hub import (
    BERT_ID,
    BERT_PARAMETERS,
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
)
from ..support import (
    lookup,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")


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


def test_unreachable_hub_is_reported_as_offline(context: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With huggingface_hub 2.x this was a raw httpx2.ConnectError; every client's failure is this error.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ConfigurationError) as error:
        lookup_hub_profile(LLAMA8B_ID, context_file=context)
    message = str(error.value)
    assert (
        f"could not reach the Hugging Face Hub at http://127.0.0.1:{port} (HF_ENDPOINT): connection failed (" in message
    )
    assert f"{str(context)!r} has no cached answer for 'hub:{LLAMA8B_ID}@main'" in message
    assert not context.exists()


def test_without_hf_endpoint_the_message_names_the_default_hub_and_how_to_change_it(
    context: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_ENDPOINT")  # huggingface_hub's default is what it read at import (conftest: port 9)
    with pytest.raises(ConfigurationError) as error:
        lookup_hub_profile(LLAMA8B_ID, context_file=context)
    expected = f"{constants.ENDPOINT} (the default; set HF_ENDPOINT to use another Hub or a mirror): connection failed"
    assert expected in str(error.value)


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


def test_bin_only_repository_falls_back_to_file_sizes(fake_hub: FakeHub, context: Path) -> None:
    profile = lookup(fake_hub, BIN_ID, context)
    assert profile.weights_bytes == BIN_SIZE  # training_args.bin is not counted
    assert profile.parameters_by_dtype is None
    assert profile.dtype == "float32"
    assert profile.parameters == BIN_SIZE // 4
    assert profile.weights_gib() == pytest.approx(BIN_SIZE / 2**30)


@pytest.mark.parametrize("entry", [[1, 2], "8B", 42, {"parameters": "many"}])
def test_malformed_cache_entry_says_to_delete_it(context: Path, entry: object) -> None:
    context.parent.mkdir(parents=True)
    context.write_text(json.dumps({context_key(BERT_ID, None): entry}))
    with pytest.raises(ConfigurationError, match=f"entry 'hub:{BERT_ID}@main' is invalid.*delete it"):
        lookup_hub_profile(BERT_ID, context_file=context, endpoint="http://127.0.0.1:9")


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
