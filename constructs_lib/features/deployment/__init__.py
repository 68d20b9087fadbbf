"""Guarded deployments (``deployment``): how an endpoint update shifts traffic, and which alarms roll it back.

``DeploymentGuardrails`` (``guardrails``) renders the endpoint's ``DeploymentConfig``: a blue/green
update (all at once, canary or linear traffic shifting) or a rolling update, each with automatic
rollback on CloudWatch alarms. By default the rollback alarms are the endpoint's 5XX error-rate and
p99 model-latency alarms (``features.observability``), shared with ``alarms=...``. They watch
metrics whose dimensions hold the endpoint's physical name, not the endpoint's ``GetAtt``: the
endpoint references the alarms, the alarms never reference the endpoint, so there is no
dependency cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Annotations
from aws_cdk import aws_cloudwatch as cloudwatch

from ..._core.errors import Problems
from ..._core.tokens import is_unresolved, is_whole, whole_seconds
from ...contract.facts import EndpointFacts
from ..base import EndpointFeature
from ..observability.alarms import alarm_settings, rollback_alarms
from .capacity import DeploymentType
from .guardrails import DeploymentGuardrails, is_resolved


class DeploymentFeature(EndpointFeature):
    """The ``deployment`` prop."""

    reads = ("alarms",)  # the thresholds of the default rollback alarms, shared with alarms=...

    def __init__(self, props: Any) -> None:
        self._guardrails = props.get("deployment")
        self._props = props

    def validate(self, facts: EndpointFacts, problems: Problems) -> None:
        guardrails = self._guardrails
        if not isinstance(guardrails, DeploymentGuardrails):
            problems.add(
                "deployment",
                guardrails,
                "must be a DeploymentGuardrails, e.g. DeploymentGuardrails.canary(percent=10)",
            )
            return
        kind = guardrails.type
        if kind is DeploymentType.ROLLING:
            if facts.serverless:
                problems.add(
                    "deployment",
                    kind.value,
                    "is not possible on a serverless endpoint: rolling updates replace instances; "
                    "use DeploymentGuardrails.canary/linear/all_at_once",
                )
            if facts.multi_variant:
                problems.add(
                    "deployment",
                    kind.value,
                    "is not possible on a multi-variant endpoint (variants=...); use a blue/green policy",
                )
        for capacity, prop in ((guardrails.size, "size"), (guardrails.rollback_size, "rollback size")):
            if capacity is not None and not capacity.is_percent and facts.serverless:
                problems.add(
                    "deployment",
                    f"{kind.value} {prop} of {capacity.describe()}",
                    "counts instances, but a serverless endpoint has none; give a percentage instead",
                )
        self._check_instance_share(facts, guardrails, problems)

    def _check_instance_share(self, facts: EndpointFacts, guardrails: DeploymentGuardrails, problems: Problems) -> None:
        size = guardrails.size
        count = facts.instance_count
        if (
            size is None
            or size.is_percent
            or facts.instance_type is None
            or facts.autoscaled  # the count changes; SageMaker checks at deploy time
            or not is_whole(count)
            or is_unresolved(size.value)
        ):
            return
        kind = guardrails.type
        low = 0.1 if kind is DeploymentType.LINEAR else (0.05 if kind is DeploymentType.ROLLING else 0.0)
        if size.value > count / 2:
            problems.add(
                "deployment",
                f"{kind.value} of {size.describe()}",
                f"is more than half of the variant's {count} instance(s); SageMaker allows at most 50%"
                + ("" if count > 1 else ": use a percentage, or more instances"),
            )
        elif size.value < count * low:
            problems.add(
                "deployment",
                f"{kind.value} of {size.describe()}",
                f"is less than {low:.0%} of the variant's {count} instances, the smallest step SageMaker allows",
            )
        rollback = guardrails.rollback_size
        if rollback is not None and not rollback.is_percent and is_whole(rollback.value) and rollback.value > count:
            problems.add(
                "deployment",
                f"rollback batch of {rollback.describe()}",
                f"is more than the variant's {count} instance(s)",
            )

    def endpoint_properties(self, facts: EndpointFacts) -> dict[str, Any]:
        guardrails: DeploymentGuardrails = self._guardrails
        alarms: Sequence[cloudwatch.IAlarm]
        if guardrails.auto_rollback_alarms is None:
            alarms = rollback_alarms(facts, alarm_settings(self._props))
            self._warn_short_baking(facts, guardrails)
        else:
            alarms = guardrails.auto_rollback_alarms
        self._warn_timeout(facts, guardrails)
        return {"deployment_config": guardrails.render(alarms)}

    def _warn_short_baking(self, facts: EndpointFacts, guardrails: DeploymentGuardrails) -> None:
        if not is_resolved(guardrails.wait_interval):
            return
        window = alarm_settings(self._props).evaluation_window
        wait = whole_seconds(guardrails.wait_interval)
        if wait < window.to_seconds():
            Annotations.of(facts.scope).add_warning_v2(
                "constructs-lib:rollback-window",
                f"The deployment bakes for {wait} seconds per step, less than the "
                f"{window.to_seconds():g} seconds the rollback alarms need to fire: a regression may pass "
                "unnoticed. Raise wait_interval or shorten the alarms' period/evaluation_periods.",
            )

    @staticmethod
    def _warn_timeout(facts: EndpointFacts, guardrails: DeploymentGuardrails) -> None:
        timeout = guardrails.max_execution_timeout
        if timeout is None or not is_resolved(timeout) or not is_resolved(guardrails.wait_interval):
            return
        count = facts.instance_count
        steps = guardrails.steps(count if is_whole(count) else None)
        if steps is None:
            return
        termination = whole_seconds(guardrails.termination_wait) if guardrails.termination_wait else 0
        wait = whole_seconds(guardrails.wait_interval)
        total = steps * wait + termination
        if whole_seconds(timeout) <= total:
            Annotations.of(facts.scope).add_warning_v2(
                "constructs-lib:deployment-timeout",
                f"max_execution_timeout ({whole_seconds(timeout)} s) is not longer than the deployment's waits "
                f"alone ({steps} baking period(s) of {wait} s + {termination} s termination wait): the update will "
                "likely time out and roll back.",
            )


FEATURE_CLASS = DeploymentFeature
