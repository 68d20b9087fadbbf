"""CDK tokens and the plain values props hold: what can be checked at synth time, and how.

Checking the text of a token in Python saves a jsii round trip per check, which adds up to hundreds
per app (see benchmarks/README.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, overload

import jsii
from aws_cdk import Duration, IAnyProducer, IResolvable, IResolveContext, Lazy, Token

# How CDK encodes tokens in strings and string lists.
_STRING_TOKEN = "${Token["
_LIST_TOKEN = "#{Token["


def is_number(value: Any) -> bool:
    """An ``int`` or a finite ``float``: not a bool, not NaN or infinity (which jsii cannot even send), not an
    ``int`` too large for a float (JSON allows any length of digits)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def is_whole(value: Any) -> bool:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_positive_integer_text(value: Any) -> bool:
    """A string of ASCII digits above 0 (how containers read whole-number settings)."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0


def duration_seconds(value: Duration) -> float:
    """Seconds of a resolved ``Duration``, fractions included (``to_seconds()`` throws inside jsii on them)."""
    return float(value.to_milliseconds(integral=False)) / 1000


@overload
def whole_seconds(value: Duration) -> int: ...
@overload
def whole_seconds(value: None) -> None: ...
@overload
def whole_seconds(value: Duration | None) -> int | None: ...
def whole_seconds(value: Duration | None) -> int | None:
    """Whole seconds of a resolved ``Duration`` (``None`` stays ``None``)."""
    return None if value is None else int(value.to_seconds())


def implements(value: object, *attributes: str) -> bool:
    """Whether ``value`` has every member of a jsii interface that the caller uses.

    jsii interfaces are not runtime-checkable protocols, and imported resources are dynamic proxies:
    checking for the members used is the only test that works for both.
    """
    return all(hasattr(value, attribute) for attribute in attributes)


def is_unresolved(value: Any) -> bool:
    """True for CDK tokens, which are only known at deploy time and so cannot be checked."""
    if value is None or isinstance(value, (bool, int)):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and infinity are plain (bad) values, and jsii cannot even serialise them
    if isinstance(value, str):
        return _STRING_TOKEN in value
    if isinstance(value, list | tuple):
        strings = [item for item in value if isinstance(item, str)]
        return any(_LIST_TOKEN in item or _STRING_TOKEN in item for item in strings)
    if not isinstance(value, float) and not hasattr(value, "__jsii_ref__"):
        return False  # a plain Python value (bytes, a dict, an object): no token, and nothing jsii could send
    # Number tokens (encoded as special floats) and IResolvable objects.
    return bool(Token.is_unresolved(value))


def deferred(produce: Callable[[], Any]) -> IResolvable:
    """A value ``produce()`` computes when the template is synthesized: for what depends on constructs added after
    the one that holds it (the components of an endpoint). It is computed each time CDK resolves it, so
    ``produce`` must be cheap and give the same answer each time.

    A struct returned is rendered like the struct the property takes (snake_case fields, ``None`` left out).
    """
    return Lazy.uncached_any(_Producer(produce))


@jsii.implements(IAnyProducer)
class _Producer:
    # Uncached: a cached Lazy calls produce() without a context, which jsii refuses to pass to Python.
    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self, context: IResolveContext) -> Any:
        return self._produce()
