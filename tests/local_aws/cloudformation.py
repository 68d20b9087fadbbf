"""moto's CloudFormation, ordered as CloudFormation orders a stack: each resource after what it depends on.

moto creates resources in an order of its own, deletes them walking a set (whose order changes with
``PYTHONHASHSEED``) and retries only what raised; that would let a stack that forgets a ``DependsOn`` pass by luck.
Here creation, each step of an update and deletion follow the template's dependencies (``DependsOn``, ``Ref``,
``Fn::GetAtt``, ``Fn::Sub``), and independent resources go in the worst order: reverse template order. A resource's
error is raised as CloudFormation's own error, naming the resource (the CDK CLI shows a service's own JSON error
as "XML parse error").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError as StackError

from .patching import Patcher


def references(node: Any) -> set[str]:
    """The logical ids a template fragment uses through ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub``."""
    if isinstance(node, list):
        return set().union(*map(references, node))
    if not isinstance(node, dict):
        return set()
    found = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
    if attribute := node.get("Fn::GetAtt"):
        found.add(attribute[0] if isinstance(attribute, list) else attribute.split(".")[0])
    if sub := node.get("Fn::Sub"):
        text = sub if isinstance(sub, str) else sub[0]
        found |= {match.split(".")[0] for match in re.findall(r"\$\{([^!}][^}]*)\}", text)}
    return found.union(*map(references, node.values()))


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids, each after what it depends on, independent ones in reverse template order."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        order.append(name)  # a placeholder against cycles, moved after its dependencies below
        depends = resources[name].get("DependsOn", [])
        wanted = ({depends} if isinstance(depends, str) else set(depends)) | references(
            resources[name].get("Properties")
        )
        for dependency in [r for r in reversed(resources) if r in wanted]:
            visit(dependency)
        order.remove(name)
        order.append(name)

    for name in reversed(resources):
        visit(name)
    return order


def _ordered_delete(self: Any) -> None:
    """``ResourceMap.delete`` in reverse dependency order, retrying what failed only while something else succeeds."""
    resources, parsed = self._resource_json_map, self._parsed_resources
    kept = {r for r, resource in resources.items() if resource.get("DeletionPolicy") == "Retain"}
    remaining = [r for r in reversed(dependency_order(resources)) if r in parsed and r not in kept]
    while remaining:
        failed: list[str] = []
        error: Exception | None = None
        for logical_id in remaining:
            try:
                self._delete_resource(parsed[logical_id], resources[logical_id])
                parsed.pop(logical_id)
            except Exception as exc:  # moto's own loop retries the same way
                failed, error = [*failed, logical_id], exc
        if error is not None and len(failed) == len(remaining):
            raise error
        remaining = failed


def _reported(original: Callable[..., Any]) -> Callable[..., Any]:
    def reported(logical_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(logical_id, *args, **kwargs)
        except StackError:
            raise
        except Exception as exc:
            raise StackError(message=f"{logical_id}: {getattr(exc, 'message', None) or exc}") from exc

    return reported


def install_ordering(patcher: Patcher) -> None:
    """Readable errors, and creation, updates and deletion in dependency order."""
    for name in ("parse_and_create_resource", "parse_and_update_resource"):
        patcher.patch(parsing, name, _reported(getattr(parsing, name)))
    diff = parsing.ResourceMap.build_resource_diff

    def ordered_diff(self: Any, other_template: dict[str, Any], parameters: Any = None) -> dict[str, list[str]]:
        names, new = diff(self, other_template, parameters), dependency_order(other_template["Resources"])
        return {
            "Add": [n for n in new if n in names["Add"]],
            "Modify": [n for n in new if n in names["Modify"]],
            "Remove": [n for n in reversed(dependency_order(self._resource_json_map)) if n in names["Remove"]],
        }

    patcher.patch(parsing.ResourceMap, "build_resource_diff", ordered_diff)
    patcher.patch(
        parsing.ResourceMap,
        "_ResourceMap__get_resources_in_dependency_order",
        lambda self: dependency_order(self._resource_json_map),
    )
    patcher.patch(parsing.ResourceMap, "delete", _ordered_delete)
