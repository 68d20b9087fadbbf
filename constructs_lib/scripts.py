"""Synth-time check of a user's inference script against the Hugging Face inference toolkit contract.

The script is parsed with :mod:`ast`, never imported: importing it would run the user's code (and
need ``torch``/``transformers``) at ``cdk synth``. The rules mirror
``sagemaker_huggingface_inference_toolkit.handler_service`` (toolkit 2.6.0):

- the toolkit imports ``SAGEMAKER_PROGRAM`` minus ``.py`` from ``<model_dir>/code`` and reads the
  handlers with ``getattr(module, name, None)``: only module-level names count, ``name = None``
  means "not defined";
- ``transform_fn`` together with ``input_fn``/``predict_fn``/``output_fn`` is a ``ValueError``;
- ``function_extra_arg`` decides whether to pass ``context`` from ``len(inspect.signature(fn).parameters)``
  alone: *every* parameter counts (with or without a default, ``*args``, keyword-only and ``**kwargs``).
  A count equal to the toolkit's own method (``load``, ``preprocess``, ...) minus ``self`` means
  "takes context", one less means "no context", anything else is a ``TypeError`` at start-up;
- the handler is then always called with positional arguments only (``fn(*([a, b] + extra))``).

What cannot be known without running the script is reported as a warning, not an error: handlers
imported from other modules, built by expressions (``functools.partial``), classes, handlers defined
only under ``if``/``try``/loops, decorators that may change the signature, ``from x import *``, and
names bound at run time (``global model_fn`` in a function, ``globals()``, ``exec``, ``setattr``).
"""

from __future__ import annotations

import ast
import codecs
import difflib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._core.errors import ConfigurationError

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = [
    "HANDLER_ARGUMENTS",
    "ScriptReport",
    "check_inference_script",
    "check_requirements_file",
    "script_grammar_problem",
]

#: The arguments the toolkit passes to each handler, without the optional trailing ``context``.
HANDLER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "model_fn": ("model_dir",),
    "input_fn": ("input_data", "content_type"),
    "predict_fn": ("data", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "input_data", "content_type", "accept"),
}
_HANDLERS = tuple(HANDLER_ARGUMENTS)
_STEP_HANDLERS = ("input_fn", "predict_fn", "output_fn")

# Top-level modules the inference worker has imported before it imports the user module: an entry
# point with one of these names makes ``importlib.import_module`` return the cached module instead.
_PREIMPORTED_MODULES = frozenset(
    {
        "abc",
        "importlib",
        "inspect",
        "json",
        "logging",
        "os",
        "sys",
        "time",
        "mms",
        "sagemaker_inference",
        "sagemaker_huggingface_inference_toolkit",
        "transformers",
        "torch",
        "numpy",
        "huggingface_hub",
        "PIL",
        "retrying",
    }
)

# Decorators known to keep the wrapped function's signature visible to ``inspect.signature``.
_SIGNATURE_PRESERVING_DECORATORS = frozenset(
    {
        "torch.no_grad",
        "torch.inference_mode",
        "torch.enable_grad",
        "no_grad",
        "inference_mode",
        "functools.lru_cache",
        "functools.cache",
        "lru_cache",
        "cache",
    }
)

# Packages the Hugging Face DLC ships and the toolkit depends on: a requirements.txt that pins them
# makes pip replace them at every container start.
_DLC_PACKAGES = frozenset(
    {
        "torch",
        "torchvision",
        "torchaudio",
        "transformers",
        "sagemaker-huggingface-inference-toolkit",
        "sagemaker-inference",
        "multi-model-server",
    }
)


@dataclass(frozen=True)
class ScriptReport:
    """What :func:`check_inference_script` learnt about a valid inference script."""

    path: Path
    """The entry point file that was checked."""
    handlers: tuple[str, ...]
    """Handler functions the script defines (module level), in the toolkit's order."""
    uses_context: tuple[str, ...]
    """Handlers whose parameter count makes the toolkit pass the trailing ``context`` argument."""
    warnings: tuple[str, ...]
    """Things that are probably fine but could not be checked statically, or are risky (CDK warnings)."""


