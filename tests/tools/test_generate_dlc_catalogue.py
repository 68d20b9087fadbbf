"""tools/generate_dlc_catalogue.py: it refuses what it does not understand, it is deterministic, and the
catalogue shipped in the package is what it generates from the pinned sagemaker-core.

Each refusal test copies the installed SDK's ``huggingface*.json`` configs to a temporary directory, breaks one
thing, and points the generator there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools import generate_dlc_catalogue as gen
from tools.dlc_rules import CatalogueError

SHIPPED = Path(__file__).parents[2] / "constructs_lib" / "catalogue" / "_data" / "dlc_catalogue.json"


def test_the_shipped_catalogue_is_what_the_generator_writes() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == gen.render(gen.build_catalogue())


@pytest.fixture
def configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = Path(str(gen._config_dir()))
    for path in source.glob("huggingface*.json"):
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(gen, "_config_dir", lambda: tmp_path)
    return tmp_path


def _edit(configs: Path, family: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = configs / f"{family}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _fails(match: str) -> None:
    with pytest.raises(CatalogueError, match=match):
        gen.build_catalogue()


def test_same_input_gives_identical_bytes(configs: Path) -> None:
    assert gen.render(gen.build_catalogue()) == gen.render(gen.build_catalogue())


def test_unknown_family_file_is_an_error(configs: Path) -> None:
    shutil.copy(configs / "huggingface-vllm.json", configs / "huggingface-vllm-rocm.json")
    _fails("no tag rule for SDK families huggingface-vllm-rocm")


def test_missing_family_file_is_an_error(configs: Path) -> None:
    (configs / "huggingface-sglang.json").unlink()
    _fails("huggingface-sglang.json is not in the installed")


def test_unknown_version_field_is_an_error(configs: Path) -> None:
    _edit(configs, "huggingface-vllm", lambda d: d["inference"]["versions"]["0.29.0"].update(processor_in_tag=False))
    _fails(r"huggingface-vllm 0.29.0: fields not understood .*processor_in_tag")


def test_several_py_versions_are_an_error(configs: Path) -> None:
    _edit(
        configs,
        "huggingface-sglang",
        lambda d: d["inference"]["versions"]["0.5.8"].update(py_versions=["py311", "py312"]),
    )
    _fails("py_versions .* is not a list of exactly one value")


def test_unknown_base_framework_is_an_error(configs: Path) -> None:
    def add_jax(data: dict[str, Any]) -> None:
        version = data["inference"]["versions"]["5.5.3"]
        version["jax0.4.0"] = version["pytorch2.6.0"]

    _edit(configs, "huggingface", add_jax)
    _fails("base framework 'jax'")


def test_unexpected_repository_is_an_error(configs: Path) -> None:
    _edit(configs, "huggingface-vllm-neuronx", lambda d: d["inference"]["versions"]["0.4.4"].update(repository="x"))
    _fails("repository 'x' is not the rule's")


def test_new_processor_is_an_error(configs: Path) -> None:
    _edit(configs, "huggingface-vllm", lambda d: d["inference"].update(processors=["gpu", "cpu"]))
    _fails("processors .* differ from the rule's")


def test_unparsable_container_version_is_an_error(configs: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["inference"]["versions"]["0.29.0"]["container_version"] = {"gpu": "cu130-amzn2023-sagemaker"}

    _edit(configs, "huggingface-vllm", change)
    _fails("container_version 'cu130-amzn2023-sagemaker' for gpu is not understood")


def test_conflicting_accounts_are_an_error(configs: Path) -> None:
    _edit(
        configs,
        "huggingface-sglang",
        lambda d: d["inference"]["versions"]["0.5.8"]["registries"].update({"us-east-1": "111111111111"}),
    )
    _fails("us-east-1 account 111111111111 differs from 763104351884")


def test_dangling_alias_is_an_error(configs: Path) -> None:
    _edit(configs, "huggingface-sglang", lambda d: d["inference"]["version_aliases"].update({"0.6": "0.6.0"}))
    _fails("alias '0.6' -> '0.6.0' names no catalogued version")


def test_cli_exits_1_with_a_message(configs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (configs / "huggingface-llm.json").write_text(json.dumps({"inference": {"versions": {}}}))
    assert gen.main(["--output", str(tmp_path / "out.json")]) == 1
    assert "generate_dlc_catalogue: error: huggingface-llm inference: keys not understood" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()


def test_check_mode(configs: Path, tmp_path: Path) -> None:
    output = tmp_path / "catalogue.json"
    assert gen.main(["--output", str(output), "--check"]) == 1
    assert gen.main(["--output", str(output)]) == 0
    assert gen.main(["--output", str(output), "--check"]) == 0
