"""Security of an endpoint: the Hugging Face token, the network (VPC, isolation) and KMS encryption.

- ``hf_token_secret`` (``token``): the token reaches the container through a dynamic reference.
- ``vpc`` / ``vpc_subnets`` / ``security_groups`` / ``network_isolation`` (``network``).
- ``encryption_key`` (``kms``): the endpoint config's ``KmsKeyId``.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from ..._core.errors import Problems
from ..._core.stack_facts import stack_facts
from ...contract.facts import EndpointFacts, EndpointResources, FeatureOutputs
from ...serving.base import ServingStack
from ..base import EndpointFeature
from .kms import check_key, grant_key
from .network import Network, check_network, grant_network_interfaces, network_of
from .token import check_token_secret, token_environment


class SecurityFeature(EndpointFeature):
    """``hf_token_secret``, ``vpc``, ``vpc_subnets``, ``security_groups``, ``network_isolation`` and
    ``encryption_key``."""

    def __init__(self, props: Any) -> None:
        self._props = props
        self._network: Network | None = None
        self._granted: set[int] = set()  # roles already granted network interfaces (one model or many)

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        isolation = self._props.get("network_isolation", False)
        if not isinstance(isolation, bool):
            problems.add("network_isolation", isolation, "must be True or False")
            isolation = False
        check_token_secret(self._props.get("hf_token_secret"), problems, network_isolation=facts.network_isolation)
        check_network(self._props, facts, problems, isolation=isolation)
        check_key(
            self._props.get("encryption_key"),
            problems,
            stack_region=stack_facts(facts.scope).region,
            spec=facts.instance_spec,
            serverless=facts.serverless,
        )

    def environment(self, facts: EndpointFacts, stack: ServingStack) -> dict[str, str]:
        return token_environment(self._props.get("hf_token_secret"), stack)

    def model_properties(self, facts: EndpointFacts, role: iam.IRole) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        if self._props.get("network_isolation"):
            properties["enable_network_isolation"] = True
        if self._props.get("vpc") is not None:
            network = self._network = self._network or network_of(facts.scope, self._props)
            properties["vpc_config"] = sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[group.security_group_id for group in network.security_groups],
                subnets=list(network.subnet_ids),
            )
            # Granted here, before the model exists: SageMaker creates the network interfaces with
            # the role while it creates the model, and the model depends on the role (and its policy).
            if id(role) not in self._granted:
                self._granted.add(id(role))
                grant_network_interfaces(role, network)
        return properties

    def config_properties(self, facts: EndpointFacts, role: iam.IRole) -> dict[str, Any]:
        key = facts.encryption_key
        if key is None:
            return {}
        grant_key(role, key)
        return {"kms_key_id": key.key_arn}

    def apply(self, facts: EndpointFacts, resources: EndpointResources) -> FeatureOutputs:
        return FeatureOutputs(connections=self._network.connections if self._network else None)


FEATURE_CLASS = SecurityFeature
