"""Security of an endpoint: the Hugging Face token, the network (VPC, isolation) and KMS encryption.

- ``hf_token_secret``: the token reaches the container through a CloudFormation dynamic reference
  (``{{resolve:secretsmanager:...}}``), resolved by CloudFormation at deploy time: the template
  never holds the token, and the execution role needs no access to the secret.
- ``vpc`` / ``vpc_subnets`` / ``security_groups``: the model's ``VpcConfig``, the role's network
  interface permissions and the endpoint's ``connections``.
- ``network_isolation``: the model's ``EnableNetworkIsolation``.
- ``encryption_key``: the endpoint config's ``KmsKeyId`` (storage volume), also used by async
  inference outputs and data capture.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Annotations, ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ._core.errors import ConfigurationError, Problems, describe
from ._core.nag import acknowledge_wildcard
from ._core.tokens import is_unresolved
from .features import EndpointFeature
from .images import Serving

if TYPE_CHECKING:
    from .endpoint import EndpointBase

TOKEN_VARIABLES_BY_SERVING: Mapping[Serving, tuple[str, ...]] = {
    # The toolkit downloads with HF_API_TOKEN; huggingface_hub (e.g. from_pretrained in a custom
    # model_fn) reads HF_TOKEN.
    Serving.INFERENCE_TOOLKIT: ("HF_API_TOKEN", "HF_TOKEN"),
    # TGI's launcher reads HF_TOKEN (HUGGING_FACE_HUB_TOKEN before 2.0).
    Serving.TGI: ("HF_TOKEN",),
    # TEI's router reads --hf-token / HF_TOKEN since 1.6 (the catalogued 1.8 included); before it
    # read --hf-api-token / HF_API_TOKEN.
    Serving.TEI: ("HF_TOKEN",),
}
"""The environment variables that carry the Hugging Face token, per serving stack."""

NETWORK_INTERFACE_DESCRIBE_ACTIONS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
"""EC2 read actions SageMaker needs for a VPC model; they support no resource-level permissions."""

NETWORK_INTERFACE_MANAGE_ACTIONS = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
"""EC2 actions on the endpoint's network interfaces, scoped to the VPC with the ``ec2:Vpc`` condition."""

KMS_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
"""What the execution role may do with ``encryption_key`` (volume, async outputs, data capture): the symmetric-key
actions that ``kms:GenerateDataKey*`` and ``kms:ReEncrypt*`` stood for, named (no data key pairs)."""