def check_inference_script(code_dir: str | Path, entry_point: str = "inference.py") -> ScriptReport:
    """Check ``code_dir/entry_point`` (and an optional ``code_dir/requirements.txt``) without importing it.

    :param code_dir: the directory shipped as ``code/`` in the model archive.
    :param entry_point: the script the toolkit imports (``SAGEMAKER_PROGRAM``).
    :returns: the handlers found, which of them take ``context``, and warnings.
    :raises ConfigurationError: listing every problem found, each naming the file, the function and the rule.
    """
    code_path = Path(code_dir)
    script = code_path / entry_point if isinstance(entry_point, str) else code_path / str(entry_point)
    problems: list[str] = []
    warnings: list[str] = []

    if not code_path.is_dir():
        raise ConfigurationError(f"{code_path}: the code directory does not exist (or is not a directory)")

    entry_ok = _check_entry_point_name(code_path, entry_point, problems, warnings)
    report = ScriptReport(path=script, handlers=(), uses_context=(), warnings=())
    if entry_ok:
        if not script.is_file():
            present = sorted(p.name for p in code_path.glob("*.py"))
            problems.append(
                f"{script}: entry point not found; Python files in {code_path}: {', '.join(present) or 'none'} "
                "(without it the toolkit silently falls back to its default handlers)"
            )
        else:
            report = _check_script(script, problems, warnings)

    requirements = code_path / "requirements.txt"
    # Listed, not stat'ed: on a case-insensitive disk (macOS) Requirements.txt passes is_file(), but
    # the container's file system is case-sensitive.
    if requirements.name in {entry.name for entry in code_path.iterdir()} and requirements.is_file():
        req_problems, req_warnings = _scan_requirements(requirements, set(), shipped=code_path)
        problems.extend(req_problems)
        warnings.extend(req_warnings)
    elif (misnamed := _misnamed_requirements(code_path)) is not None:
        warnings.append(
            f"{misnamed}: the toolkit installs only a file named exactly requirements.txt (on Linux, names are "
            "case-sensitive), so these requirements will not be installed; rename it to requirements.txt"
        )

    if problems:
        raise ConfigurationError(_format(script, problems))
    return ScriptReport(
        path=report.path, handlers=report.handlers, uses_context=report.uses_context, warnings=tuple(warnings)
    )


def _misnamed_requirements(code_path: Path) -> Path | None:
    """A file that looks meant as ``requirements.txt`` but is not named so (``Requirements.txt``,
    ``requirement.txt``, ``requirements.TXT``, ``requirements.txt.txt``)."""
    for candidate in sorted(code_path.iterdir()):
        name = candidate.name.lower()
        if candidate.is_file() and name in ("requirements.txt", "requirement.txt", "requirements.txt.txt"):
            return candidate
    return None


def check_requirements_file(path: Path) -> list[str]:
    """Return the lines of a pip requirements file that pip could not use (empty when all is well).

    Accepts what ``pip install -r`` accepts in a file: comments, blank lines, ``\\`` continuations,
    the per-file options (``-r``, ``-c``, ``-e``, ``-i``, ``--extra-index-url``, ``-f``, ``--pre``, ...),
    per-requirement ``--hash``/``--config-settings``, URLs, local paths and archives, ``name @ url``
    and PEP 508 requirements with markers. ``-r``/``-c`` files are resolved relative to the file that
    names them (as pip does) and checked too.
    """
    problems, _ = _scan_requirements(Path(path), set())
    return problems


