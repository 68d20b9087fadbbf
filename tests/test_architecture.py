"""The package's layout holds: imports point down the layers, never in a circle, and modules stay small.

Every import counts: at the top of a module, inside functions, under ``TYPE_CHECKING`` and through
``importlib.import_module``. A dynamic import of ``f".{name}"`` counts as an import of every module
of that package, since any of them may be the one loaded.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import constructs_lib

PACKAGE = Path(constructs_lib.__file__).parent

LAYERS: tuple[tuple[str, ...], ...] = (
    # lowest first; a module may import its own layer and the ones below it
    ("_core",),
    ("catalogue",),
    ("model",),
    ("serving",),
    ("sizing",),
    ("images",),
    ("archives", "repack", "scripts"),
    ("model_data",),
    ("contract",),
    ("features",),
    ("endpoints",),
    ("components",),
    ("cli",),
)
"""The package's layers, by folder: what a folder may import."""

MAX_MODULE_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).with_suffix("")
        parts = ["constructs_lib", *relative.parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _absolute(module: str, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = _package_of(module).split(".")
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, name] if name else base)


def _dynamic_targets(module: str, call: ast.Call) -> Iterator[str]:
    """``importlib.import_module(f".{x}", __package__)``: every module of that package."""
    if not call.args:
        return
    first = call.args[0]
    text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    if isinstance(first, ast.JoinedStr):
        parts = [v.value for v in first.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        text = "".join(parts) if parts else "."
        package = _package_of(module)
        prefix = text.lstrip(".")
        yield from (m for m in MODULES if m.startswith(f"{package}.{prefix}") and m != module)
        return
    if text is not None:
        level = len(text) - len(text.lstrip("."))
        yield _absolute(module, level, text.lstrip(".") or None)


def _is_reexport_table(node: ast.AST) -> bool:
    """``DEPRECATED_REEXPORTS = {"Name": ".module", ...}``."""
    return (
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "DEPRECATED_REEXPORTS" for t in node.targets)
        and isinstance(node.value, ast.Dict)
        and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.value.values)
    )


def imports_of(module: str) -> set[str]:
    """The package's modules ``module`` imports, every way (a ``from x import y`` of a submodule counts as y)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, node.level, node.module)
            targets.add(source)
            targets.update(f"{source}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            targets.update(_dynamic_targets(module, node))
        elif _is_reexport_table(node):
            # A folder's lazy re-exports (`_core.reexports`) import these modules on first use.
            for value in node.value.values:  # type: ignore[attr-defined]
                text = value.value
                level = len(text) - len(text.lstrip("."))
                targets.add(_absolute(module, level, text.lstrip(".") or None))
    return {target for target in targets if target in MODULES and target != module}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    for rank, folders in enumerate(LAYERS):
        if parts[1] in folders:
            return rank
    return None  # the package's root: __init__, __main__ and the deprecated shims, above every layer


DEPRECATED_SHIMS = frozenset(
    m for m in MODULES if m.count(".") == 1 and _layer(m) is None and m.rsplit(".", 1)[1] not in ("__main__",)
)


def test_every_folder_has_a_layer() -> None:
    folders = {m.split(".")[1] for m in MODULES if m.count(".") >= 1 and MODULES[m].name == "__init__.py"}
    folders |= {m.split(".")[1] for m in MODULES if m.count(".") >= 2}
    assert folders == {folder for layer in LAYERS for folder in layer}


def test_imports_point_down_the_layers() -> None:
    upward = []
    for module in MODULES:
        rank = _layer(module)
        if rank is None:
            continue
        for target in imports_of(module):
            target_rank = _layer(target)
            if target_rank is None or target_rank > rank:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_nothing_imports_a_deprecated_shim() -> None:
    users = [
        f"{module} -> {target}"
        for module in MODULES
        if module not in DEPRECATED_SHIMS and module != "constructs_lib"
        for target in imports_of(module)
        if target in DEPRECATED_SHIMS
    ]
    assert users == []


def test_there_is_no_import_cycle() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    cycles = [component for component in _strongly_connected(graph) if len(component) > 1]
    assert cycles == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """A positive control: the graph search reports a two-module cycle."""
    assert [sorted(c) for c in _strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) if len(c) > 1] == [["a", "b"]]


def test_the_import_walk_sees_every_kind_of_import() -> None:
    """A positive control on real modules: a function-local, a TYPE_CHECKING and a dynamic import."""
    assert "constructs_lib.model.hub_lookup" in imports_of("constructs_lib.features.variants")  # inside a function
    assert "constructs_lib.features.variants" in imports_of("constructs_lib.endpoints.props")  # TYPE_CHECKING
    assert "constructs_lib.serving.tgi" in imports_of("constructs_lib.serving.registry")  # importlib
    assert "constructs_lib.serving.registry" in imports_of("constructs_lib.images")  # a lazy re-export


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_500_lines(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines"


@pytest.mark.parametrize("module", sorted(DEPRECATED_SHIMS))
def test_deprecated_paths_still_import_what_they_exported(module: str) -> None:
    shim = importlib.import_module(module)
    assert shim.__all__, module
    for name in shim.__all__:
        assert getattr(shim, name) is not None, f"{module}.{name}"


FOLDER_REEXPORTS = ("constructs_lib.images", "constructs_lib.sizing")
"""Folder packages that keep the old flat module's names for one release (``DEPRECATED_REEXPORTS``)."""


@pytest.mark.parametrize("package", FOLDER_REEXPORTS)
def test_a_folder_keeps_its_old_names_lazily(package: str) -> None:
    script = (
        "import importlib, json, sys\n"
        f"package = importlib.import_module({package!r})\n"
        "imported = sorted(m for m in sys.modules if m.startswith(package.__name__ + '.'))\n"
        "listed = dir(package)\n"
        "values = {name: getattr(package, name) is not None for name in package.__all__}\n"
        "print(json.dumps([package.DEPRECATED_REEXPORTS, imported, listed, values]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    table, imported, listed, values = json.loads(result.stdout.strip().splitlines()[-1])
    assert table and all(values.values()) and sorted(values) == sorted(table)
    assert set(table) <= set(listed)  # dir() lists them, as it did when they were imported eagerly
    # Importing the folder loaded none of its own modules that the old names live in: they load when asked for.
    own = {f"{package}.{module.lstrip('.')}" for module in table.values() if not module.startswith("..")}
    assert own and not own & set(imported), imported


@pytest.mark.parametrize(
    ("package", "submodule"), [("constructs_lib.sizing", "planner"), ("constructs_lib.images", "base")]
)
def test_a_folder_s_submodules_are_still_its_attributes(package: str, submodule: str) -> None:
    script = f"import {package} as p\nprint(p.{submodule}.__name__)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == f"{package}.{submodule}"


def test_nothing_in_the_package_uses_a_folder_s_old_names() -> None:
    old = {package: set(importlib.import_module(package).DEPRECATED_REEXPORTS) for package in FOLDER_REEXPORTS}
    users = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                target = _absolute(module, node.level, node.module)
                if target in old and {alias.name for alias in node.names} & old[target]:
                    users.append(f"{module} imports from {target}")
    assert users == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (the package graph is deep enough for recursion limits to matter)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components
