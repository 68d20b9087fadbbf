"""AWS CDK constructs that put Hugging Face models into production on Amazon SageMaker.

- ``HubModelEndpoint``: a pre-trained model straight from the Hugging Face Hub.
- ``FineTunedEndpoint``: your own fine-tuned model (S3 or a local directory).
- ``CustomScriptEndpoint``: your ``inference.py`` with a fine-tuned or a Hub model.
- ``InferenceComponentEndpoint``: many models on one endpoint, as inference components.

Import everything from here: the package's folders are its inside (see CONTRIBUTING.md).
"""

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ._core.errors import ConfigurationError

if TYPE_CHECKING:
    from .catalogue.instances import INSTANCE_CATALOGUE, InstanceSpec, InstanceType, Processor
    from .components.component import InferenceComponent
    from .components.deployment import ComponentDeployment
    from .components.endpoint import InferenceComponentEndpoint
    from .components.options import Routing, ScaleInPolicy, ScaleInStrategy
    from .components.packing import PackingPlan
    from .components.scaling import ComponentScaling
    from .contract.facts import AsyncInferenceLocations
    from .contract.interfaces import IHuggingFaceEndpoint
    from .endpoints.base import EndpointBase, async_inference_locations
    from .endpoints.custom_script import CustomScriptEndpoint
    from .endpoints.fine_tuned import FineTunedEndpoint
    from .endpoints.hub_model import HubModelEndpoint
    from .endpoints.imported import EndpointAttributes
    from .endpoints.props import DEFAULT_INSTANCE_TYPE, EndpointProps
    from .features.async_inference import AsyncInference
    from .features.autoscaling.settings import AutoScaling, ScheduledCapacity
    from .features.data_capture import DataCapture
    from .features.deployment.capacity import DeploymentType
    from .features.deployment.guardrails import DeploymentGuardrails
    from .features.observability.alarms import EndpointAlarms
    from .features.serverless import ServerlessInference
    from .features.variants import ModelVariant
    from .images.base import ImageConfig, InferenceImage
    from .model.profile import ModelProfile
    from .model_data.inspect import ArchiveLayoutProblem
    from .model_data.sources import ModelData, ModelDataConfig
    from .repack.construct import ScriptRepack
    from .scripts.handlers import ScriptReport, check_inference_script
    from .serving.base import Serving, ServingStack
    from .serving.registry import register_serving_stack
    from .sizing.fit import DeploymentPlan, InstanceFit
    from .sizing.options import SizingOptions
    from .sizing.planner import fit_table, plan_deployment

# Where each public name lives. The package imports a module on first use of one of its names
# (PEP 562): `from constructs_lib import HubModelEndpoint` does not load (and register with jsii)
# autoscaling, async inference, VPC or ScriptRepack support that the app never uses.
_EXPORTS = {
    "ArchiveLayoutProblem": "model_data.inspect",
    "AsyncInference": "features.async_inference",
    "AsyncInferenceLocations": "contract.facts",
    "AutoScaling": "features.autoscaling.settings",
    "ComponentDeployment": "components.deployment",
    "ComponentScaling": "components.scaling",
    "CustomScriptEndpoint": "endpoints.custom_script",
    "DEFAULT_INSTANCE_TYPE": "endpoints.props",
    "DataCapture": "features.data_capture",
    "DeploymentGuardrails": "features.deployment.guardrails",
    "DeploymentPlan": "sizing.fit",
    "DeploymentType": "features.deployment.capacity",
    "EndpointAlarms": "features.observability.alarms",
    "EndpointAttributes": "endpoints.imported",
    "EndpointBase": "endpoints.base",
    "EndpointProps": "endpoints.props",
    "FineTunedEndpoint": "endpoints.fine_tuned",
    "HubModelEndpoint": "endpoints.hub_model",
    "IHuggingFaceEndpoint": "contract.interfaces",
    "INSTANCE_CATALOGUE": "catalogue.instances",
    "ImageConfig": "images.base",
    "InferenceComponent": "components.component",
    "InferenceComponentEndpoint": "components.endpoint",
    "InferenceImage": "images.base",
    "InstanceFit": "sizing.fit",
    "InstanceSpec": "catalogue.instances",
    "InstanceType": "catalogue.instances",
    "ModelData": "model_data.sources",
    "ModelDataConfig": "model_data.sources",
    "ModelProfile": "model.profile",
    "ModelVariant": "features.variants",
    "PackingPlan": "components.packing",
    "Processor": "catalogue.instances",
    "Routing": "components.options",
    "ScaleInPolicy": "components.options",
    "ScaleInStrategy": "components.options",
    "ScheduledCapacity": "features.autoscaling.settings",
    "ScriptRepack": "repack.construct",
    "ScriptReport": "scripts.handlers",
    "ServerlessInference": "features.serverless",
    "Serving": "serving.base",
    "ServingStack": "serving.base",
    "SizingOptions": "sizing.options",
    "async_inference_locations": "endpoints.base",
    "check_inference_script": "scripts.handlers",
    "fit_table": "sizing.planner",
    "plan_deployment": "sizing.planner",
    "register_serving_stack": "serving.registry",
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
    "ArchiveLayoutProblem",
    "AsyncInference",
    "AsyncInferenceLocations",
    "AutoScaling",
    "ComponentDeployment",
    "ComponentScaling",
    "ConfigurationError",
    "CustomScriptEndpoint",
    "DataCapture",
    "DeploymentGuardrails",
    "DeploymentPlan",
    "DeploymentType",
    "EndpointAlarms",
    "EndpointAttributes",
    "EndpointBase",
    "EndpointProps",
    "FineTunedEndpoint",
    "HubModelEndpoint",
    "IHuggingFaceEndpoint",
    "ImageConfig",
    "InferenceComponent",
    "InferenceComponentEndpoint",
    "InferenceImage",
    "InstanceFit",
    "InstanceSpec",
    "InstanceType",
    "ModelData",
    "ModelDataConfig",
    "ModelProfile",
    "ModelVariant",
    "PackingPlan",
    "Processor",
    "Routing",
    "ScaleInPolicy",
    "ScaleInStrategy",
    "ScheduledCapacity",
    "ScriptRepack",
    "ScriptReport",
    "ServerlessInference",
    "Serving",
    "ServingStack",
    "SizingOptions",
    "async_inference_locations",
    "check_inference_script",
    "fit_table",
    "plan_deployment",
    "register_serving_stack",
]
