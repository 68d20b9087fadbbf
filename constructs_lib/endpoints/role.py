"""The execution role SageMaker assumes: what the container needs besides the image and the model.

Built as one policy document rather than grant by grant: a handful of jsii round trips instead of
several per statement, which is most of an endpoint's synth time. Features and the model's
artifacts add their own grants to it afterwards.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from .._core.iam import Statement, allow, policy_document
from .._core.nag import acknowledge_wildcards, nag_name
from .._core.names import CONTAINER_METRICS_NAMESPACE, LOG_GROUP_PREFIX
from .._core.stack_facts import StackFacts
from .._core.tokens import is_unresolved


def log_group_arn(facts: StackFacts, endpoint_name: str) -> str:
    """The ARN of the log group SageMaker writes the endpoint's container logs to."""
    return facts.arn("logs", f"log-group:{LOG_GROUP_PREFIX}{endpoint_name}")


def logs_and_metrics(facts: StackFacts, endpoint_name: str) -> list[Statement]:
    """What the container needs besides the image and the model: its own log group and metrics."""
    return [
        *log_statements(log_group_arn(facts, endpoint_name)),
        # PutMetricData has no resource-level permissions; the namespace condition scopes it.
        allow(
            ["cloudwatch:PutMetricData"], "*", {"StringEquals": {"cloudwatch:namespace": CONTAINER_METRICS_NAMESPACE}}
        ),
    ]


def log_statements(log_group: str) -> list[Statement]:
    """Writing to one log group (``log_group``: its ARN), whose streams SageMaker names at run time."""
    return [
        allow(["logs:CreateLogGroup", "logs:DescribeLogStreams"], log_group),
        allow(["logs:CreateLogStream", "logs:PutLogEvents"], f"{log_group}:log-stream:*"),
    ]


def create_role(scope: Construct, statements: list[Statement], *, path: str) -> iam.Role:
    """The execution role, with what the container needs in one inline policy.

    :param path: the endpoint's construct path, for the description (read once by the caller).
    """
    return iam.Role(
        scope,
        "Role",
        assumed_by=sagemaker_principal(),
        description=f"Execution role of the SageMaker endpoint {path}",
        inline_policies={"ServingAccess": policy_document(statements)},
    )


def acknowledge_serving_wildcards(role: IConstruct, facts: StackFacts, endpoint_name: str) -> None:
    """Acknowledge cdk-nag's IAM5 for the two wildcards the serving access needs, on the role."""
    log_streams = (
        nag_name(facts, f"{log_group_arn(facts, endpoint_name)}:log-stream:*")
        if is_unresolved(endpoint_name)
        # The same rendering, with the stack's part resolved once for all its endpoints.
        else f"{nag_name(facts, facts.arn('logs', 'log-group:'))}{LOG_GROUP_PREFIX}{endpoint_name}:log-stream:*"
    )
    acknowledge_wildcards(
        role,
        [
            (
                "*",
                "Only actions without resource-level permissions use '*': ecr:GetAuthorizationToken, "
                "cloudwatch:PutMetricData (namespace-scoped) and, with a VPC, the ec2:Describe* calls "
                "SageMaker makes to attach the model to the VPC.",
            ),
            (log_streams, "SageMaker names the log streams of the endpoint's own log group at run time."),
        ],
    )


def sagemaker_principal() -> iam.ServicePrincipal:
    """The service principal of every execution role, created once per process (it holds no state)."""
    global _SAGEMAKER_PRINCIPAL
    if _SAGEMAKER_PRINCIPAL is None:
        _SAGEMAKER_PRINCIPAL = iam.ServicePrincipal("sagemaker.amazonaws.com")
    return _SAGEMAKER_PRINCIPAL


_SAGEMAKER_PRINCIPAL: iam.ServicePrincipal | None = None
