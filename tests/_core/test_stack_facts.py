"""``stack_facts``: the jsii reads cached per stack and per scope give what a fresh read gives."""

from __future__ import annotations

from aws_cdk import App, Stack
from constructs import Construct

from constructs_lib._core.stack_facts import construct_path, stack_facts


def test_the_path_of_a_child_is_the_one_constructs_gives() -> None:
    app = App()
    stack = Stack(app, "Stack")
    group = Construct(stack, "Group")
    cases = [(app, "Top"), (stack, "Endpoint"), (group, "Nested"), (group, "With/Slash"), (group, "Second")]
    for scope, id in cases:
        child = Construct(scope, id)
        assert construct_path(child, scope, id) == child.node.path, id
    # 'With/Slash' is rewritten by constructs: the cache does not guess it.
    assert construct_path(group.node.find_child("With--Slash"), group, "With/Slash") == "Stack/Group/With--Slash"


def test_a_child_registered_under_its_scope_shares_the_stack_facts() -> None:
    stack = Stack(App(), "Stack")
    group = Construct(stack, "Group")
    child = Construct(group, "Child")
    facts = stack_facts(group, child=child)
    assert stack_facts(child) is facts is stack_facts(stack)
    assert facts.stack is stack