_STATE_ATTRIBUTE = "_constructs_lib_network"
_COMPLETE_SECRET_ARN = re.compile(r"^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$")
_SECRET_ARN = re.compile(r"^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_EXAMPLE_PLAIN_INSTANCES = "ml.m5.xlarge, ml.c5.xlarge or ml.p3.2xlarge"


@dataclass(frozen=True)
class _Network:
    subnet_ids: tuple[str, ...]
    security_groups: tuple[ec2.ISecurityGroup, ...]
    connections: ec2.Connections


class SecurityFeature(EndpointFeature):
    """``hf_token_secret``, ``vpc``, ``vpc_subnets``, ``security_groups``, ``network_isolation`` and
    ``encryption_key``."""

    props = ("hf_token_secret", "vpc", "vpc_subnets", "security_groups", "network_isolation", "encryption_key")

    # ------------------------------------------------------------------------------ validate
    def validate(self, endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems) -> None:
        serverless = props.get("serverless") is not None
        self._validate_token(endpoint, props, problems)
        self._validate_network(endpoint, props, problems, serverless=serverless)
        self._validate_key(endpoint, props, problems, serverless=serverless)

    def _validate_token(self, endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems) -> None:
        secret = props.get("hf_token_secret")
        if secret is None:
            return
        if not _implements(secret, "secret_value", "secret_arn"):
            # The value is not echoed: it may well be the token itself.
            problems.add(
                "hf_token_secret",
                f"<{type(secret).__name__}>",
                "must be a secretsmanager.ISecret (never the token itself), e.g. "
                "secretsmanager.Secret.from_secret_name_v2(self, 'HfToken', 'hf-token') "
                "(or secret_from_config(scope, name_or_arn))",
            )
        elif props.get("network_isolation") is True:
            problems.add(
                "hf_token_secret",
                "(given)",
                "has no use with network_isolation=True: an isolated container cannot reach the Hub",
            )

    def _validate_network(
        self, endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems, *, serverless: bool
    ) -> None:
        vpc = props.get("vpc")
        subnets = props.get("vpc_subnets")
        groups = props.get("security_groups")
        isolation = props.get("network_isolation", False)
        if not isinstance(isolation, bool):
            problems.add("network_isolation", isolation, "must be True or False")
            isolation = False
        if vpc is None:
            for prop, value in (("vpc_subnets", subnets), ("security_groups", groups)):
                if value is not None:
                    problems.add(prop, "(given)", "only applies with vpc: pass the VPC the containers run in")
        elif not _implements(vpc, "vpc_id", "select_subnets"):
            problems.add("vpc", vpc, "must be an ec2.IVpc (e.g. ec2.Vpc.from_lookup(self, 'Vpc', vpc_id='vpc-...'))")
        else:
            if subnets is not None and not isinstance(subnets, ec2.SubnetSelection):
                problems.add("vpc_subnets", subnets, "must be an ec2.SubnetSelection")
            else:
                selected = _check_subnets(vpc, subnets, problems)
                downloads = _start_up_downloads(endpoint)
                if downloads and selected and _all_isolated(vpc, selected):
                    # Warned, not refused: CDK calls a subnet isolated when its route table has no NAT or
                    # internet gateway, and a transit gateway, firewall route or PyPI mirror may still serve.
                    Annotations.of(endpoint).add_warning_v2(
                        "constructs-lib:isolated-subnets",
                        "vpc_subnets selects only isolated subnets (no NAT or internet gateway), and at start-up "
                        f"the container {' and '.join(what for what, _ in downloads)}: unless these subnets reach "
                        "the internet another way, the endpoint fails to start; use subnets with egress "
                        f"(SubnetType.PRIVATE_WITH_EGRESS) or {' and '.join(instead for _, instead in downloads)}",
                    )
            _check_security_groups(groups, problems)
        if serverless:
            if vpc is not None:
                problems.add("vpc", "(given)", "cannot be used with serverless inference, which runs outside any VPC")
            if isolation:
                problems.add("network_isolation", True, "is not supported by serverless inference")
        if isolation and endpoint.hub_model_id is not None:
            problems.add(
                "network_isolation",
                True,
                f"cannot be used with a model the container downloads from the Hub ({endpoint.hub_model_id!r}, "
                f"served by {endpoint.serving.name}): an isolated container has no network; package the model "
                "as model.tar.gz in S3 (FineTunedEndpoint) or drop network_isolation",
            )

    def _validate_key(
        self, endpoint: EndpointBase, props: Mapping[str, Any], problems: Problems, *, serverless: bool
    ) -> None:
        key = props.get("encryption_key")
        if key is None:
            return
        if not _implements(key, "key_arn", "grant"):
            problems.add("encryption_key", key, "must be a kms.IKey (e.g. kms.Key.from_key_arn(self, 'Key', arn))")
            return
        if serverless:
            problems.add(
                "encryption_key",
                "(given)",
                "cannot be used with serverless inference: serverless endpoints have no storage volume to encrypt "
                "with a customer managed key; drop encryption_key or use instances",
            )
            return
        key_region = _arn_region(key.key_arn)
        stack_region = Stack.of(endpoint).region
        if key_region is not None and not is_unresolved(stack_region) and key_region != stack_region:
            problems.add(
                "encryption_key",
                key.key_arn,
                f"is a key in {key_region}, but the endpoint is in {stack_region}: SageMaker only uses KMS keys "
                "of the endpoint's own region; use a key (or a multi-Region replica) in that region",
            )
            return
        spec = endpoint.instance_spec
        if spec is not None and spec.local_nvme:
            problems.add(
                "encryption_key",
                "(given)",
                f"cannot be used on {spec.name}: its storage is local NVMe, already encrypted by the instance's "
                "hardware, and SageMaker rejects KmsKeyId there (after a long deploy); use an instance without "
                f"local storage (e.g. {_EXAMPLE_PLAIN_INSTANCES}) or leave encryption_key unset",
            )

    # ----------------------------------------------------------------------------- properties
    def environment(
        self, endpoint: EndpointBase, props: Mapping[str, Any], *, serving: Serving | None = None
    ) -> dict[str, str]:
        secret: secretsmanager.ISecret | None = props.get("hf_token_secret")
        if secret is None:
            return {}
        # A dynamic reference: CloudFormation resolves it while creating the model; the template
        # holds only {{resolve:secretsmanager:<arn>:SecretString:::}}.
        reference = secret.secret_value.unsafe_unwrap()
        names = TOKEN_VARIABLES_BY_SERVING.get(serving or endpoint.serving, ("HF_TOKEN",))
        return dict.fromkeys(names, reference)

    def model_properties(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        if props.get("network_isolation"):
            properties["enable_network_isolation"] = True
        network = _network(endpoint, props)
        if network is not None:
            properties["vpc_config"] = sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[group.security_group_id for group in network.security_groups],
                subnets=list(network.subnet_ids),
            )
            # Granted here, before the model exists: SageMaker creates the network interfaces with
            # the role while it creates the model, and the model depends on the role (and its policy).
            _grant_network_interfaces(endpoint, props["vpc"], network)
        return properties

    def config_properties(self, endpoint: EndpointBase, props: Mapping[str, Any]) -> dict[str, Any]:
        key: kms.IKey | None = props.get("encryption_key")
        if key is None:
            return {}
        _grant_key(endpoint, key)
        return {"kms_key_id": key.key_arn}


FEATURE = SecurityFeature()


# ------------------------------------------------------------------------------------ public
def connections_of(endpoint: EndpointBase) -> ec2.Connections:
    """The security groups of an endpoint's model containers, as ``ec2.Connections``.

    :raises ConfigurationError: when the endpoint has no ``vpc``.
    """
    network: _Network | None = getattr(endpoint, _STATE_ATTRIBUTE, None)
    if network is None:
        raise ConfigurationError(
            f"{type(endpoint).__name__} '{endpoint.node.path}': connections: the endpoint has no network "
            "connections because it runs outside a VPC; pass vpc=... to run the containers in your VPC"
        )
    return network.connections


def secret_from_config(scope: Construct, value: str, *, id: str = "HfTokenSecret") -> secretsmanager.ISecret:
    """Import the Hugging Face token secret named in a config file, by name or by ARN.

    A complete ARN (ending in ``-`` and the 6 random characters Secrets Manager appends) is imported
    with ``from_secret_complete_arn``, a partial ARN with ``from_secret_partial_arn``, anything else
    as a name in the stack's account and region with ``from_secret_name_v2``.

    :param scope: where the imported secret is defined (e.g. the stack).
    :param value: the secret's name (``hf-token``) or ARN.
    :param id: construct id of the import.
    :default id: ``"HfTokenSecret"``
    :raises ConfigurationError: when ``value`` is neither a secret name nor a Secrets Manager ARN.
    """
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"hf_token_secret: {describe(value)} must be a Secrets Manager secret name or ARN")
    if _COMPLETE_SECRET_ARN.match(value):
        return secretsmanager.Secret.from_secret_complete_arn(scope, id, value)
    if _SECRET_ARN.match(value):
        return secretsmanager.Secret.from_secret_partial_arn(scope, id, value)
    if value.startswith("arn:") or not _SECRET_NAME.match(value):
        raise ConfigurationError(
            f"hf_token_secret: {describe(value)} is neither a Secrets Manager ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf) nor a secret name "
            "(1-512 letters, digits and /_+=.@-)"
        )
    return secretsmanager.Secret.from_secret_name_v2(scope, id, value)


