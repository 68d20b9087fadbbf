"""The ``hub.context.json`` file (``model.context_file``): where it is, its keys, merged writes, corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError, ModelProfile
from constructs_lib.model.context_file import CONTEXT_FILE_ENV, default_context_file
from constructs_lib.model.hub_lookup import HubLookup, lookup_hub_profile

from ..fake_hub import (
    BERT_ID,
    BGE_ID,
    LLAMA8B_ID,
    FakeHub,
)
from ..support import (
    lookup,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")


def test_cache_write_merges_with_existing_entries(fake_hub: FakeHub, context: Path) -> None:
    context.parent.mkdir(parents=True)
    context.write_text(json.dumps({"hub:someone/else@v1": ModelProfile(parameters=5).to_json()}))
    lookup(fake_hub, BGE_ID, context)
    data = json.loads(context.read_text())
    assert set(data) == {"hub:someone/else@v1", "hub:fake-org/bge-large@main"}
    assert (
        lookup_hub_profile("someone/else", revision="v1", context_file=context, endpoint=fake_hub.url).parameters == 5
    )


def test_revision_is_part_of_the_cache_key(fake_hub: FakeHub, context: Path) -> None:
    profile = lookup(fake_hub, LLAMA8B_ID, context, revision="main")
    assert profile.revision == "main"
    assert "hub:fake-org/llama-8b-instruct@main" in json.loads(context.read_text())


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
