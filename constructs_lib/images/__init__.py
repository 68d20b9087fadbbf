"""Container images: ``InferenceImage`` factories for each serving stack's DLC and for custom ECR images.

- ``base``: ``InferenceImage``, ``ImageConfig`` and the private image kinds;
- ``regions``: the registry account of each region, and the region -> account mapping of agnostic stacks;
- ``ecr_uri``: ECR image URIs as users write them.

The names in ``__all__`` are also the old ``constructs_lib.images`` module's, kept for one release
(import them from ``constructs_lib``); they load on first use, so importing ``images.base`` loads
nothing else.
"""

from .._core.reexports import lazy_reexports

DEPRECATED_REEXPORTS = {
    "ImageConfig": ".base",
    "InferenceImage": ".base",
    "loads_from_model_dir": ".base",
    "Serving": "..serving.base",
    "resolve_serving": "..serving.registry",
}
"""The old module's names: name -> the module that holds it now."""

__all__ = sorted(DEPRECATED_REEXPORTS)
__getattr__, __dir__ = lazy_reexports(__name__, DEPRECATED_REEXPORTS)
