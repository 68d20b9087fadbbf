"""Patching moto in-process, reversibly, and the log of what the patched backends did (``EVENTS``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

Event = tuple[str, str, str]
"""``("create" | "update" | "delete", CloudFormation type, name)``; a scalable target is named by its resource id."""

EVENTS: list[Event] = []
"""What was created, updated and deleted, in order, through the API and CloudFormation alike."""

_MISSING = object()


class Patcher:
    """Sets attributes on moto's classes and modules, and puts every one back on ``undo()``."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def patch(self, owner: Any, name: str, value: Any) -> None:
        saved = vars(owner).get(name, _MISSING)
        setattr(owner, name, value)
        self._undo.append(lambda: delattr(owner, name) if saved is _MISSING else setattr(owner, name, saved))

    def add_methods(self, source: type, target: type) -> None:
        """Every function defined on ``source``, as a method of ``target``."""
        for name, function in vars(source).items():
            if inspect.isfunction(function):
                self.patch(target, name, function)

    def record(
        self,
        owner: Any,
        method: str,
        action: str,
        kind: str,
        key: str,
        exists: Callable[..., bool] | None = None,
    ) -> None:
        """Log each successful call of ``owner.method`` as ``(action, kind, <argument key>)``; ``exists`` (which may
        raise AWS's refusal first) turns a create of something that exists into an update."""
        original = getattr(owner, method)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            named = inspect.signature(original).bind(self, *args, **kwargs).arguments
            named.pop("self")
            done = "update" if exists and exists(self, **named) else action
            result = original(self, *args, **kwargs)
            EVENTS.append((done, kind, named[key]))
            return result

        self.patch(owner, method, wrapper)

    def undo(self) -> None:
        for step in reversed(self._undo):
            step()
        self._undo.clear()
