"""Deploy for real: the CDK CLI (pinned in package.json) bootstraps, deploys, updates and destroys
the app's stacks against moto's server, a local AWS running on loopback inside this process.

The three ways of deploying are covered: a Hub model, a fine-tuned model from a local directory
(so the asset is packaged and really published to S3) and a custom script; an LLM on vLLM, with
server flags and the host AMI its CUDA 13 image needs; a local GGUF model on llama.cpp's CPU image; and a shared
endpoint with inference components, scale to zero and a LoRA adapter from a local directory. moto implements neither
inference components nor Application Auto Scaling's CloudFormation types: ``tests.local_aws`` extends it in this
process, and logs the order of every create, update and delete (``EVENTS``). The app's
``bootstrap_version_rule=false`` context switches off the bootstrap-version check that moto's bootstrap stack cannot
answer.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from constructs_lib.catalogue.instances import INSTANCE_CATALOGUE, Processor
from tests._tiny_gguf import llama_gguf, write_gguf_directory
from tests._tiny_models import build_lora_adapter, write_text_classifier_files
from tests.local_aws import COMPONENT, COMPONENT_DIMENSION, ENDPOINT, EVENTS, POLICY, TARGET, Event
from tests.local_aws.server import local_aws as running_local_aws

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
ACCOUNT, REGION = "123456789012", "us-east-1"
HUB_MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
LLM = "Qwen/Qwen2.5-7B-Instruct"
"""An LLM whose profile is in the app's hub.context.json: the deploy needs no Hub."""
GGUF_FILE = "tiny-llama-Q4_K_M.gguf"
MODEL, CONFIG = "AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig"


@pytest.fixture(scope="module")
def local_aws() -> Iterator[dict[str, str]]:
    """moto's server on loopback, extended for inference components, and the environment that points boto3 and
    the CDK CLI at it."""
    assert CDK.exists(), "the CDK CLI is missing: run `npm ci` (./run.sh test does)"
    with running_local_aws() as url:
        env = {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "CDK_DEFAULT_ACCOUNT": ACCOUNT,
            "CDK_DEFAULT_REGION": REGION,
        }
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def cdk(*args: str, cwd: Path, context: dict[str, str], output: Path) -> str:
    # --output: the cloud assembly goes to the test's own directory, not the checkout's cdk.out.
    command = [str(CDK), *args, "--no-notices", "--app", f"python3 {ROOT / 'app.py'}", "--output", str(output)]
    for key, value in context.items():
        command += ["-c", f"{key}={value}"]
    env = {
        **os.environ,
        "PATH": f"{Path(os.sys.executable).parent}:{os.environ['PATH']}",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout + result.stderr


def write_config(path: Path, endpoints: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"endpoints": endpoints}))
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy")


@pytest.fixture(scope="module")
def endpoints(workdir: Path) -> list[dict[str, Any]]:
    # The deploy packages and uploads the files; nothing runs them, so no torch is needed to write them.
    model_dir = write_text_classifier_files(workdir / "tiny-model")
    gguf_dir = write_gguf_directory(
        workdir / "tiny-gguf", {GGUF_FILE: llama_gguf(context=4096, layers=4, heads=4, kv_heads=2, embedding=64)}
    )
    return [
        {"stack_name": "DeployHub", "model_id": HUB_MODEL, "task": "text-classification"},
        {"stack_name": "DeployTuned", "model_data": str(model_dir), "task": "text-classification"},
        {
            "stack_name": "DeployCustom",
            "model_data": str(model_dir),
            "code_dir": str(ROOT / "examples" / "custom_script" / "code"),
            "instance_type": "ml.g5.xlarge",
        },
        {
            "stack_name": "DeployLlm",
            "model_id": LLM,
            "task": "text-generation",
            "engine_args": {"max_num_seqs": 16, "enable_prefix_caching": True},
        },
        # A directory of GGUF files only: Serving.AUTO serves it with llama.cpp, on the cheapest CPU instance.
        {"stack_name": "DeployGguf", "model_data": str(gguf_dir), "engine_args": {"jinja": True}},
    ]


