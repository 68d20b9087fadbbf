"""SageMaker inference components for moto: the six API actions, the CloudFormation type, and AWS's checks.

A component is InService as soon as it is created (moto runs no container). Its ``Ref`` is its ARN and no
``Fn::GetAtt`` gives its name, as in AWS. What the API demands beyond the CloudFormation schema (a copy count, a
minimum memory, a model or a container, an existing endpoint and variant) is refused here as AWS refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.utils import arn_formatter

from .cfn_resource import CfnResource, sagemaker_backend
from .patching import EVENTS

COMPONENT = "AWS::SageMaker::InferenceComponent"


def components_of(backend: Any) -> dict[str, FakeInferenceComponent]:
    """The components of one account and region's SageMaker backend, by name."""
    found: dict[str, FakeInferenceComponent] = backend.__dict__.setdefault("inference_components", {})
    return found


def _specs(get: Callable[[str], Any]) -> list[dict[str, Any]]:
    return get("Specifications") or [get("Specification") or {}]


class FakeInferenceComponent(CfnResource):
    """One component, as the API and CloudFormation see it."""

    TYPE, NAME_PROPERTY = COMPONENT, "InferenceComponentName"
    ATTRIBUTES: ClassVar = {
        "InferenceComponentArn": "arn",
        "InferenceComponentStatus": "status",
        "CreationTime": "creation_time",
        "LastModifiedTime": "last_modified_time",
        "RuntimeConfig.DesiredCopyCount": "copies",
        "RuntimeConfig.CurrentCopyCount": "copies",
    }

    def __init__(self, arn: str, name: str, endpoint: Any, variant: str, specs: list[Any], copies: int | None) -> None:
        self.arn = self.physical_resource_id = self.identity = arn
        self.name, self.variant_name, self.specs, self.copies, self.status = name, variant, specs, copies, "InService"
        self.endpoint_name, self.endpoint_arn = endpoint.endpoint_name, endpoint.arn
        self.creation_time = self.last_modified_time = utcnow()

    def describe(self, full: bool = True) -> dict[str, Any]:
        specs = {"Specification": self.specs[0]} if len(self.specs) == 1 else {"Specifications": self.specs}
        runtime = {"RuntimeConfig": {"DesiredCopyCount": self.copies, "CurrentCopyCount": self.copies}}
        return {
            "InferenceComponentName": self.name,
            "InferenceComponentArn": self.arn,
            "EndpointName": self.endpoint_name,
            "EndpointArn": self.endpoint_arn,
            "VariantName": self.variant_name,
            "InferenceComponentStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            **({**specs, **runtime} if full else {}),
        }

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        return sagemaker_backend(account_id, region_name).create_inference_component(
            resource_name, p["EndpointName"], p.get("VariantName"), _specs(p.get), p.get("RuntimeConfig")
        )

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        """In place (UpdateInferenceComponent), which cannot rename a component or move it to another endpoint."""
        p, old = cloudformation_json["Properties"], original_resource
        where = (p.get("InferenceComponentName", old.name), p["EndpointName"], p.get("VariantName", old.variant_name))
        if where != (old.name, old.endpoint_name, old.variant_name):
            raise ValidationError(f"Inference component {old.name}: name, endpoint and variant cannot change in place.")
        if (_specs(p.get), (p.get("RuntimeConfig") or {}).get("CopyCount")) == (old.specs, old.copies):
            return old  # only DependsOn or metadata changed: no API call, as in AWS
        return sagemaker_backend(account_id, region_name).update_inference_component(
            old.name, _specs(p.get), p.get("RuntimeConfig")
        )

    def delete(self, account_id: str, region_name: str) -> None:
        sagemaker_backend(account_id, region_name).delete_inference_component(self.name)


def _check(backend: Any, specs: list[dict[str, Any]], runtime: dict[str, Any] | None) -> None:
    """What the API demands beyond the CloudFormation schema, so such a template fails here as in AWS."""
    for spec in specs:
        base = spec.get("BaseInferenceComponentName")
        if base:  # an adapter: no compute requirements, no copy count, an existing base
            if base not in components_of(backend):
                raise ValidationError(f'Could not find base inference component "{base}".')
            continue
        if spec.get("ModelName") and spec["ModelName"] not in backend._models:
            raise ValidationError(f'Could not find model "{spec["ModelName"]}".')
        if not (spec.get("ModelName") or spec.get("Container")):
            raise ValidationError("A specification needs ModelName or Container.")
        if "MinMemoryRequiredInMb" not in spec.get("ComputeResourceRequirements", {}):
            raise ValidationError("ComputeResourceRequirements.MinMemoryRequiredInMb is required.")
        if (runtime or {}).get("CopyCount") is None:
            raise ValidationError("RuntimeConfig.CopyCount is required.")


