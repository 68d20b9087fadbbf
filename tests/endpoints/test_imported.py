"""Endpoints deployed elsewhere (``endpoints.imported``): ``from_endpoint_name``, ``from_endpoint_arn`` and
``from_endpoint_attributes`` give an endpoint to grant invoke on and to alarm on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from constructs_lib import ConfigurationError, EndpointAttributes, HubModelEndpoint, Serving

from ..support import error_of, new_stack

ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint"
ARN_IN_THE_STACK = {
    "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:us-east-1:123456789012:endpoint/my-endpoint"]]
}
"""``ARN`` as ``Stack.format_arn`` builds it from a name, in the partition the stack deploys to."""
INVOKE = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]


def caller_policy(stack: Stack, caller: iam.Role) -> dict[str, Any]:
    """The properties of ``caller``'s default policy as ``has_resource_properties`` wants them."""
    return {"Roles": [{"Ref": stack.get_logical_id(caller.node.default_child)}]}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("imported", "arn"),
    [
        pytest.param(
            lambda stack: HubModelEndpoint.from_endpoint_name(stack, "Imported", "my-endpoint"),
            ARN_IN_THE_STACK,
            id="name",
        ),
        pytest.param(lambda stack: HubModelEndpoint.from_endpoint_arn(stack, "Imported", ARN), ARN, id="arn"),
        pytest.param(
            lambda stack: HubModelEndpoint.from_endpoint_attributes(
                stack, "Imported", EndpointAttributes(endpoint_name="my-endpoint")
            ),
            ARN_IN_THE_STACK,
            id="attributes-name",
        ),
        pytest.param(
            lambda stack: HubModelEndpoint.from_endpoint_attributes(
                stack, "Imported", EndpointAttributes(endpoint_arn=ARN, serving=Serving.TGI)
            ),
            ARN,
            id="attributes-arn",
        ),
    ],
)
def test_an_imported_endpoint_grants_invoke_on_its_arn_and_has_its_metrics(
    imported: Callable[[Stack], Any], arn: Any
) -> None:
    stack = new_stack()
    endpoint = imported(stack)
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = endpoint.grant_invoke(caller)
    template = Template.from_stack(stack)

    assert grant.success
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            **caller_policy(stack, caller),
            "PolicyDocument": {"Statement": [{"Action": INVOKE, "Effect": "Allow", "Resource": arn}]},
        },
    )
    assert stack.resolve(endpoint.endpoint_arn) == arn
    assert endpoint.endpoint_name == "my-endpoint"
    assert endpoint.metric_model_latency().dimensions == {"EndpointName": "my-endpoint", "VariantName": "AllTraffic"}
    template.resource_count_is("AWS::SageMaker::Endpoint", 0)  # nothing is deployed for an import


def test_an_imported_endpoint_keeps_the_serving_stack_it_was_given() -> None:
    stack = new_stack()
    tgi = HubModelEndpoint.from_endpoint_attributes(
        stack, "Tgi", EndpointAttributes(endpoint_arn=ARN, serving=Serving.TGI)
    )
    unknown = HubModelEndpoint.from_endpoint_name(stack, "Unknown", "my-endpoint")
    assert (tgi.serving, unknown.serving) == (Serving.TGI, None)


def test_the_arn_of_a_name_in_capitals_is_in_lower_case() -> None:
    # SageMaker writes endpoint names in lower case in ARNs, and IAM compares ARNs case-sensitively.
    stack = new_stack()
    endpoint = HubModelEndpoint.from_endpoint_name(stack, "Imported", "My-Endpoint")
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    endpoint.grant_invoke(caller)

    assert stack.resolve(endpoint.endpoint_arn) == ARN_IN_THE_STACK
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            **caller_policy(stack, caller),
            "PolicyDocument": {"Statement": [{"Action": INVOKE, "Effect": "Allow", "Resource": ARN_IN_THE_STACK}]},
        },
    )


