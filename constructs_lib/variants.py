"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .features.variants import MAX_PRODUCTION_VARIANTS, ModelVariant

__all__ = ["MAX_PRODUCTION_VARIANTS", "ModelVariant"]