class BackendMethods:
    """Methods ``install`` adds to moto's ``SageMakerModelBackend``."""

    def create_inference_component(
        self: Any,
        name: str,
        endpoint_name: str,
        variant: str | None,
        specs: list[dict[str, Any]],
        runtime: dict[str, Any] | None,
    ) -> FakeInferenceComponent:
        if (endpoint := self.endpoints.get(endpoint_name)) is None:
            arn = arn_formatter("endpoint", endpoint_name, self.account_id, self.region_name)
            raise ValidationError(f'Could not find endpoint "{arn}".')
        if name in components_of(self):
            raise ValidationError(f'Cannot create already existing inference component "{name}".')
        variants = [v["VariantName"] for v in endpoint.production_variants]
        if (variant := variant or variants[0]) not in variants:  # the API requires a variant, CloudFormation not
            raise ValidationError(f"Endpoint {endpoint_name} has no variant {variant}.")
        _check(self, specs, runtime)
        arn = arn_formatter("inference-component", name, self.account_id, self.region_name)
        component = FakeInferenceComponent(arn, name, endpoint, variant, specs, (runtime or {}).get("CopyCount"))
        components_of(self)[name] = component
        EVENTS.append(("create", COMPONENT, name))
        return component

    def describe_inference_component(self: Any, name: str) -> FakeInferenceComponent:
        if name not in components_of(self):
            arn = arn_formatter("inference-component", name, self.account_id, self.region_name)
            raise ValidationError(f'Could not find inference component "{arn}".')
        return components_of(self)[name]

    def update_inference_component(
        self: Any, name: str, specs: list[dict[str, Any]] | None, runtime: dict[str, Any] | None
    ) -> FakeInferenceComponent:
        component: FakeInferenceComponent = self.describe_inference_component(name)
        specs = specs if specs and specs != [{}] else component.specs
        _check(self, specs, runtime or {"CopyCount": component.copies})
        component.specs, component.copies = specs, (runtime or {}).get("CopyCount", component.copies)
        component.last_modified_time = utcnow()
        EVENTS.append(("update", COMPONENT, name))
        return component

    def delete_inference_component(self: Any, name: str) -> None:
        components = components_of(self)
        del components[self.describe_inference_component(name).name]
        for adapter in [c for c in components.values() if c.specs[0].get("BaseInferenceComponentName") == name]:
            del components[adapter.name]  # deleting a base deletes its adapters, as in AWS
            EVENTS.append(("delete", COMPONENT, adapter.name))
        EVENTS.append(("delete", COMPONENT, name))


class ResponseMethods:
    """Methods ``install`` adds to moto's ``SageMakerResponse``: moto dispatches the JSON target
    ``SageMaker.CreateInferenceComponent`` to ``create_inference_component`` and parses and serialises with
    botocore's model, which has all six actions."""

    def create_inference_component(self: Any) -> ActionResult:
        p = self._get_param
        component = self.sagemaker_backend.create_inference_component(
            p("InferenceComponentName"), p("EndpointName"), p("VariantName"), _specs(p), p("RuntimeConfig")
        )
        return ActionResult({"InferenceComponentArn": component.arn})

    def describe_inference_component(self: Any) -> ActionResult:
        name = self._get_param("InferenceComponentName")
        return ActionResult(self.sagemaker_backend.describe_inference_component(name).describe())

    def update_inference_component(self: Any, runtime_key: str = "RuntimeConfig") -> ActionResult:
        p = self._get_param
        component = self.sagemaker_backend.update_inference_component(
            p("InferenceComponentName"), _specs(p) if runtime_key == "RuntimeConfig" else None, p(runtime_key)
        )
        return ActionResult({"InferenceComponentArn": component.arn})

    def update_inference_component_runtime_config(self: Any) -> ActionResult:
        return ResponseMethods.update_inference_component(self, "DesiredRuntimeConfig")

    def delete_inference_component(self: Any) -> EmptyResult:
        self.sagemaker_backend.delete_inference_component(self._get_param("InferenceComponentName"))
        return EmptyResult()

    def list_inference_components(self: Any) -> ActionResult:
        """The filters the tests need; no paging, no sorting."""
        p = self._get_param
        wanted = {
            "endpoint_name": p("EndpointNameEquals"),
            "status": p("StatusEquals"),
            "variant_name": p("VariantNameEquals"),
        }
        found = [
            c.describe(full=False)
            for c in components_of(self.sagemaker_backend).values()
            if (p("NameContains") or "") in c.name and all(v in (None, getattr(c, k)) for k, v in wanted.items())
        ]
        return ActionResult({"InferenceComponents": found})