def _format(script: Path, problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    body = "\n".join(f"  - {problem}" for problem in problems)
    return f"{script}: {len(problems)} problems with the inference script:\n{body}"


# --------------------------------------------------------------------------------------------------
# entry point


def _check_entry_point_name(code_path: Path, entry_point: str, problems: list[str], warnings: list[str]) -> bool:
    """Check the file name the toolkit turns into a module name; False when it cannot be looked up."""
    shown = code_path / entry_point
    if not isinstance(entry_point, str) or not entry_point.endswith(".py") or entry_point == ".py":
        problems.append(
            f"{shown}: the entry point must be a Python file ending in '.py' (the toolkit imports "
            f"SAGEMAKER_PROGRAM minus '.py' as a module); got {entry_point!r}"
        )
        return False
    if "/" in entry_point or "\\" in entry_point:
        problems.append(
            f"{shown}: the entry point must be a file directly in the code directory, not {entry_point!r} "
            "(the toolkit imports it by module name from code/; a path is never found and the script is ignored)"
        )
        return False
    module = entry_point[:-3]
    if "." in module:
        problems.append(
            f"{shown}: the module name {module!r} contains '.', so the toolkit would look for a package "
            "and silently ignore the script; rename the file"
        )
        return False
    if module in _PREIMPORTED_MODULES:
        problems.append(
            f"{shown}: the module name {module!r} is already imported by the inference toolkit, so "
            f"import_module({module!r}) returns that module and your script is silently ignored; rename the file"
        )
        return False
    if module in sys.stdlib_module_names:
        warnings.append(
            f"{shown}: the module name {module!r} is also a standard library module; if the toolkit has "
            "imported it before your script, your script is silently ignored. Prefer another file name."
        )
    return True


# --------------------------------------------------------------------------------------------------
# script


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


def _check_script(script: Path, problems: list[str], warnings: list[str]) -> ScriptReport:
    empty = ScriptReport(path=script, handlers=(), uses_context=(), warnings=())
    try:
        source = script.read_bytes()
    except OSError as error:
        problems.append(f"{script}: cannot read the entry point: {error.strerror or error}")
        return empty
    try:
        tree = ast.parse(source, filename=str(script))
    except SyntaxError as error:
        problems.append(f"{script}: syntax error at {_where(error)}: {error.msg}{_older_synth_note()}")
        return empty
    except (ValueError, UnicodeDecodeError) as error:
        problems.append(f"{script}: cannot be parsed as Python source: {error}")
        return empty

    scan = _Scan()
    _scan_block(tree.body, scan, conditional=False)
    for function in _walk_nested_defs(tree):
        scan.nested_handlers.append(function)
    scan.dynamic_definitions = list(_dynamic_definitions(tree))

    present: list[str] = []
    definitely_present: list[str] = []
    uses_context: list[str] = []
    for name in _HANDLERS:
        candidates = _effective_bindings(scan.bindings.get(name, []))
        live = [b for b in candidates if b.kind not in ("none", "deleted")]
        if not live:
            continue
        present.append(name)
        if not candidates[0].conditional and all(b.kind not in ("none", "deleted") for b in candidates):
            definitely_present.append(name)
        else:
            lines = ", ".join(str(b.line) for b in candidates)
            warnings.append(
                f"{script}: {name} is defined only conditionally (under if/try/for/while, line {lines}); "
                "every definition was checked, but whether the toolkit finds it depends on run time"
            )
        takes_context = False
        for binding in live:
            takes_context |= _check_binding(script, binding, scan, problems, warnings)
        if takes_context:
            uses_context.append(name)

    if "transform_fn" in present:
        others = [name for name in _STEP_HANDLERS if name in present]
        if others and "transform_fn" in definitely_present and any(n in definitely_present for n in others):
            line = _first_live_line(scan, "transform_fn")
            problems.append(
                f"{script}: transform_fn (line {line}) cannot be combined with {', '.join(others)}; the toolkit "
                "raises ValueError at start-up. Use either transform_fn or input_fn/predict_fn/output_fn "
                "(model_fn combines with both)"
            )
        elif others:
            warnings.append(
                f"{script}: transform_fn and {', '.join(others)} are both defined under conditions; if both "
                "exist at run time the toolkit raises ValueError (transform_fn excludes input_fn/predict_fn/output_fn)"
            )

    for module, line in scan.star_imports:
        warnings.append(
            f"{script}: 'from {module} import *' (line {line}) may define handlers that cannot be checked statically"
        )
    if scan.module_getattr is not None:
        warnings.append(
            f"{script}: a module-level __getattr__ (line {scan.module_getattr}) may supply handlers "
            "that cannot be checked statically"
        )
    for name, line, owner in scan.nested_handlers:
        if name not in present:
            warnings.append(
                f"{script}: {name} (line {line}) is defined inside {owner}, not at module level; the toolkit "
                "only finds module-level handlers"
            )
    for name, line in scan.other_defs:
        if name.startswith("_") or name in present:
            continue
        close = difflib.get_close_matches(name, _HANDLERS, n=1, cutoff=0.8)
        if close and close[0] not in present:
            warnings.append(
                f"{script}: function {name} (line {line}) looks like a misspelt {close[0]}; the toolkit only "
                f"looks for the exact names {', '.join(_HANDLERS)}"
            )

    if not present and scan.dynamic_definitions:
        for how, line in scan.dynamic_definitions:
            warnings.append(
                f"{script}: defines no handler statically, but {how} (line {line}) may define one at run time; "
                "it cannot be checked here, and the toolkit silently uses its defaults if none exists"
            )
    if not present and not scan.star_imports and scan.module_getattr is None and not scan.dynamic_definitions:
        problems.append(
            f"{script}: defines none of {', '.join(_HANDLERS)} at module level; the toolkit would silently use "
            "its default handlers. Define at least one handler (or drop the script and set HF_TASK)"
        )

    return ScriptReport(path=script, handlers=tuple(present), uses_context=tuple(uses_context), warnings=())


_DYNAMIC_NAMESPACE_CALLS = frozenset({"globals", "vars", "exec"})


def script_grammar_problem(script: Path, python_version: tuple[int, int]) -> str | None:
    """What in ``script`` the image's older Python cannot parse, or ``None``.

    :func:`check_inference_script` parses with the grammar of the Python that runs the synth. When
    the image's Python is older, syntax added since (``match`` before 3.10, ``except*`` before 3.11,
    PEP 695 generics before 3.12, ...) would only fail when the toolkit imports the script.
    ``feature_version`` is the parser's own knowledge of those additions.
    """
    synth = sys.version_info[:2]
    if python_version >= synth:
        return None
    try:
        source = script.read_bytes()
        ast.parse(source, filename=str(script), feature_version=max(python_version, _OLDEST_FEATURE_VERSION))
    except SyntaxError as error:
        image, here = ".".join(map(str, python_version)), ".".join(map(str, synth))
        # The parser notices a too-new construct where it ends, so the line is only a neighbourhood.
        near = f" near line {error.lineno}" if error.lineno else ""
        return (
            f"{script}: {error.msg}, but the image runs Python {image} (the syntax is{near}; Python {here}, "
            f"which runs this synth, accepts it, the toolkit would fail to import it): rewrite it for "
            f"Python {image} or pick an image with a newer Python"
        )
    except (OSError, ValueError):
        return None  # already reported by check_inference_script
    return None


# The oldest grammar ``ast.parse(feature_version=...)`` supports on every Python this library runs on.
_OLDEST_FEATURE_VERSION = (3, 7)


def _where(error: SyntaxError) -> str:
    where = f"line {error.lineno}" if error.lineno else "unknown line"
    if error.lineno and error.offset:
        where += f", column {error.offset}"
    return where


def _older_synth_note() -> str:
    """Why a syntax error may be a false alarm: the image may run a newer Python than the synth."""
    from .catalogue.dlc import newest_toolkit_python  # reads the catalogue: only needed on this path

    synth = sys.version_info[:2]
    newest = newest_toolkit_python()
    if synth >= newest:
        return ""
    return (
        f" (parsed as Python {synth[0]}.{synth[1]}, which runs this synth; if the line is valid Python "
        f"{newest[0]}.{newest[1]} and the image runs that, run cdk synth with Python {newest[0]}.{newest[1]})"
    )


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


def _check_binding(script: Path, binding: _Binding, scan: _Scan, problems: list[str], warnings: list[str]) -> bool:
    """Check one candidate definition of a handler; return True when the toolkit would pass it ``context``."""
    name = binding.name
    if binding.kind in ("def", "async"):
        assert isinstance(binding.node, ast.FunctionDef | ast.AsyncFunctionDef)
        function = binding.node
        if binding.kind == "async":
            problems.append(
                f"{script}: {name} (line {binding.line}) is 'async def'; the toolkit calls handlers synchronously "
                "and never awaits them, so it would get a coroutine instead of a result"
            )
        for decorator in function.decorator_list:
            text = ast.unparse(decorator.func if isinstance(decorator, ast.Call) else decorator)
            if text not in _SIGNATURE_PRESERVING_DECORATORS:
                warnings.append(
                    f"{script}: {name} (line {binding.line}) is decorated with @{_short(text)}; its signature was "
                    "checked as written, which is what the toolkit sees only if the decorator keeps it "
                    "(functools.wraps)"
                )
        return _check_arguments(script, name, name, function.args, binding.line, problems)
    if binding.kind == "lambda":
        assert isinstance(binding.node, ast.Lambda)
        return _check_arguments(script, name, name, binding.node.args, binding.line, problems)
    if binding.kind == "alias":
        target = scan.functions.get(binding.detail)
        if target is not None and target.name not in HANDLER_ARGUMENTS:
            label = f"{name} = {target.name}"
            if isinstance(target, ast.AsyncFunctionDef):
                problems.append(
                    f"{script}: {label} (line {binding.line}) is 'async def'; the toolkit calls handlers "
                    "synchronously and never awaits them, so it would get a coroutine instead of a result"
                )
            return _check_arguments(script, name, label, target.args, binding.line, problems)
        warnings.append(
            f"{script}: {name} (line {binding.line}) is assigned from '{binding.detail}', which is not a module-level "
            "function of this script; its signature cannot be checked statically"
        )
        return False
    if binding.kind == "constant":
        problems.append(
            f"{script}: {name} (line {binding.line}) is {binding.detail}, not a function; the toolkit would fail "
            "with TypeError at start-up (use None to mean 'no handler')"
        )
        return False
    warnings.append(
        f"{script}: {name} (line {binding.line}) is {binding.detail or 'not a plain function'}; it counts as "
        "defined but its signature cannot be checked statically"
    )
    return False


def _plural(count: int) -> str:
    return f"{count} argument" if count == 1 else f"{count} arguments"


def _check_arguments(script: Path, name: str, label: str, args: ast.arguments, line: int, problems: list[str]) -> bool:
    """Mirror ``HuggingFaceHandlerService.function_extra_arg`` and the positional call that follows it."""
    expected = HANDLER_ARGUMENTS[name]
    without_context = f"{name}({', '.join(expected)})"
    with_context = f"{name}({', '.join((*expected, 'context'))})"
    positional = len(args.posonlyargs) + len(args.args)
    count = positional + len(args.kwonlyargs) + (args.vararg is not None) + (args.kwarg is not None)
    shown = f"{label}({ast.unparse(args)})"
    if count == len(expected) + 1:
        passed = len(expected) + 1
        call = with_context
    elif count == len(expected):
        passed = len(expected)
        call = without_context
    else:
        how = ""
        if args.vararg or args.kwarg or args.kwonlyargs or args.defaults:
            how = " (the toolkit counts every parameter: with or without a default, *args, keyword-only, **kwargs)"
        problems.append(
            f"{script}: {shown} takes {_plural(count)}; the toolkit calls {without_context} or {with_context}"
            f"{how} (line {line})"
        )
        return False
    if positional < passed and args.vararg is None:
        cannot = [f"*, {a.arg}" for a in args.kwonlyargs] + ([f"**{args.kwarg.arg}"] if args.kwarg else [])
        problems.append(
            f"{script}: {shown} has {_plural(count)}, so the toolkit calls {call} with positional arguments "
            f"only, which {', '.join(cannot)} cannot receive: TypeError on every request (line {line})"
        )
        return False
    missing = [a.arg for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True) if default is None]
    if missing:
        problems.append(
            f"{script}: {shown} has keyword-only parameter(s) {', '.join(missing)} without a default; the toolkit "
            f"calls {call} and never passes them: TypeError on every request (line {line})"
        )
        return False
    return count == len(expected) + 1


