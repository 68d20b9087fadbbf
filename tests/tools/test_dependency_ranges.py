"""tools/dependency_ranges.py: the lower bounds ``./run.sh test`` installs for the oldest-versions run, and why the
``[local]`` extra cannot join an environment (read from pip's ``--report``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from tools.dependency_ranges import local_extra_conflict, lowest_constraints, main, project_dependencies

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_dependency_of_pyproject_is_constrained_to_its_lower_bound() -> None:
    declared = project_dependencies(ROOT / "pyproject.toml")
    lines = lowest_constraints(declared)
    assert len(lines) == len(declared)
    assert "huggingface_hub==0.36" in lines and "filelock==3.10" in lines and "aws-cdk-lib==2.275.0" in lines
    (isal,) = [line for line in lines if line.startswith("isal==")]
    assert isal.startswith('isal==1.7; platform_machine == "x86_64"')  # the marker is kept
    for line, requirement in zip(lines, declared, strict=True):
        pinned = Requirement(line)
        assert pinned.name == requirement.name and requirement.specifier.contains(next(iter(pinned.specifier)).version)


def test_a_dependency_without_a_lower_bound_cannot_be_tested_at_it(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["requests<3"]\n')
    with pytest.raises(SystemExit, match=r"requests<3: needs exactly one lower bound"):
        main(["lowest", "--pyproject", str(pyproject)])


def package(name: str, version: str, *requires: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "version": version, "requires_dist": list(requires)}}


def test_an_extra_that_would_replace_an_installed_package_cannot_join() -> None:
    # What pip's dry run of ".[local]" plans in an environment with huggingface_hub 2.4.0.
    report = {
        "install": [
            package("transformers", "4.57.6", "huggingface-hub<1.0,>=0.34.0", "torch>=2.2; extra == 'torch'"),
            package("huggingface_hub", "0.36.2", "filelock"),
            package("torch", "2.13.0"),
        ]
    }
    installed = {"huggingface-hub": "2.4.0", "filelock": "4.3.1"}
    assert local_extra_conflict(report, installed) == (
        "installing it here would replace huggingface_hub 2.4.0 with 0.36.2 "
        "(transformers 4.57.6 requires huggingface-hub<1.0,>=0.34.0)"
    )


def test_an_extra_that_only_adds_packages_can_join() -> None:
    report = {"install": [package("transformers", "4.57.6", "huggingface-hub<1.0"), package("torch", "2.13.0")]}
    assert local_extra_conflict(report, {"huggingface-hub": "0.36.2"}) is None
    assert local_extra_conflict({"install": []}, {"huggingface-hub": "0.36.2"}) is None


def test_the_command_reads_pips_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"install": [package("pytest", "0.0.1")]}))  # installed here, another version
    assert main(["local-extra", str(report)]) == 0
    assert capsys.readouterr().out.startswith("installing it here would replace pytest ")
