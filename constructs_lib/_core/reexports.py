"""Re-exports a folder package keeps for one release, loaded only when asked for.

A folder's ``__init__`` that imported its old names eagerly would run, with every import of one of
its modules (``from ..images.base import ...``), the imports of modules in other folders, and would
load those for every user of the folder. ``lazy_reexports`` gives the package a module ``__getattr__``
that imports a name's module on first access instead, and a ``__dir__`` that lists the names.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_reexports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``: each of ``names`` (name -> module, relative to
    ``package``) resolves on first access; so does a submodule (``sizing.planner``), which the old eager imports
    made an attribute; any other name is an ``AttributeError``."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is not None:
            return getattr(importlib.import_module(module, package), name)
        if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        # The package's own names (what dir() lists without a __dir__), and the re-exported ones.
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