# --------------------------------------------------------------------------------------------------
# requirements.txt

# pip's per-file and per-requirement options (pip 26 ``req_file.SUPPORTED_OPTIONS[_REQ]``):
# long name -> takes a value.
_PIP_LONG_OPTIONS: dict[str, bool] = {
    "--index-url": True,
    "--pypi-url": True,
    "--extra-index-url": True,
    "--no-index": False,
    "--constraint": True,
    "--requirement": True,
    "--editable": True,
    "--find-links": True,
    "--no-binary": True,
    "--only-binary": True,
    "--prefer-binary": False,
    "--require-hashes": False,
    "--no-require-hashes": False,
    "--pre": False,
    "--all-releases": True,
    "--only-final": True,
    "--trusted-host": True,
    "--use-feature": True,
    "--hash": True,
    "--config-settings": True,
}
_PIP_SHORT_OPTIONS = {
    "-i": "--index-url",
    "-c": "--constraint",
    "-r": "--requirement",
    "-e": "--editable",
    "-f": "--find-links",
    "-C": "--config-settings",
}
_PER_REQUIREMENT_OPTIONS = frozenset({"--hash", "--config-settings"})
_COMMENT_RE = re.compile(r"(^|\s+)#.*$")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^(git|hg|svn|bzr)\+", re.ASCII)
_ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's ``join_lines`` + ``ignore_comments``: (first physical line number, content)."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.endswith("\\") or _COMMENT_RE.match(line):
            if _COMMENT_RE.match(line):
                line = " " + line
            if pending:
                pending.append(line)
                joined, pending = "".join(pending), []
                yield start, joined
            else:
                yield number, line
        else:
            if not pending:
                start = number
            pending.append(line.strip("\\"))
    if pending:
        yield start, "".join(pending)


