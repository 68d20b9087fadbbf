"""Re-exports a folder package keeps for one release, loaded only when asked for.

A folder's ``__init__`` that imported its old names eagerly would run, with every import of one of
its modules (``from ..images.base import ...``), the imports of modules in other folders, and would
load those for every user of the folder. ``lazy_reexports`` gives the package a module
``__getattr__`` that imports a name's module on first access instead.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_reexports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that resolves each of ``names`` (name -> module, relative to
    ``package``) on first access; any other name is an ``AttributeError``."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
