"""Docstring conventions the package keeps: defaults are documented one way, with the ``:default`` field."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "constructs_lib"

_OTHER_SPELLING = re.compile(r"(?i)(?<!:)\bdefaults?:|:defaults?\b(?! \w+:)(?!:)")
"""``Default:`` in prose, or a ``:default`` field that is neither ``:default:`` nor ``:default name:``."""
_PARAM_DEFAULT = re.compile(r"^\s*:default (\w+):", re.MULTILINE)


def _docstrings(tree: ast.Module) -> Iterator[tuple[ast.AST, str]]:
    """Every docstring of the module: of the module, its classes and functions, and of attributes (a string
    right after an assignment)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if (text := ast.get_docstring(node, clean=False)) is not None:
                yield node, text
            body = node.body
            for before, after in itertools.pairwise(body):
                if isinstance(before, ast.Assign | ast.AnnAssign) and _is_string(after):
                    yield after, after.value.value  # type: ignore[attr-defined]


def _is_string(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _parameters(node: ast.AST) -> set[str] | None:
    """The names a ``:default name:`` may name: a function's parameters; for a class, its ``__init__``'s and its
    (dataclass) fields; ``None`` elsewhere (no parameter can be named)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
        return {argument.arg for argument in every if argument is not None}
    if isinstance(node, ast.ClassDef):
        names = {
            item.target.id
            for item in node.body
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
        }
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                names |= _parameters(item) or set()
        return names
    return None


def _violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(PACKAGE.parent)
        for node, text in _docstrings(tree):
            line = getattr(node, "lineno", 0)
            for match in _OTHER_SPELLING.finditer(text):
                found.append(f"{where}:{line}: {match.group(0)!r}: write ':default:' (attribute) or ':default name:'")
            names = _parameters(node)
            for match in _PARAM_DEFAULT.finditer(text):
                if names is None or match.group(1) not in names:
                    found.append(f"{where}:{line}: ':default {match.group(1)}:' names no parameter here")
    return found


def test_defaults_are_documented_one_way() -> None:
    assert _violations() == []


def test_the_check_finds_the_other_spellings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Positive control: each wrong spelling is reported, the two right ones are not.
    sample = tmp_path / "constructs_lib"
    sample.mkdir()
    (sample / "m.py").write_text(
        'def f(*, size: int = 1, name: str = "x") -> None:\n'
        '    """Do it.\n\n'
        "    :param size: how big. Default: 1\n"
        "    :param name: what (default: x).\n"
        "    :default name: x\n"
        "    :default other: nothing\n"
        '    """\n\n\n'
        "LIMIT = 3\n"
        '"""The limit.\n\n:default: 3\n"""\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(f"{__name__}.PACKAGE", sample)
    found = _violations()
    assert len(found) == 3, found
    assert "'Default:'" in found[0] and "'default:'" in found[1] and "':default other:' names no parameter" in found[2]
