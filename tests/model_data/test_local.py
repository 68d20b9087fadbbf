"""Local model data (``model_data.local``): archives and directories staged as ``model.tar.gz`` file assets, with a
script under ``code/``."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from constructs_lib import (
    CustomScriptEndpoint,
    FineTunedEndpoint,
)

from ..support import (
    SST2,
    container,
    new_stack,
)


def _asset_archive(stack: Any) -> Path:
    """The staged file of the endpoint's model artifact asset."""
    from aws_cdk import aws_s3_assets as s3_assets

    (asset,) = [c for c in stack.node.find_all() if isinstance(c, s3_assets.Asset) and c.node.id == "ModelArtifact"]
    return Path(stack.node.root.outdir) / asset.asset_path


def _members(archive: Path) -> list[str]:
    import tarfile

    with tarfile.open(archive, mode="r:gz") as tar:
        return [member.name for member in tar.getmembers() if member.isfile()]


def test_fine_tuned_local_archive_becomes_a_file_asset(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    (tmp_path / "config.json").write_text("{}")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "config.json", arcname="config.json")
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=str(archive), task="text-classification")
    template = Template.from_stack(stack)

    url = json.dumps(container(template)["ModelDataUrl"])
    assert "cdk-hnb659fds-assets" in url and ".gz" in url
    assets = [a for a in stack.node.root.node.find_all() if type(a).__name__ == "Asset"]
    assert len(assets) == 1


def test_local_directory_is_packaged_once_with_a_stable_asset_hash(model_dir: Path) -> None:
    def asset_url() -> Any:
        stack = new_stack()
        FineTunedEndpoint(stack, "E", model_data=str(model_dir), instance_type="ml.g5.xlarge")
        return container(Template.from_stack(stack))["ModelDataUrl"], _asset_archive(stack)

    (first_url, first_archive), (second_url, _) = asset_url(), asset_url()
    assert first_url == second_url  # same bytes, same hash, no re-upload
    assert sorted(_members(first_archive)) == ["config.json", "model.safetensors"]


def test_local_directory_with_a_script_puts_the_code_under_code(model_dir: Path, handlers_code_dir: Path) -> None:
    stack = new_stack()
    CustomScriptEndpoint(
        stack, "E", code_dir=handlers_code_dir, model_data=str(model_dir), instance_type="ml.g5.xlarge"
    )
    members = _members(_asset_archive(stack))
    assert {"config.json", "model.safetensors", "code/inference.py"} <= set(members)


def test_local_archive_with_a_script_gets_code_added(model_dir: Path, handlers_code_dir: Path, tmp_path: Path) -> None:
    import tarfile

    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir / "config.json", arcname="config.json")
    stack = new_stack()
    CustomScriptEndpoint(stack, "E", code_dir=handlers_code_dir, model_data=str(archive), instance_type="ml.g5.xlarge")
    assert set(_members(_asset_archive(stack))) >= {"config.json", "code/inference.py"}


def test_hub_model_with_a_script_ships_a_code_only_archive(handlers_code_dir: Path) -> None:
    stack = new_stack()
    CustomScriptEndpoint(stack, "E", code_dir=handlers_code_dir, model_id=SST2)
    assert _members(_asset_archive(stack)) == ["code/inference.py"]
