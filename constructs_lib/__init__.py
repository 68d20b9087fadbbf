"""AWS CDK constructs that put Hugging Face models into production on Amazon SageMaker.

- ``HubModelEndpoint``: a pre-trained model straight from the Hugging Face Hub.
- ``FineTunedEndpoint``: your own fine-tuned model (S3 or a local directory).
- ``CustomScriptEndpoint``: your ``inference.py`` with a fine-tuned or a Hub model.
"""

from ._validation import ConfigurationError
from .custom_script import CustomScriptEndpoint
from .endpoint import DEFAULT_INSTANCE_TYPE, EndpointBase, EndpointProps
from .fine_tuned import FineTunedEndpoint
from .hub_model import HubModelEndpoint
from .images import ImageConfig, InferenceImage, Serving
from .instances import INSTANCE_CATALOGUE, InstanceSpec, InstanceType, Processor
from .model_data import ModelData, ModelDataConfig
from .scripts import ScriptReport, check_inference_script

__all__ = [
    "DEFAULT_INSTANCE_TYPE",
    "INSTANCE_CATALOGUE",
    "ConfigurationError",
    "CustomScriptEndpoint",
    "EndpointBase",
    "EndpointProps",
    "FineTunedEndpoint",
    "HubModelEndpoint",
    "ImageConfig",
    "InferenceImage",
    "InstanceSpec",
    "InstanceType",
    "ModelData",
    "ModelDataConfig",
    "Processor",
    "ScriptReport",
    "Serving",
    "check_inference_script",
]
