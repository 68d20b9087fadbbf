"""Where a Deep Learning Container image is pulled from: the registry account of each region.

A stack with a concrete region gets a literal URI. An environment-agnostic stack gets the account
from a region -> account ``CfnMapping`` read with ``Fn::FindInMap`` on ``AWS::Region``, so one
template deploys in every region that has the image, and fails before anything is created in one
that has not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from aws_cdk import Aws, CfnMapping, Stack

from .._core.errors import ConfigurationError
from .._core.iam import Statement, allow
from .._core.stack_facts import StackFacts
from .._core.tokens import is_unresolved
from ..catalogue import dlc

_MAPPING_IDS: Mapping[str, str] = {"huggingface": "HuggingFaceDlcAccounts", "huggingface-tei": "HuggingFaceTeiAccounts"}
"""Logical ids of the per-stack region -> account ``CfnMapping`` of the families whose ids predate the others'."""
_MAPPING_VALUE_KEY = "account"

_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def pull_statements(repository_arn: str) -> list[Statement]:
    """Pull access to one repository (``GetAuthorizationToken`` supports no resource-level permissions)."""
    return [allow(_PULL_ACTIONS, repository_arn), allow(["ecr:GetAuthorizationToken"], "*")]


def repository_arn(facts: StackFacts, name: str, *, account: str, region: str | None = None) -> str:
    """The ARN of an ECR repository of ``account`` (in the stack's region unless given)."""
    return facts.arn("ecr", f"repository/{name}", account=account, region=region)


def image_location(facts: StackFacts, image: dlc.ResolvedImage) -> tuple[str, str]:
    """The URI of ``image`` in the stack's region and the ARN of its repository.

    :raises ConfigurationError: when the stack's (concrete) region has no such image.
    """
    region = facts.region
    if not is_unresolved(region):
        if region not in image.regions:
            raise ConfigurationError(
                f"region: {region!r} (the stack's region) has no {image.description} image "
                f"({image.repository}:{image.tag}); supported regions: {', '.join(sorted(image.regions))}"
            )
        account = dlc.accounts(image.account_table)[region]
        uri = f"{account}.dkr.ecr.{region}.{dlc.url_suffix(region)}/{image.repository}:{image.tag}"
        return uri, repository_arn(facts, image.repository, account=account, region=region)
    account = _account_from_mapping(facts, image)
    uri = f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{image.repository}:{image.tag}"
    return uri, repository_arn(facts, image.repository, account=account)


def _account_from_mapping(facts: StackFacts, image: dlc.ResolvedImage) -> str:
    """The DLC account of the deploy-time region, from a region -> account mapping of the stack.

    The mapping lists exactly the regions that have this image: deploying to any other region
    fails on ``Fn::FindInMap`` before anything is created, instead of rendering the URI of an
    image that does not exist there. Images with the same regions share one mapping.
    """
    mapping_id = _mapping_id(image)
    mapping = facts.account_mappings.get(mapping_id)
    if mapping is None:
        mapping = facts.account_mappings[mapping_id] = _account_mapping(facts.stack, mapping_id)
        accounts = dlc.accounts(image.account_table)
        for name in sorted(image.regions):
            mapping.set_value(name, _MAPPING_VALUE_KEY, accounts[name])
    return mapping.find_in_map(Aws.REGION, _MAPPING_VALUE_KEY)


def _mapping_id(image: dlc.ResolvedImage) -> str:
    """One mapping per image family, for the regions of its newest version (``HuggingFaceDlcAccounts`` for
    the toolkit, ``HuggingFaceTeiAccounts``, ``HuggingFaceLlmAccounts`` for TGI, ...); that id plus a short
    digest of the regions for a version of the family whose regions differ."""
    base = (
        _MAPPING_IDS.get(image.family)
        or "HuggingFace"
        + "".join(part.capitalize() for part in image.family.removeprefix("huggingface-").split("-"))
        + "Accounts"
    )
    if frozenset(image.regions) == dlc.family_regions(image.family):
        return base
    digest = hashlib.sha256(",".join(sorted(image.regions)).encode()).hexdigest()[:8].upper()
    return f"{base}{digest}"


def _account_mapping(stack: Stack, mapping_id: str) -> CfnMapping:
    """The stack's region -> account mapping with this id, created on first use."""
    existing = stack.node.try_find_child(mapping_id)
    if existing is None:
        return CfnMapping(stack, mapping_id)
    if not isinstance(existing, CfnMapping):
        raise ConfigurationError(
            f"{stack.node.path}: the id {mapping_id!r} is reserved for the DLC account mapping, "
            f"but a {type(existing).__name__} uses it"
        )
    return existing
