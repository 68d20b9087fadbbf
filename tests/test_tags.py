"""Tags reach every taggable resource of an endpoint, and invalid tags fail at synth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnParameter, CfnResource, Stack, TagManager
from aws_cdk.assertions import Template

from constructs_lib import ConfigurationError, CustomScriptEndpoint, FineTunedEndpoint, HubModelEndpoint
from constructs_lib._core.access_logs import ACCESS_LOGS_ID
from constructs_lib.deployment import DeploymentGuardrails
from constructs_lib.endpoint import MODEL_ID_TAG
from constructs_lib.monitoring import safe_tag_value, tag_problem

from .support import new_stack

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TAGS = {"team": "ml-platform", "cost-center": "4711", "équipe": "données été"}


def taggable_resources(stack: Stack) -> list[CfnResource]:
    return [
        c
        for c in stack.node.find_all()
        if isinstance(c, CfnResource) and (TagManager.is_taggable(c) or TagManager.is_taggable_v2(c))
    ]


def tags_of(template: Template, stack: Stack, resource: CfnResource) -> dict[str, str]:
    body = template.to_json()["Resources"][stack.get_logical_id(resource)]
    tags = body["Properties"].get("Tags", [])
    if isinstance(tags, dict):  # some types (e.g. SSM) use a map
        return dict(tags)
    return {tag["Key"]: tag["Value"] for tag in tags}


def endpoint_tags(stack: Stack) -> dict[str, str]:
    """The tags of the stack's one AWS::SageMaker::Endpoint, as synthesized."""
    (body,) = Template.from_stack(stack).find_resources("AWS::SageMaker::Endpoint").values()
    return {tag["Key"]: tag["Value"] for tag in body["Properties"]["Tags"]}


def observability(**extra: Any) -> dict[str, Any]:
    return {"alarms": True, "dashboard": True, "deployment": DeploymentGuardrails.canary(), "tags": TAGS, **extra}


@pytest.mark.parametrize(
    ("build", "model_id"),
    [
        pytest.param(
            lambda s, _: HubModelEndpoint(
                s, "Hub", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge", **observability()
            ),
            SST2,
            id="hub",
        ),
        pytest.param(
            lambda s, _: FineTunedEndpoint(
                s,
                "Tuned",
                model_data="s3://my-bucket/model.tar.gz",
                task="fill-mask",
                instance_type="ml.m5.xlarge",
                **observability(),
            ),
            None,
            id="tuned",
        ),
        pytest.param(
            lambda s, code: CustomScriptEndpoint(
                s, "Custom", code_dir=code, model_id=SST2, instance_type="ml.m5.xlarge", **observability()
            ),
            SST2,
            id="custom-hub",
        ),
    ],
)
def test_tags_reach_every_taggable_resource(build: Any, model_id: str | None, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    stack = new_stack()
    build(stack, code)
    template = Template.from_stack(stack)

    taggable = taggable_resources(stack)
    types = {r.cfn_resource_type for r in taggable}
    assert {
        "AWS::IAM::Role",
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
        "AWS::CloudWatch::Alarm",
    } <= types
    expected = dict(TAGS)
    if model_id:
        expected[MODEL_ID_TAG] = model_id
    for resource in taggable:
        assert tags_of(template, stack, resource) == expected, resource.node.path
    # The dashboard exists but AWS::CloudWatch::Dashboard takes no tags.
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_tags_reach_buckets_created_by_a_feature() -> None:
    from constructs_lib.inference_modes import AsyncInference

    stack = new_stack()
    HubModelEndpoint(
        stack,
        "Async",
        model_id=SST2,
        task="text-classification",
        instance_type="ml.m5.xlarge",
        async_inference=AsyncInference(),
        **observability(),
    )
    template = Template.from_stack(stack)

    # The stack's S3 access log bucket is shared by every endpoint of the stack: it is not the endpoint's.
    shared = stack.node.find_child(ACCESS_LOGS_ID)
    taggable = [r for r in taggable_resources(stack) if not r.node.path.startswith(shared.node.path + "/")]
    assert "AWS::S3::Bucket" in {r.cfn_resource_type for r in taggable}
    for resource in taggable:
        assert tags_of(template, stack, resource) == {**TAGS, MODEL_ID_TAG: SST2}, resource.node.path


def test_user_tag_overrides_the_model_id_tag() -> None:
    stack = new_stack()
    HubModelEndpoint(
        stack,
        "Hub",
        model_id=SST2,
        task="text-classification",
        instance_type="ml.m5.xlarge",
        tags={MODEL_ID_TAG: "sentiment"},
    )
    template = Template.from_stack(stack)
    for resource in taggable_resources(stack):
        assert tags_of(template, stack, resource) == {MODEL_ID_TAG: "sentiment"}


def hub(tags: Any) -> HubModelEndpoint:
    return HubModelEndpoint(
        new_stack(), "Hub", model_id=SST2, task="text-classification", instance_type="ml.m5.xlarge", tags=tags
    )


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
        hub(tags)
    assert message in str(error.value)


def test_all_problems_are_reported_together() -> None:
    with pytest.raises(ConfigurationError) as error:
        hub({"aws:x": "1", "ok": "a;b"})
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
    endpoint = hub(tags)
    synthesized = endpoint_tags(Stack.of(endpoint))
    assert len(synthesized) == 50
    assert synthesized == {**tags, MODEL_ID_TAG: SST2}


def test_unicode_letters_spaces_and_allowed_punctuation_pass() -> None:
    tags = {"Équipe données": "été 2026", "path/to:key=+-@_.": "", "数字": "四五六"}
    endpoint = hub(tags)
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


def test_model_ids_that_break_tag_rules_are_made_safe() -> None:
    assert safe_tag_value("org/model#v1!") == "org/model_v1_"
    assert safe_tag_value("x" * 300) == "x" * 256
    assert tag_problem(safe_tag_value("weird|id*" * 40), key=False) is None
    assert safe_tag_value(SST2) == SST2
