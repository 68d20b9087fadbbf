"""AWS CDK constructs that put Hugging Face models into production on Amazon SageMaker.

- ``HubModelEndpoint``: a pre-trained model straight from the Hugging Face Hub.
- ``FineTunedEndpoint``: your own fine-tuned model (S3 or a local directory).
- ``CustomScriptEndpoint``: your ``inference.py`` with a fine-tuned or a Hub model.
"""

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ._core.errors import ConfigurationError

if TYPE_CHECKING:
    from .autoscaling import AutoScaling, ScheduledCapacity
    from .catalogue.instances import INSTANCE_CATALOGUE, InstanceSpec, InstanceType, Processor
    from .custom_script import CustomScriptEndpoint
    from .data_capture import DataCapture
    from .deployment import DeploymentGuardrails, DeploymentType
    from .endpoint import DEFAULT_INSTANCE_TYPE, EndpointBase, EndpointProps
    from .fine_tuned import FineTunedEndpoint
    from .hub_model import HubModelEndpoint
    from .images import ImageConfig, InferenceImage, Serving
    from .inference_modes import AsyncInference, ServerlessInference, async_inference_locations
    from .model.profile import ModelProfile
    from .model_data.inspect import ArchiveLayoutProblem
    from .model_data.sources import ModelData, ModelDataConfig
    from .monitoring import EndpointAlarms
    from .repack.construct import ScriptRepack
    from .scripts.handlers import ScriptReport, check_inference_script
    from .sizing import DeploymentPlan, InstanceFit, SizingOptions, fit_table, plan_deployment
    from .variants import ModelVariant

# Where each public name lives. The package imports a module on first use of one of its names
# (PEP 562): `from constructs_lib import HubModelEndpoint` does not load (and register with jsii)
# autoscaling, async inference, VPC or ScriptRepack support that the app never uses.
_EXPORTS = {
    "AsyncInference": "inference_modes",
    "AutoScaling": "autoscaling",
    "CustomScriptEndpoint": "custom_script",
    "DEFAULT_INSTANCE_TYPE": "endpoint",
    "DataCapture": "data_capture",
    "DeploymentGuardrails": "deployment",
    "DeploymentPlan": "sizing",
    "DeploymentType": "deployment",
    "EndpointAlarms": "monitoring",
    "EndpointBase": "endpoint",
    "EndpointProps": "endpoint",
    "FineTunedEndpoint": "fine_tuned",
    "HubModelEndpoint": "hub_model",
    "INSTANCE_CATALOGUE": "catalogue.instances",
    "ImageConfig": "images",
    "InferenceImage": "images",
    "InstanceFit": "sizing",
    "InstanceSpec": "catalogue.instances",
    "InstanceType": "catalogue.instances",
    "ArchiveLayoutProblem": "model_data.inspect",
    "ModelData": "model_data.sources",
    "ModelDataConfig": "model_data.sources",
    "ModelProfile": "model.profile",
    "ModelVariant": "variants",
    "Processor": "catalogue.instances",
    "ScheduledCapacity": "autoscaling",
    "ScriptRepack": "repack.construct",
    "ScriptReport": "scripts.handlers",
    "ServerlessInference": "inference_modes",
    "Serving": "images",
    "SizingOptions": "sizing",
    "async_inference_locations": "inference_modes",
    "check_inference_script": "scripts.handlers",
    "fit_table": "sizing",
    "plan_deployment": "sizing",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        # `constructs_lib.sizing` after a bare `import constructs_lib`, as with an eager package.
        if name in {info.name for info in pkgutil.iter_modules(__path__)}:
            return importlib.import_module(f".{name}", __name__)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_INSTANCE_TYPE",
    "INSTANCE_CATALOGUE",
    "AsyncInference",
    "ArchiveLayoutProblem",
    "AutoScaling",
    "ConfigurationError",
    "CustomScriptEndpoint",
    "DataCapture",
    "DeploymentGuardrails",
    "DeploymentPlan",
    "DeploymentType",
    "EndpointAlarms",
    "EndpointBase",
    "EndpointProps",
    "FineTunedEndpoint",
    "HubModelEndpoint",
    "ImageConfig",
    "InferenceImage",
    "InstanceFit",
    "InstanceSpec",
    "InstanceType",
    "ModelData",
    "ModelDataConfig",
    "ModelProfile",
    "ModelVariant",
    "Processor",
    "ScheduledCapacity",
    "ScriptRepack",
    "ScriptReport",
    "ServerlessInference",
    "Serving",
    "SizingOptions",
    "async_inference_locations",
    "check_inference_script",
    "fit_table",
    "plan_deployment",
]
