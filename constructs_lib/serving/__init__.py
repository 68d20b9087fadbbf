"""Serving stacks: the server inside the container, one module each.

- ``base``: the ``Serving`` names and the ``ServingStack`` interface every stack implements;
- ``registry``: which stacks exist and which one ``Serving.AUTO`` picks;
- ``toolkit``, ``tgi``, ``tei``: the Hugging Face inference toolkit, Text Generation Inference and
  Text Embeddings Inference.
"""

from .base import Serving, ServingStack
from .registry import register_serving_stack, resolve_serving, stack_of

__all__ = ["Serving", "ServingStack", "register_serving_stack", "resolve_serving", "stack_of"]
