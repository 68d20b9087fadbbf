"""Instance selection: what a model needs, which instance holds it, at what price.

- ``options``: ``SizingOptions`` (the ``instance_selection`` prop);
- ``fit``: ``InstanceFit`` and ``DeploymentPlan``, what selection answers;
- ``planner``: ``fit_table`` and ``plan_deployment``, over the memory model of each serving stack;
- ``messages``: the plan summary and the reasons nothing fits.

The names in ``__all__`` are also the old ``constructs_lib.sizing`` module's, kept for one release
(import them from ``constructs_lib``); they load on first use.
"""

from .._core.reexports import lazy_reexports

DEPRECATED_REEXPORTS = {
    "CUDA_CONTEXT_GIB": "..serving.base",
    "GIB": ".planner",
    "HEADROOM_DEFAULT": ".options",
    "PREQUANTIZED_METHODS": "..model.quantization",
    "QUANTIZE_BYTES_PER_PARAMETER": "..model.quantization",
    "DeploymentPlan": ".fit",
    "InstanceFit": ".fit",
    "SizingOptions": ".options",
    "check_quantize": ".options",
    "fit_table": ".planner",
    "plan_deployment": ".planner",
    "quantized_bytes_per_parameter": "..model.quantization",
    "selection_conflicts": ".planner",
    "served_weights_gib": ".planner",
}
"""The old module's names: name -> the module that holds it now."""

__all__ = sorted(DEPRECATED_REEXPORTS)
__getattr__, __dir__ = lazy_reexports(__name__, DEPRECATED_REEXPORTS)
