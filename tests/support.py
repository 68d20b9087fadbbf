"""Helpers shared by the tests: stacks, endpoints built the usual ways, template readers, files on disk.

Fixtures (``code_dir``, ``fake_hub``, ``profiles``, ...) are in ``conftest.py``; this module has what
tests call.
"""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template
from constructs import IConstruct

from constructs_lib import (
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
)
from constructs_lib._core.access_logs import ACCESS_LOGS_ID

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

# ---------------------------------------------------------------------------------- constants
ROOT = Path(__file__).resolve().parent.parent
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
"""The feature flags ``cdk synth`` runs the app with (cdk.json): app tests synthesize what users get."""
ACCOUNT = "123456789012"
GPU_TOOLKIT_TAG = "2.6.0-transformers5.5.3-gpu-py312-cu124-ubuntu22.04"
CPU_TOOLKIT_TAG = "2.6.0-transformers5.5.3-cpu-py312-ubuntu22.04"
"""The tags of the inference toolkit's default (newest catalogued) GPU and CPU images."""
TOOLKIT_REPOSITORY = "huggingface-pytorch-inference"
"""The ECR repository of the inference toolkit's GPU and CPU images."""
PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
"""What a role needs on an image's repository to pull it (besides ``ecr:GetAuthorizationToken`` on ``*``)."""
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
ROBERTA = "cardiffnlp/twitter-roberta-base-sentiment-latest"
TUNED_URI = "s3://my-bucket/models/model.tar.gz"
SOURCE_KEY = "fine-tuned/model.tar.gz"
"""The S3 ``model.tar.gz`` that ScriptRepack adds ``code/`` to in the repack and model-data tests."""
MODEL_FN_SCRIPT = "def model_fn(model_dir):\n    return model_dir\n"
"""A minimal ``inference.py`` (the one the ``code_dir`` fixture writes)."""
INFERENCE = MODEL_FN_SCRIPT.encode()
"""``MODEL_FN_SCRIPT`` as bytes."""
HANDLERS_SCRIPT = (
    "def model_fn(model_dir):\n    return model_dir\n\n"
    "def predict_fn(data, model):\n    return {'model': model, 'inputs': data}\n"
)
"""An ``inference.py`` that loads and predicts itself (the ``handlers_code_dir`` fixture writes it)."""
LLAMA_8B = ModelProfile(
    parameters=8_030_261_248,
    num_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    hidden_size=4096,
    max_position_embeddings=131072,
    task="text-generation",
    architecture="LlamaForCausalLM",
)
"""Llama-3.1-8B-Instruct's shape: GQA (8 key/value heads), a 128k context, bfloat16."""
QWEN_LIKE = ModelProfile(
    parameters=7_615_616_512,
    num_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    hidden_size=3584,
    max_position_embeddings=32768,
    task="text-generation",
)
"""A 7.6B text generator with 28 attention heads: 8 GPUs cannot shard it."""


# ------------------------------------------------------------------------------------ stacks
def new_stack(region: str | None = "us-east-1", **kwargs: Any) -> Stack:
    """A fresh stack in a fresh app; ``region=None`` gives an environment-agnostic stack."""
    env = Environment(account=ACCOUNT, region=region) if region else None
    return Stack(App(), "TestStack", env=env, **kwargs)


def synth(build: Callable[[Stack], Any], region: str | None = "us-east-1") -> Template:
    stack = new_stack(region)
    build(stack)
    return Template.from_stack(stack)


# Stacks that are never synthesized share one app: only synthesis is slow, and an app cannot be
# changed after it has been synthesized, so template tests pass their own (cheap) app.
_SHARED_APP = cdk.App()
_STACK_IDS = itertools.count()
SAGEMAKER = iam.ServicePrincipal("sagemaker.amazonaws.com")


