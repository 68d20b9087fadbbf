"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .contract.facts import AsyncInferenceLocations
from .endpoints.base import async_inference_locations
from .features.async_inference import (
    FAILURE_PREFIX,
    INPUT_PREFIX,
    MAX_CONCURRENT_INVOCATIONS,
    OUTPUT_PREFIX,
    AsyncInference,
)
from .features.serverless import (
    SERVERLESS_MAX_CONCURRENCY,
    SERVERLESS_MEMORY_RANGE,
    SERVERLESS_MEMORY_STEP,
    ServerlessInference,
)

__all__ = [
    "AsyncInference",
    "AsyncInferenceLocations",
    "FAILURE_PREFIX",
    "INPUT_PREFIX",
    "MAX_CONCURRENT_INVOCATIONS",
    "OUTPUT_PREFIX",
    "SERVERLESS_MAX_CONCURRENCY",
    "SERVERLESS_MEMORY_RANGE",
    "SERVERLESS_MEMORY_STEP",
    "ServerlessInference",
    "async_inference_locations",
]
