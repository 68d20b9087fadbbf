"""What the docs show runs: every ```python block of README.md and docs/**/*.md, executed and synthesized.

Like aws-cdk's compiled README examples, each block runs in a fresh namespace with a fresh app and stack, and
the objects the prose takes for granted (a stack, a secret, a Lambda function, ...) come from a hidden fixture,
declared once below (``FIXTURE``), never edited into the snippet. So does the context a lookup needs (the VPC
that ``ec2.Vpc.from_lookup`` finds). A block of only imports and constants is the setup of the blocks after
it in the same file: what a reader copies once. Everything runs offline: the Hub answers come from the
committed caches (hub.context.json and tests/data/hub.context.json, seeded by conftest.py), and a snippet
whose model is not there fails (no ``constructs-lib:profile-unavailable`` warning is allowed).
"""

from __future__ import annotations

import ast
import json
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match

from constructs_lib import HubModelEndpoint

from .._tiny_gguf import llama_gguf, write_gguf_directory
from ..support import ACCOUNT, CDK_JSON_CONTEXT, MODEL_FN_SCRIPT, ROOT, SST2

DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")))
REGION = "us-east-1"

# What the context lookups of the snippets and the fixture find: the answers `cdk synth` would have cached in
# cdk.context.json, in the shape of the CLI's context providers. The VPC is the one
# ``ec2.Vpc.from_lookup(stack, "Vpc", vpc_id="vpc-0123456789abcdef0")`` finds.
VPC_ID = "vpc-0123456789abcdef0"
LOOKUPS = {
    # The zones a new ec2.Vpc spreads over in a stack of a concrete region.
    f"availability-zones:account={ACCOUNT}:region={REGION}": ["us-east-1a", "us-east-1b", "us-east-1c"],
    f"vpc-provider:account={ACCOUNT}:filter.vpc-id={VPC_ID}:region={REGION}:returnAsymmetricSubnets=true": {
        "vpcId": VPC_ID,
        "vpcCidrBlock": "10.0.0.0/16",
        "ownerAccountId": ACCOUNT,
        "availabilityZones": [],
        "subnetGroups": [
            {
                "name": "Private",
                "type": "Private",
                "subnets": [
                    {
                        "subnetId": "subnet-0aaaaaaaaaaaaaaa1",
                        "cidr": "10.0.0.0/24",
                        "availabilityZone": "us-east-1a",
                        "routeTableId": "rtb-0aaaaaaaaaaaaaaa1",
                    },
                    {
                        "subnetId": "subnet-0aaaaaaaaaaaaaaa2",
                        "cidr": "10.0.1.0/24",
                        "availabilityZone": "us-east-1b",
                        "routeTableId": "rtb-0aaaaaaaaaaaaaaa2",
                    },
                ],
            }
        ],
    },
}


def _hub_token(stack: Stack) -> secretsmanager.ISecret:
    return secretsmanager.Secret.from_secret_name_v2(stack, "FixtureHfToken", "hf/token")


def _function(stack: Stack) -> lambda_.IFunction:
    return lambda_.Function(
        stack,
        "FixtureFunction",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )


def _database(stack: Stack) -> object:
    group = ec2.SecurityGroup(stack, "FixtureDatabaseGroup", vpc=ec2.Vpc(stack, "FixtureDatabaseVpc"))
    return types.SimpleNamespace(connections=ec2.Connections(security_groups=[group], default_port=ec2.Port.tcp(5432)))


# The objects snippets use without creating them, by name: what the surrounding prose says they are.
FIXTURE: dict[str, Callable[[Stack], object]] = {
    "stack": lambda stack: stack,  # the reader's Stack, in a concrete account and region (lookups need one)
    "secret": _hub_token,  # a Secrets Manager secret holding a Hugging Face token
    "token": _hub_token,  # the same, under the name the sizing example gives it
    "my_function": _function,  # a Lambda function that calls the endpoint
    "client_role": lambda stack: iam.Role(  # a role of the application that calls the endpoint
        stack, "FixtureClientRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
    ),
    "done_topic": lambda stack: sns.Topic(stack, "FixtureDone"),  # SNS topics for async results
    "failed_topic": lambda stack: sns.Topic(stack, "FixtureFailed"),
    "vpc": lambda stack: ec2.Vpc(stack, "FixtureVpc"),  # the reader's VPC
    "key": lambda stack: kms.Key(stack, "FixtureKey", enable_key_rotation=True),  # a customer managed KMS key
    "database": _database,  # a database the model containers must reach (anything with `connections`)
    "endpoint": lambda stack: HubModelEndpoint(  # an endpoint created earlier on the page
        stack, "FixtureEndpoint", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge"
    ),
}

