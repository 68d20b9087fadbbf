"""The containers' network: ``vpc`` / ``vpc_subnets`` / ``security_groups`` and ``network_isolation``.

A VPC gives the model a ``VpcConfig``, the execution role the network interface permissions
SageMaker needs, and the endpoint its ``connections``. Isolation gives the model
``EnableNetworkIsolation``: no network at all, so nothing can be downloaded at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..._core.errors import Problems
from ..._core.nag import acknowledge_wildcard
from ...contract.facts import EndpointFacts
from ...serving.base import ServingStack

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


@dataclass(frozen=True)
class Network:
    """Where the endpoint's containers run: subnets and security groups."""

    vpc: ec2.IVpc
    subnet_ids: tuple[str, ...]
    security_groups: tuple[ec2.ISecurityGroup, ...]
    connections: ec2.Connections


def check_network(props: Any, facts: EndpointFacts, problems: Problems, *, isolation: bool) -> None:
    """Record problems with ``vpc``, ``vpc_subnets``, ``security_groups`` and ``network_isolation``."""
    vpc = props.get("vpc")
    selected = check_network_props(props, problems)
    if selected is not None:
        downloads = start_up_downloads(facts.model.model_id, facts.shipped_requirements, facts.serving)
        warn_isolated_subnets(facts.scope, vpc, selected, downloads)
    if facts.serverless:
        if vpc is not None:
            problems.add("vpc", "(given)", "cannot be used with serverless inference, which runs outside any VPC")
        if isolation:
            problems.add("network_isolation", True, "is not supported by serverless inference")
    if isolation and facts.model.model_id is not None:
        problems.add(
            "network_isolation",
            True,
            f"cannot be used with a model the container downloads from the Hub ({facts.model.model_id!r}, "
            f"served by {facts.serving.serving.name if facts.serving.serving else facts.serving.name}): an isolated "
            "container has no network; package the model as model.tar.gz in S3 (FineTunedEndpoint) or drop "
            "network_isolation",
        )


def check_network_props(props: Any, problems: Problems) -> list[str] | None:
    """Record problems with ``vpc``, ``vpc_subnets`` and ``security_groups`` themselves; returns the ids of the
    subnets selected (``None`` without a usable ``vpc``)."""
    vpc, subnets, groups = props.get("vpc"), props.get("vpc_subnets"), props.get("security_groups")
    if vpc is None:
        for prop, value in (("vpc_subnets", subnets), ("security_groups", groups)):
            if value is not None:
                problems.add(prop, "(given)", "only applies with vpc: pass the VPC the containers run in")
        return None
    if not (hasattr(vpc, "vpc_id") and hasattr(vpc, "select_subnets")):
        problems.add("vpc", vpc, "must be an ec2.IVpc (e.g. ec2.Vpc.from_lookup(self, 'Vpc', vpc_id='vpc-...'))")
        return None
    selected = None
    if subnets is not None and not isinstance(subnets, ec2.SubnetSelection):
        problems.add("vpc_subnets", subnets, "must be an ec2.SubnetSelection")
    else:
        selected = _check_subnets(vpc, subnets, problems)
    _check_security_groups(groups, problems)
    return selected


def network_of(scope: Construct, props: Any) -> Network:
    """The endpoint's subnets and security groups; a security group is created when none is given."""
    vpc: ec2.IVpc = props["vpc"]
    groups: tuple[ec2.ISecurityGroup, ...] = tuple(props.get("security_groups") or ())
    if not groups:
        # All outbound allowed: through the VPC SageMaker pulls the model artifacts from S3 and
        # the container reaches the Hub (or whatever your code calls). Pass your own groups to
        # restrict egress, e.g. to S3 and ECR VPC endpoints only.
        groups = (
            ec2.SecurityGroup(
                scope,
                "SecurityGroup",
                vpc=vpc,
                allow_all_outbound=True,
                description=f"Model containers of the SageMaker endpoint {scope.node.path}",
            ),
        )
    subnet_ids = tuple(_select(vpc, props.get("vpc_subnets")).subnet_ids)
    return Network(vpc, subnet_ids, groups, ec2.Connections(security_groups=list(groups)))


def grant_network_interfaces(role: iam.IRole, network: Network) -> None:
    """What SageMaker does with the role to attach the containers to the VPC, and nothing more."""
    stack = Stack.of(role)

    def ec2_arn(resource: str, name: str) -> str:
        return stack.format_arn(
            service="ec2", resource=resource, resource_name=name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

    interfaces = ec2_arn("network-interface", "*")
    # CreateNetworkInterface authorizes the new interface, the subnet and the security groups:
    # each is named, so the role can create interfaces only in these subnets with these groups.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                interfaces,
                *(ec2_arn("subnet", subnet_id) for subnet_id in network.subnet_ids),
                *(ec2_arn("security-group", group.security_group_id) for group in network.security_groups),
            ],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(NETWORK_INTERFACE_MANAGE_ACTIONS),
            resources=[interfaces],
            conditions={"ArnEquals": {"ec2:Vpc": ec2_arn("vpc", network.vpc.vpc_id)}},
        )
    )
    # Describe* actions support no resource-level permissions: "*" is the narrowest IAM allows.
    role.add_to_principal_policy(iam.PolicyStatement(actions=list(NETWORK_INTERFACE_DESCRIBE_ACTIONS), resources=["*"]))
    if isinstance(role, iam.Role):
        acknowledge_wildcard(
            role,
            interfaces,
            "EC2 names the endpoint's network interfaces when SageMaker creates them: creation is limited to the "
            "named subnets and security groups, the other actions to interfaces in this VPC (ec2:Vpc condition).",
        )


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


def warn_isolated_subnets(scope: Construct, vpc: ec2.IVpc, subnet_ids: list[str], downloads: list[Download]) -> None:
    """Warn on ``scope`` when the containers must download something at start-up from subnets without egress."""
    if not downloads or not subnet_ids or not _all_isolated(vpc, subnet_ids):
        return
    # Warned, not refused: CDK calls a subnet isolated when its route table has no NAT or internet
    # gateway, and a transit gateway, firewall route or PyPI mirror may still serve.
    Annotations.of(scope).add_warning_v2(
        "constructs-lib:isolated-subnets",
        "vpc_subnets selects only isolated subnets (no NAT or internet gateway), and at start-up "
        f"the container {' and '.join(what for what, _ in downloads)}: unless these subnets reach "
        "the internet another way, the endpoint fails to start; use subnets with egress "
        f"(SubnetType.PRIVATE_WITH_EGRESS) or {' and '.join(instead for _, instead in downloads)}",
    )


Download = tuple[str, str]
"""What a container fetches from the internet when it starts, and how to do without it."""


def start_up_downloads(model_id: str | None, requirements: Path | None, stack: ServingStack) -> list[Download]:
    """What the container of a model fetches from the internet when it starts (its Hub model, the requirements
    the toolkit pip-installs), and how to do without each."""
    downloads = []
    if model_id is not None:
        downloads.append(
            (
                f"downloads {model_id!r} from the Hugging Face Hub",
                "package the model in S3 (FineTunedEndpoint)",
            )
        )
    if requirements is not None and stack.runs_custom_scripts:
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
        if not hasattr(group, "security_group_id"):
            problems.add(f"security_groups[{index}]", group, "must be an ec2.ISecurityGroup")