@pytest.mark.parametrize(
    ("attributes", "given"),
    [
        pytest.param(EndpointAttributes(), "neither", id="neither"),
        pytest.param(EndpointAttributes(endpoint_name="my-endpoint", endpoint_arn=ARN), "both", id="both"),
    ],
)
def test_an_import_needs_exactly_one_of_name_and_arn(attributes: EndpointAttributes, given: str) -> None:
    message = error_of(lambda: HubModelEndpoint.from_endpoint_attributes(new_stack(), "Imported", attributes))
    assert (
        message == f"from_endpoint_attributes 'Imported': endpoint_name / endpoint_arn: {given} given; pass exactly one"
    )


@pytest.mark.parametrize(
    ("imported", "expected"),
    [
        pytest.param(
            lambda stack: HubModelEndpoint.from_endpoint_name(stack, "Imported", "my_endpoint"),
            "from_endpoint_name 'Imported': endpoint_name: 'my_endpoint' is not a SageMaker endpoint name",
            id="name",
        ),
        pytest.param(
            lambda stack: HubModelEndpoint.from_endpoint_arn(stack, "Imported", "arn:aws:s3:::bucket"),
            "from_endpoint_arn 'Imported': endpoint_arn: 'arn:aws:s3:::bucket' is not a SageMaker endpoint ARN",
            id="arn",
        ),
    ],
)
def test_an_import_of_a_malformed_name_or_arn_is_an_error(imported: Callable[[Stack], Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        imported(new_stack())
    assert str(error.value).startswith(expected)


def test_an_endpoint_imported_as_asynchronous_is_granted_invoke_async_only() -> None:
    # An asynchronous endpoint refuses InvokeEndpoint: granting it would give the caller nothing it can use.
    stack = new_stack()
    endpoint = HubModelEndpoint.from_endpoint_attributes(
        stack, "Imported", EndpointAttributes(endpoint_arn=ARN, async_inference=True)
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = endpoint.grant_invoke(caller)

    assert grant.success
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            **caller_policy(stack, caller),
            "PolicyDocument": {
                "Statement": [{"Action": "sagemaker:InvokeEndpointAsync", "Effect": "Allow", "Resource": ARN}]
            },
        },
    )


def imported_with(attributes: Any) -> Callable[[Stack], Any]:
    """An import of ``attributes`` (of any kind, as a user may pass them) through ``from_endpoint_attributes``."""
    return lambda stack: HubModelEndpoint.from_endpoint_attributes(stack, "Imported", attributes)


@pytest.mark.parametrize(
    ("imported", "expected"),
    [
        pytest.param(
            imported_with(EndpointAttributes(endpoint_arn=ARN, serving="tgi")),  # type: ignore[arg-type]
            "from_endpoint_attributes 'Imported': serving: 'tgi' is not a Serving (e.g. Serving.VLLM)",
            id="serving-string",
        ),
        pytest.param(
            imported_with(EndpointAttributes(endpoint_arn=ARN, serving=Serving.AUTO)),
            "from_endpoint_attributes 'Imported': serving: Serving.AUTO picks a stack for a new endpoint",
            id="serving-auto",
        ),
        pytest.param(
            imported_with(EndpointAttributes(endpoint_arn=ARN, async_inference="yes")),  # type: ignore[arg-type]
            "from_endpoint_attributes 'Imported': async_inference: 'yes' is not True or False",
            id="async-string",
        ),
        pytest.param(
            lambda stack: HubModelEndpoint.from_endpoint_name(stack, "Imported", 42),
            "from_endpoint_name 'Imported': endpoint_name: 42 is not a string",
            id="name-number",
        ),
        pytest.param(
            imported_with({"endpoint_arn": ARN}),
            "from_endpoint_attributes 'Imported': attributes: {'endpoint_arn':",
            id="attributes-dict",
        ),
        pytest.param(
            imported_with(EndpointAttributes(endpoint_name="my_endpoint")),
            "from_endpoint_attributes 'Imported': endpoint_name: 'my_endpoint' is not a SageMaker endpoint name",
            id="malformed-name-named-by-the-method-called",
        ),
    ],
)
def test_attributes_of_the_wrong_kind_are_named_never_kept(imported: Callable[[Stack], Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        imported(new_stack())
    assert str(error.value).startswith(expected)
