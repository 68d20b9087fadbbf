"""Checks of the props every endpoint shares (``endpoints.checks``): types, ranges, names and tags."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration, Environment, Stack
from aws_cdk.assertions import Template

from constructs_lib import (
    ConfigurationError,
    FineTunedEndpoint,
    HubModelEndpoint,
)
from constructs_lib._core.names import MODEL_ID_TAG

from ..support import (
    ACCOUNT,
    SST2,
    hub_error,
    new_stack,
)


def endpoint_tags(stack: Stack) -> dict[str, str]:
    """The tags of the stack's one AWS::SageMaker::Endpoint, as synthesized."""
    (body,) = Template.from_stack(stack).find_resources("AWS::SageMaker::Endpoint").values()
    return {tag["Key"]: tag["Value"] for tag in body["Properties"]["Tags"]}


def hub_with_tags(tags: Any) -> HubModelEndpoint:
    return HubModelEndpoint(
        new_stack(), "Hub", model_id=SST2, task="text-classification", instance_type="ml.m5.xlarge", tags=tags
    )


@pytest.mark.parametrize("instance_type", ["ml.g5.xlarge", "ml.g4dn.xlarge", "ml.g6.2xlarge", "ml.p4d.24xlarge"])
def test_volume_size_on_local_nvme_instance(instance_type: str) -> None:
    message = hub_error(instance_type=instance_type, volume_size_gb=100)
    assert f"volume_size_gb: 100 cannot be set on {instance_type}" in message
    assert "NVMe" in message


@pytest.mark.parametrize("size", [0, 513])
def test_volume_size_out_of_range(size: int) -> None:
    message = hub_error(instance_type="ml.p3.2xlarge", volume_size_gb=size)
    assert f"volume_size_gb: {size} must be a whole number from 1 to 512" in message


@pytest.mark.parametrize("prop", ["startup_health_check_timeout", "model_data_download_timeout"])
@pytest.mark.parametrize(("duration", "seconds"), [(Duration.seconds(30), "30"), (Duration.hours(2), "7200")])
def test_timeouts_outside_60_to_3600_seconds(prop: str, duration: Duration, seconds: str) -> None:
    message = hub_error(**{prop: duration})
    assert f"{prop}: '{seconds} seconds' is outside the allowed range 60..3600 seconds" in message


@pytest.mark.parametrize("count", [0, -1])
def test_instance_count_below_one(count: int) -> None:
    message = hub_error(instance_count=count)
    assert f"instance_count: {count} must be a whole number of at least 1" in message


@pytest.mark.parametrize("name", ["a" * 64, "a" * 32 + "-" + "b" * 31, "a" + "-b" * 62])
def test_endpoint_name_too_long(name: str) -> None:
    # Hyphens count towards the 63 characters too.
    assert f"endpoint_name: {name!r} is not a valid endpoint name" in hub_error(endpoint_name=name)


def test_endpoint_name_of_63_characters_with_hyphens_is_accepted() -> None:
    name = "a" * 31 + "-" + "b" * 31
    endpoint = HubModelEndpoint(
        new_stack(),
        "Endpoint",
        model_id=SST2,
        task="text-classification",
        instance_type="ml.g5.xlarge",
        endpoint_name=name,
    )
    assert endpoint.physical_endpoint_name == name


@pytest.mark.parametrize("name", ["my_endpoint", "-lead", "trail-", "has space"])
def test_endpoint_name_with_invalid_characters(name: str) -> None:
    assert f"endpoint_name: {name!r} is not a valid endpoint name" in hub_error(endpoint_name=name)


def test_unknown_prop_lists_the_allowed_ones() -> None:
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(new_stack(), "E", model_id=SST2, instance_typ="ml.g5.xlarge")  # type: ignore[call-arg]
    assert "unknown prop(s) instance_typ" in str(error.value) and "instance_type" in str(error.value)


def test_all_problems_are_reported_at_once() -> None:
    message = hub_error(instance_count=0, endpoint_name="bad_name", startup_health_check_timeout=Duration.seconds(1))
    assert "has 3 invalid props" in message
    assert "instance_count" in message and "endpoint_name" in message and "startup_health_check_timeout" in message


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"environment": [("A", "b")]}, "environment: [('A', 'b')] must be a mapping"),
        ({"image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/x:1"}, "must be an InferenceImage"),
        ({"endpoint_name": 5}, "endpoint_name: 5 must be a string"),
        ({"model_profile": {"parameters": 1}}, "model_profile: {'parameters': 1} must be a ModelProfile"),
        ({"role": "arn:aws:iam::123456789012:role/x"}, "must be an iam.IRole"),
        ({"instance_type": 5}, "instance_type: 5 must be a string"),
    ],
)
def test_props_of_the_wrong_type_are_clear_errors(props: dict[str, Any], expected: str) -> None:
    assert expected in hub_error(**props)


@pytest.mark.parametrize("prop", ["startup_health_check_timeout", "model_data_download_timeout"])
def test_fractional_timeouts_are_a_clear_error(prop: str) -> None:
    # Duration.to_seconds() throws inside jsii for 90.5 s: the message must come from us.
    assert f"{prop}: '90.5 seconds' must be whole seconds from 60 to 3600" in hub_error(
        task="text-classification", **{prop: Duration.millis(90_500)}
    )