def image_stack(region: str | None = "us-east-1", app: cdk.App | None = None) -> tuple[cdk.Stack, iam.Role]:
    """A stack (in a shared app unless ``app`` is given) and a SageMaker role to bind images with."""
    env = cdk.Environment(account="111111111111", region=region) if region else None
    stack = cdk.Stack(app or _SHARED_APP, f"Stack{next(_STACK_IDS)}", env=env)
    return stack, iam.Role(stack, "Role", assumed_by=SAGEMAKER)


def bound_uri(
    image: InferenceImage, region: str | None = "us-east-1", instance_type: str | None = "ml.g5.xlarge"
) -> str:
    """The URI ``image`` binds to in a fresh stack of ``region``, for ``instance_type``."""
    stack, role = image_stack(region)
    return image.bind(stack, role, instance_type=instance_type).image_uri


def find_in_map(mapping: str) -> dict[str, Any]:
    """The ``Fn::FindInMap`` of the stack region's account in ``mapping``."""
    return {"Fn::FindInMap": [mapping, {"Ref": "AWS::Region"}, "account"]}


# --------------------------------------------------------------------------------- endpoints
def build_endpoint(kind: str, stack: Stack, code_dir: Path | None = None, **props: Any) -> Any:
    """An SST-2 text classifier called ``Endpoint``, from the Hub (``"hub"``), a fine-tuned archive
    (``"tuned"``) or a custom script in ``code_dir`` (any other ``kind``)."""
    if kind == "hub":
        return HubModelEndpoint(stack, "Endpoint", model_id=SST2, task="text-classification", **props)
    if kind == "tuned":
        return FineTunedEndpoint(stack, "Endpoint", model_data=TUNED_URI, task="text-classification", **props)
    assert code_dir is not None
    return CustomScriptEndpoint(stack, "Endpoint", code_dir=code_dir, model_id=SST2, **props)


def build_on_g5(kind: str, stack: Stack, code_dir: Path | None = None, **props: Any) -> Any:
    """``build_endpoint`` on ``ml.g5.xlarge`` unless ``instance_type`` is given."""
    props.setdefault("instance_type", "ml.g5.xlarge")
    return build_endpoint(kind, stack, code_dir, **props)


def hub(stack: Any, **props: Any) -> HubModelEndpoint:
    """An SST-2 ``HubModelEndpoint`` called ``Sentiment``, on ``ml.g5.xlarge`` unless ``instance_type`` is given."""
    props.setdefault("instance_type", "ml.g5.xlarge")
    return HubModelEndpoint(stack, "Sentiment", model_id=SST2, task="text-classification", **props)


def hub_endpoint(model_id: str = SST2, **props: Any) -> HubModelEndpoint:
    """A ``HubModelEndpoint`` called ``Endpoint`` in a new stack, on ``ml.g5.xlarge`` unless ``instance_type``
    is given (no task unless given)."""
    props.setdefault("instance_type", "ml.g5.xlarge")
    return HubModelEndpoint(new_stack(), "Endpoint", model_id=model_id, **props)


def picked_hub_endpoint(model_id: str, **props: Any) -> tuple[Stack, HubModelEndpoint]:
    """A ``HubModelEndpoint`` called ``Endpoint`` in a new stack, and the stack: the instance is picked from
    the model's profile unless ``instance_type`` is given."""
    stack = new_stack()
    return stack, HubModelEndpoint(stack, "Endpoint", model_id=model_id, **props)


def error_of(call: Callable[[], object]) -> str:
    """The message of the ``ConfigurationError`` that ``call()`` raises."""
    with pytest.raises(ConfigurationError) as error:
        call()
    return str(error.value)


def build_error(kind: str = "hub", **props: Any) -> str:
    """The message of the ``ConfigurationError`` building ``build_endpoint(kind, ...)`` raises."""
    return error_of(lambda: build_endpoint(kind, new_stack(), **props))


def build_on_g5_error(kind: str = "tuned", **props: Any) -> str:
    """The message of the ``ConfigurationError`` building ``build_on_g5(kind, ...)`` raises."""
    return error_of(lambda: build_on_g5(kind, new_stack(), **props))


