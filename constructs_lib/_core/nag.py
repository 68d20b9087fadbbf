"""cdk-nag acknowledgements scoped to exactly the finding they answer.

``resource`` strings are rendered the way cdk-nag names findings (``Ref`` and ``Fn::GetAtt`` become
``<Name>`` / ``<Name.Attr>``), so an acknowledgement covers that resource and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

from .stack_facts import StackFacts, stack_facts
from .tokens import is_unresolved


def acknowledge_wildcard(construct: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge cdk-nag's AwsSolutions-IAM5 finding for exactly one wildcard resource."""
    acknowledge_wildcards(construct, [(nag_name(stack_facts(construct), resource), reason)])


def nag_name(facts: StackFacts, value: str) -> str:
    """How cdk-nag names ``value`` in findings (see :func:`render_for_nag`), resolved once per value and stack."""
    if not is_unresolved(value):
        return value
    if value not in facts.nag_names:
        facts.nag_names[value] = render_for_nag(facts.stack.resolve(value))
    return facts.nag_names[value]


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
