"""Placeholder: implemented by the production-features work (issue 5)."""

from __future__ import annotations

from .features import EndpointFeature

FEATURE = EndpointFeature()