# Python blocks that are deliberately fragments (```python no-run), each with the reason: none today.
NO_RUN: dict[tuple[str, int], str] = {}


@dataclass(frozen=True)
class Snippet:
    document: Path
    line: int
    code: str
    options: tuple[str, ...]
    setup: str
    """The file's earlier blocks of only imports and constants."""

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


_FENCE = re.compile(r"^```(\S*)(.*)$")


def _blocks(document: Path) -> Iterator[tuple[int, str, str, tuple[str, ...]]]:
    """(line, language, code, options) of each fenced block."""
    lines = document.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        yield index + 1, opening[1], "\n".join(lines[index + 1 : end]), tuple(opening[2].split())
        index = end + 1


def _is_setup(code: str) -> bool:
    """Whether a block holds only imports and constants (``MODEL = "..."``): the setup of the blocks after it."""
    statements = ast.parse(code).body
    return bool(statements) and all(
        isinstance(s, ast.Import | ast.ImportFrom) or (isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant))
        for s in statements
    )


def snippets() -> list[Snippet]:
    found = []
    for document in DOCUMENTS:
        setup: list[str] = []
        for line, language, code, options in _blocks(document):
            if language != "python":
                continue
            found.append(Snippet(document, line, code, options, "\n".join(setup)))
            if _is_setup(code):
                setup.append(code)
    return found


SNIPPETS = snippets()


def _run(snippet: Snippet, app: App, stack: Stack) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "snippet", "app": app}
    names = {node.id for node in ast.walk(ast.parse(snippet.code)) if isinstance(node, ast.Name)}
    for name, make in FIXTURE.items():
        if name in names:  # only what the snippet uses, so that the template holds nothing else
            namespace[name] = make(stack)
    exec(compile(snippet.setup, f"{snippet.name} (setup)", "exec"), namespace)
    exec(compile(snippet.code, snippet.name, "exec"), namespace)
    return namespace


@pytest.fixture
def reader_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The reader's project, as the snippets name it: a ``code/`` directory with an ``inference.py``, and a
    ``gguf/`` directory with a GGUF model (a tiny one: the library reads only its header)."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(MODEL_FN_SCRIPT)
    write_gguf_directory(tmp_path / "gguf", {"model-Q4_K_M.gguf": llama_gguf(context=32768, layers=4, embedding=64)})
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.usefixtures("reader_directory")
@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.name for s in SNIPPETS])
def test_the_snippet_runs_and_synthesizes(snippet: Snippet) -> None:
    if "no-run" in snippet.options:
        assert (str(snippet.document.relative_to(ROOT)), snippet.line) in NO_RUN, "a no-run block needs a reason"
        return
    app = App(context={**CDK_JSON_CONTEXT, **LOOKUPS})
    stack = Stack(app, "Docs", env=Environment(account=ACCOUNT, region=REGION))
    _run(snippet, app, stack)
    if not stack.node.children and len(app.node.children) == 1:
        return  # a block of values (settings from JSON, imports): that it ran is what it shows
    manifest = json.loads((Path(app.synth().directory) / "manifest.json").read_text())
    assert "missing" not in manifest, f"{snippet.name} needs context the fixture does not declare"
    stacks = [child for child in app.node.find_all() if isinstance(child, Stack)]
    for synthesized in stacks:
        errors = Annotations.from_stack(synthesized).find_error("*", Match.any_value())
        assert errors == [], f"{snippet.name}: {[e.entry.data for e in errors]}"
        unavailable = Annotations.from_stack(synthesized).find_warning("*", Match.string_like_regexp("unavailable"))
        assert unavailable == [], f"{snippet.name} uses a model that is not in the committed Hub cache"
    assert stacks


def test_every_document_with_code_has_runnable_python_blocks() -> None:
    """The extraction finds the blocks: a fence it misreads would silently test nothing."""
    per_document = {d.relative_to(ROOT).as_posix(): 0 for d in DOCUMENTS}
    for snippet in SNIPPETS:
        per_document[snippet.document.relative_to(ROOT).as_posix()] += 1
    fences = {
        d.relative_to(ROOT).as_posix(): len(re.findall(r"^```python", d.read_text(), flags=re.M)) for d in DOCUMENTS
    }
    assert per_document == fences
    assert per_document["README.md"] >= 10 and sum(per_document.values()) >= 25


def test_no_run_reasons_name_real_blocks() -> None:
    marked = {(str(s.document.relative_to(ROOT)), s.line) for s in SNIPPETS if "no-run" in s.options}
    assert marked == set(NO_RUN)