def clients(env: dict[str, str]) -> tuple[Any, Any]:
    session = boto3.Session(region_name=REGION)
    return session.client("sagemaker", endpoint_url=env["AWS_ENDPOINT_URL"]), session.client(
        "s3", endpoint_url=env["AWS_ENDPOINT_URL"]
    )


def endpoint_of(sagemaker: Any, stack_name: str) -> dict[str, Any]:
    (summary,) = [e for e in sagemaker.list_endpoints()["Endpoints"] if e["EndpointName"].startswith(stack_name)]
    endpoint: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=summary["EndpointName"])
    return endpoint


def model_of(sagemaker: Any, endpoint: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    return config, sagemaker.describe_model(ModelName=variant["ModelName"])


def archive_members(s3: Any, url: str) -> list[str]:
    bucket, key = url.removeprefix("s3://").split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        return archive.getnames()


def stack_resources(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """Physical id of each SageMaker resource of a stack, by resource type."""
    resources = cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    return {
        r["ResourceType"]: r["PhysicalResourceId"] for r in resources if r["ResourceType"].startswith("AWS::SageMaker")
    }


def test_bootstrap_deploy_update_and_destroy(
    local_aws: dict[str, str], workdir: Path, endpoints: list[dict[str, Any]]
) -> None:
    context = {"bootstrap_version_rule": "false", "config": str(write_config(workdir / "v1.json", endpoints))}
    assembly = workdir / "cdk.out"
    sagemaker, s3 = clients(local_aws)
    cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", cwd=ROOT, context=context, output=assembly)

    # cdk.json carries the pinned CLI's recommended flags: with the old cdk.json the CLI said
    # "78 feature flags are not configured".
    synthesized = cdk("synth", cwd=ROOT, context=context, output=assembly)
    assert "Successfully synthesized" in synthesized and "feature flags are not configured" not in synthesized

    cdk("deploy", "--all", "--method=direct", "--require-approval=never", cwd=ROOT, context=context, output=assembly)

    hub = endpoint_of(sagemaker, "DeployHub")
    assert hub["EndpointStatus"] == "InService"
    config, model = model_of(sagemaker, hub)
    assert model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == HUB_MODEL
    assert model["PrimaryContainer"]["Image"].startswith(
        f"763104351884.dkr.ecr.{REGION}.amazonaws.com/huggingface-pytorch-inference:"
    )
    # The smallest GPU that fits the 67M-parameter classifier, chosen from hub.context.json.
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g4dn.xlarge"

    tuned = endpoint_of(sagemaker, "DeployTuned")
    assert tuned["EndpointStatus"] == "InService"
    _, tuned_model = model_of(sagemaker, tuned)
    tuned_members = archive_members(s3, tuned_model["PrimaryContainer"]["ModelDataUrl"])
    assert {"config.json", "model.safetensors"} <= set(tuned_members)

    llm = endpoint_of(sagemaker, "DeployLlm")
    assert llm["EndpointStatus"] == "InService"
    llm_config, llm_model = model_of(sagemaker, llm)
    environment = llm_model["PrimaryContainer"]["Environment"]
    assert environment["HF_MODEL_ID"] == LLM
    assert environment["SM_VLLM_MAX_NUM_SEQS"] == "16" and environment["SM_VLLM_ENABLE_PREFIX_CACHING"] == "true"
    assert environment["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "1"
    assert "/huggingface-vllm:0.29.0-" in llm_model["PrimaryContainer"]["Image"]
    llm_variant = llm_config["ProductionVariants"][0]
    assert llm_variant["InstanceType"] == "ml.g6.xlarge"
    assert llm_variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"

    gguf = endpoint_of(sagemaker, "DeployGguf")
    assert gguf["EndpointStatus"] == "InService"
    gguf_config, gguf_model = model_of(sagemaker, gguf)
    gguf_environment = gguf_model["PrimaryContainer"]["Environment"]
    assert gguf_environment["SM_LLAMACPP_MODEL"] == f"/opt/ml/model/{GGUF_FILE}"
    assert gguf_environment["SM_LLAMACPP_JINJA"] == "" and "SM_LLAMACPP_N_GPU_LAYERS" not in gguf_environment
    assert "/huggingface-llamacpp:b9522-cpu-ubuntu24.04" in gguf_model["PrimaryContainer"]["Image"]
    gguf_variant = gguf_config["ProductionVariants"][0]
    assert INSTANCE_CATALOGUE[gguf_variant["InstanceType"]].processor is Processor.CPU
    assert "InferenceAmiVersion" not in gguf_variant
    assert GGUF_FILE in archive_members(s3, gguf_model["PrimaryContainer"]["ModelDataUrl"])

    custom = endpoint_of(sagemaker, "DeployCustom")
    _, custom_model = model_of(sagemaker, custom)
    assert custom_model["PrimaryContainer"]["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    custom_members = archive_members(s3, custom_model["PrimaryContainer"]["ModelDataUrl"])
    assert "code/inference.py" in custom_members and "config.json" in custom_members

    # Update: another instance type for the Hub endpoint -> same endpoint, new config.
    changed = [{**endpoints[0], "instance_type": "ml.g5.2xlarge"}, *endpoints[1:]]
    context["config"] = str(write_config(workdir / "v2.json", changed))
    cloudformation = boto3.client("cloudformation", region_name=REGION, endpoint_url=local_aws["AWS_ENDPOINT_URL"])
    before = stack_resources(cloudformation, "DeployHub")
    cdk(
        "deploy", "DeployHub", "--method=direct", "--require-approval=never", cwd=ROOT, context=context, output=assembly
    )
    after = stack_resources(cloudformation, "DeployHub")
    # The same endpoint (same physical name)...
    assert after["AWS::SageMaker::Endpoint"] == before["AWS::SageMaker::Endpoint"]
    assert endpoint_of(sagemaker, "DeployHub")["EndpointName"] == hub["EndpointName"]
    # ...with a new endpoint config on the new instance type. (moto's endpoint keeps naming the
    # old config after an update, so the config is read from the stack, not from the endpoint.)
    assert after["AWS::SageMaker::EndpointConfig"] != before["AWS::SageMaker::EndpointConfig"]
    new_config_name = after["AWS::SageMaker::EndpointConfig"].split("/")[-1]  # the physical id is the ARN
    new_config = sagemaker.describe_endpoint_config(EndpointConfigName=new_config_name)
    assert new_config["ProductionVariants"][0]["InstanceType"] == "ml.g5.2xlarge"

    cdk("destroy", "--all", "--force", cwd=ROOT, context=context, output=assembly)
    left = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    assert not [name for name in left if name.startswith("Deploy")]
    assert sagemaker.list_models()["Models"] == []
    stacks = [
        s["StackName"] for s in cloudformation.list_stacks()["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert not [name for name in stacks if name.startswith("Deploy")]


# ------------------------------------------------------------------------------------------ shared endpoint
SHARED = "DeployShared"


def shared_endpoint(
    adapter_dir: Path, *, tuned_dir: Path | None = None, chat_memory_mb: int | None = None
) -> dict[str, Any]:
    """A shared endpoint: an LLM with a LoRA adapter, a classifier with 2 copies (and, for the update, a memory
    reservation of the LLM's own and a third model on the CPUs), scaling to zero."""
    chat: dict[str, Any] = {"name": "Chat", "model_id": LLM, "task": "text-generation"}
    if chat_memory_mb is not None:
        chat["memory_mb"] = chat_memory_mb
    components = [chat, {"name": "Sentiment", "model_id": HUB_MODEL, "task": "text-classification", "copies": 2}]
    if tuned_dir is not None:
        components.append(
            {"name": "Tuned", "model_data": str(tuned_dir), "task": "text-classification", "accelerators": 0}
        )
    return {
        "stack_name": SHARED, "kind": "components", "instance_type": "ml.g5.12xlarge", "min_instances": 0,
        "max_instances": 2, "components": components,
        "adapters": [{"name": "Sql", "base": "Chat", "adapter_data": str(adapter_dir)}],
    }  # fmt: skip


def at(events: list[Event], action: str, kind: str, name: str | None = None) -> int:
    """The index of the one matching event (``name`` None: the one of that type)."""
    found = [i for i, (a, t, n) in enumerate(events) if a == action and t == kind and name in (None, n)]
    assert len(found) == 1, (action, kind, name, events)
    return found[0]


def components_by_name(sagemaker: Any, endpoint_name: str) -> dict[str, dict[str, Any]]:
    """The endpoint's components, described, by construct id (``Chat`` for ``DeployShared-Endpoint-Chat-1A2B3C4D``)."""
    listed = sagemaker.list_inference_components(EndpointNameEquals=endpoint_name)["InferenceComponents"]
    described = [
        sagemaker.describe_inference_component(InferenceComponentName=c["InferenceComponentName"]) for c in listed
    ]
    return {c["InferenceComponentName"].split("-")[-2]: c for c in described}


def test_a_shared_endpoint_deploys_updates_in_place_and_destroys_in_dependency_order(
    local_aws: dict[str, str], workdir: Path
) -> None:
    adapter_dir = build_lora_adapter(workdir / "sql-adapter", rank=32, base_model=LLM)
    context = {"bootstrap_version_rule": "false"}
    context["config"] = str(write_config(workdir / "shared-v1.json", [shared_endpoint(adapter_dir)]))
    assembly = workdir / "cdk.out.shared"
    sagemaker, s3 = clients(local_aws)
    cloudformation = boto3.client("cloudformation", region_name=REGION, endpoint_url=local_aws["AWS_ENDPOINT_URL"])
    cdk("bootstrap", f"aws://{ACCOUNT}/{REGION}", cwd=ROOT, context=context, output=assembly)
    deploy = ("deploy", SHARED, "--method=direct", "--require-approval=never")

    EVENTS.clear()
    cdk(*deploy, cwd=ROOT, context=context, output=assembly)
    created = list(EVENTS)
    endpoint = endpoint_of(sagemaker, SHARED)
    components = components_by_name(sagemaker, endpoint["EndpointName"])
    names = {key: c["InferenceComponentName"] for key, c in components.items()}
    assert sorted(names) == ["Chat", "Sentiment", "Sql"]
    assert {c["InferenceComponentStatus"] for c in components.values()} == {"InService"}
    _assert_created_in_order(created, names, {k: c["Specification"].get("ModelName") for k, c in components.items()})
    _assert_shared_resources(sagemaker, s3, endpoint, components)
    before = stack_resources(cloudformation, SHARED)

    # Update: the LLM gets a memory reservation of its own, and a third model joins, on the CPUs.
    tuned_dir = write_text_classifier_files(workdir / "shared-tuned")
    v2 = shared_endpoint(adapter_dir, tuned_dir=tuned_dir, chat_memory_mb=30720)
    context["config"] = str(write_config(workdir / "shared-v2.json", [v2]))
    EVENTS.clear()
    cdk(*deploy, cwd=ROOT, context=context, output=assembly)
    updated = list(EVENTS)
    components = components_by_name(sagemaker, endpoint["EndpointName"])
    names["Tuned"] = components["Tuned"]["InferenceComponentName"]
    assert [e for e in updated if e[1] == COMPONENT] == [
        ("create", COMPONENT, names["Tuned"]),
        ("update", COMPONENT, names["Chat"]),
    ]
    assert not [e for e in updated if e[0] == "delete" or e[1] in (ENDPOINT, CONFIG)], updated
    assert components["Chat"]["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == 30720
    tuned = components["Tuned"]["Specification"]["ComputeResourceRequirements"]
    assert "NumberOfAcceleratorDevicesRequired" not in tuned and tuned["NumberOfCpuCoresRequired"] == 2
    after = stack_resources(cloudformation, SHARED)
    assert after["AWS::SageMaker::Endpoint"] == before["AWS::SageMaker::Endpoint"]
    assert (
        after["AWS::SageMaker::EndpointConfig"] == before["AWS::SageMaker::EndpointConfig"]
    )  # the plan kept 1 instance

    EVENTS.clear()
    cdk("destroy", SHARED, "--force", cwd=ROOT, context=context, output=assembly)
    _assert_deleted_in_order(
        list(EVENTS), names, {k: c["Specification"].get("ModelName") for k, c in components.items()}
    )
    assert sagemaker.list_inference_components()["InferenceComponents"] == []
    scaling = boto3.client("application-autoscaling", region_name=REGION, endpoint_url=local_aws["AWS_ENDPOINT_URL"])
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert not [e for e in sagemaker.list_endpoints()["Endpoints"] if e["EndpointName"].startswith(SHARED)]


def _assert_created_in_order(created: list[Event], names: dict[str, str], models: dict[str, str | None]) -> None:
    """The endpoint before its components, each model before its component, each component before its scalable
    target and the target before its policies, the base before its adapter."""
    endpoint = at(created, "create", ENDPOINT)
    assert at(created, "create", CONFIG) < endpoint
    assert len([e for e in created if e[:2] == ("create", MODEL)]) == 2  # the adapter runs in its base's model
    assert models["Sql"] is None
    for key in ("Chat", "Sentiment"):
        component = at(created, "create", COMPONENT, names[key])
        target = at(created, "create", TARGET, f"inference-component/{names[key]}")
        policies = [i for i, e in enumerate(created) if e[:2] == ("create", POLICY) and key in e[2]]
        assert endpoint < component < target < min(policies) and len(policies) == 2, created
        assert at(created, "create", MODEL, models[key]) < component
    assert at(created, "create", COMPONENT, names["Chat"]) < at(created, "create", COMPONENT, names["Sql"])
    assert endpoint < at(created, "create", COMPONENT, names["Sql"])


def _assert_shared_resources(sagemaker: Any, s3: Any, endpoint: dict[str, Any], components: dict[str, Any]) -> None:
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    assert "ModelName" not in variant and config["ExecutionRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    assert variant["ManagedInstanceScaling"] == {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2}
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g5.12xlarge", 1)
    chat = components["Chat"]["Specification"]
    assert chat["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 1
    environment = sagemaker.describe_model(ModelName=chat["ModelName"])["PrimaryContainer"]["Environment"]
    assert environment["HF_MODEL_ID"] == LLM and environment["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "1"
    assert environment["SM_VLLM_ENABLE_LORA"] == "true" and environment["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "true"
    assert environment["SM_VLLM_MAX_LORA_RANK"] == "32"  # read from the adapter's adapter_config.json
    assert components["Sentiment"]["RuntimeConfig"]["DesiredCopyCount"] == 2
    adapter = components["Sql"]["Specification"]
    assert adapter["BaseInferenceComponentName"] == components["Chat"]["InferenceComponentName"]
    assert "ComputeResourceRequirements" not in adapter
    assert set(archive_members(s3, adapter["Container"]["ArtifactUrl"])) == {
        "adapter_config.json",
        "adapter_model.safetensors",
    }
    scaling = boto3.client("application-autoscaling", region_name=REGION, endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert {(t["ResourceId"], t["ScalableDimension"], t["MinCapacity"]) for t in targets} == {
        (f"inference-component/{components[key]['InferenceComponentName']}", COMPONENT_DIMENSION, 0)
        for key in ("Chat", "Sentiment")
    }


def _assert_deleted_in_order(deleted: list[Event], names: dict[str, str], models: dict[str, str | None]) -> None:
    """The reverse: policies before their target, targets before their component, adapters before their base,
    every component before the endpoint, each before its model."""
    for key in ("Chat", "Sentiment", "Tuned"):
        component = at(deleted, "delete", COMPONENT, names[key])
        target = at(deleted, "delete", TARGET, f"inference-component/{names[key]}")
        policies = [i for i, e in enumerate(deleted) if e[:2] == ("delete", POLICY) and key in e[2]]
        assert max(policies) < target < component, deleted
    assert at(deleted, "delete", COMPONENT, names["Sql"]) < at(deleted, "delete", COMPONENT, names["Chat"])
    last_component = max(at(deleted, "delete", COMPONENT, name) for name in names.values())
    endpoint = at(deleted, "delete", ENDPOINT)
    assert last_component < endpoint < at(deleted, "delete", CONFIG)
    assert len([e for e in deleted if e[:2] == ("delete", MODEL)]) == 3
    for key in ("Chat", "Sentiment", "Tuned"):
        assert at(deleted, "delete", COMPONENT, names[key]) < at(deleted, "delete", MODEL, models[key])
