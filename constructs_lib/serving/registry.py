"""Which serving stacks exist, and which one ``Serving.AUTO`` picks.

Built-in stacks are named here by module and imported on first use; a stack of your own joins them
with :func:`register_serving_stack`. Adding a built-in stack is one module plus one ``Serving``
member and one line in ``_BUILT_IN``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from .._core.errors import ConfigurationError, describe
from .base import Serving, ServingStack
from .facts import AutoRequest

_BUILT_IN: Mapping[Serving, str] = {
    # In the order Serving.AUTO asks them; the inference toolkit, asked last, serves everything else.
    Serving.LLAMACPP: "llamacpp",
    Serving.VLLM: "vllm.stack",
    Serving.SGLANG: "sglang",
    Serving.TGI: "tgi",
    Serving.TEI: "tei",
    Serving.INFERENCE_TOOLKIT: "toolkit",
}
_REGISTERED: dict[str, ServingStack] = {}
_LOADED: dict[Serving, ServingStack] = {}
"""The built-in stacks imported so far: endpoint resolution asks for them a dozen times per endpoint."""


def stack_of(serving: Serving | ServingStack) -> ServingStack:
    """The stack a concrete ``Serving`` member names (a ``ServingStack`` is returned as is).

    :raises ConfigurationError: for ``Serving.AUTO``, which names no stack: resolve it first.
    """
    if isinstance(serving, ServingStack):
        return serving
    loaded = _LOADED.get(serving)
    if loaded is not None:
        return loaded
    module = _BUILT_IN.get(serving)
    if module is None:
        raise ConfigurationError(
            f"serving: {describe(serving)} is not a concrete serving stack; resolve Serving.AUTO with "
            f"resolve_serving() first; allowed: {', '.join(s.name for s in Serving if s in _BUILT_IN)}"
        )
    stack: ServingStack = importlib.import_module(f".{module}", __package__).STACK
    _LOADED[serving] = stack
    return stack


def register_serving_stack(stack: ServingStack) -> None:
    """Make ``stack`` one that ``Serving.AUTO`` asks (after the built-in ones but before the inference
    toolkit, which serves whatever no other stack takes)."""
    if not isinstance(stack, ServingStack):
        raise ConfigurationError(f"register_serving_stack: {describe(stack)} is not a ServingStack")
    _REGISTERED[stack.name] = stack


def unregister_serving_stack(stack: ServingStack) -> None:
    """Undo :func:`register_serving_stack`."""
    _REGISTERED.pop(stack.name, None)


def stacks() -> Iterator[ServingStack]:
    """Every stack ``Serving.AUTO`` asks, in order; the inference toolkit comes last."""
    for serving in _BUILT_IN:
        if serving is not Serving.INFERENCE_TOOLKIT:
            yield stack_of(serving)
    yield from _REGISTERED.values()
    yield stack_of(Serving.INFERENCE_TOOLKIT)


def auto_stack(request: AutoRequest) -> ServingStack:
    """The stack ``Serving.AUTO`` picks: the inference toolkit for a custom script (only it runs
    ``inference.py``), else the first stack that selects the model, else the inference toolkit."""
    toolkit = stack_of(Serving.INFERENCE_TOOLKIT)
    if request.custom_script:
        return toolkit
    return next((stack for stack in stacks() if stack.auto_selects(request)), toolkit)


def auto_notes(request: AutoRequest, chosen: ServingStack) -> list[str]:
    """Info messages of the stacks ``Serving.AUTO`` passed over for a model they usually serve."""
    return [note for stack in stacks() if stack is not chosen and (note := stack.auto_note(request)) is not None]


def auto_problem(request: AutoRequest, chosen: ServingStack) -> str | None:
    """Why ``Serving.AUTO`` cannot serve the model where it is asked to run, as a stack passed over says (e.g.
    ``text-generation`` on CPU without GGUF weights); ``None``: ``chosen`` serves it."""
    if request.custom_script:
        return None  # the inference toolkit runs the script, wherever it is
    return next((p for stack in stacks() if stack is not chosen and (p := stack.auto_problem(request))), None)


def resolve_serving(
    serving: Serving, *, task: str | None, custom_script: bool, architecture: str | None = None
) -> Serving:
    """Resolve :attr:`Serving.AUTO` to a concrete serving stack; explicit values are returned as-is.

    AUTO picks the inference toolkit when a custom script is used (only the toolkit runs
    ``inference.py``), vLLM for ``text-generation`` and ``image-text-to-text`` (of decoder models), TEI for
    ``feature-extraction`` (of an architecture TEI loads) and ``sentence-similarity``, and the inference
    toolkit for every other task. TGI, in maintenance mode upstream, runs only when asked for.

    :param serving: the requested serving stack.
    :param task: the model's pipeline task; ``None`` when unknown.
    :param custom_script: whether the model ships a custom ``inference.py``.
    :param architecture: ``config.json``'s first architecture; ``None`` when unknown.
    """
    if serving is not Serving.AUTO:
        return serving
    stack = auto_stack(AutoRequest(task=task, architecture=architecture, custom_script=custom_script))
    if stack.serving is None:
        raise ConfigurationError(
            f"resolve_serving: Serving.AUTO picked {stack.name}, a serving stack of your own that no Serving member "
            "names; use auto_stack() to get it"
        )
    return stack.serving
