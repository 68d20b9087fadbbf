"""Helpers shared by the construct tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template

from constructs_lib import CustomScriptEndpoint, FineTunedEndpoint, HubModelEndpoint
from constructs_lib._core.access_logs import ACCESS_LOGS_ID

ACCOUNT = "123456789012"
GPU_TOOLKIT_TAG = "2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04"
CPU_TOOLKIT_TAG = "2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04"
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TUNED_URI = "s3://my-bucket/models/model.tar.gz"
SOURCE_KEY = "fine-tuned/model.tar.gz"
"""The S3 ``model.tar.gz`` that ScriptRepack adds ``code/`` to in the repack and model-data tests."""
INFERENCE = b"def model_fn(model_dir):\n    return model_dir\n"
"""A minimal ``inference.py`` (the one the ``code_dir`` fixture of ``conftest`` writes)."""


def new_stack(region: str | None = "us-east-1", **kwargs: Any) -> Stack:
    """A fresh stack in a fresh app; ``region=None`` gives an environment-agnostic stack."""
    env = Environment(account=ACCOUNT, region=region) if region else None
    return Stack(App(), "TestStack", env=env, **kwargs)


def build_endpoint(kind: str, stack: Stack, code_dir: Path | None = None, **props: Any) -> Any:
    """An SST-2 text classifier called ``Endpoint``, from the Hub (``"hub"``), a fine-tuned archive
    (``"tuned"``) or a custom script in ``code_dir`` (any other ``kind``)."""
    if kind == "hub":
        return HubModelEndpoint(stack, "Endpoint", model_id=SST2, task="text-classification", **props)
    if kind == "tuned":
        return FineTunedEndpoint(stack, "Endpoint", model_data=TUNED_URI, task="text-classification", **props)
    assert code_dir is not None
    return CustomScriptEndpoint(stack, "Endpoint", code_dir=code_dir, model_id=SST2, **props)


def synth(build: Callable[[Stack], Any], region: str | None = "us-east-1") -> Template:
    stack = new_stack(region)
    build(stack)
    return Template.from_stack(stack)


def resources(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(resource_type)
    return found


def only(template: Template, resource_type: str) -> dict[str, Any]:
    found = resources(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {list(found)}"
    return next(iter(found.values()))


def created_buckets(template: Template) -> dict[str, dict[str, Any]]:
    """The buckets in ``template`` but the stack's shared S3 access log bucket."""
    return {k: v for k, v in resources(template, "AWS::S3::Bucket").items() if not k.startswith(ACCESS_LOGS_ID)}


def created_bucket(template: Template) -> dict[str, Any]:
    found = created_buckets(template)
    assert len(found) == 1, f"expected one bucket besides the access log bucket, found {list(found)}"
    return next(iter(found.values()))


def container(template: Template) -> dict[str, Any]:
    primary: dict[str, Any] = only(template, "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]
    return primary


def variant(template: Template) -> dict[str, Any]:
    variants = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]["ProductionVariants"]
    assert len(variants) == 1
    first: dict[str, Any] = variants[0]
    return first


def policy_statements(template: Template) -> list[dict[str, Any]]:
    """Every identity-policy statement: of AWS::IAM::Policy resources and of roles' inline policies."""
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for role in resources(template, "AWS::IAM::Role").values():
        for inline in role["Properties"].get("Policies", []):
            statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def statements_of(template: Template, role_fragment: str) -> list[dict[str, Any]]:
    """The statements of the AWS::IAM::Policy resources attached to roles whose reference holds ``role_fragment``."""
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        roles = str(policy["Properties"]["Roles"])
        if role_fragment in roles:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements
