"""moto's SageMaker endpoints, as endpoints for inference components behave in AWS.

- A production variant without a model is accepted (moto's check reads ``variant["ModelName"]``).
- The endpoint config keeps its ``ExecutionRoleArn`` from CloudFormation (moto drops it), for
  ``DescribeEndpointConfig``.
- An endpoint that still hosts components cannot be deleted (AWS refuses it too).
- An update of the endpoint is in place (``UpdateEndpoint``): moto's delete and re-create would fail while it hosts
  components, and would not keep its name.
- Models, endpoint configs and endpoints are logged in ``EVENTS`` as they are created and deleted.
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker import models as sagemaker
from moto.sagemaker.exceptions import ValidationError

from .cfn_resource import sagemaker_backend
from .inference_components import components_of
from .patching import EVENTS, Patcher

ENDPOINT = "AWS::SageMaker::Endpoint"


def install_endpoints(patcher: Patcher) -> None:
    backend, config = sagemaker.SageMakerModelBackend, sagemaker.FakeEndpointConfig
    check_models = backend.validate_production_variants
    patcher.patch(
        backend,
        "validate_production_variants",
        lambda self, variants: check_models(self, [v for v in variants if "ModelName" in v]),
    )
    config_from_cfn = config.create_from_cloudformation_json

    def keep_role(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
        created = config_from_cfn(resource_name, cloudformation_json, *args, **kwargs)
        created.execution_role_arn = cloudformation_json["Properties"].get("ExecutionRoleArn")
        return created

    patcher.patch(config, "create_from_cloudformation_json", classmethod(keep_role))
    delete_endpoint = backend.delete_endpoint

    def guarded_delete_endpoint(self: Any, endpoint_name: str) -> None:
        if any(c.endpoint_name == endpoint_name for c in components_of(self).values()):
            raise ValidationError(f"Endpoint {endpoint_name} still has inference components: delete them first.")
        delete_endpoint(self, endpoint_name)

    patcher.patch(backend, "delete_endpoint", guarded_delete_endpoint)
    patcher.patch(sagemaker.FakeEndpoint, "update_from_cloudformation_json", classmethod(_update_in_place))
    for kind, noun in (("Model", "model"), ("EndpointConfig", "endpoint_config"), ("Endpoint", "endpoint")):
        for action in ("create", "delete"):
            patcher.record(backend, f"{action}_{noun}", action, f"AWS::SageMaker::{kind}", f"{noun}_name")


def _update_in_place(cls: Any, original_resource: Any, new_name: str, cloudformation_json: Any, *where: str) -> Any:
    account_id, region_name = where
    endpoint, config_name = original_resource, cloudformation_json["Properties"]["EndpointConfigName"]
    variants = sagemaker_backend(account_id, region_name).describe_endpoint_config(config_name)["ProductionVariants"]
    endpoint.endpoint_config_name, endpoint.last_modified_time = config_name, utcnow()
    endpoint.production_variants = endpoint._process_production_variants(variants)
    EVENTS.append(("update", ENDPOINT, endpoint.endpoint_name))
    return endpoint