def _resolve_option(token: str) -> tuple[str | None, str | None]:
    """Return (long option name, inline value) for an option token, or (None, None) if pip does not know it."""
    if token.startswith("--"):
        name, sep, value = token.partition("=")
        if name not in _PIP_LONG_OPTIONS:
            matches = [long for long in _PIP_LONG_OPTIONS if long.startswith(name)]  # optparse abbreviations
            if len(matches) != 1:
                return None, None
            name = matches[0]
        return name, (value if sep else None)
    short = token[:2]
    if short in _PIP_SHORT_OPTIONS:
        rest = token[2:]
        if rest.startswith("="):
            rest = rest[1:]
        return _PIP_SHORT_OPTIONS[short], (rest or None)
    return None, None


def _parse_options(text: str) -> tuple[list[tuple[str, str | None]], str | None]:
    """Parse an options string like optparse would: ([(option, value)], error)."""
    tokens = text.split()
    parsed: list[tuple[str, str | None]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("-"):
            return parsed, f"unexpected argument {token!r} among pip options"
        name, value = _resolve_option(token)
        if name is None:
            return parsed, f"{token.split('=')[0]!r} is not an option pip accepts in a requirements file"
        if _PIP_LONG_OPTIONS[name]:
            if value is None:
                index += 1
                if index >= len(tokens):
                    return parsed, f"option {name} needs a value"
                value = tokens[index]
        elif value is not None:
            return parsed, f"option {name} takes no value"
        parsed.append((name, value))
        index += 1
    return parsed, None


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith((".", "/", "~"))
        or "/" in text
        or "\\" in text
        or text.lower().endswith(_ARCHIVE_SUFFIXES)
        or bool(re.match(r"^[A-Za-z]:", text))
    )


