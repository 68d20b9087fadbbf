"""The SageMaker L1 resources of an endpoint: models, the endpoint config and the endpoint.

Models and endpoint configs get no physical names: every property of both is create-only, so a fixed
name would block every update ("CloudFormation cannot update a stack when a custom-named resource
requires replacing"). A new config replaces the old one and the endpoint switches to it in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import IResolvable
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._core.errors import Problems
from .._core.names import VARIANT_NAME
from .._core.tokens import is_unresolved
from ..catalogue.host_amis import host_ami_for_gpus
from ..catalogue.instances import instance_spec, processor_for
from ..contract.facts import EndpointFacts, RenderedModel
from ..features.base import EndpointFeature, merge_properties
from ..images.base import InferenceImage
from ..model_data.sources import ModelData, ModelDataConfig
from ..serving.base import ServingStack
from ..serving.facts import ModelFacts
from .environment import EnvironmentInputs, Report, assemble
from .resolve import configure


def container(image_uri: str, environment: Mapping[str, str] | IResolvable, data: ModelDataConfig | None) -> Any:
    """The model's container: the image, its environment (or a token that resolves to it at synth time) and the
    artifacts (a ``.tar.gz`` or an S3 prefix)."""
    return sagemaker.CfnModel.ContainerDefinitionProperty(
        image=image_uri,
        mode="SingleModel",
        environment=dict(environment) if isinstance(environment, Mapping) else environment,
        model_data_url=data.s3_uri if data and data.compressed else None,
        model_data_source=_uncompressed_source(data) if data and not data.compressed else None,
    )


def build_model(
    scope: Construct,
    role: iam.IRole,
    container_property: Any,
    extra: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    after_policies: bool,
) -> sagemaker.CfnModel:
    """A ``CfnModel`` run by ``role``; ``extra`` are features' properties, by feature name.

    :param after_policies: order the model after the role's policies: SageMaker reads the artifacts
        and the image with the role while it creates the model (the role itself, with its inline
        policy, is already a GetAtt dependency).
    """
    properties: dict[str, Any] = {"execution_role_arn": role.role_arn, "primary_container": container_property}
    for owner, more in extra:
        merge_properties(properties, more, owner=owner)
    cfn_model = sagemaker.CfnModel(scope, "Model", **properties)
    if after_policies:
        for policy in role.node.find_all():
            if isinstance(policy, iam.CfnPolicy):
                cfn_model.node.add_dependency(policy)
    return cfn_model


def build_endpoint_config(
    scope: Construct,
    facts: EndpointFacts,
    cfn_model: sagemaker.CfnModel,
    features: tuple[EndpointFeature, ...],
    role: iam.IRole,
    *,
    startup_timeout_seconds: int | None,
    volume_size_gb: int | None,
) -> sagemaker.CfnEndpointConfig:
    """The endpoint config with the endpoint's own production variant (``AllTraffic``)."""
    variant: dict[str, Any] = {
        "variant_name": VARIANT_NAME,
        "model_name": cfn_model.attr_model_name,
        "initial_variant_weight": 1.0,
    }
    if facts.instance_type is not None:
        variant.update(
            instance_type=facts.instance_type,
            initial_instance_count=facts.instance_count,
            container_startup_health_check_timeout_in_seconds=startup_timeout_seconds,
            model_data_download_timeout_in_seconds=facts.download_timeout_seconds,
            volume_size_in_gb=volume_size_gb,
            inference_ami_version=facts.host_ami,
        )
    for feature in features:
        merge_properties(variant, feature.variant_properties(facts), owner=type(feature).__name__)
    properties: dict[str, Any] = {
        "production_variants": [sagemaker.CfnEndpointConfig.ProductionVariantProperty(**variant)]
    }
    for feature in features:
        merge_properties(properties, feature.config_properties(facts, role), owner=type(feature).__name__)
    config = sagemaker.CfnEndpointConfig(scope, "EndpointConfig", **properties)
    # The containers start with every permission the role will have, including grants that
    # features and users add after this point (data capture, async outputs, KMS, a bucket the
    # script reads), and lose none of them while the endpoint still runs: a dependency on the
    # role construct covers the policies it holds at synth time. The config, unlike the model,
    # does not reference the role, so the DependsOn is not redundant (cfn-lint W3005).
    config.node.add_dependency(role)
    return config


def build_endpoint(
    scope: Construct,
    facts: EndpointFacts,
    config: sagemaker.CfnEndpointConfig,
    features: tuple[EndpointFeature, ...],
) -> sagemaker.CfnEndpoint:
    """The endpoint, with its fixed name (only the name is create-only: a new config updates it in place)."""
    properties: dict[str, Any] = {
        "endpoint_config_name": config.attr_endpoint_config_name,
        "endpoint_name": facts.physical_endpoint_name,
    }
    for feature in features:
        merge_properties(properties, feature.endpoint_properties(facts), owner=type(feature).__name__)
    return sagemaker.CfnEndpoint(scope, "Endpoint", **properties)


@dataclass(frozen=True)
class VariantModels:
    """Builds the endpoint's other models (``ModelRenderer``): the same role, environment rules and features."""

    facts: EndpointFacts
    role: iam.IRole
    features: tuple[EndpointFeature, ...]

    def render_model(
        self,
        scope: Construct,
        *,
        model: ModelFacts,
        stack: ServingStack,
        image: InferenceImage | None,
        instance_type: str | None,
        model_data: ModelData | None,
        environment: Mapping[str, str] | None,
        prop: str,
    ) -> RenderedModel:
        chosen = image or InferenceImage.for_serving(stack)
        stack = configure(stack, chosen, {"environment": environment})
        image_uri = chosen.bind(scope, self.role, instance_type=instance_type).image_uri
        data = model_data.bind(scope, self.role) if model_data is not None else None
        problems = Problems(lambda: f"{self.facts.subject()} {prop}")
        features_env: dict[str, str] = {}
        for feature in self.features:
            features_env.update(feature.environment(self.facts, stack))
        inputs = EnvironmentInputs(
            stack=stack,
            model=model,
            sizing={},  # a variant is not sized: it has no profile of its own
            sized=False,
            features=features_env,
            user=environment or {},
            engine_args={},
            instance_type=instance_type,
            spec=instance_spec(instance_type) if instance_type else None,
            image_version=chosen.catalogue_version,
        )
        variables = assemble(inputs, Report(problems, self.facts.scope, prefix=prop))
        problems.raise_if_any()
        # VPC and network isolation apply to every model of the endpoint.
        extra = [(type(f).__name__, f.model_properties(self.facts, self.role)) for f in self.features]
        cfn_model = build_model(scope, self.role, container(image_uri, variables, data), extra, after_policies=True)
        return RenderedModel(cfn_model, _host_ami(stack, chosen, instance_type))


def _host_ami(stack: ServingStack, image: InferenceImage, instance_type: str | None) -> str | None:
    """The AMI a variant's image needs (a variant has no ``inference_ami_version`` of its own)."""
    if instance_type is None:
        return None
    processor = stack.processor_for_token() if is_unresolved(instance_type) else processor_for(instance_type)
    if processor is None:
        return None
    ami = stack.host_ami(processor, image.facts_for(processor).cuda_version)
    return host_ami_for_gpus(ami, instance_spec(instance_type))


def _uncompressed_source(data: ModelDataConfig) -> sagemaker.CfnModel.ModelDataSourceProperty:
    return sagemaker.CfnModel.ModelDataSourceProperty(
        s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
            s3_uri=data.s3_uri, s3_data_type="S3Prefix", compression_type="None"
        )
    )
