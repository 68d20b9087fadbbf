"""Synth-time check of the ``requirements.txt`` the inference toolkit installs with ``pip install -r``.

The file is read as pip reads it (byte order marks, ``\\`` continuations, comments, per-file and
per-requirement options, nested ``-r``/``-c`` files), without running pip: what pip would reject
is an error, what pip accepts but does not do what was meant (an option after a requirement, a
pin of a package the Deep Learning Container ships) is a warning.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = ["check_requirements_file"]

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


def _check_code_dir_requirements(code_path: Path, problems: list[str], warnings: list[str]) -> None:
    """Check ``code_path/requirements.txt``, or warn about a file that was probably meant to be it."""
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


def _misnamed_requirements(code_path: Path) -> Path | None:
    """A file that looks meant as ``requirements.txt`` but is not named so (``Requirements.txt``,
    ``requirement.txt``, ``requirements.TXT``, ``requirements.txt.txt``)."""
    for candidate in sorted(code_path.iterdir()):
        name = candidate.name.lower()
        if candidate.is_file() and name in ("requirements.txt", "requirement.txt", "requirements.txt.txt"):
            return candidate
    return None


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


_OPERATOR_WITHOUT_VERSION = re.compile(r"(===|==|!=|~=|<=|>=|<|>)\s*(?:,|$)")
"""A version operator that ends the specifier list, or an item of it, with no version after it."""


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
    named = text.split(";", 1)[0]
    if "@" not in named and (bare := _OPERATOR_WITHOUT_VERSION.search(named)):
        # Checked before packaging, which accepts `torch===` up to 26.3 and refuses it from 26.4: the same
        # message with every packaging pyproject.toml allows.
        return f"operator {bare.group(1)!r} has no version after it", None
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        return str(error).splitlines()[0], None
    return None, requirement


def _scan_requirements(path: Path, seen: set[Path], *, shipped: Path | None = None) -> tuple[list[str], list[str]]:
    """Problems and warnings of a requirements file and the files it includes with -r / -c.

    :param shipped: the directory that reaches the container (``code_dir``): a file included from
        outside it exists here but not there.
    :default shipped: anywhere is fine
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
        if line:
            _check_line(path, f"{path} line {number}", line, seen, shipped, problems, warnings)
    return problems, warnings


def _check_line(
    path: Path, where: str, line: str, seen: set[Path], shipped: Path | None, problems: list[str], warnings: list[str]
) -> None:
    """One logical line of ``path`` (comments stripped): a requirement with its options, or pip options."""
    args, options_text = _break_args_options(line)
    options, option_error = _parse_options(options_text)
    if option_error:
        problems.append(f"{where}: {line!r}: {option_error}")
        return
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
        return
    for name, value in options:
        assert value is not None or not _PIP_LONG_OPTIONS[name]
        if name in _PER_REQUIREMENT_OPTIONS:
            problems.append(f"{where}: {line!r}: {name} must follow a requirement on the same line")
        elif name in ("--requirement", "--constraint") and value is not None:
            _check_included_file(path, f"{where}: {line!r}", value, seen, shipped, problems, warnings)
        elif name == "--editable" and value is not None and not (_URL_RE.match(value) or _looks_like_path(value)):
            problems.append(
                f"{where}: -e {value}: an editable requirement must be a local directory or a VCS URL "
                "(git+https://...#egg=name)"
            )


def _check_included_file(
    path: Path, shown: str, value: str, seen: set[Path], shipped: Path | None, problems: list[str], warnings: list[str]
) -> None:
    """A ``-r``/``-c`` file named on a line of ``path`` (``shown`` names the line): it must exist and ship."""
    if _URL_RE.match(value):
        return
    included = Path(value).expanduser()
    if not included.is_absolute():
        included = path.parent / included  # pip resolves nested files relative to this file
    if not included.is_file():
        problems.append(f"{shown}: file {included} does not exist (pip resolves it relative to {path})")
        return
    # Lexically, not resolved: a symlink inside code_dir is followed when packaging, so it ships.
    inside = Path(os.path.abspath(included)).is_relative_to(os.path.abspath(shipped)) if shipped else True
    if not inside:
        problems.append(
            f"{shown}: {included} is outside code_dir {shipped}; only code_dir reaches the "
            "container (as /opt/ml/model/code), where pip would not find it: copy it into code_dir"
        )
        return
    sub_problems, sub_warnings = _scan_requirements(included, seen, shipped=shipped)
    problems.extend(sub_problems)
    warnings.extend(sub_warnings)


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
