"""Serving stacks: the server inside the container, one module each.

- ``base``: the ``Serving`` names and the ``ServingStack`` interface every stack implements;
- ``registry``: which stacks exist and which one ``Serving.AUTO`` picks;
- ``toolkit``, ``tei``, ``tgi``: the Hugging Face inference toolkit, Text Embeddings Inference and Text Generation
  Inference (retired upstream: run only when asked for);
- ``vllm/`` (GPU, and ``neuron`` for Inferentia and Trainium), ``sglang``, ``llamacpp`` (GGUF): the LLM servers, whose
  shared parts are ``catalogued`` (one image family, chat bodies, start-up time), ``kv_cache`` (their memory model)
  and ``server_flags`` (their ``engine_args`` checks);
- ``facts`` and ``environment``: what a stack reads about the model, and the rules every container environment
  follows.
"""

from .base import Serving, ServingStack
from .registry import register_serving_stack, resolve_serving, stack_of

__all__ = ["Serving", "ServingStack", "register_serving_stack", "resolve_serving", "stack_of"]
