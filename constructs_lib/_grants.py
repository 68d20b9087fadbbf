"""Grants narrower than the L2 ``grant_*`` helpers, and the cdk-nag acknowledgements they need.

``IBucket.grant_read`` grants ``s3:GetObject*``, ``s3:GetBucket*`` and ``s3:List*``: more than a
model container needs and a wildcard finding for cdk-nag. SageMaker only reads the artifact.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_cdk import Acknowledgment, CfnMapping, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ._validation import is_unresolved

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

Statement = dict[str, Any]
"""An IAM policy statement as JSON (``Effect``, ``Action``, ``Resource``, ``Condition``)."""


def allow(actions: Iterable[str], resource: str, conditions: dict[str, Any] | None = None) -> Statement:
    """An ``Allow`` statement as JSON."""
    statement: Statement = {"Effect": "Allow", "Action": list(actions), "Resource": resource}
    if conditions:
        statement["Condition"] = conditions
    return statement


def policy_document(statements: Iterable[Statement]) -> iam.PolicyDocument:
    """One ``PolicyDocument`` for many statements: a single jsii call instead of several per statement."""
    return iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": list(statements)})


def grant_statements(grantee: iam.IGrantable, statements: Iterable[Statement]) -> None:
    """Add JSON statements to ``grantee``'s policy (what ``iam.Grant.add_to_principal`` does, statement-wise)."""
    principal = grantee.grant_principal
    for statement in statements:
        principal.add_to_principal_policy(iam.PolicyStatement.from_json(statement))


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
        """The DLC region -> account mappings by logical id, one per region set (see ``images``)."""
        self._nag_names: dict[str, str] = {}

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``, like ``Stack.format_arn``."""
        region = self.region if region is None else region
        account = self.account if account is None else account
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def nag_name(self, value: str) -> str:
        """How cdk-nag names ``value`` in findings (see :func:`render_for_nag`), resolved once per value."""
        if not is_unresolved(value):
            return value
        if value not in self._nag_names:
            self._nag_names[value] = render_for_nag(self.stack.resolve(value))
        return self._nag_names[value]


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


def grant_read_object(grantee: iam.IGrantable, bucket: s3.IBucket, key: str) -> None:
    """Allow ``s3:GetObject`` on one object (and decrypting it when the bucket has a KMS key)."""
    iam.Grant.add_to_principal(grantee=grantee, actions=["s3:GetObject"], resource_arns=[bucket.arn_for_objects(key)])
    if bucket.encryption_key is not None:
        bucket.encryption_key.grant_decrypt(grantee)


def grant_read_prefix(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: str) -> None:
    """Allow listing and reading the objects under ``prefix`` only (an uncompressed model)."""
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["s3:GetObject"], resource_arns=[bucket.arn_for_objects(f"{prefix}*")]
    )
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )
    )
    if bucket.encryption_key is not None:
        bucket.encryption_key.grant_decrypt(grantee)


def acknowledge_wildcard(construct: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge cdk-nag's AwsSolutions-IAM5 finding for exactly one wildcard resource.

    ``resource`` is rendered the way cdk-nag names findings (``Ref`` and ``Fn::GetAtt`` become
    ``<Name>`` / ``<Name.Attr>``), so the acknowledgement covers that resource and nothing else.
    """
    acknowledge_wildcards(construct, [(stack_facts(construct).nag_name(resource), reason)])


def acknowledge_wildcards(construct: IConstruct, findings: Iterable[tuple[str, str]]) -> None:
    """Acknowledge AwsSolutions-IAM5 for several wildcard resources, already rendered for cdk-nag, at once."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions-IAM5[Resource::{rendered}]", reason=reason) for rendered, reason in findings)
    )


def render_for_nag(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render_for_nag(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    return str(value)
