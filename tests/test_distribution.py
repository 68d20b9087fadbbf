"""The library as users get it: a wheel with its data files, importable into another CDK app; the dependencies
it imports declared, and the pins the README installs inside the declared ranges."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.dependency_ranges import project_dependencies

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


def local_extra() -> list[Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(text) for text in data["project"]["optional-dependencies"]["local"]]


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of the ``name==version`` lines of a requirements file (not those it includes)."""
    found = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text and not text.startswith("-"):
            requirement = Requirement(text)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {text} is not a pin"
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def test_the_tested_pins_are_inside_the_declared_ranges() -> None:
    # requirements.txt pins every dependency pyproject.toml declares, and requirements-local.txt every
    # package of the [local] extra, each at a version the declared range allows: the README's install
    # commands (both files, then the package) install exactly what the pinned run tests.
    for requirements, declared in (
        (ROOT / "requirements.txt", project_dependencies(ROOT / "pyproject.toml")),
        (ROOT / "requirements-local.txt", local_extra()),
    ):
        pinned = pins(requirements)
        for requirement in declared:
            name = canonicalize_name(requirement.name)
            assert name in pinned, f"{requirements.name} has no pin for {requirement}"
            assert requirement.specifier.contains(pinned[name], prereleases=True), (
                f"{requirements.name} pins {name}=={pinned[name]}, outside pyproject.toml's {requirement}"
            )
    assert "-r requirements.txt" in (ROOT / "requirements-local.txt").read_text().splitlines()


def imported_distributions() -> dict[str, set[str]]:
    """The distributions whose modules the package imports (``import x`` statements), by file."""
    from constructs_lib.cli.local_invoke import LOCAL_EXTRA_MODULES

    # Modules of the [local] extra are named by the extra's own table where it is not installed.
    providers = {module: [dist] for module, dist in LOCAL_EXTRA_MODULES.items()}
    providers.update(metadata.packages_distributions())
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "constructs_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == "constructs_lib":
                    continue
                for dist in providers.get(top, [top]):
                    found.setdefault(canonicalize_name(dist), set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_package_the_library_imports_is_declared() -> None:
    # A module of a dependency's own dependency (jsii for aws-cdk-lib, botocore for boto3) counts as declared.
    declared = {canonicalize_name(r.name) for r in [*project_dependencies(ROOT / "pyproject.toml"), *local_extra()]}
    provided = set(declared)
    for name in declared:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # an extra's package this environment does not have
            continue
        provided |= {canonicalize_name(re.split(r"[ ;<>=!~\[(]", text, maxsplit=1)[0]) for text in requires}
    imported = imported_distributions()
    assert "filelock" in imported and "huggingface-hub" in imported  # the walk sees the package's imports
    undeclared = {dist: files for dist, files in imported.items() if dist not in provided}
    assert undeclared == {}, "imported but not declared in pyproject.toml"


def test_the_repository_tracks_no_symlink_out_of_it() -> None:
    # A committed link to a developer's virtualenv or node_modules would shadow what a fresh clone installs.
    listed = subprocess.run(
        ["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    links = [line.split("\t", 1)[1] for line in listed.splitlines() if line.startswith("120000 ")]
    outside = [link for link in links if not (ROOT / link).resolve().is_relative_to(ROOT)]
    assert outside == []
    assert not {".venv", "node_modules"} & {link.split("/")[0] for link in links}
