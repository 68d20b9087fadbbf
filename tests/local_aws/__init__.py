"""The local AWS of the deploy tests: moto's server, extended in this process where it lacks what the library uses.

moto 5.2 implements neither SageMaker inference components (the API or ``AWS::SageMaker::InferenceComponent``) nor
the CloudFormation types of Application Auto Scaling. ``install()`` adds them, with the checks AWS makes between
these resources (``inference_components``, ``autoscaling``), lets endpoints host components (``endpoints``), and
makes CloudFormation follow the template's dependencies (``cloudformation``), so that a deploy, an update and a
destroy by the real CDK CLI prove the order of operations. ``EVENTS`` logs that order.

What is emulated, not run: components are InService at once (no container starts), copies never scale (no
metrics), adapters load into nothing, and scheduled scaling actions are not applied.
"""

from __future__ import annotations

from collections.abc import Callable

from moto.cloudformation import parsing
from moto.sagemaker import models as sagemaker
from moto.sagemaker.responses import SageMakerResponse

from .autoscaling import COMPONENT_DIMENSION, POLICY, TARGET, CfnScalableTarget, CfnScalingPolicy, install_scaling
from .cloudformation import install_ordering
from .endpoints import ENDPOINT, install_endpoints
from .inference_components import COMPONENT, BackendMethods, FakeInferenceComponent, ResponseMethods
from .patching import EVENTS, Event, Patcher

__all__ = ["COMPONENT", "COMPONENT_DIMENSION", "ENDPOINT", "EVENTS", "POLICY", "TARGET", "Event", "install"]

_installed: Callable[[], None] | None = None


def install() -> Callable[[], None]:
    """Extend moto in this process (once: a second call returns the same undo); returns what undoes it."""
    global _installed
    if _installed is not None:
        return _installed
    patcher = Patcher()
    listed = parsing.get_model_list
    patcher.patch(
        parsing, "get_model_list", lambda: [*listed(), FakeInferenceComponent, CfnScalableTarget, CfnScalingPolicy]
    )
    patcher.add_methods(BackendMethods, sagemaker.SageMakerModelBackend)
    patcher.add_methods(ResponseMethods, SageMakerResponse)
    install_endpoints(patcher)
    install_scaling(patcher)
    install_ordering(patcher)

    def uninstall() -> None:
        global _installed
        patcher.undo()
        _installed = None
        _clear_type_caches()

    _installed = uninstall
    _clear_type_caches()
    return uninstall


def _clear_type_caches() -> None:
    """moto caches its CloudFormation type -> class maps: rebuild them so the types added here appear (or go)."""
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