def _check_requirement(text: str) -> tuple[str | None, Requirement | None]:
    """Check one requirement (the args part of a line); return (problem, parsed requirement)."""
    # Imported here: only an endpoint that ships a requirements.txt pays for importing packaging.
    from packaging.markers import InvalidMarker, Marker
    from packaging.requirements import InvalidRequirement, Requirement

    if _URL_RE.match(text):
        # pip splits markers off a URL at '; ' (a bare ';' may belong to the URL).
        url, sep, marker = text.partition("; ")
        if sep:
            try:
                Marker(marker)
            except InvalidMarker as error:
                return f"invalid environment marker {marker!r}: {error}", None
        if " " in url.strip():
            return "a URL cannot contain spaces", None
        return None, None
    candidate = re.sub(r"\[[^\]]*\]$", "", text.split(";", 1)[0].strip())  # ./pkg[extra] is a path with extras
    if _looks_like_path(candidate) and "@" not in candidate and not re.search(r"[<>=!~\[\] ]", candidate):
        return None, None  # a local directory or archive: pip resolves it against the working directory
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        return str(error).splitlines()[0], None
    for specifier in requirement.specifier:
        if not specifier.version:
            return f"operator {specifier.operator!r} has no version after it", None
    return None, requirement


def _scan_requirements(path: Path, seen: set[Path], *, shipped: Path | None = None) -> tuple[list[str], list[str]]:
    """Problems and warnings of a requirements file and the files it includes with -r / -c.

    :param shipped: the directory that reaches the container (``code_dir``): a file included from
        outside it exists here but not there. :default: - anywhere is fine
    """
    problems: list[str] = []
    warnings: list[str] = []
    try:
        key = path.resolve()
    except OSError:
        key = path
    if key in seen:
        return problems, warnings
    seen.add(key)
    try:
        text = _decode_like_pip(path.read_bytes())
    except OSError as error:
        return [f"{path}: cannot read the requirements file: {error.strerror or error}"], warnings
    except UnicodeDecodeError as error:
        return [f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"], warnings

    for number, raw in _logical_lines(text):
        line = _COMMENT_RE.sub("", raw).strip()
        if not line:
            continue
        where = f"{path} line {number}"
        args, options_text = _break_args_options(line)
        options, option_error = _parse_options(options_text)
        if option_error:
            problems.append(f"{where}: {line!r}: {option_error}")
            continue
        if args:
            file_options = [name for name, _ in options if name not in _PER_REQUIREMENT_OPTIONS]
            if file_options:
                # pip accepts the line and ignores the option: not what whoever wrote it meant.
                warnings.append(
                    f"{where}: {line!r}: pip ignores {file_options[0]} after a requirement; put it on a line of its own"
                )
            problem, requirement = _check_requirement(args)
            if problem:
                problems.append(f"{where}: {args!r} is not a requirement pip can parse: {problem}")
            elif requirement is not None:
                _warn_dlc_package(where, requirement, warnings)
            continue
        for name, value in options:
            assert value is not None or not _PIP_LONG_OPTIONS[name]
            if name in _PER_REQUIREMENT_OPTIONS:
                problems.append(f"{where}: {line!r}: {name} must follow a requirement on the same line")
            elif name in ("--requirement", "--constraint") and value is not None:
                if _URL_RE.match(value):
                    continue
                included = Path(value).expanduser()
                if not included.is_absolute():
                    included = path.parent / included  # pip resolves nested files relative to this file
                if not included.is_file():
                    problems.append(
                        f"{where}: {line!r}: file {included} does not exist (pip resolves it relative to {path})"
                    )
                    continue
                # Lexically, not resolved: a symlink inside code_dir is followed when packaging, so it ships.
                inside = Path(os.path.abspath(included)).is_relative_to(os.path.abspath(shipped)) if shipped else True
                if not inside:
                    problems.append(
                        f"{where}: {line!r}: {included} is outside code_dir {shipped}; only code_dir reaches the "
                        "container (as /opt/ml/model/code), where pip would not find it: copy it into code_dir"
                    )
                    continue
                sub_problems, sub_warnings = _scan_requirements(included, seen, shipped=shipped)
                problems.extend(sub_problems)
                warnings.extend(sub_warnings)
            elif name == "--editable" and value is not None and not (_URL_RE.match(value) or _looks_like_path(value)):
                problems.append(
                    f"{where}: -e {value}: an editable requirement must be a local directory or a VCS URL "
                    "(git+https://...#egg=name)"
                )
    return problems, warnings


def _decode_like_pip(data: bytes) -> str:
    """Text of a requirements file as pip reads it: a UTF-8/16/32 byte order mark picks the codec
    (PowerShell's ``pip freeze > requirements.txt`` writes UTF-16), else UTF-8."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec)
    return data.decode("utf-8-sig")


def _break_args_options(line: str) -> tuple[str, str]:
    """pip's ``break_args_options``: the requirement part stops at the first token starting with '-'."""
    tokens = line.split(" ")
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:index]).strip(), " ".join(tokens[index:])
    return line.strip(), ""


def _warn_dlc_package(where: str, requirement: Requirement, warnings: list[str]) -> None:
    from packaging.utils import canonicalize_name

    name = canonicalize_name(requirement.name)
    if name not in _DLC_PACKAGES or (not requirement.specifier and not requirement.url):
        return
    warnings.append(
        f"{where}: {requirement} pins {name}, which the Hugging Face inference image already ships; pip would "
        "replace it at every container start (slow start-up, and a version the toolkit or CUDA build may not "
        "support). Remove the line or choose an image with the version you need"
    )
