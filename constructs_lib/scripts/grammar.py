"""Whether the Python inside the image can parse a user's script, and how syntax errors are worded.

The synth parses the script with its own Python's grammar; the image may run an older Python (syntax
added since fails only when the toolkit imports the script) or a newer one (a syntax error here may
be valid there).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

__all__ = ["script_grammar_problem"]


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
    from ..catalogue.dlc import newest_toolkit_python  # reads the catalogue: only needed on this path

    synth = sys.version_info[:2]
    newest = newest_toolkit_python()
    if synth >= newest:
        return ""
    return (
        f" (parsed as Python {synth[0]}.{synth[1]}, which runs this synth; if the line is valid Python "
        f"{newest[0]}.{newest[1]} and the image runs that, run cdk synth with Python {newest[0]}.{newest[1]})"
    )