def hub_error(model_id: str = SST2, **props: Any) -> str:
    """The message of the ``ConfigurationError`` that ``hub_endpoint(model_id, **props)`` raises."""
    return error_of(lambda: hub_endpoint(model_id, **props))


# ---------------------------------------------------------------------------- template readers
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


def config_of(template: Template) -> dict[str, Any]:
    """The properties of the template's one ``AWS::SageMaker::EndpointConfig``."""
    properties: dict[str, Any] = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    return properties


def policy_statements(template: Template) -> list[dict[str, Any]]:
    """Every identity-policy statement: of AWS::IAM::Policy resources and of roles' inline policies."""
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for role in resources(template, "AWS::IAM::Role").values():
        for inline in role["Properties"].get("Policies", []):
            statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def statements_of(template: Template, role_fragment: str) -> list[dict[str, Any]]:
    """The statements of the AWS::IAM::Policy resources attached to roles whose reference holds ``role_fragment``
    (inline policies of roles are not included: see ``policy_statements``)."""
    statements: list[dict[str, Any]] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        roles = str(policy["Properties"]["Roles"])
        if role_fragment in roles:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def warnings_of(construct: IConstruct, pattern: str) -> list[Any]:
    """The warnings of ``construct``'s stack whose message matches the regular expression ``pattern``."""
    found: list[Any] = Annotations.from_stack(Stack.of(construct)).find_warning("*", Match.string_like_regexp(pattern))
    return found


TGI_RETIRED = "constructs-lib:tgi-retired"
"""The id of the warning every endpoint that asks for TGI gets (TGI is in maintenance mode; vLLM succeeds it)."""


def tgi_retired_warnings(construct: IConstruct) -> list[Any]:
    """The ``constructs-lib:tgi-retired`` warnings of ``construct``'s stack."""
    return warnings_of(construct, re.escape(f"[ack: {TGI_RETIRED}]"))


def entry_text(message: Any) -> str:
    """An annotation's entry data, as JSON (to look for an id or a phrase in it)."""
    return json.dumps(message.entry.data)


# ---------------------------------------------------------------------------------- serving
def auto_key(task: str | None, architecture: str | None = None) -> str:
    """The serving stack Serving.AUTO picks for a model without a custom script, by its Serving value."""
    from constructs_lib.serving.facts import AutoRequest
    from constructs_lib.serving.registry import auto_stack

    return auto_stack(AutoRequest(task=task, architecture=architecture)).key


def lookup(fake_hub: FakeHub, model_id: str, context: Path, **kwargs: Any) -> ModelProfile:
    """The profile of ``model_id`` on the fake Hub, cached in ``context``."""
    from constructs_lib.model.hub_lookup import lookup_hub_profile

    return lookup_hub_profile(model_id, context_file=context, endpoint=fake_hub.url, **kwargs)


# ------------------------------------------------------------------------------ files on disk
def write_script(directory: Path, source: str = MODEL_FN_SCRIPT, name: str = "inference.py") -> Path:
    """Write ``directory/name`` (``source`` dedented), creating ``directory``; returns ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(textwrap.dedent(source), encoding="utf-8")
    return directory


def write_bert_model_dir(root: Path) -> Path:
    """``root/model``: a BertForSequenceClassification ``config.json`` and an empty ``model.safetensors``."""
    model = root / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "config.json").write_text('{"architectures": ["BertForSequenceClassification"]}')
    (model / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    return model


def llama_dir_with_script(root: Path, script: str) -> Path:
    """``root``: a tiny float16 LlamaForCausalLM directory that ships ``code/inference.py``."""
    from tests.fake_hub import safetensors_bytes

    root.mkdir()
    (root / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "torch_dtype": "float16"}))
    (root / "model.safetensors").write_bytes(safetensors_bytes({"w": ("F16", [64, 64])}, with_data=True))
    write_script(root / "code", script)
    return root
