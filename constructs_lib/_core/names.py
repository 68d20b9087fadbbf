"""Names and name rules that several concerns share: the variant, tags, log groups, archives, scripts."""

from __future__ import annotations

import re

VARIANT_NAME = "AllTraffic"
"""The production variant name SageMaker's own SDK uses for single-model endpoints."""

MODEL_ID_TAG = "huggingface:model-id"
"""Tag with the Hub model id, on every resource of a Hub-model endpoint."""

LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
"""Where SageMaker writes an endpoint's container logs (the log group is this plus the endpoint name)."""

CONTAINER_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"
"""Namespace of the instance metrics and of the metrics a container publishes itself."""

INVOCATION_METRICS_NAMESPACE = "AWS/SageMaker"
"""Namespace of the invocation metrics (``Invocations``, ``ModelLatency``, errors, ...)."""

RESOURCE_NAME = re.compile(r"^(?=.{1,63}$)[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
"""SageMaker endpoint and variant names: 1-63 characters in all (the lookahead), alphanumerics and
hyphens, no hyphen at either end."""

DEFAULT_ENTRY_POINT = "inference.py"
"""What the inference toolkit imports from ``code/`` without ``SAGEMAKER_PROGRAM``."""

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
"""Names SageMaker's ``ModelDataUrl`` reads as a gzip tar archive (any case)."""


def is_archive_name(name: str) -> bool:
    """Whether a key or file name says gzip tar (``.tar.gz`` or ``.tgz``, in any case): SageMaker reads the
    content, not the name, but a name is all there is to tell an object from a prefix someone forgot
    the ``/`` of."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)
