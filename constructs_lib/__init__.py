"""AWS CDK constructs that put Hugging Face models into production on Amazon SageMaker.

- ``HubModelEndpoint``: a pre-trained model straight from the Hugging Face Hub.
- ``FineTunedEndpoint``: your own fine-tuned model (S3 or a local directory).
- ``CustomScriptEndpoint``: your ``inference.py`` with a fine-tuned or a Hub model.
"""

from ._validation import ConfigurationError
from .autoscaling import AutoScaling, ScheduledCapacity
from .custom_script import CustomScriptEndpoint
from .data_capture import DataCapture
from .deployment import DeploymentGuardrails, DeploymentType
from .endpoint import DEFAULT_INSTANCE_TYPE, EndpointBase, EndpointProps
from .fine_tuned import FineTunedEndpoint
from .hub import ModelProfile
from .hub_model import HubModelEndpoint
from .images import ImageConfig, InferenceImage, Serving
from .inference_modes import AsyncInference, ServerlessInference, async_inference_locations
from .instances import INSTANCE_CATALOGUE, InstanceSpec, InstanceType, Processor
from .model_data import ModelData, ModelDataConfig
from .monitoring import EndpointAlarms
from .repack import ScriptRepack
from .scripts import ScriptReport, check_inference_script
from .sizing import DeploymentPlan, InstanceFit, SizingOptions, fit_table, plan_deployment
from .variants import ModelVariant

__all__ = [
    "DEFAULT_INSTANCE_TYPE",
    "INSTANCE_CATALOGUE",
    "AsyncInference",
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
