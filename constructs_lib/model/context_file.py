"""The ``hub.context.json`` cache: Hub answers, committed like ``cdk.context.json``, read before any network call.

Several synths may share one file (``cdk synth`` of two apps in one directory, a CI matrix on one checkout): a
writer holds a lock file next to it while it re-reads the file, merges its answer and replaces the file in one
``os.replace``, so no answer is lost and a writer killed at any point leaves the old file whole. Readers take no
lock: they see the old file or the new one, never a mix, and need no write access to the directory.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._core.errors import ConfigurationError

CONTEXT_FILE_NAME = "hub.context.json"
CONTEXT_FILE_ENV = "CONSTRUCTS_LIB_HUB_CONTEXT"
LOCK_TIMEOUT_SECONDS = 60.0
"""How long a writer waits for another one; a write holds the lock for milliseconds, never during a lookup."""
_REPLACE_ATTEMPTS = 20
"""Windows refuses to replace a file another process has open; a reader holds it for milliseconds."""


class HubCacheError(ConfigurationError):
    """``hub.context.json`` cannot be read or written: it is corrupt, or another process holds its lock.

    Unlike a failed lookup, this is never turned into a warning: the file is part of the project.
    """


def default_context_file(start: Path | None = None) -> Path:
    """``$CONSTRUCTS_LIB_HUB_CONTEXT``, else ``hub.context.json`` next to the nearest ``cdk.json``
    (searching from ``start``, default the working directory, upward), else in ``start``."""
    env = os.environ.get(CONTEXT_FILE_ENV)
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "cdk.json").is_file():
            return directory / CONTEXT_FILE_NAME
    return here / CONTEXT_FILE_NAME


def context_key(model_id: str, revision: str | None) -> str:
    """The ``hub.context.json`` key: ``hub:<model_id>@<revision or main>``."""
    return f"hub:{model_id}@{revision or 'main'}"


def lock_file_of(path: Path) -> Path:
    """The lock file writers of ``path`` hold: ``hub.context.json.lock`` next to it (left in place, git-ignore it)."""
    return path.with_name(f"{path.name}.lock")


def read_context(path: Path) -> dict[str, Any]:
    """The cached answers in ``path`` (empty when the file does not exist).

    :raises HubCacheError: the file is not a JSON object; it is never silently replaced by an empty cache.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise HubCacheError(f"{str(path)!r} cannot be read ({error}); fix or delete it") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise HubCacheError(
            f"{str(path)!r} is not valid JSON ({error}). It holds the Hub answers synths read before any lookup: "
            "fix it (restore it from version control), or delete it to look every model up again"
        ) from None
    if not isinstance(data, dict):
        raise HubCacheError(
            f"{str(path)!r} must hold a JSON object of Hub answers, found {type(data).__name__}; fix or delete it"
        )
    return data


def write_context_entry(path: Path, key: str, value: Mapping[str, Any]) -> None:
    """Merge one answer into ``path``: under the lock, re-read the file, add ``key``, replace the file atomically.

    The JSON is sorted and indented, so the file is stable across runs and diffs well. Entries of other
    writers, including ones written while this process was looking its model up, are kept.

    :raises HubCacheError: the file is corrupt or cannot be written, or another writer held the lock for
        ``LOCK_TIMEOUT_SECONDS``.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path):
            _remove_stale_temporaries(path)
            data = read_context(path)
            data[key] = value
            _replace(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError as error:
        raise HubCacheError(
            f"{str(path)!r} cannot be written ({error}): the Hub's answer for {key!r} was not cached; make its "
            f"directory writable, or point {CONTEXT_FILE_ENV} at a file that is"
        ) from None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s lock file: fcntl on Linux and macOS, msvcrt on Windows (through filelock), released by
    the operating system when the holder dies, so a killed synth never leaves a stale lock."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_file_of(path)), timeout=LOCK_TIMEOUT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise HubCacheError(
            f"{str(path)!r}: another process has held {str(lock_file_of(path))!r} for over "
            f"{LOCK_TIMEOUT_SECONDS:g} s; if no other synth is running, delete the lock file"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def _remove_stale_temporaries(path: Path) -> None:
    """Delete what killed writers left (``.hub.context.json.<random>.tmp``): under the lock, no other writer
    has a temporary file, so every one found is stale."""
    for stale in path.parent.glob(f"{_temporary_prefix(path)}*.tmp"):
        stale.unlink(missing_ok=True)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    temporary = path.with_name(f"{_temporary_prefix(path)}{secrets.token_hex(6)}.tmp")
    # Created like any file (0666 less the umask), then given the old file's mode: mkstemp's 0600 would
    # make a committed cache unreadable to the other users of a shared checkout.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        _keep_mode(path, temporary)
        _rename_over(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _keep_mode(path: Path, temporary: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    os.chmod(temporary, mode)


def _rename_over(temporary: Path, path: Path) -> None:
    for attempt in range(_REPLACE_ATTEMPTS):
        try:
            os.replace(temporary, path)
            return
        except PermissionError:
            if os.name != "nt" or attempt == _REPLACE_ATTEMPTS - 1:
                raise
            time.sleep(0.05)