# ---------------------------------------------------------------------------------- helpers
_ARN_REGION = re.compile(r"^arn:[a-z-]+:kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):")


def _arn_region(arn: str) -> str | None:
    """The region of a literal KMS ARN (``None`` for tokens and other forms)."""
    match = _ARN_REGION.match(arn) if isinstance(arn, str) else None
    return match.group("region") if match else None


def _implements(value: object, *attributes: str) -> bool:
    # jsii interfaces are not runtime-checkable protocols, and imported resources are dynamic
    # proxies: check for the members we use instead.
    return all(hasattr(value, attribute) for attribute in attributes)


def _selection(subnets: ec2.SubnetSelection | None) -> ec2.SubnetSelection:
    return subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


def _select(vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None) -> ec2.SelectedSubnets:
    selection = _selection(subnets)
    return vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets,
        subnet_type=selection.subnet_type,
    )


def _check_subnets(vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None, problems: Problems) -> list[str]:
    """The ids of the subnets the selection picks; a problem when it picks none."""
    try:
        selected = _select(vpc, subnets)
    except RuntimeError as error:  # jsii raises the CDK's own error as a RuntimeError
        where = "vpc_subnets" if subnets is not None else "vpc"
        default = "" if subnets is not None else " (the default selection is the private subnets with egress)"
        problems.add(where, "(selection)", f"selects no subnets of the VPC{default}: {error}")
        return []
    subnet_ids = list(selected.subnet_ids)
    if not subnet_ids:
        problems.add("vpc_subnets", "(selection)", "selects no subnets of the VPC")
    return subnet_ids


