"""The local AWS's extension through boto3, as the deploy tests' CDK CLI uses it: the inference component API and
AWS's checks, and CloudFormation creating, updating and deleting in dependency order (a forgotten ``DependsOn``
fails as it would in AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.local_aws import COMPONENT, COMPONENT_DIMENSION, ENDPOINT, EVENTS, POLICY, TARGET, Event
from tests.local_aws.server import local_aws

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
MODEL, CONFIG = "AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    with local_aws() as url:
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        yield {
            name: session.client(name, endpoint_url=url)
            for name in ("sagemaker", "application-autoscaling", "cloudformation")
        }


def at(events: list[Event], action: str, kind: str, name: str | None = None) -> int:
    """The index of the one matching event (``name`` None: the one of that type)."""
    found = [i for i, (a, t, n) in enumerate(events) if a == action and t == kind and name in (None, n)]
    assert len(found) == 1, (action, kind, name, events)
    return found[0]


def test_the_api_creates_updates_lists_and_deletes_components_with_aws_checks(aws: dict[str, Any]) -> None:
    sm, scaling = aws["sagemaker"], aws["application-autoscaling"]
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "img"})
    variant = {"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1}
    sm.create_endpoint_config(EndpointConfigName="c", ExecutionRoleArn=ROLE, ProductionVariants=[variant])
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
    spec = {"ModelName": "m", "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024}}
    arn = sm.create_inference_component(
        InferenceComponentName="ic", EndpointName="e", VariantName="AllTraffic", Specification=spec,
        RuntimeConfig={"CopyCount": 1},
    )["InferenceComponentArn"]  # fmt: skip
    assert arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/ic"
    sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 3})
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert (described["InferenceComponentStatus"], described["RuntimeConfig"]["DesiredCopyCount"]) == ("InService", 3)
    listed = sm.list_inference_components(EndpointNameEquals="e")["InferenceComponents"]
    assert [c["InferenceComponentName"] for c in listed] == ["ic"]
    with pytest.raises(sm.exceptions.ClientError, match="MinMemoryRequiredInMb"):
        sm.create_inference_component(
            InferenceComponentName="x", EndpointName="e", VariantName="AllTraffic", Specification={"ModelName": "m"},
            RuntimeConfig={"CopyCount": 1},
        )  # fmt: skip
    with pytest.raises(sm.exceptions.ClientError, match="Could not find base inference component"):
        sm.create_inference_component(
            InferenceComponentName="adapter", EndpointName="e", VariantName="AllTraffic",
            Specification={"BaseInferenceComponentName": "nope", "Container": {"ArtifactUrl": "s3://b/a.tar.gz"}},
        )  # fmt: skip
    target = {"ServiceNamespace": "sagemaker", "ScalableDimension": COMPONENT_DIMENSION}
    with pytest.raises(scaling.exceptions.ClientError, match="does not exist"):
        scaling.register_scalable_target(**target, ResourceId="inference-component/nope", MinCapacity=0, MaxCapacity=2)
    scaling.register_scalable_target(**target, ResourceId="inference-component/ic", MinCapacity=0, MaxCapacity=2)
    with pytest.raises(sm.exceptions.ClientError, match="still has inference components"):
        sm.delete_endpoint(EndpointName="e")
    scaling.deregister_scalable_target(**target, ResourceId="inference-component/ic")
    sm.delete_inference_component(InferenceComponentName="ic")
    sm.delete_endpoint(EndpointName="e")
    sm.delete_endpoint_config(EndpointConfigName="c")
    sm.delete_model(ModelName="m")


def _template(copies: int = 1, *, target_depends: bool = True, second: bool = False) -> str:
    """An endpoint for components, one component (two with ``second``) and a scalable target on the first."""

    def component(name: str) -> dict[str, Any]:
        spec = {
            "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
            "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024},
        }
        return {
            "Type": COMPONENT,
            "Properties": {
                "InferenceComponentName": name, "EndpointName": {"Fn::GetAtt": ["Endpoint", "EndpointName"]},
                "VariantName": "AllTraffic", "Specification": spec, "RuntimeConfig": {"CopyCount": copies},
            },
        }  # fmt: skip

    variant = {
        "VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1,
        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
    }  # fmt: skip
    resources: dict[str, Any] = {
        "Model": {"Type": MODEL, "Properties": {"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "img"}}},
        "Config": {"Type": CONFIG, "Properties": {"ExecutionRoleArn": ROLE, "ProductionVariants": [variant]}},
        "Endpoint": {
            "Type": ENDPOINT,
            "Properties": {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
        },
        "ComponentA": component("ic-a"),
        "Target": {
            "Type": TARGET,
            "Properties": {
                "ServiceNamespace": "sagemaker", "ResourceId": "inference-component/ic-a",
                "ScalableDimension": COMPONENT_DIMENSION, "MinCapacity": 0, "MaxCapacity": 2,
            },
            **({"DependsOn": ["ComponentA"]} if target_depends else {}),
        },
        "Tracking": {
            "Type": POLICY,
            "Properties": {
                "PolicyName": "tracking", "PolicyType": "TargetTrackingScaling", "ScalingTargetId": {"Ref": "Target"},
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 5.0},
            },
        },
    }  # fmt: skip
    if second:
        resources["ComponentB"] = component("ic-b")
    return json.dumps({"Resources": resources})


def test_cloudformation_creates_updates_in_place_and_deletes_in_dependency_order(aws: dict[str, Any]) -> None:
    cfn, sm = aws["cloudformation"], aws["sagemaker"]
    EVENTS.clear()
    cfn.create_stack(StackName="Ordered", TemplateBody=_template())
    created = list(EVENTS)
    endpoint = at(created, "create", ENDPOINT)
    assert at(created, "create", CONFIG) < endpoint < at(created, "create", COMPONENT, "ic-a")
    assert at(created, "create", MODEL) < at(created, "create", COMPONENT, "ic-a")
    assert at(created, "create", COMPONENT, "ic-a") < at(created, "create", TARGET) < at(created, "create", POLICY)

    EVENTS.clear()
    cfn.update_stack(StackName="Ordered", TemplateBody=_template(copies=2, second=True))
    assert [e for e in EVENTS if e[1] == COMPONENT] == [("create", COMPONENT, "ic-b"), ("update", COMPONENT, "ic-a")]
    assert not [e for e in EVENTS if e[0] == "delete" or e[1] in (ENDPOINT, CONFIG, MODEL)], EVENTS
    assert sm.describe_inference_component(InferenceComponentName="ic-a")["RuntimeConfig"]["DesiredCopyCount"] == 2

    EVENTS.clear()
    cfn.delete_stack(StackName="Ordered")
    deleted = list(EVENTS)
    assert at(deleted, "delete", POLICY) < at(deleted, "delete", TARGET) < at(deleted, "delete", COMPONENT, "ic-a")
    last_component = max(at(deleted, "delete", COMPONENT, name) for name in ("ic-a", "ic-b"))
    assert last_component < at(deleted, "delete", ENDPOINT) < at(deleted, "delete", CONFIG)
    assert last_component < at(deleted, "delete", MODEL)
    assert sm.list_inference_components()["InferenceComponents"] == []


def test_a_forgotten_depends_on_fails_as_in_aws(aws: dict[str, Any]) -> None:
    """The target names its component by a plain string: without DependsOn, reverse template order registers it
    before the component exists, and AWS's check refuses it."""
    cfn = aws["cloudformation"]
    with pytest.raises(cfn.exceptions.ClientError, match="Target: Inference component does not exist"):
        cfn.create_stack(StackName="Forgetful", TemplateBody=_template(target_depends=False))
    cfn.delete_stack(StackName="Forgetful")  # moto does not roll back: what was created stays until then
    assert aws["sagemaker"].list_endpoints()["Endpoints"] == []
