"""``InferenceComponentEndpoint`` and its components in the template (components/endpoint.py, building.py,
render.py, component.py): the variant without a model, names, dependencies, grants, metrics and what stays put
when components change."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from constructs_lib import HubModelEndpoint, InferenceComponentEndpoint, InferenceImage, Routing, ScaleInPolicy

from ..support import ACCOUNT, SST2, error_of, only, policy_statements, resources, statements_of
from .support import (
    COMPONENT,
    QWEN7B,
    component_named,
    logical_id,
    shared_endpoint,
    shared_stack,
    template_of,
    with_classifier,
)

CONFIG, ENDPOINT, MODEL = "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint", "AWS::SageMaker::Model"


def test_the_variant_has_no_model_and_carries_role_scaling_and_routing() -> None:
    endpoint = with_classifier(min_instances=0, max_instances=2)
    template = template_of(endpoint)
    config = only(template, CONFIG)["Properties"]
    assert config["ExecutionRoleArn"] == {"Fn::GetAtt": [logical_id(template, "AWS::IAM::Role", "SharedRole"), "Arn"]}
    (variant,) = config["ProductionVariants"]
    assert "ModelName" not in variant
    assert variant["InstanceType"] == "ml.g5.12xlarge"
    # SageMaker refuses an InitialInstanceCount of 0, also on an endpoint that scales to zero.
    assert variant["InitialInstanceCount"] == 1
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2}
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert endpoint.instance_type == "ml.g5.12xlarge"


def test_routing_and_the_scale_in_policy_render_on_the_variant() -> None:
    endpoint = with_classifier(
        routing=Routing.RANDOM, scale_in=ScaleInPolicy.consolidation(maximum_step_size=2), max_instances=3
    )
    (variant,) = only(template_of(endpoint), CONFIG)["Properties"]["ProductionVariants"]
    assert variant["RoutingConfig"] == {"RoutingStrategy": "RANDOM"}
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 1,
        "MaxInstanceCount": 3,
        "ScaleInPolicy": {"Strategy": "CONSOLIDATION", "MaximumStepSize": 2},
    }


def test_a_component_names_its_endpoint_variant_model_reservation_copies_and_start_up() -> None:
    endpoint = shared_endpoint()
    sentiment = endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=2)
    template = template_of(endpoint)
    component = component_named(template, "Sentiment")
    assert component["EndpointName"] == {"Fn::GetAtt": [logical_id(template, ENDPOINT, "Shared"), "EndpointName"]}
    assert component["VariantName"] == "AllTraffic"
    assert component["InferenceComponentName"] == sentiment.component_name == "TestStack-Shared-Sentiment-A0705F91"
    assert component["RuntimeConfig"] == {"CopyCount": 2}
    spec = component["Specification"]
    assert spec["ModelName"] == {"Fn::GetAtt": [logical_id(template, MODEL, "Sentiment"), "ModelName"]}
    requirements = spec["ComputeResourceRequirements"]
    assert requirements["NumberOfAcceleratorDevicesRequired"] == 1
    assert requirements["MinMemoryRequiredInMb"] > 0 and requirements["NumberOfCpuCoresRequired"] == 6
    # The toolkit's start-up timeout for a small model, at least the 600 s a copy needs to download and load it.
    assert spec["StartupParameters"] == {
        "ContainerStartupHealthCheckTimeoutInSeconds": 600,
        "ModelDataDownloadTimeoutInSeconds": 600,
    }


def test_the_component_depends_on_the_endpoint_so_that_it_is_deleted_first() -> None:
    template = template_of(with_classifier())
    endpoint_id = logical_id(template, ENDPOINT, "Shared")
    component = component_named(template, "Sentiment")
    # Fn::GetAtt on the endpoint is the dependency CloudFormation follows, both ways.
    assert component["EndpointName"]["Fn::GetAtt"][0] == endpoint_id


def test_names_are_derived_from_the_path_at_most_63_characters_and_stable() -> None:
    def name(stack_name: str) -> str:
        from aws_cdk import App, Environment

        stack = Stack(App(), stack_name, env=Environment(account=ACCOUNT, region="us-east-1"))
        endpoint = InferenceComponentEndpoint(
            stack, "SharedEndpointWithAVeryLongConstructId", instance_type="ml.g5.xlarge"
        )
        component = endpoint.add_model(
            "SentimentClassifierWithAnEvenLongerId", model_id=SST2, task="text-classification"
        )
        return component.component_name

    long = name("AStackWhoseNameIsLongEnoughToPushTheComponentNamePastSixtyThreeCharacters")
    assert len(long) <= 63 and long == name("AStackWhoseNameIsLongEnoughToPushTheComponentNamePastSixtyThreeCharacters")
    assert long != name("AnotherStack")


def test_models_and_endpoint_configs_get_no_physical_names() -> None:
    template = template_of(with_classifier())
    assert "ModelName" not in only(template, MODEL)["Properties"]
    assert "EndpointConfigName" not in only(template, CONFIG)["Properties"]
    assert only(template, ENDPOINT)["Properties"]["EndpointName"] == "TestStack-Shared-2ED580FC"


def _template_json(build: Any, max_instances: int = 1) -> dict[str, Any]:
    endpoint = shared_endpoint(max_instances=max_instances)
    build(endpoint)
    return template_of(endpoint).to_json()["Resources"]  # type: ignore[no-any-return]


def test_adding_removing_or_resizing_a_component_leaves_the_endpoint_and_its_config_alone() -> None:
    def one(endpoint: InferenceComponentEndpoint) -> None:
        endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")

    def two(endpoint: InferenceComponentEndpoint) -> None:
        one(endpoint)
        endpoint.add_model("Other", model_id=SST2, task="text-classification", cpu_cores=2)

    def resized(endpoint: InferenceComponentEndpoint) -> None:
        endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=2, memory_mb=4096)

    templates = [_template_json(build) for build in (one, two, resized)]
    for kind in (ENDPOINT, CONFIG):
        found = [{k: v for k, v in t.items() if v["Type"] == kind} for t in templates]
        # Same logical id and same properties: CloudFormation neither replaces nor updates them.
        assert found[0] == found[1] == found[2]
    components = [{k for k, v in t.items() if v["Type"] == COMPONENT} for t in templates]
    assert components[0] < components[1] and components[0] == components[2]


def test_copies_that_need_more_instances_leave_the_config_alone_within_max_instances() -> None:
    def small(endpoint: InferenceComponentEndpoint) -> None:
        endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", accelerators=1)

    def more_copies(endpoint: InferenceComponentEndpoint) -> None:
        endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", accelerators=1, copies=6)

    templates = [_template_json(build, max_instances=2) for build in (small, more_copies)]
    configs = [{k: v for k, v in t.items() if v["Type"] == CONFIG} for t in templates]
    assert configs[0] == configs[1]  # six one-GPU copies need two ml.g5.12xlarge: scaling launches the second
    (variant,) = next(iter(configs[0].values()))["Properties"]["ProductionVariants"]
    assert (variant["InitialInstanceCount"], variant["ManagedInstanceScaling"]["MaxInstanceCount"]) == (1, 2)


def test_a_component_that_needs_a_newer_host_changes_the_config_and_keeps_the_endpoint() -> None:
    def toolkit(endpoint: InferenceComponentEndpoint) -> None:
        endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")

    def with_vllm(endpoint: InferenceComponentEndpoint) -> None:
        toolkit(endpoint)
        endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation")

    before, after = (_template_json(build) for build in (toolkit, with_vllm))
    endpoints = [{k: v for k, v in t.items() if v["Type"] == ENDPOINT} for t in (before, after)]
    assert endpoints[0] == endpoints[1]  # the new config is an update of the endpoint, in place
    variants = [
        next(v for v in t.values() if v["Type"] == CONFIG)["Properties"]["ProductionVariants"][0]
        for t in (before, after)
    ]
    # vLLM's CUDA 13 image needs the driver-580 host; the toolkit's runs on SageMaker's default host.
    assert "InferenceAmiVersion" not in variants[0]
    assert variants[1]["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"


def test_grant_invoke_allows_both_invoke_actions_on_the_endpoint_and_the_component() -> None:
    endpoint = with_classifier()
    stack = Stack.of(endpoint)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    (sentiment,) = endpoint.components
    sentiment.grant_invoke(caller)
    template = template_of(endpoint)
    assert statements_of(template, "Caller") == [
        {
            "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
            "Effect": "Allow",
            "Resource": [
                {"Ref": logical_id(template, ENDPOINT, "Shared")},
                {"Fn::GetAtt": [logical_id(template, COMPONENT, "Sentiment"), "InferenceComponentArn"]},
            ],
        }
    ]


def _pull_repositories(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(
        json.dumps(s["Resource"]).split(":repository/")[1].split('"')[0]
        for s in statements
        if "ecr:BatchGetImage" in s["Action"]
    )


def test_the_role_pulls_exactly_the_images_of_its_components_once_each() -> None:
    endpoint = shared_endpoint()
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")
    endpoint.add_model("Other", model_id=SST2, task="text-classification")
    endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation")
    statements = statements_of(template_of(endpoint), "SharedRole")
    assert _pull_repositories(statements) == ["huggingface-pytorch-inference", "huggingface-vllm"]
    assert [s for s in statements if s["Action"] == "ecr:GetAuthorizationToken"] == [
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}
    ]


def test_the_role_reads_exactly_the_artifacts_of_its_components() -> None:
    endpoint = shared_endpoint()
    endpoint.add_model("Tuned", model_data="s3://my-bucket/models/model.tar.gz", task="text-classification")
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")  # downloads from the Hub: no S3
    reads = [s for s in statements_of(template_of(endpoint), "SharedRole") if "s3:GetObject" in str(s["Action"])]
    assert reads == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::my-bucket/models/model.tar.gz"]]},
        }
    ]


def test_each_component_writes_only_its_own_log_group() -> None:
    endpoint = with_classifier()
    (sentiment,) = endpoint.components
    logs = [s for s in policy_statements(template_of(endpoint)) if "logs:PutLogEvents" in s["Action"]]
    groups = sorted(json.dumps(s["Resource"]).split("log-group:")[1].split('"')[0] for s in logs)
    assert groups == [
        f"/aws/sagemaker/Endpoints/{endpoint.physical_endpoint_name}:log-stream:*",
        f"/aws/sagemaker/InferenceComponents/{sentiment.component_name}:log-stream:*",
    ]


def test_component_metrics_have_the_component_dimension_and_the_documented_statistics() -> None:
    (sentiment,) = with_classifier().components
    metrics = {
        sentiment.metric_invocations(): ("Invocations", "Sum"),
        sentiment.metric_model_latency(): ("ModelLatency", "Average"),
        sentiment.metric_invocation_4xx_errors(): ("Invocation4XXErrors", "Sum"),
        sentiment.metric_invocation_5xx_errors(): ("Invocation5XXErrors", "Sum"),
        sentiment.metric_no_capacity_invocation_failures(): ("NoCapacityInvocationFailures", "Sum"),
    }
    for metric, (name, statistic) in metrics.items():
        assert (metric.metric_name, metric.statistic, metric.namespace) == (name, statistic, "AWS/SageMaker")
        assert metric.dimensions == {"InferenceComponentName": sentiment.component_name}


def test_the_endpoint_exposes_its_parts() -> None:
    endpoint = with_classifier()
    (sentiment,) = endpoint.components
    assert sentiment.cfn_model is not None and sentiment.cfn_inference_component is not None
    assert endpoint.cfn_endpoint.endpoint_config_name == endpoint.cfn_endpoint_config.attr_endpoint_config_name
    assert isinstance(endpoint.role, iam.Role)
    stack = Stack.of(endpoint)
    assert stack.resolve(endpoint.endpoint_arn) == {"Ref": "SharedEndpointC6A384B8"}
    assert stack.resolve(endpoint.endpoint_name) == {"Fn::GetAtt": ["SharedEndpointC6A384B8", "EndpointName"]}


# ------------------------------------------------------------------------------------------ endpoint props
@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"min_instances": -1}, "min_instances: -1 must be a whole number of at least 0"),
        ({"max_instances": 0}, "max_instances: 0 must be a whole number of at least 1"),
        ({"min_instances": 3, "max_instances": 2}, "min_instances: 3 is above max_instances (2)"),
        ({"routing": "random"}, "routing: 'random' must be a Routing"),
        ({"endpoint_name": "bad_name"}, "endpoint_name: 'bad_name' is not a valid endpoint name"),
        ({"instance_type": "ml.inf2.xlarge"}, "ml.inf2.xlarge' is an Inferentia instance"),
        ({"instance_type": "ml.g5.huge"}, "instance_type: 'ml.g5.huge'"),
    ],
)
def test_bad_endpoint_props_fail_naming_the_prop_and_value(props: dict[str, Any], message: str) -> None:
    error = error_of(lambda: shared_endpoint(**props))
    assert message in error and error.startswith("InferenceComponentEndpoint")


def test_an_endpoint_without_models_or_instance_type_fails_at_synth() -> None:
    endpoint = InferenceComponentEndpoint(shared_stack(), "Shared")
    with pytest.raises(Exception, match="instance_type: cannot be chosen: the endpoint has no model"):
        template_of(endpoint)


def test_component_ids_must_differ_and_not_name_the_endpoints_own_parts() -> None:
    endpoint = with_classifier()
    assert "id: 'Sentiment' is already the id of a component" in error_of(
        lambda: endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")
    )
    assert "id: 'Endpoint' is the id of the endpoint's own Endpoint" in error_of(
        lambda: endpoint.add_model("Endpoint", model_id=SST2, task="text-classification")
    )


def test_a_component_that_fails_leaves_nothing_behind() -> None:
    endpoint = with_classifier()
    error_of(lambda: endpoint.add_model("Huge", model_id=SST2, task="text-classification", accelerators=8))
    assert endpoint.node.try_find_child("Huge") is None
    assert [c.node.id for c in endpoint.components] == ["Sentiment"]
    assert len(resources(template_of(endpoint), COMPONENT)) == 1


def test_blackwell_gpus_get_the_driver_580_host_even_for_cuda_12_images() -> None:
    """The same rule as an endpoint's: vLLM 0.17 (CUDA 12.9) needs no host AMI, except on Blackwell GPUs."""
    endpoint = shared_endpoint(instance_type="ml.g7e.2xlarge")
    endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", image=InferenceImage.vllm(version="0.17"))
    (variant,) = only(template_of(endpoint), CONFIG)["Properties"]["ProductionVariants"]
    assert variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    elsewhere = shared_endpoint(instance_type="ml.g6e.2xlarge")
    elsewhere.add_model("Chat", model_id=QWEN7B, task="text-generation", image=InferenceImage.vllm(version="0.17"))
    (variant,) = only(template_of(elsewhere), CONFIG)["Properties"]["ProductionVariants"]
    assert "InferenceAmiVersion" not in variant


def test_a_name_an_endpoint_of_the_app_already_has_is_an_error_either_way() -> None:
    stack = shared_stack()
    HubModelEndpoint(stack, "Single", model_id=SST2, task="text-classification", endpoint_name="chat")
    error = error_of(lambda: InferenceComponentEndpoint(stack, "Shared", endpoint_name="chat"))
    assert "endpoint_name: 'chat' is also the name of" in error and "/Single" in error
    InferenceComponentEndpoint(stack, "Other", endpoint_name="other")
    error = error_of(
        lambda: HubModelEndpoint(stack, "Late", model_id=SST2, task="text-classification", endpoint_name="other")
    )
    assert "endpoint_name: 'other' is also the name of" in error and "/Other" in error
