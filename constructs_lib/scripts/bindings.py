"""The module-level bindings of handler names in a parsed inference script, found without running it.

Only module-level names count for the toolkit (``getattr(module, name, None)``), so the scan descends
into compound statements (``if``, ``try``, loops, ``with``, ``match``) but not into functions or
classes, and records separately what it cannot see through: handler-named functions nested in a
class or function, ``from x import *``, a module ``__getattr__``, and code that binds names at run
time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from .contract import HANDLER_ARGUMENTS


@dataclass
class _Binding:
    """One module-level assignment of a handler name, in source order."""

    name: str
    kind: str  # def | async | lambda | alias | none | deleted | import | class | constant | other
    line: int
    conditional: bool
    node: ast.AST | None = None
    detail: str = ""


@dataclass
class _Scan:
    bindings: dict[str, list[_Binding]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    other_defs: list[tuple[str, int]] = field(default_factory=list)
    nested_handlers: list[tuple[str, int, str]] = field(default_factory=list)
    star_imports: list[tuple[str, int]] = field(default_factory=list)
    module_getattr: int | None = None
    dynamic_definitions: list[tuple[str, int]] = field(default_factory=list)


def _scan_module(tree: ast.Module) -> _Scan:
    """Everything :mod:`.handlers` checks about the handler names ``tree`` binds or may bind."""
    scan = _Scan()
    _scan_block(tree.body, scan, conditional=False)
    for function in _walk_nested_defs(tree):
        scan.nested_handlers.append(function)
    scan.dynamic_definitions = list(_dynamic_definitions(tree))
    return scan


_DYNAMIC_NAMESPACE_CALLS = frozenset({"globals", "vars", "exec"})


def _dynamic_definitions(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Code that can bind module-level names at run time: ``global model_fn`` in a function,
    ``globals()[...]``/``vars()``/``exec(...)``, ``setattr(module, "model_fn", ...)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            for name in node.names:
                if name in HANDLER_ARGUMENTS:
                    yield f"'global {name}'", node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            # vars(obj) reads an object's attributes; only a bare vars() is the module namespace.
            if node.func.id in _DYNAMIC_NAMESPACE_CALLS and not (node.func.id == "vars" and node.args):
                yield f"{node.func.id}()", node.lineno
            elif node.func.id == "setattr" and len(node.args) > 1:
                key = node.args[1]
                if isinstance(key, ast.Constant) and key.value in HANDLER_ARGUMENTS:
                    yield f"setattr(..., {key.value!r}, ...)", node.lineno


def _first_live_line(scan: _Scan, name: str) -> int:
    for binding in _effective_bindings(scan.bindings.get(name, [])):
        if binding.kind not in ("none", "deleted"):
            return binding.line
    return 0


def _effective_bindings(bindings: list[_Binding]) -> list[_Binding]:
    """The bindings that may be the final value: the last unconditional one and any conditional ones after it."""
    last_unconditional = max((i for i, b in enumerate(bindings) if not b.conditional), default=None)
    if last_unconditional is None:
        return list(bindings)
    return bindings[last_unconditional:]


def _add(scan: _Scan, binding: _Binding) -> None:
    scan.bindings.setdefault(binding.name, []).append(binding)


def _scan_block(body: list[ast.stmt], scan: _Scan, *, conditional: bool) -> None:
    """Record module-level bindings of handler names; descend into compound statements, not defs/classes."""
    for stmt in body:
        _scan_statement(stmt, scan, conditional=conditional)


def _scan_statement(stmt: ast.stmt, scan: _Scan, *, conditional: bool) -> None:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        if stmt.name in HANDLER_ARGUMENTS:
            kind = "async" if isinstance(stmt, ast.AsyncFunctionDef) else "def"
            _add(scan, _Binding(stmt.name, kind, stmt.lineno, conditional, stmt))
        else:
            scan.other_defs.append((stmt.name, stmt.lineno))
            if stmt.name == "__getattr__":
                scan.module_getattr = stmt.lineno
        if not conditional:
            scan.functions[stmt.name] = stmt
    elif isinstance(stmt, ast.ClassDef):
        if stmt.name in HANDLER_ARGUMENTS:
            _add(scan, _Binding(stmt.name, "class", stmt.lineno, conditional, stmt, "a class"))
    elif isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            _scan_target(target, stmt.value, stmt.lineno, scan, conditional)
    elif isinstance(stmt, ast.AnnAssign):
        if stmt.value is not None:
            _scan_target(stmt.target, stmt.value, stmt.lineno, scan, conditional)
    elif isinstance(stmt, ast.AugAssign):
        _scan_target(stmt.target, None, stmt.lineno, scan, conditional)
    elif isinstance(stmt, ast.Delete):
        for target in stmt.targets:
            if isinstance(target, ast.Name) and target.id in HANDLER_ARGUMENTS:
                _add(scan, _Binding(target.id, "deleted", stmt.lineno, conditional))
    elif isinstance(stmt, ast.Import | ast.ImportFrom):
        source = (stmt.module or "") if isinstance(stmt, ast.ImportFrom) else ""
        for alias in stmt.names:
            if alias.name == "*":
                scan.star_imports.append(("." * getattr(stmt, "level", 0) + source, stmt.lineno))
                continue
            bound = alias.asname or alias.name.split(".")[0]
            if bound in HANDLER_ARGUMENTS:
                origin = f"{'.' * getattr(stmt, 'level', 0)}{source}.{alias.name}" if source else alias.name
                _add(scan, _Binding(bound, "import", stmt.lineno, conditional, stmt, f"imported from {origin}"))
    elif isinstance(stmt, ast.If):
        _scan_block(stmt.body, scan, conditional=True)
        _scan_block(stmt.orelse, scan, conditional=True)
    elif isinstance(stmt, ast.For | ast.AsyncFor | ast.While):
        if isinstance(stmt, ast.For | ast.AsyncFor):
            _scan_target(stmt.target, None, stmt.lineno, scan, True)
        _scan_block(stmt.body, scan, conditional=True)
        _scan_block(stmt.orelse, scan, conditional=True)
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        for item in stmt.items:
            if item.optional_vars is not None:
                _scan_target(item.optional_vars, None, stmt.lineno, scan, conditional)
        _scan_block(stmt.body, scan, conditional=conditional)
    elif isinstance(stmt, ast.Try | ast.TryStar):
        _scan_block(stmt.body, scan, conditional=conditional)
        for handler in stmt.handlers:
            _scan_block(handler.body, scan, conditional=True)
        _scan_block(stmt.orelse, scan, conditional=conditional)
        _scan_block(stmt.finalbody, scan, conditional=conditional)
    elif isinstance(stmt, ast.Match):
        for case in stmt.cases:
            _scan_block(case.body, scan, conditional=True)


def _scan_target(target: ast.expr, value: ast.expr | None, line: int, scan: _Scan, conditional: bool) -> None:
    if isinstance(target, ast.Name):
        if target.id in HANDLER_ARGUMENTS:
            _add(scan, _classify_value(target.id, value, line, conditional))
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _scan_target(element, None, line, scan, conditional)
    elif isinstance(target, ast.Starred):
        _scan_target(target.value, None, line, scan, conditional)


def _classify_value(name: str, value: ast.expr | None, line: int, conditional: bool) -> _Binding:
    if value is None:
        return _Binding(name, "other", line, conditional, None, "assigned by unpacking, a loop or 'with ... as'")
    if isinstance(value, ast.Lambda):
        return _Binding(name, "lambda", line, conditional, value)
    if isinstance(value, ast.Constant):
        if value.value is None:
            return _Binding(name, "none", line, conditional)
        return _Binding(name, "constant", line, conditional, value, repr(value.value))
    if isinstance(value, ast.Name):
        return _Binding(name, "alias", line, conditional, value, value.id)
    return _Binding(name, "other", line, conditional, value, f"assigned from '{_short(ast.unparse(value))}'")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk_nested_defs(tree: ast.Module) -> Iterator[tuple[str, int, str]]:
    """Handler-named functions defined inside classes or functions (which the toolkit never sees)."""
    for owner in ast.walk(tree):
        if not isinstance(owner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        label = f"class {owner.name}" if isinstance(owner, ast.ClassDef) else f"function {owner.name}"
        for child in ast.walk(owner):
            if child is owner:
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and child.name in HANDLER_ARGUMENTS:
                yield child.name, child.lineno, label
