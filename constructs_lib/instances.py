"""Deprecated path, kept for one release: use ``from constructs_lib import ...``, or the modules below."""

from .catalogue.instances import (
    DEFAULT_PRICES,
    GPU_FAMILIES,
    INSTANCE_CATALOGUE,
    InstanceSpec,
    InstanceType,
    Processor,
    instance_spec,
    instance_type_problem,
    processor_for,
    with_prices,
)

__all__ = [
    "DEFAULT_PRICES",
    "GPU_FAMILIES",
    "INSTANCE_CATALOGUE",
    "InstanceSpec",
    "InstanceType",
    "Processor",
    "instance_spec",
    "instance_type_problem",
    "processor_for",
    "with_prices",
]
