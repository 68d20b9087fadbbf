"""Checks of a component endpoint's props and of ``add_model``'s, and what component endpoints refuse, with why.

SageMaker documents inference components for real-time endpoints on instances only: no serverless inference
(there are no instances to place them on), no asynchronous inference (``InvokeEndpointAsync`` names no component),
no shadow or weighted variants, no data capture and no endpoint-level blue/green or rolling deployment (each
component rolls its own copies). Those props are refused with the reason instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._core.errors import Problems, allowed_list
from .._core.names import RESOURCE_NAME
from .._core.tokens import is_number, is_unresolved, is_whole
from ..catalogue.instances import Processor, instance_spec, instance_type_problem
from ..endpoints.checks import check_prop_types
from .deployment import ComponentDeployment
from .options import Routing, ScaleInPolicy
from .resources import CPU_MODEL_CORES
from .scaling import ComponentScaling

_NOT_DOCUMENTED = "SageMaker does not document it for endpoints with inference components"
_NOT_FOR_COMPONENTS: Mapping[str, str] = {
    "serverless": "a serverless endpoint has no instances to place components on; serve each model on an endpoint "
    "of its own with serverless=ServerlessInference(...)",
    "async_inference": "InvokeEndpointAsync takes no InferenceComponentName, so an asynchronous endpoint cannot send "
    "a request to a component; serve the model on an endpoint of its own with async_inference=...",
    "variants": "an endpoint with inference components has one production variant whose instances the components "
    f"share, and shadow or weighted model variants are not part of it ({_NOT_DOCUMENTED}); add each model with "
    "add_model, or use variants on a HubModelEndpoint",
    "data_capture": f"{_NOT_DOCUMENTED}; capture on an endpoint of its own",
    "deployment": "endpoint-level blue/green and rolling deployments replace the instances, and the components "
    "update on their own: pass deployment=ComponentDeployment.rolling(...) to add_model",
    "autoscaling": "the instance count follows the copies (managed instance scaling from min_instances to "
    "max_instances); scale each component's copies with add_model(autoscaling=ComponentScaling(...))",
    "instance_count": "managed instance scaling decides the count: use min_instances and max_instances",
    "network_isolation": f"{_NOT_DOCUMENTED} (this library does not support it here yet)",
    "inference_ami_version": "the host AMI follows the components' images (the newest driver any of them needs)",
    "alarms": "this library's alarms watch an endpoint's variant; alarm on each component's metric_*() instead",
    "dashboard": "this library's dashboard shows an endpoint's variant; graph each component's metric_*() instead",
    "volume_size_gb": f"{_NOT_DOCUMENTED} (this library does not support it here yet)",
    "instance_selection": "packing picks the cheapest GPU instance type that holds every copy when instance_type is "
    "omitted; pass instance_type to choose one",
}
_MODEL_PROPS = (
    "model_id", "model_data", "code_dir", "entry_point", "task", "revision", "serving", "image", "environment",
    "engine_args", "hf_token_secret", "model_profile",
)  # fmt: skip
ENDPOINT_REFUSALS: Mapping[str, str] = {
    **_NOT_FOR_COMPONENTS,
    **dict.fromkeys(_MODEL_PROPS, "belongs to a model: add models with add_model(id, ...)"),
}
"""Props of the other endpoints that a component endpoint refuses, and why."""

_ENDPOINT_LEVEL = "belongs to the endpoint, which every component shares: pass it to InferenceComponentEndpoint"
MODEL_REFUSALS: Mapping[str, str] = {
    **_NOT_FOR_COMPONENTS,
    **dict.fromkeys(
        (
            "instance_type",
            "min_instances",
            "max_instances",
            "role",
            "vpc",
            "vpc_subnets",
            "security_groups",
            "encryption_key",
            "routing",
            "scale_in",
            "endpoint_name",
            "tags",
        ),
        _ENDPOINT_LEVEL,
    ),
}
"""Props that ``add_model`` refuses, and why."""


def refuse_unsupported(
    subject: Callable[[], str], given: Mapping[str, Any], refusals: Mapping[str, str], allowed: Iterable[str]
) -> None:
    """Raise one error naming every prop in ``given``: the reason for the refused ones, the allowed list otherwise."""
    if not given:
        return
    problems = Problems(subject)
    unknown = []
    for prop in sorted(given):
        if prop in refusals:
            problems.add(prop, "(given)", f"is not supported here: {refusals[prop]}")
        else:
            unknown.append(prop)
    if unknown:
        problems.add_message(f"unknown prop(s) {', '.join(unknown)}; allowed: {allowed_list(allowed, 100)}")
    problems.raise_if_any()


def check_endpoint_props(props: Mapping[str, Any], problems: Problems) -> None:
    """``instance_type``, ``min_instances`` and ``max_instances``, ``routing``, ``scale_in``, ``endpoint_name``."""
    check_prop_types({k: props.get(k) for k in ("instance_type", "endpoint_name", "role")}, problems)
    requested = props.get("instance_type")
    if isinstance(requested, str):
        _check_instance_type(requested, problems)
    low, high = props.get("min_instances"), props.get("max_instances")
    if not _whole_from(low, 0):
        problems.add("min_instances", low, "must be a whole number of at least 0 (0 lets the endpoint scale to zero)")
    if high is not None and not _whole_from(high, 1):
        problems.add("max_instances", high, "must be a whole number of at least 1")
    elif _whole_from(low, 0) and high is not None and low > high:
        problems.add("min_instances", low, f"is above max_instances ({high})")
    if not isinstance(props.get("routing"), Routing):
        problems.add("routing", props.get("routing"), f"must be a Routing; allowed: {allowed_list(Routing)}")
    scale_in = props.get("scale_in")
    if scale_in is not None and not isinstance(scale_in, ScaleInPolicy):
        problems.add("scale_in", scale_in, "must be a ScaleInPolicy, e.g. ScaleInPolicy.idle_release()")
    name = props.get("endpoint_name")
    if isinstance(name, str) and not is_unresolved(name) and not RESOURCE_NAME.match(name):
        problems.add(
            "endpoint_name",
            name,
            "is not a valid endpoint name: 1-63 characters, letters, digits and hyphens, starting and ending with a "
            "letter or digit",
        )


def _check_instance_type(requested: str, problems: Problems) -> None:
    if is_unresolved(requested):
        problems.add(
            "instance_type",
            requested,
            "is a deploy-time value, and the components are sized and packed for it at synth time; use a "
            "concrete instance type",
        )
        return
    problem = instance_type_problem(requested)
    if problem:
        problems.add("instance_type", requested, problem)
        return
    spec = instance_spec(requested)
    if spec is not None and spec.processor is Processor.NEURONX:
        problems.add(
            "instance_type",
            requested,
            "is an Inferentia instance, and components on Inferentia are not sized here (their models must be "
            "compiled for Neuron); use a GPU or CPU instance type",
        )


def check_model_props(props: Mapping[str, Any], problems: Problems) -> None:
    """``copies``, ``accelerators``, ``memory_mb``, ``cpu_cores``, ``autoscaling``, ``deployment``, ``entry_point``, and
    the types of the props every endpoint has (``environment``, ``image``, ``model_profile``, ...)."""
    check_prop_types(props, problems)
    copies = props.get("copies")
    if not _whole_from(copies, 0):
        problems.add("copies", copies, "must be a whole number of at least 0 (0 starts the component scaled to zero)")
    accelerators = props.get("accelerators")
    if accelerators is not None and not _whole_from(accelerators, 0):
        problems.add("accelerators", accelerators, "must be a whole number of GPUs (0 serves the model on CPUs)")
    memory = props.get("memory_mb")
    if memory is not None and not _whole_from(memory, 128):
        problems.add("memory_mb", memory, "must be a whole number of MB, at least 128 (SageMaker's minimum)")
    cores = props.get("cpu_cores")
    if cores is not None and not (is_number(cores) and cores >= 0.25 and float(cores * 4).is_integer()):
        problems.add(
            "cpu_cores",
            cores,
            f"must be a number of cores from 0.25 in steps of 0.25 (e.g. {CPU_MODEL_CORES:g}), as SageMaker takes them",
        )
    scaling, deployment = props.get("autoscaling"), props.get("deployment")
    if scaling is not None and not isinstance(scaling, ComponentScaling):
        problems.add("autoscaling", scaling, "must be a ComponentScaling, e.g. ComponentScaling(max_copies=4, ...)")
    if deployment is not None and not isinstance(deployment, ComponentDeployment):
        problems.add("deployment", deployment, "must be a ComponentDeployment, e.g. ComponentDeployment.rolling()")
    if props.get("entry_point") is not None and props.get("code_dir") is None:
        problems.add("entry_point", props["entry_point"], "only applies with code_dir, the directory that holds it")


def check_copies(
    copies: int, scaling: ComponentScaling | None, min_copies: int, deployment: ComponentDeployment | None
) -> list[str]:
    """``copies`` against the scaling range and the rolling batch (messages, empty when both hold)."""
    problems = Problems("")
    if scaling is not None and is_whole(scaling.max_copies) and not min_copies <= copies <= scaling.max_copies:
        problems.add(
            "copies",
            copies,
            f"is outside autoscaling's range {min_copies}..{scaling.max_copies} (min_copies..max_copies); the "
            "component starts with copies copies",
        )
    if scaling is None and copies == 0:
        problems.add(
            "copies",
            0,
            "starts the component with no copy, and nothing would ever start one: give autoscaling=ComponentScaling("
            "min_copies=0, ...) (it wakes the component on the first request), or copies of at least 1",
        )
    if deployment is not None and scaling is None:
        deployment.check_copies(copies, problems)
    return problems.messages


def raise_for(subject: Callable[[], str], messages: list[str]) -> None:
    """Raise the messages as one error about ``subject``."""
    problems = Problems(subject)
    problems.extend(messages)
    problems.raise_if_any()


def _whole_from(value: Any, least: int) -> bool:
    """A whole number (not a bool) of at least ``least``."""
    return is_whole(value) and bool(value >= least)
