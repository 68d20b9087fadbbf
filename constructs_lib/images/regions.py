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

    Each image family has its own mapping (its own accounts), and every mapping lists exactly the regions
    that have every image of the stack: deploying to any other region fails on the first ``Fn::FindInMap``
    CloudFormation evaluates, before anything is created, instead of passing one image's lookup and failing
    on another's (or rendering the URI of an image that does not exist there).
    """
    mapping_id = _mapping_id(image)
    if mapping_id not in facts.account_mappings:
        _add_mapping(facts, mapping_id, image)
    return facts.account_mappings[mapping_id].find_in_map(Aws.REGION, _MAPPING_VALUE_KEY)


def _add_mapping(facts: StackFacts, mapping_id: str, image: dlc.ResolvedImage) -> None:
    """A mapping for ``image``'s family; the stack's other mappings narrowed to the regions it shares with them."""
    regions = frozenset(image.regions)
    shared = regions if facts.image_regions is None else facts.image_regions & regions
    if not shared:
        raise ConfigurationError(
            f"image: no region has both the {image.description} image ({image.repository}:{image.tag}) and the "
            f"stack's other images, so {facts.stack.node.path} cannot deploy anywhere; give the stack a region, or "
            f"put the endpoints in separate stacks (the image's regions: {', '.join(sorted(regions))})"
        )
    if facts.image_regions is not None and shared != facts.image_regions:
        # Each other mapping is rewritten with fewer regions, under its id: its FindInMap tokens still name it.
        for other in list(facts.account_mappings):
            facts.stack.node.try_remove_child(other)
            facts.account_mappings[other] = _account_mapping(facts.stack, other, facts.mapping_accounts[other], shared)
    facts.image_regions = shared
    facts.mapping_accounts[mapping_id] = dlc.accounts(image.account_table)
    facts.account_mappings[mapping_id] = _account_mapping(
        facts.stack, mapping_id, facts.mapping_accounts[mapping_id], shared
    )


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


def _account_mapping(stack: Stack, mapping_id: str, accounts: Mapping[str, str], regions: frozenset[str]) -> CfnMapping:
    """The stack's region -> account mapping with this id, for ``regions`` (in one jsii call)."""
    existing = stack.node.try_find_child(mapping_id)
    values = {region: {_MAPPING_VALUE_KEY: accounts[region]} for region in sorted(regions)}
    if isinstance(existing, CfnMapping):  # made through another reading of the stack's facts
        for region, value in values.items():
            existing.set_value(region, _MAPPING_VALUE_KEY, value[_MAPPING_VALUE_KEY])
        return existing
    if existing is not None:
        raise ConfigurationError(
            f"{stack.node.path}: the id {mapping_id!r} is reserved for the DLC account mapping, "
            f"but a {type(existing).__name__} uses it"
        )
    return CfnMapping(stack, mapping_id, mapping=values)
