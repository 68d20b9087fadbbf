#!/usr/bin/env python3
"""Synthesis time of Hub-model endpoints: constructs_lib against the raw-L1 floor and two peers.

Four variants build the same thing, one Hub model (``distilbert/distilbert-base-uncased-finetuned-sst-2-english``,
task ``text-classification``, ``ml.g5.xlarge``, the same Hugging Face inference DLC) served by a SageMaker Model,
EndpointConfig, Endpoint and execution role, 1 or 20 times in ONE stack (``Bench``, account 123456789012,
us-east-1), each endpoint under its own construct id ``Endpoint<i>``:

- ``floor``: raw ``CfnModel`` / ``CfnEndpointConfig`` / ``CfnEndpoint`` plus an ``iam.Role`` with the same inline
  policy constructs_lib writes, image URI as a literal: the least any library can do;
- ``constructs_lib``: ``HubModelEndpoint`` (Hub lookups served from a pre-seeded ``hub.context.json``, with
  ``HF_HUB_OFFLINE=1``: no network);
- ``gai``: cdklabs generative-ai-cdk-constructs ``HuggingFaceSageMakerEndpoint``;
- ``sm-alpha``: aws-cdk ``aws_sagemaker_alpha`` ``Model`` + ``EndpointConfig`` + ``Endpoint``.

Every measurement is a fresh subprocess (the jsii kernel start-up would otherwise be shared). Two numbers
per run: the subprocess wall time (interpreter start, imports, build, synth, exit) and, inside the process, the
build+synth time after the imports. Repetitions are interleaved across variants (order rotated each round) so
drift on the machine hits every variant alike; the table gives the median and the minimum.

The peers are installed only into ``benchmarks/.work/peers-venv`` (``requirements-peers.txt`` plus the
project's ``requirements.txt``); constructs_lib comes from this checkout through ``PYTHONPATH``, byte-compiled
first as ``pip install`` does for the peers. All four variants run under that venv's interpreter.

    python benchmarks/bench_synth.py --output benchmarks/results/synth.md   # full run (5 repetitions)
    python benchmarks/bench_synth.py --quick                                 # smoke run (1 repetition)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work"
PEERS_VENV = WORK / "peers-venv"
PEER_REQUIREMENTS = HERE / "requirements-peers.txt"
RUNTIME_REQUIREMENTS = REPO / "requirements.txt"

MODEL_ID = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TASK = "text-classification"
INSTANCE_TYPE = "ml.g5.xlarge"
IMAGE_REPOSITORY = "huggingface-pytorch-inference"
IMAGE_TAG = "2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04"
DLC_ACCOUNT = "763104351884"  # the Deep Learning Containers registry in us-east-1
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_NAME = "Bench"
MODEL_ID_TAG = "huggingface:model-id"

# What the Hub says about the model (safetensors metadata and config.json), as constructs_lib would cache it.
DISTILBERT_PROFILE: dict[str, Any] = {
    "parameters": 66_955_010,
    "dtype": "float32",
    "parameters_by_dtype": {"float32": 66_955_010},
    "num_layers": 6,
    "num_attention_heads": 12,
    "hidden_size": 768,
    "max_position_embeddings": 512,
    "task": TASK,
    "architecture": "DistilBertForSequenceClassification",
    "model_id": MODEL_ID,
    "source": "hub",
}

FLOOR = "floor"
OURS = "constructs_lib"
GAI = "gai"
SM_ALPHA = "sm-alpha"
VARIANTS: tuple[str, ...] = (FLOOR, OURS, GAI, SM_ALPHA)
LABELS = {
    FLOOR: "floor (raw L1 `Cfn*` + `iam.Role`)",
    OURS: "constructs_lib `HubModelEndpoint`",
    GAI: "GAI `HuggingFaceSageMakerEndpoint`",
    SM_ALPHA: "SM alpha `Model`/`EndpointConfig`/`Endpoint`",
}
# A module each variant needs; a variant whose module does not import is reported as unavailable.
PROBE_MODULES = {
    FLOOR: "aws_cdk.aws_sagemaker",
    OURS: "constructs_lib",
    GAI: "cdklabs.generative_ai_cdk_constructs",
    SM_ALPHA: "aws_cdk.aws_sagemaker_alpha",
}
TARGET_FLOOR_RATIO = 1.2


# ================================================================================================ worker
# Everything below up to the driver runs inside the measured subprocess. The variant's imports happen in
# ``load_*`` (timed as imports), the construction and ``app.synth()`` in the returned builder (timed).

Builder = Callable[[Any, int], None]


def load_floor() -> Builder:
    from aws_cdk import Aws, CfnTag, Tags
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_sagemaker as sagemaker
    from constructs import Construct

    def build(stack: Any, endpoints: int) -> None:
        partition = Aws.PARTITION
        image = f"{DLC_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{IMAGE_REPOSITORY}:{IMAGE_TAG}"
        repository_arn = f"arn:{partition}:ecr:{REGION}:{DLC_ACCOUNT}:repository/{IMAGE_REPOSITORY}"
        tags = [CfnTag(key=MODEL_ID_TAG, value=MODEL_ID)]
        for index in range(endpoints):
            scope = Construct(stack, f"Endpoint{index}")
            name = f"{STACK_NAME}-Endpoint{index}"
            log_group = f"arn:{partition}:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}"
            role = iam.Role(
                scope,
                "Role",
                assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                description=f"Execution role of the SageMaker endpoint {STACK_NAME}/Endpoint{index}",
            )
            for statement in (
                iam.PolicyStatement(
                    actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    resources=[repository_arn],
                ),
                iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                iam.PolicyStatement(actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"], resources=[log_group]),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group}:log-stream:*"]
                ),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
                ),
            ):
                role.add_to_principal_policy(statement)
            Tags.of(role).add(MODEL_ID_TAG, MODEL_ID)
            model = sagemaker.CfnModel(
                scope,
                "Model",
                execution_role_arn=role.role_arn,
                primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                    image=image, mode="SingleModel", environment={"HF_MODEL_ID": MODEL_ID, "HF_TASK": TASK}
                ),
                tags=tags,
            )
            model.node.add_dependency(role)
            config = sagemaker.CfnEndpointConfig(
                scope,
                "EndpointConfig",
                production_variants=[
                    sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                        variant_name="AllTraffic",
                        model_name=model.attr_model_name,
                        initial_variant_weight=1.0,
                        instance_type=INSTANCE_TYPE,
                        initial_instance_count=1,
                    )
                ],
                tags=tags,
            )
            sagemaker.CfnEndpoint(
                scope,
                "Endpoint",
                endpoint_config_name=config.attr_endpoint_config_name,
                endpoint_name=name,
                tags=tags,
            )

    return build


def load_constructs_lib() -> Builder:
    from constructs_lib import HubModelEndpoint

    def build(stack: Any, endpoints: int) -> None:
        for index in range(endpoints):
            HubModelEndpoint(stack, f"Endpoint{index}", model_id=MODEL_ID, task=TASK, instance_type=INSTANCE_TYPE)

    return build


def load_gai() -> Builder:
    from cdklabs.generative_ai_cdk_constructs.sagemaker_deployment import (
        DeepLearningContainerImage,
        HuggingFaceSageMakerEndpoint,
        SageMakerInstanceType,
    )

    def build(stack: Any, endpoints: int) -> None:
        image = DeepLearningContainerImage.HUGGINGFACE_PYTORCH_INFERENCE_2_6_0_TRANSFORMERS4_51_3_GPU_PY312_CU124_UBUNTU22_04  # noqa: E501
        instance_type = SageMakerInstanceType.ML_G5_XLARGE
        for index in range(endpoints):
            # GAI creates the model, config and endpoint in the parent scope, with ids that embed ``id``.
            HuggingFaceSageMakerEndpoint(
                stack,
                f"Endpoint{index}",
                model_id=MODEL_ID,
                container=image,
                instance_type=instance_type,
                environment={"HF_TASK": TASK},
            )

    return build


def load_sm_alpha() -> Builder:
    from aws_cdk import aws_sagemaker_alpha as sm
    from constructs import Construct

    def build(stack: Any, endpoints: int) -> None:
        image = sm.ContainerImage.from_dlc(IMAGE_REPOSITORY, IMAGE_TAG)
        instance_type = sm.InstanceType.of(INSTANCE_TYPE)
        for index in range(endpoints):
            scope = Construct(stack, f"Endpoint{index}")
            model = sm.Model(
                scope,
                "Model",
                containers=[
                    sm.ContainerDefinition(image=image, environment={"HF_MODEL_ID": MODEL_ID, "HF_TASK": TASK})
                ],
            )
            config = sm.EndpointConfig(
                scope,
                "EndpointConfig",
                instance_production_variants=[
                    sm.InstanceProductionVariantProps(
                        model=model, variant_name="AllTraffic", instance_type=instance_type
                    )
                ],
            )
            sm.Endpoint(scope, "Endpoint", endpoint_config=config)

    return build


LOADERS: dict[str, Callable[[], Builder]] = {
    FLOOR: load_floor,
    OURS: load_constructs_lib,
    GAI: load_gai,
    SM_ALPHA: load_sm_alpha,
}


def _descendants(pid: int) -> list[int]:
    """Child processes of ``pid``, recursively (Linux ``/proc``; the jsii kernel is node, then node again)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids = [int(child) for child in children.read_text().split()]
        except OSError:
            continue
        for child in pids:
            found += [child, *_descendants(child)]
    return found


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (its own, not its children's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s() -> float:
    """CPU seconds used so far by this process and the jsii kernel processes it runs: the work of a synth is split
    between Python and node, so both count. Robust where wall time is not: on a loaded machine."""
    return time.process_time() + sum(_cpu_s(pid) for pid in _descendants(os.getpid()))


def run_worker(variant: str, endpoints: int, profile_file: str | None) -> dict[str, Any]:
    """Import, build and synthesize one app; return the timings and what the template holds."""
    start = time.perf_counter()
    import aws_cdk as cdk

    build = LOADERS[variant]()
    imported = time.perf_counter()

    outdir = tempfile.mkdtemp(prefix="bench-synth-")
    try:
        profiler = None
        if profile_file:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu_began = tree_cpu_s()
        began = time.perf_counter()
        app = cdk.App(outdir=outdir)
        stack = cdk.Stack(app, STACK_NAME, env=cdk.Environment(account=ACCOUNT, region=REGION))
        build(stack, endpoints)
        built = time.perf_counter()
        assembly = app.synth()
        synthesized = time.perf_counter()
        cpu_synthesized = tree_cpu_s()
        if profiler is not None and profile_file:
            profiler.disable()
            profiler.dump_stats(profile_file)
        artifact = assembly.get_stack_by_name(STACK_NAME)
        resources = Counter(item["Type"] for item in artifact.template.get("Resources", {}).values())
        warnings = [m for m in artifact.messages if str(m.level.value).lower() in ("warning", "error")]
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    return {
        "import_s": imported - start,
        "build_s": built - began,
        "synth_s": synthesized - built,
        "build_synth_s": synthesized - began,
        "build_synth_cpu_s": cpu_synthesized - cpu_began,
        "resources": dict(sorted(resources.items())),
        "messages": len(warnings),
    }


def seed_context(path: Path) -> None:
    """Write the model's profile into a ``hub.context.json``, the way a synth with network access would."""
    from constructs_lib.model.context_file import context_key, write_context_entry
    from constructs_lib.model.profile import ModelProfile

    profile = ModelProfile.from_json(DISTILBERT_PROFILE)
    write_context_entry(path, context_key(MODEL_ID, None), profile.to_json())


# ================================================================================================ driver


@dataclass
class Sample:
    wall_s: float
    wall_cpu_s: float
    build_synth_s: float
    build_synth_cpu_s: float
    import_s: float
    resources: dict[str, int]
    messages: int


@dataclass
class Series:
    variant: str
    endpoints: int
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    def median(self, attribute: str) -> float:
        return float(statistics.median(getattr(sample, attribute) for sample in self.samples))

    def minimum(self, attribute: str) -> float:
        return float(min(getattr(sample, attribute) for sample in self.samples))


def _run(command: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=False, text=True, capture_output=True, **kwargs)


def ensure_peers_venv(rebuild: bool) -> tuple[Path | None, str]:
    """The peers venv's interpreter, (re)installed when the requirement files changed; or ``None`` and why."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / ".installed-requirements"
    wanted = PEER_REQUIREMENTS.read_text() + RUNTIME_REQUIREMENTS.read_text()
    if not rebuild and python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python, ""
    print(f"creating {PEERS_VENV.relative_to(REPO)} (peers + aws-cdk-lib, one-off, ~2 min)", file=sys.stderr)
    shutil.rmtree(PEERS_VENV, ignore_errors=True)
    created = _run([sys.executable, "-m", "venv", str(PEERS_VENV)])
    if created.returncode != 0:
        return None, f"`python -m venv` failed: {created.stderr.strip()[-500:]}"
    installed = _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(PEER_REQUIREMENTS),
            "-r",
            str(RUNTIME_REQUIREMENTS),
        ]
    )
    if installed.returncode != 0:
        errors = [line for line in installed.stderr.splitlines() if "ERROR" in line or "error" in line]
        return None, "pip install failed: " + (" / ".join(errors[-3:]) or installed.stderr.strip()[-500:])
    stamp.write_text(wanted)
    return python, ""


def child_environment(context_file: Path, cdk_validation: bool) -> dict[str, str]:
    env = dict(os.environ)
    if cdk_validation:
        env.pop("CDK_VALIDATION", None)
    else:
        env["CDK_VALIDATION"] = "false"  # aws-cdk-lib's switch for its built-in CloudFormation validation
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["HF_HUB_OFFLINE"] = "1"
    env["CONSTRUCTS_LIB_HUB_CONTEXT"] = str(context_file)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", _node_major() or "")
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    env.pop("CDK_CONTEXT_JSON", None)
    env.pop("CDK_OUTDIR", None)
    return env


def _node_major() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    version = _run([node, "--version"]).stdout.strip().lstrip("v")
    return version.split(".")[0] or None


def _versions(python: Path, env: dict[str, str]) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, json\n"
        "names = ['aws-cdk-lib', 'constructs', 'jsii', 'cdklabs.generative-ai-cdk-constructs',"
        " 'aws-cdk.aws-sagemaker-alpha', 'huggingface_hub']\n"
        "out = {}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = 'not installed'\n"
        "print(json.dumps(out))\n"
    )
    result = _run([str(python), "-c", script], env=env)
    return json.loads(result.stdout) if result.returncode == 0 else {}


def probe(python: Path, env: dict[str, str], variant: str) -> str | None:
    """``None`` when the variant's package imports under ``python``, else the error."""
    result = _run([str(python), "-c", f"import {PROBE_MODULES[variant]}"], env=env, cwd=tempfile.gettempdir())
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.strip().splitlines() if line and not line.startswith(("b'", "!!"))]
    return lines[-1] if lines else f"exit code {result.returncode}"


