"""What the constructs of one stack read from it, read once per stack.

Every read of a stack attribute is a round trip to the jsii kernel; with many endpoints in a
stack, reading partition, region and account once per stack instead of per endpoint saves
several round trips for each endpoint. This is the one place that caches jsii reads: the stack's
facts per stack, and construct paths per scope (``construct_path``).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping

from aws_cdk import CfnMapping, Stack
from constructs import IConstruct


class StackFacts:
    """What the constructs of one stack read from it, read once per stack.

    Every read of a stack attribute is a round trip to the jsii kernel; with many endpoints in a
    stack, reading partition, region and account once per stack instead of per endpoint saves
    several round trips for each endpoint.
    """

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.partition: str = stack.partition
        self.region: str = stack.region
        self.account: str = stack.account
        self.account_mappings: dict[str, CfnMapping] = {}
        """The DLC region -> account mappings by logical id, one per image family and region set (see
        ``images.regions``)."""
        self.mapping_accounts: dict[str, Mapping[str, str]] = {}
        """Every region -> account table a mapping of ``account_mappings`` was filled from, by logical id."""
        self.image_regions: frozenset[str] | None = None
        """The regions that have every image of the stack, which each mapping lists (``None``: no mapping yet)."""
        self.nag_names: dict[str, str] = {}
        """How cdk-nag names each token the stack's constructs acknowledged (see ``nag.nag_name``)."""

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``, like ``Stack.format_arn``."""
        region = self.region if region is None else region
        account = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"


_FACTS: weakref.WeakKeyDictionary[IConstruct, StackFacts] = weakref.WeakKeyDictionary()


def stack_facts(scope: IConstruct, *, child: IConstruct | None = None) -> StackFacts:
    """The :class:`StackFacts` of ``scope``'s stack, remembered for ``scope`` (a construct never moves)
    and for ``child``, a construct just created in ``scope``."""
    try:
        facts = _FACTS.get(scope)
        if facts is None:
            stack = scope if isinstance(scope, Stack) else Stack.of(scope)
            facts = _FACTS.get(stack)
            if facts is None:
                facts = _FACTS[stack] = StackFacts(stack)
            _FACTS[scope] = facts
        if child is not None:
            _FACTS[child] = facts
    except TypeError:  # a construct class that is not hashable or weak-referenceable: read afresh
        return StackFacts(Stack.of(scope))
    return facts


_PATHS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()

_PATH_SEPARATOR = "/"


def construct_path(construct: IConstruct, scope: IConstruct, id: str) -> str:
    """The path of ``construct``, just created as ``id`` in ``scope``, with ``scope``'s path read once per scope.

    ``constructs`` joins the ids below the root with ``/``, so for many endpoints in one stack this
    saves a round trip each. An id holding ``/`` (which ``constructs`` rewrites) is read afresh.
    """
    if _PATH_SEPARATOR in id:
        return construct.node.path
    try:
        parent = _PATHS.get(scope)
        if parent is None:
            parent = _PATHS[scope] = scope.node.path
    except TypeError:  # a construct class that is not hashable or weak-referenceable: read afresh
        parent = scope.node.path
    return f"{parent}{_PATH_SEPARATOR}{id}" if parent else id