def _start_up_downloads(endpoint: EndpointBase) -> list[tuple[str, str]]:
    """What the container fetches from the internet when it starts, and how to do without it."""
    downloads = []
    if endpoint.hub_model_id is not None:
        downloads.append(
            (
                f"downloads {endpoint.hub_model_id!r} from the Hugging Face Hub",
                "package the model in S3 (FineTunedEndpoint)",
            )
        )
    requirements = endpoint._source.shipped_requirements()
    if requirements is not None and endpoint.serving is Serving.INFERENCE_TOOLKIT:
        downloads.append(
            (f"pip-installs {requirements} from PyPI", "ship wheels in code/ (pip --no-index --find-links)")
        )
    return downloads


def _all_isolated(vpc: ec2.IVpc, subnet_ids: list[str]) -> bool:
    """Whether every selected subnet is one the VPC knows as isolated (tokens compare as equal strings)."""
    isolated = {subnet.subnet_id for subnet in vpc.isolated_subnets}
    return all(subnet_id in isolated for subnet_id in subnet_ids)


def _check_security_groups(groups: Sequence[ec2.ISecurityGroup] | None, problems: Problems) -> None:
    if groups is None:
        return
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence):
        problems.add("security_groups", groups, "must be a list of ec2.ISecurityGroup")
        return
    if not 1 <= len(groups) <= 5:
        problems.add("security_groups", f"{len(groups)} groups", "must hold 1 to 5 security groups (SageMaker's limit)")
    for index, group in enumerate(groups):
        if not _implements(group, "security_group_id"):
            problems.add(f"security_groups[{index}]", group, "must be an ec2.ISecurityGroup")


def _network(endpoint: EndpointBase, props: Mapping[str, Any]) -> _Network | None:
    """The endpoint's subnets and security groups; creates the security group once, on first use."""
    vpc: ec2.IVpc | None = props.get("vpc")
    if vpc is None:
        return None
    existing: _Network | None = getattr(endpoint, _STATE_ATTRIBUTE, None)
    if existing is not None:
        return existing
    groups: tuple[ec2.ISecurityGroup, ...] = tuple(props.get("security_groups") or ())
    if not groups:
        # All outbound allowed: through the VPC SageMaker pulls the model artifacts from S3 and
        # the container reaches the Hub (or whatever your code calls). Pass your own groups to
        # restrict egress, e.g. to S3 and ECR VPC endpoints only.
        groups = (
            ec2.SecurityGroup(
                endpoint,
                "SecurityGroup",
                vpc=vpc,
                allow_all_outbound=True,
                description=f"Model containers of the SageMaker endpoint {endpoint.node.path}",
            ),
        )
    subnet_ids = tuple(_select(vpc, props.get("vpc_subnets")).subnet_ids)
    network = _Network(subnet_ids, groups, ec2.Connections(security_groups=list(groups)))
    setattr(endpoint, _STATE_ATTRIBUTE, network)
    return network


def _grant_network_interfaces(endpoint: EndpointBase, vpc: ec2.IVpc, network: _Network) -> None:
    stack = Stack.of(endpoint)

    def ec2_arn(resource: str, name: str) -> str:
        return stack.format_arn(
            service="ec2", resource=resource, resource_name=name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

    interfaces = ec2_arn("network-interface", "*")
    # CreateNetworkInterface authorizes the new interface, the subnet and the security groups:
    # each is named, so the role can create interfaces only in these subnets with these groups.
    endpoint.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                interfaces,
                *(ec2_arn("subnet", subnet_id) for subnet_id in network.subnet_ids),
                *(ec2_arn("security-group", group.security_group_id) for group in network.security_groups),
            ],
        )
    )
    endpoint.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(NETWORK_INTERFACE_MANAGE_ACTIONS),
            resources=[interfaces],
            conditions={"ArnEquals": {"ec2:Vpc": ec2_arn("vpc", vpc.vpc_id)}},
        )
    )
    # Describe* actions support no resource-level permissions: "*" is the narrowest IAM allows.
    endpoint.role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(NETWORK_INTERFACE_DESCRIBE_ACTIONS), resources=["*"])
    )
    if isinstance(endpoint.role, iam.Role):
        acknowledge_wildcard(
            endpoint.role,
            interfaces,
            "EC2 names the endpoint's network interfaces when SageMaker creates them: creation is limited to the "
            "named subnets and security groups, the other actions to interfaces in this VPC (ec2:Vpc condition).",
        )


def _grant_key(endpoint: EndpointBase, key: kms.IKey) -> None:
    # The role encrypts the storage volume and writes async outputs and captured data with the key;
    # SageMaker creates grants on it for the volume, only for AWS resources.
    key.grant(endpoint.role, *KMS_KEY_ACTIONS)
    endpoint.role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )
