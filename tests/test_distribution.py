"""The library as users get it: a wheel with its data files, importable into another CDK app."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_synthesizes_in_another_cdk_app(tmp_path: Path) -> None:
    # --no-build-isolation: build with the setuptools already installed (tests stay offline).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("constructs_lib-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "constructs_lib/py.typed",
        "constructs_lib/catalogue/_data/dlc_catalogue.json",
        "constructs_lib/repack/handler/index.py",
    } <= names
    assert not any(name.startswith(("tests/", "stacks/")) for name in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    user_app = tmp_path / "user-app"
    user_app.mkdir()
    (user_app / "app.py").write_text(
        textwrap.dedent(
            """
            import constructs_lib
            from aws_cdk import App, Environment, Stack
            from constructs_lib import HubModelEndpoint
            app = App()
            stack = Stack(app, "Models", env=Environment(account="123456789012", region="eu-west-1"))
            endpoint = HubModelEndpoint(stack, "Sentiment", model_id="org/model", task="text-classification",
                                        instance_type="ml.g5.xlarge")
            app.synth()
            print(constructs_lib.__file__)
            print(endpoint.image_uri)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=user_app, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    module_file, image_uri = result.stdout.split()[-2:]
    assert module_file.startswith(str(target))  # the installed copy, not the checkout
    assert image_uri.startswith("763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-inference:")


def test_the_repository_tracks_no_symlink_out_of_it() -> None:
    # A committed link to a developer's virtualenv or node_modules would shadow what a fresh clone installs.
    listed = subprocess.run(
        ["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    links = [line.split("\t", 1)[1] for line in listed.splitlines() if line.startswith("120000 ")]
    outside = [link for link in links if not (ROOT / link).resolve().is_relative_to(ROOT)]
    assert outside == []
    assert not {".venv", "node_modules"} & {link.split("/")[0] for link in links}
