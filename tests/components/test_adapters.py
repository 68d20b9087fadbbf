"""LoRA adapters as inference components (components/adapters.py): S3 and local adapters, the base's LoRA settings
read from adapter_config.json, and every refusal."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack

from tests._tiny_models import build_lora_adapter

from ..support import SST2, error_of, resources, warnings_of
from .support import (
    COMPONENT,
    QWEN7B,
    component_named,
    depends_on,
    environment_of,
    logical_id,
    shared_endpoint,
    template_of,
)

ADAPTER_URI = "s3://my-bucket/adapters/sql.tar.gz"


def _with_chat(**chat: Any) -> tuple[Any, Any]:
    endpoint = shared_endpoint()
    return endpoint, endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", **chat)


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lora_adapter(tmp_path_factory.mktemp("adapter") / "sql", rank=32, base_model=QWEN7B)


def test_an_s3_adapter_names_its_base_and_artifact_and_reserves_nothing() -> None:
    endpoint, chat = _with_chat()
    sql = endpoint.add_adapter("Sql", base=chat, adapter_data=ADAPTER_URI)
    template = template_of(endpoint)
    adapter = component_named(template, "Sql")
    assert adapter["Specification"] == {
        "BaseInferenceComponentName": chat.component_name,
        "Container": {"ArtifactUrl": ADAPTER_URI},
    }
    assert "RuntimeConfig" not in adapter and adapter["InferenceComponentName"] == sql.component_name
    # The base's name is a plain string: the explicit dependency orders creation (and deletion) right.
    assert logical_id(template, COMPONENT, "Chat") in depends_on(template, logical_id(template, COMPONENT, "Sql"))
    assert sql.cfn_model is None and sql.base is chat and sql.serving_stack is chat.serving_stack
    environment = environment_of(chat)
    assert environment["SM_VLLM_ENABLE_LORA"] == "true"
    assert environment["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "true"
    assert "SM_VLLM_MAX_LORA_RANK" not in environment  # unknown rank: vLLM's default (16)
    assert warnings_of(sql, "The adapter's LoRA rank is not read from an archive")


def test_the_role_reads_the_s3_adapter() -> None:
    endpoint, chat = _with_chat()
    endpoint.add_adapter("Sql", base=chat, adapter_data=ADAPTER_URI)
    statements = [
        s
        for p in resources(template_of(endpoint), "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:GetObject"
    ]
    assert [json.dumps(s["Resource"]) for s in statements] == [
        json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::my-bucket/adapters/sql.tar.gz"]]})
    ]


def test_a_model_without_adapters_gets_no_lora_settings() -> None:
    _, chat = _with_chat()
    assert not {"SM_VLLM_ENABLE_LORA", "VLLM_ALLOW_RUNTIME_LORA_UPDATING"} & set(environment_of(chat))


def test_a_local_adapter_is_packaged_with_its_files_at_the_root_and_its_rank_read(adapter_dir: Path) -> None:
    endpoint, chat = _with_chat()
    sql = endpoint.add_adapter("Sql", base=chat, adapter_data=str(adapter_dir))
    assert environment_of(chat)["SM_VLLM_MAX_LORA_RANK"] == "32"
    url = Stack.of(sql).resolve(sql.cfn_inference_component.specification)["container"]["artifactUrl"]
    assert url.startswith("s3://cdk-hnb659fds-assets-") and url.endswith(".gz")
    assembly = Stack.of(sql).node.root.synth()  # type: ignore[attr-defined]
    archive = Path(assembly.directory) / next(
        p.name for p in Path(assembly.directory).iterdir() if p.name.startswith("asset.") and p.suffix == ".gz"
    )
    with tarfile.open(archive) as packed:
        names = {name.removeprefix("./") for name in packed.getnames()} - {"", "."}
    assert names == {"adapter_config.json", "adapter_model.safetensors"}
    assert not warnings_of(sql, "LoRA rank is not read")


def test_the_base_gets_the_smallest_vllm_rank_that_holds_every_adapter(tmp_path: Path) -> None:
    endpoint, chat = _with_chat()
    endpoint.add_adapter(
        "Small", base=chat, adapter_data=str(build_lora_adapter(tmp_path / "a", rank=8, base_model=QWEN7B))
    )
    endpoint.add_adapter(
        "Odd", base=chat, adapter_data=str(build_lora_adapter(tmp_path / "b", rank=20, base_model=QWEN7B))
    )
    assert environment_of(chat)["SM_VLLM_MAX_LORA_RANK"] == "32"  # 20 is not a rank vLLM takes; 32 is the next


def test_a_rank_above_what_vllm_loads_is_refused(tmp_path: Path) -> None:
    endpoint, chat = _with_chat()
    high = build_lora_adapter(tmp_path / "high", rank=600, base_model=QWEN7B)
    error = error_of(lambda: endpoint.add_adapter("High", base=chat, adapter_data=str(high)))
    assert "a LoRA rank of 600 is above 512, the largest vLLM loads" in error
    assert endpoint.node.try_find_child("High") is None


def test_a_max_lora_rank_below_an_adapters_rank_is_refused(adapter_dir: Path) -> None:
    endpoint, chat = _with_chat(engine_args={"max_lora_rank": 16})
    error = error_of(lambda: endpoint.add_adapter("Sql", base=chat, adapter_data=str(adapter_dir)))
    assert "engine_args['max_lora_rank']: 16 is below the rank of an adapter of this base (32" in error


def test_a_base_on_another_server_is_refused() -> None:
    endpoint = shared_endpoint()
    sentiment = endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")
    error = error_of(lambda: endpoint.add_adapter("Sql", base=sentiment, adapter_data=ADAPTER_URI))
    assert (
        "base: 'Sentiment' is served by the inference toolkit, which does not load LoRA adapters at run time; an "
        "adapter's base must be served by vLLM"
    ) in error


def test_a_base_with_lora_switched_off_is_refused() -> None:
    endpoint, chat = _with_chat(engine_args={"enable_lora": False})
    error = error_of(lambda: endpoint.add_adapter("Sql", base=chat, adapter_data=ADAPTER_URI))
    assert "has engine_args={'enable_lora': False}, and adapters need it on" in error


def test_the_base_must_be_a_model_component_of_this_endpoint() -> None:
    endpoint, chat = _with_chat()
    sql = endpoint.add_adapter("Sql", base=chat, adapter_data=ADAPTER_URI)
    assert "base: 'Sql' is an adapter; an adapter's base is a model component" in error_of(
        lambda: endpoint.add_adapter("Nested", base=sql, adapter_data=ADAPTER_URI)
    )
    _, elsewhere = _with_chat()
    assert "must be a component of this endpoint" in error_of(
        lambda: endpoint.add_adapter("Other", base=elsewhere, adapter_data=ADAPTER_URI)
    )


@pytest.mark.parametrize(
    ("adapter_data", "message"),
    [
        ("s3://my-bucket/adapters/", "is an S3 prefix, and an adapter's ArtifactUrl must be a .tar.gz"),
        ("https://example.com/a.tar.gz", "adapter_data"),
    ],
)
def test_bad_adapter_data_is_refused(adapter_data: str, message: str) -> None:
    endpoint, chat = _with_chat()
    assert message in error_of(lambda: endpoint.add_adapter("Sql", base=chat, adapter_data=adapter_data))


def test_a_directory_without_adapter_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "weights.safetensors").write_bytes(b"")
    endpoint, chat = _with_chat()
    error = error_of(lambda: endpoint.add_adapter("Sql", base=chat, adapter_data=str(tmp_path)))
    assert "has no adapter_config.json, so it is not a PEFT adapter directory" in error


def test_an_adapter_config_without_a_rank_is_refused(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "PREFIX_TUNING"}))
    endpoint, chat = _with_chat()
    error = error_of(lambda: endpoint.add_adapter("Sql", base=chat, adapter_data=str(tmp_path)))
    assert "has no LoRA rank ('r' is None): only LoRA adapters load into a base at run time" in error


def test_every_component_waits_for_the_role_policy_that_grants_its_artifacts() -> None:
    # An adapter added by an update must not start before the policy update that lets it read its artifact.
    endpoint = shared_endpoint()
    chat = endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation")
    endpoint.add_adapter("Sql", base=chat, adapter_data="s3://my-bucket/adapters/sql.tar.gz")
    resources = template_of(endpoint).to_json()["Resources"]
    (policy,) = (k for k, v in resources.items() if v["Type"] == "AWS::IAM::Policy")
    components = [v for v in resources.values() if v["Type"] == "AWS::SageMaker::InferenceComponent"]
    assert len(components) == 2
    assert all(policy in component.get("DependsOn", []) for component in components)