def measure(python: Path, env: dict[str, str], variant: str, endpoints: int, cwd: Path) -> Sample:
    command = [str(python), str(Path(__file__).resolve()), "--worker", variant, "--endpoints", str(endpoints)]
    cpu_before = _children_cpu_s()
    began = time.perf_counter()
    result = _run(command, env=env, cwd=cwd)
    wall = time.perf_counter() - began
    wall_cpu = _children_cpu_s() - cpu_before
    if result.returncode != 0:
        tail = [line for line in result.stderr.strip().splitlines() if not line.startswith(("b'", "!!"))][-5:]
        raise RuntimeError(f"exit code {result.returncode}: " + " | ".join(tail))
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Sample(
        wall,
        wall_cpu,
        data["build_synth_s"],
        data["build_synth_cpu_s"],
        data["import_s"],
        data["resources"],
        data["messages"],
    )


def _children_cpu_s() -> float:
    """CPU seconds of every reaped child process so far (jsii waits for node, so a worker includes its kernel)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


METRICS: tuple[tuple[str, str], ...] = (
    ("build_synth_s", "build+synth"),
    ("build_synth_cpu_s", "build+synth CPU"),
    ("wall_s", "process wall"),
    ("wall_cpu_s", "process CPU"),
)


def render(
    series: dict[tuple[str, int], Series],
    variants: Sequence[str],
    sizes: Sequence[int],
    *,
    command: str,
    repeat: int,
    warmup: int,
    versions: dict[str, str],
    unavailable: dict[str, str],
    load: tuple[float, float],
    cdk_validation: bool,
) -> str:
    lines = [
        "# Synthesis time: constructs_lib against the L1 floor and its peers",
        "",
        f"Command: `{command}` ({repeat} measured repetition(s) per cell after {warmup} warm-up round(s), "
        "each a fresh Python process, variants interleaved).",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"node {_node_major() or '?'}; "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
        + f"; run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 1-minute load average "
        f"{load[0]:.1f} at the start, {load[1]:.1f} at the end.",
        "",
        f"App: one stack, {' and '.join(map(str, sizes))} endpoint(s) of `{MODEL_ID}` ({TASK}, {INSTANCE_TYPE}, "
        f"`{IMAGE_REPOSITORY}:{IMAGE_TAG}`), construct ids `Endpoint0..N-1`. constructs_lib reads the model's "
        "profile from a pre-seeded `hub.context.json` with `HF_HUB_OFFLINE=1` (no network). aws-cdk-lib's built-in "
        "CloudFormation validation at synth: "
        + ("on (the default)." if cdk_validation else "off (`CDK_VALIDATION=false`)."),
        "",
        "- *build+synth*: inside the process, after the imports: `App()` + stack + endpoints + `app.synth()` "
        "(writes the cloud assembly to a temp dir); wall clock, and CPU of Python plus its jsii node processes.",
        "- *process*: the whole subprocess: interpreter start, imports (jsii kernel start-up included), build, "
        "synth, exit; wall clock, and CPU of the process tree.",
        "- CPU time is what to compare when the load average exceeds the CPU count: wall time then measures the "
        "other processes on the machine as much as the benchmark.",
        "",
        "| variant | endpoints | build+synth ms median (min) | ratio | build+synth CPU ms | ratio "
        "| process wall s median (min) | ratio | process CPU s | ratio | imports s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        floor = series.get((FLOOR, size))
        for variant in variants:
            item = series[(variant, size)]
            if item.error or not item.samples:
                lines.append(f"| {LABELS[variant]} | {size} | n/a | | n/a | | n/a | | n/a | | n/a |")
                continue
            cells = [LABELS[variant], str(size)]
            for attribute, _ in METRICS:
                median = item.median(attribute)
                if attribute.startswith("build"):
                    value = f"{median * 1000:,.0f}"
                    minimum = f" ({item.minimum(attribute) * 1000:,.0f})" if attribute == "build_synth_s" else ""
                else:
                    value = f"{median:.2f}"
                    minimum = f" ({item.minimum(attribute):.2f})" if attribute == "wall_s" else ""
                usable = floor is not None and bool(floor.samples) and not floor.error
                ratio = f"{median / floor.median(attribute):.2f}x" if floor is not None and usable else "n/a"
                cells += [value + minimum, ratio]
            cells.append(f"{item.median('import_s'):.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    lines += per_endpoint(series, variants, sizes)
    lines += ["", "## Targets", ""]
    lines += targets(series, sizes)
    lines += ["", "## What each variant synthesized", ""]
    lines += [
        "Resources of the `Bench` stack (checked identical in every repetition) and the warnings or errors "
        "annotated on it.",
        "",
        "| variant | endpoints | resources | warnings |",
        "|---|---:|---|---:|",
    ]
    for size in sizes:
        for variant in variants:
            item = series[(variant, size)]
            if item.samples:
                counts = ", ".join(f"{kind} x{count}" for kind, count in item.samples[0].resources.items())
                lines.append(f"| {LABELS[variant]} | {size} | {counts} | {item.samples[0].messages} |")
    failures = dict(unavailable) | {
        f"{item.variant} ({item.endpoints} endpoints)": item.error
        for item in series.values()
        if item.error and item.variant not in unavailable
    }
    if failures:
        lines += ["", "## Not measured", ""]
        lines += [f"- {name}: {why}" for name, why in failures.items()]
    return "\n".join(lines) + "\n"


def per_endpoint(series: dict[tuple[str, int], Series], variants: Sequence[str], sizes: Sequence[int]) -> list[str]:
    """What one more endpoint costs: the difference of the medians at the largest and the smallest size,
    per endpoint. Whatever every app pays once (the first use of a module, the jsii types it loads) cancels
    out, which the ratios of whole runs above mix in."""
    if len(sizes) < 2:
        return []
    low, high = min(sizes), max(sizes)
    lines = [
        "",
        f"## Per endpoint: (median at {high} - median at {low}) / {high - low}",
        "",
        "| variant | build+synth ms per endpoint | ratio | build+synth CPU ms per endpoint | ratio |",
        "|---|---:|---:|---:|---:|",
    ]

    def slope(variant: str, attribute: str) -> float | None:
        small, large = series.get((variant, low)), series.get((variant, high))
        if small is None or large is None or not small.samples or not large.samples or small.error or large.error:
            return None
        return (large.median(attribute) - small.median(attribute)) / (high - low) * 1000

    for variant in variants:
        cells = [LABELS[variant]]
        for attribute in ("build_synth_s", "build_synth_cpu_s"):
            mine, floor = slope(variant, attribute), slope(FLOOR, attribute)
            cells.append("n/a" if mine is None else f"{mine:.2f}")
            cells.append(f"{mine / floor:.2f}x" if mine is not None and floor else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def targets(series: dict[tuple[str, int], Series], sizes: Sequence[int]) -> list[str]:
    """PASS/FAIL lines: constructs_lib within ``TARGET_FLOOR_RATIO`` of the floor and faster than each peer."""

    def measured(variant: str, size: int) -> Series | None:
        item = series.get((variant, size))
        return item if item is not None and item.samples and not item.error else None

    lines: list[str] = []
    for size in sizes:
        ours, floor = measured(OURS, size), measured(FLOOR, size)
        if ours is None or floor is None:
            lines.append(f"- NOT EVALUATED: {size} endpoint(s) (constructs_lib or the floor was not measured)")
            continue
        for attribute, what in METRICS:
            ratio = ours.median(attribute) / floor.median(attribute)
            verdict = "PASS" if ratio <= TARGET_FLOOR_RATIO else "FAIL"
            lines.append(
                f"- {verdict}: {size} endpoint(s), {what} within {TARGET_FLOOR_RATIO}x of the floor: {ratio:.2f}x"
            )
        for peer in (GAI, SM_ALPHA):
            other = measured(peer, size)
            if other is None:
                lines.append(f"- NOT EVALUATED: {size} endpoint(s), faster than {peer} (not measured)")
                continue
            for attribute, what in METRICS:
                mine, theirs = ours.median(attribute), other.median(attribute)
                verdict = "PASS" if mine < theirs else "FAIL"
                lines.append(
                    f"- {verdict}: {size} endpoint(s), {what} faster than {peer}: {mine:.3f} s vs {theirs:.3f} s "
                    f"({mine / theirs:.2f}x)"
                )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, help="write the markdown table to this file")
    parser.add_argument("--repeat", type=int, default=5, help="measured repetitions per variant and size (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, no warm-up")
    parser.add_argument("--sizes", default="1,20", help="endpoint counts, comma-separated (default 1,20)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"subset of {', '.join(VARIANTS)}")
    parser.add_argument(
        "--python",
        type=Path,
        help="interpreter for every variant (default: benchmarks/.work/peers-venv, created on first use)",
    )
    parser.add_argument(
        "--cdk-validation",
        choices=("on", "off"),
        default="on",
        help="aws-cdk-lib's built-in CloudFormation validation at synth: on (the default, what users get) or off "
        "(CDK_VALIDATION=false: shows what the constructs themselves cost)",
    )
    parser.add_argument("--rebuild-venv", action="store_true", help="recreate benchmarks/.work/peers-venv")
    # Internal: one measured app, or a cProfile dump of one (for finding where build+synth time goes).
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--endpoints", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--cprofile", help=argparse.SUPPRESS)
    parser.add_argument("--seed-context", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.seed_context:
        seed_context(args.seed_context)
        return 0
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.endpoints, args.cprofile)))
        return 0

    repeat, warmup = (1, 0) if args.quick else (args.repeat, args.warmup)
    sizes = [int(size) for size in args.sizes.split(",")]
    variants = [variant for variant in VARIANTS if variant in args.variants.split(",")]
    if args.python:
        python, why = args.python, ""
    else:
        python, why = ensure_peers_venv(args.rebuild_venv)
    if python is None:
        # Without the peers venv, still measure what the current interpreter can (floor, constructs_lib).
        print(f"peers venv unavailable ({why}); using {sys.executable}", file=sys.stderr)
        python = Path(sys.executable)

    WORK.mkdir(parents=True, exist_ok=True)
    # The peers' modules were byte-compiled when pip installed them; constructs_lib runs from this
    # checkout, where PYTHONDONTWRITEBYTECODE (set in some shells and CI) would leave it compiling
    # its sources in every measured process. Compile it as pip would.
    _run([str(python), "-m", "compileall", "-q", str(REPO / "constructs_lib")])
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-synth-", dir=WORK) as scratch:
        cwd = Path(scratch)  # no cdk.json or cdk.context.json here: nothing but the app itself is read
        context_file = cwd / "hub.context.json"
        env = child_environment(context_file, args.cdk_validation == "on")
        unavailable: dict[str, str] = {}
        for variant in variants:
            problem = probe(python, env, variant)
            if problem:
                unavailable[variant] = f"cannot be imported under {python}: {problem}" + (f" ({why})" if why else "")
        if OURS not in unavailable:
            seeded = _run([str(python), str(Path(__file__).resolve()), "--seed-context", str(context_file)], env=env)
            if seeded.returncode != 0:
                unavailable[OURS] = f"could not seed hub.context.json: {seeded.stderr.strip()[-300:]}"

        series = {(v, n): Series(v, n, error=unavailable.get(v)) for v in variants for n in sizes}
        runnable = [variant for variant in variants if variant not in unavailable]
        for round_index in range(warmup + repeat):
            measured = round_index >= warmup
            shift = round_index % max(len(runnable), 1)
            order = runnable[shift:] + runnable[:shift]
            for size in sizes:
                for variant in order:
                    item = series[(variant, size)]
                    if item.error:
                        continue
                    try:
                        sample = measure(python, env, variant, size, cwd)
                    except (RuntimeError, ValueError, IndexError) as error:
                        item.error = str(error)[:500]
                        print(f"{variant} x{size}: FAILED {item.error}", file=sys.stderr)
                        continue
                    if item.samples and sample.resources != item.samples[0].resources:
                        item.error = f"resources differ between repetitions: {sample.resources}"
                    tag = "" if measured else " (warm-up)"
                    print(
                        f"round {round_index + 1}/{warmup + repeat} {variant} x{size}: wall {sample.wall_s:.2f} s, "
                        f"build+synth {sample.build_synth_s * 1000:.0f} ms "
                        f"(CPU {sample.build_synth_cpu_s * 1000:.0f} ms){tag}",
                        file=sys.stderr,
                    )
                    if measured:
                        item.samples.append(sample)

        versions = _versions(python, env)
    command = "python benchmarks/bench_synth.py" + (" --quick" if args.quick else f" --repeat {repeat}")
    if args.cdk_validation == "off":
        command += " --cdk-validation off"
    if args.output:
        command += f" --output {_display_path(args.output)}"
    load = (load_start, os.getloadavg()[0])
    report = render(
        series,
        variants,
        sizes,
        command=command,
        repeat=repeat,
        warmup=warmup,
        versions=versions,
        unavailable=unavailable,
        load=load,
        cdk_validation=args.cdk_validation == "on",
    )
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0 if all(not item.error for key, item in series.items() if key[0] in (FLOOR, OURS)) else 1


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
