"""Application Auto Scaling for moto: the two CloudFormation types moto lacks, the inference component dimension,
and the checks AWS makes between targets, policies and the components they scale.

moto warns and skips ``AWS::ApplicationAutoScaling::ScalableTarget`` and ``::ScalingPolicy``, and its API knows
only ``sagemaker:variant:DesiredInstanceCount`` of SageMaker. Here a target needs its component to exist (AWS checks
it; the target's resource id names the component by a plain string, so a forgotten ``DependsOn`` fails here as it
would there), and a policy needs its target. Scheduled actions of a target are not applied.
"""

from __future__ import annotations

import re
from typing import Any

from moto.applicationautoscaling import models as applicationautoscaling
from moto.applicationautoscaling import responses as applicationautoscaling_responses
from moto.applicationautoscaling.exceptions import AWSValidationException

from .cfn_resource import CfnResource, sagemaker_backend, scaling_backend
from .inference_components import components_of
from .patching import Patcher

TARGET, POLICY = "AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


class CfnScalableTarget(CfnResource):
    """``Ref`` (and ``Fn::GetAtt Id``) is ``resourceId|dimension|namespace``, as in AWS."""

    TYPE = TARGET
    ATTRIBUTES = {"Id": "identity"}  # noqa: RUF012 (moto reads it as the class's)

    def __init__(self, name: str, p: dict[str, Any], account_id: str, region_name: str) -> None:
        self.key = (p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])
        self.identity = self.physical_resource_id = f"{self.key[1]}|{self.key[2]}|{self.key[0]}"
        scaling_backend(account_id, region_name).register_scalable_target(
            *self.key,
            min_capacity=int(p["MinCapacity"]),
            max_capacity=int(p["MaxCapacity"]),
            role_arn=p.get("RoleARN"),
            suspended_state=p.get("SuspendedState"),
        )

    def delete(self, account_id: str, region_name: str) -> None:
        scaling_backend(account_id, region_name).deregister_scalable_target(*self.key)


class CfnScalingPolicy(CfnResource):
    """By ``ScalingTargetId`` (a target's ``Ref``) or by the three keys; ``Ref`` (and ``Fn::GetAtt Arn``) is its ARN."""

    TYPE, NAME_PROPERTY = POLICY, "PolicyName"
    ATTRIBUTES = {"Arn": "physical_resource_id"}  # noqa: RUF012

    def __init__(self, name: str, p: dict[str, Any], account_id: str, region_name: str) -> None:
        if p.get("ScalingTargetId"):
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        else:
            resource_id, dimension, namespace = p["ResourceId"], p["ScalableDimension"], p["ServiceNamespace"]
        body = p.get("StepScalingPolicyConfiguration") or p.get("TargetTrackingScalingPolicyConfiguration")
        policy = scaling_backend(account_id, region_name).put_scaling_policy(
            name, namespace, resource_id, dimension, body, p["PolicyType"]
        )
        self.physical_resource_id, self.identity = policy.policy_arn, (name, namespace, resource_id, dimension)

    def delete(self, account_id: str, region_name: str) -> None:
        scaling_backend(account_id, region_name).delete_scaling_policy(*self.identity)


def install_scaling(patcher: Patcher) -> None:
    """The inference component dimension in moto's validators, AWS's existence checks, and the event log."""
    target_valid = applicationautoscaling._target_params_are_valid
    responses = applicationautoscaling_responses.ApplicationAutoScalingResponse
    validate_params = responses._validate_params

    def component_target_valid(namespace: str, r_id: str, dimension: str) -> bool:
        if dimension != COMPONENT_DIMENSION:
            return bool(target_valid(namespace, r_id, dimension))
        if namespace == "sagemaker" and re.fullmatch(r"inference-component/[^/]+", r_id or ""):
            return True
        raise AWSValidationException("Unsupported service namespace, resource type or scalable dimension")

    patcher.patch(applicationautoscaling, "_target_params_are_valid", component_target_valid)
    patcher.patch(
        responses,
        "_validate_params",
        lambda self: None if self._get_param("ScalableDimension") == COMPONENT_DIMENSION else validate_params(self),
    )
    backend = applicationautoscaling.ApplicationAutoscalingBackend
    patcher.record(backend, "register_scalable_target", "create", TARGET, "r_id", _target_exists)
    patcher.record(backend, "deregister_scalable_target", "delete", TARGET, "r_id")
    patcher.record(backend, "put_scaling_policy", "create", POLICY, "policy_name", _policy_exists)
    patcher.record(backend, "delete_scaling_policy", "delete", POLICY, "policy_name")


def _target_exists(self: Any, namespace: str, r_id: str, dimension: str, **_: Any) -> bool:
    """Whether the target is registered already; AWS refuses one whose component does not exist (moto checks ECS
    services only)."""
    if dimension == COMPONENT_DIMENSION:
        components = components_of(sagemaker_backend(self.account_id, self.region_name))
        if r_id.split("/")[-1] not in components:
            raise AWSValidationException(f"Inference component does not exist: {r_id}")
    return bool(self._scalable_target_exists(r_id, dimension))


def _policy_exists(
    self: Any, policy_name: str, service_namespace: str, resource_id: str, scalable_dimension: str, **_: Any
) -> bool:
    """Whether the policy exists already; AWS refuses one without its target (moto does not)."""
    if not self._scalable_target_exists(resource_id, scalable_dimension):
        raise AWSValidationException(
            f"No scalable target registered for service namespace: {service_namespace}, "
            f"resource ID: {resource_id}, scalable dimension: {scalable_dimension}"
        )
    key = applicationautoscaling.FakeApplicationAutoscalingPolicy.formulate_key(
        service_namespace, resource_id, scalable_dimension, policy_name
    )
    return key in self.policies