def test_fractional_milliseconds_are_a_clear_error() -> None:
    message = hub_error(task="text-classification", startup_health_check_timeout=Duration.millis(600_500.5))
    assert "startup_health_check_timeout: '600.5005 seconds' must be whole seconds" in message


def test_an_endpoint_name_given_twice_in_one_environment_is_an_error() -> None:
    stack = new_stack()
    HubModelEndpoint(stack, "A", model_id=SST2, task="text-classification", endpoint_name="sentiment")
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(stack, "B", model_id=SST2, task="text-classification", endpoint_name="sentiment")
    assert "endpoint_name: 'sentiment' is also the name of TestStack/A: endpoint names are unique" in str(error.value)
    # CreateEndpoint compares names ignoring case.
    with pytest.raises(ConfigurationError, match=r"'Sentiment' is also the name of TestStack/A \('sentiment'\)"):
        HubModelEndpoint(stack, "C", model_id=SST2, task="text-classification", endpoint_name="Sentiment")
    # Another stack of the app in another region, or an environment-agnostic one: no clash.
    app = Stack.of(stack).node.root
    for name, env in (("West", Environment(account=ACCOUNT, region="us-west-2")), ("Agnostic", None)):
        other = Stack(app, name, env=env)
        HubModelEndpoint(other, "A", model_id=SST2, task="text-classification", endpoint_name="sentiment")
    # Another stack of the same environment clashes; another app does not.
    same = Stack(app, "Same", env=Environment(account=ACCOUNT, region="us-east-1"))
    with pytest.raises(ConfigurationError, match="is also the name of TestStack/A"):
        HubModelEndpoint(same, "A", model_id=SST2, task="text-classification", endpoint_name="sentiment")
    HubModelEndpoint(new_stack(), "A", model_id=SST2, task="text-classification", endpoint_name="sentiment")


def test_an_endpoint_that_failed_does_not_keep_its_name() -> None:
    stack = new_stack()
    # The tags are checked after the name: a name claimed by its check would outlive the failure.
    with pytest.raises(ConfigurationError, match="starts with 'aws:'"):
        HubModelEndpoint(
            stack, "A", model_id=SST2, task="text-classification", endpoint_name="retry", tags={"aws:team": "ml"}
        )
    HubModelEndpoint(stack, "B", model_id=SST2, task="text-classification", endpoint_name="retry")


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"k" * 129: "v"}, "is not a valid tag key: must be 1 to 128 characters long (is 129)"),
        ({"": "v"}, "tags: '' is not a valid tag key: must be 1 to 128 characters long (is 0)"),
        ({"team": "v" * 257}, "is not a valid tag value: must be 0 to 256 characters long (is 257)"),
        ({"team!": "x"}, "tags: 'team!' is not a valid tag key: contains '!'"),
        ({"team": "a;b"}, "tags['team']: 'a;b' is not a valid tag value: contains ';'"),
        ({"aws:owner": "me"}, "starts with 'aws:', which is reserved for AWS"),
        ({"AWS:owner": "me"}, "starts with 'aws:'"),
        ({"team": 5}, "tags['team']: 5 is not a valid tag value: must be a string"),
        ({f"k{i}": "v" for i in range(50)}, "'50 tags' are too many: AWS allows at most 50 tags per resource"),
        (["team"], "tags: ['team'] must be a mapping"),
    ],
)
def test_invalid_tags_are_rejected_with_clear_messages(tags: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        hub_with_tags(tags)
    assert message in str(error.value)


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(ConfigurationError) as error:
        hub_with_tags({"aws:x": "1", "ok": "a;b"})
    assert "2 invalid props" in str(error.value)


def test_fifty_tags_fit_when_no_model_id_tag_is_added() -> None:
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "Tuned",
        model_data="s3://my-bucket/model.tar.gz",
        task="fill-mask",
        instance_type="ml.m5.xlarge",
        tags={f"k{i}": "v" for i in range(50)},
    )
    assert endpoint_tags(stack) == {f"k{i}": "v" for i in range(50)}


def test_forty_nine_tags_plus_the_model_id_tag_fit() -> None:
    tags = {f"k{i}": "v" for i in range(49)}
    endpoint = hub_with_tags(tags)
    synthesized = endpoint_tags(Stack.of(endpoint))
    assert len(synthesized) == 50
    assert synthesized == {**tags, MODEL_ID_TAG: SST2}


def test_unicode_letters_spaces_and_allowed_punctuation_pass() -> None:
    tags = {"Équipe données": "été 2026", "path/to:key=+-@_.": "", "数字": "四五六"}
    endpoint = hub_with_tags(tags)
    assert endpoint_tags(Stack.of(endpoint)) == {**tags, MODEL_ID_TAG: SST2}


def test_token_values_are_not_checked() -> None:
    stack = new_stack()
    owner = CfnParameter(stack, "Owner").value_as_string
    HubModelEndpoint(
        stack, "Hub", model_id=SST2, task="text-classification", instance_type="ml.m5.xlarge", tags={"owner": owner}
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {"Tags": [{"Key": MODEL_ID_TAG, "Value": SST2}, {"Key": "owner", "Value": {"Ref": "Owner"}}]},
    )
