"""Container images: ``InferenceImage`` factories for each serving stack's DLC and for custom ECR images.

- ``base``: ``InferenceImage``, ``ImageConfig`` and the private image kinds;
- ``regions``: the registry account of each region, and the region -> account mapping of agnostic stacks;
- ``ecr_uri``: ECR image URIs as users write them.

The names below are also the old ``constructs_lib.images`` module's, kept for one release; import
them from ``constructs_lib``.
"""

from ..serving.base import Serving
from ..serving.registry import resolve_serving
from .base import ImageConfig, InferenceImage, loads_from_model_dir

__all__ = ["ImageConfig", "InferenceImage", "Serving", "loads_from_model_dir", "resolve_serving"]
