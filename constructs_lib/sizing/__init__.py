"""Instance selection: what a model needs, which instance holds it, at what price.

- ``options``: ``SizingOptions`` (the ``instance_selection`` prop);
- ``fit``: ``InstanceFit`` and ``DeploymentPlan``, what selection answers;
- ``planner``: ``fit_table`` and ``plan_deployment``, over the memory model of each serving stack;
- ``messages``: the plan summary and the reasons nothing fits.

The names below are also the old ``constructs_lib.sizing`` module's, kept for one release; import
them from ``constructs_lib``.
"""

from ..model.quantization import PREQUANTIZED_METHODS, QUANTIZE_BYTES_PER_PARAMETER, quantized_bytes_per_parameter
from ..serving.base import CUDA_CONTEXT_GIB
from .fit import DeploymentPlan, InstanceFit
from .options import HEADROOM_DEFAULT, SizingOptions, check_quantize
from .planner import GIB, fit_table, plan_deployment, selection_conflicts, served_weights_gib

__all__ = [
    "CUDA_CONTEXT_GIB",
    "GIB",
    "HEADROOM_DEFAULT",
    "PREQUANTIZED_METHODS",
    "QUANTIZE_BYTES_PER_PARAMETER",
    "DeploymentPlan",
    "InstanceFit",
    "SizingOptions",
    "check_quantize",
    "fit_table",
    "plan_deployment",
    "quantized_bytes_per_parameter",
    "selection_conflicts",
    "served_weights_gib",
]
