"""What ``./run.sh test`` needs to test pyproject.toml's dependency ranges, not only requirements.txt's pins.

    python -m tools.dependency_ranges lowest                  # constraints: each dependency at its lower bound
    python -m tools.dependency_ranges local-extra REPORT.json # why the [local] extra cannot join this environment

``lowest`` prints a pip constraints file: every ``[project.dependencies]`` entry of pyproject.toml at the version
its lower bound names, with its environment marker. ``local-extra`` reads the ``--report`` of
``pip install --dry-run ".[local]"`` run in an environment, and prints why the extra cannot be installed there
(a package it would replace, and what requires that), or nothing when it can be installed as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def project_dependencies(pyproject: Path) -> list[Requirement]:
    """The ``[project.dependencies]`` of a pyproject.toml."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return [Requirement(text) for text in data["project"]["dependencies"]]


def lower_bound(requirement: Requirement) -> str:
    """The version a requirement's ``>=``, ``~=`` or ``==`` names (a range without one is a mistake here)."""
    bounds = [spec.version for spec in requirement.specifier if spec.operator in (">=", "~=", "==")]
    if len(bounds) != 1:
        raise SystemExit(f"{requirement}: needs exactly one lower bound (>=, ~= or ==) to be tested at it")
    return bounds[0]


def lowest_constraints(requirements: Iterable[Requirement]) -> list[str]:
    """``name==lower-bound`` for each requirement, with its marker: a pip constraints file."""
    lines = []
    for requirement in requirements:
        marker = f"; {requirement.marker}" if requirement.marker else ""
        lines.append(f"{requirement.name}=={lower_bound(requirement)}{marker}")
    return lines


def local_extra_conflict(report: Mapping[str, Any], installed: Mapping[str, str]) -> str | None:
    """Why the packages of a dry-run install cannot join an environment whose versions are ``installed``
    (canonical name -> version): the first installed package the install would replace, and what requires that.
    ``None`` when it would only add packages."""
    planned = [item["metadata"] for item in report.get("install", [])]
    for package in planned:
        name = canonicalize_name(package["name"])
        current = installed.get(name)
        if current is None or current == package["version"]:
            continue
        culprits = [
            f"{other['name']} {other['version']} requires {requirement}"
            for other in planned
            for requirement in _requirements_of(other)
            if canonicalize_name(requirement.name) == name and not requirement.specifier.contains(current)
        ]
        why = f" ({'; '.join(culprits)})" if culprits else ""
        return f"installing it here would replace {package['name']} {current} with {package['version']}{why}"
    return None


def _requirements_of(package: Mapping[str, Any]) -> list[Requirement]:
    found = []
    for text in package.get("requires_dist") or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            found.append(requirement)
    return found


def installed_versions() -> dict[str, str]:
    """The distributions of the running interpreter, by canonical name."""
    return {canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dependency_ranges", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lowest = commands.add_parser("lowest", help="print pyproject.toml's dependencies at their lower bounds")
    lowest.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    extra = commands.add_parser("local-extra", help="why the [local] extra cannot be installed here, if it cannot")
    extra.add_argument("report", type=Path, help="the --report of pip install --dry-run '.[local]'")
    args = parser.parse_args(argv)
    if args.command == "lowest":
        print("\n".join(lowest_constraints(project_dependencies(args.pyproject))))
        return 0
    reason = local_extra_conflict(json.loads(args.report.read_text(encoding="utf-8")), installed_versions())
    if reason:
        print(reason)
    return 0


if __name__ == "__main__":
    sys.exit(main())
