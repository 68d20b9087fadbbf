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
import difflib
import sys
from dataclasses import dataclass
from pathlib import Path

from .._core.errors import ConfigurationError
from .._core.names import DEFAULT_ENTRY_POINT
from .bindings import _Binding, _effective_bindings, _first_live_line, _Scan, _scan_module, _short
from .contract import (
    _HANDLERS,
    _PREIMPORTED_MODULES,
    _SIGNATURE_PRESERVING_DECORATORS,
    _STEP_HANDLERS,
    HANDLER_ARGUMENTS,
)
from .grammar import _older_synth_note, _where
from .requirements import _check_code_dir_requirements

__all__ = ["ScriptReport", "check_inference_script"]


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


def check_inference_script(code_dir: str | Path, entry_point: str = DEFAULT_ENTRY_POINT) -> ScriptReport:
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

    _check_code_dir_requirements(code_path, problems, warnings)

    if problems:
        raise ConfigurationError(_format(script, problems))
    return ScriptReport(
        path=report.path, handlers=report.handlers, uses_context=report.uses_context, warnings=tuple(warnings)
    )


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


def _check_script(script: Path, problems: list[str], warnings: list[str]) -> ScriptReport:
    tree = _parse(script, problems)
    if tree is None:
        return ScriptReport(path=script, handlers=(), uses_context=(), warnings=())
    scan = _scan_module(tree)
    present, uses_context = _check_handlers(script, scan, problems, warnings)
    _warn_unseen_handlers(script, scan, present, warnings)
    _check_some_handler(script, scan, present, problems, warnings)
    return ScriptReport(path=script, handlers=tuple(present), uses_context=tuple(uses_context), warnings=())


def _parse(script: Path, problems: list[str]) -> ast.Module | None:
    """The script's syntax tree, or ``None`` after recording why it cannot be read or parsed."""
    try:
        source = script.read_bytes()
    except OSError as error:
        problems.append(f"{script}: cannot read the entry point: {error.strerror or error}")
        return None
    try:
        return ast.parse(source, filename=str(script))
    except SyntaxError as error:
        problems.append(f"{script}: syntax error at {_where(error)}: {error.msg}{_older_synth_note()}")
        return None
    except (ValueError, UnicodeDecodeError) as error:
        problems.append(f"{script}: cannot be parsed as Python source: {error}")
        return None


def _check_handlers(script: Path, scan: _Scan, problems: list[str], warnings: list[str]) -> tuple[list[str], list[str]]:
    """Check every definition of each handler; return the handlers present and those that take ``context``."""
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
    _check_transform_combination(script, scan, present, definitely_present, problems, warnings)
    return present, uses_context


def _check_transform_combination(
    script: Path,
    scan: _Scan,
    present: list[str],
    definitely_present: list[str],
    problems: list[str],
    warnings: list[str],
) -> None:
    """transform_fn excludes input_fn/predict_fn/output_fn: an error when both surely exist, else a warning."""
    if "transform_fn" not in present:
        return
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


def _warn_unseen_handlers(script: Path, scan: _Scan, present: list[str], warnings: list[str]) -> None:
    """Handlers that may exist but out of the check's sight, and functions that look like misspelt ones."""
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


def _check_some_handler(
    script: Path, scan: _Scan, present: list[str], problems: list[str], warnings: list[str]
) -> None:
    """A script must define a handler, unless it may define one in a way that cannot be seen statically."""
    if present:
        return
    for how, line in scan.dynamic_definitions:
        warnings.append(
            f"{script}: defines no handler statically, but {how} (line {line}) may define one at run time; "
            "it cannot be checked here, and the toolkit silently uses its defaults if none exists"
        )
    if not scan.star_imports and scan.module_getattr is None and not scan.dynamic_definitions:
        problems.append(
            f"{script}: defines none of {', '.join(_HANDLERS)} at module level; the toolkit would silently use "
            "its default handlers. Define at least one handler (or drop the script and set HF_TASK)"
        )


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
