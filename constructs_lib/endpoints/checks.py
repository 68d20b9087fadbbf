"""Checks of the props every endpoint shares, before anything is resolved: types, ranges, names, tags.

Serving, sizing and feature props are checked where they are resolved (``endpoints.resolve``) and by
their features; these are the ones whose meaning needs nothing else.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import Duration, Stack
from constructs import IConstruct

from .._core.errors import ConfigurationError, Problems, allowed_list
from .._core.names import MODEL_ID_TAG, RESOURCE_NAME
from .._core.stack_facts import stack_facts
from .._core.tags import MAX_TAGS, tag_problem
from .._core.tokens import duration_seconds, is_unresolved
from ..catalogue.host_amis import HOST_AMIS
from ..catalogue.instances import InstanceSpec, instance_type_problem
from ..images.base import InferenceImage
from ..model.profile import ModelProfile
from ..sizing.options import SizingOptions
from ..sizing.planner import selection_conflicts
from .props import EndpointProps

TIMEOUT_RANGE = (60, 3600)
"""Seconds SageMaker allows for the start-up health check and the model download."""
VOLUME_RANGE = (1, 512)
"""GB SageMaker allows for the storage volume."""

# Props whose type Python does not enforce at run time: a wrong type must be a clear error, not a
# traceback from deep inside jsii.
_PROP_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "instance_type": (str, "a string such as 'ml.g5.xlarge'"),
    "endpoint_name": (str, "a string"),
    "environment": (Mapping, "a mapping of variable names to string values"),
    "image": (InferenceImage, "an InferenceImage, e.g. InferenceImage.from_uri(uri)"),
    "model_profile": (ModelProfile, "a ModelProfile(parameters=..., dtype=...)"),
    "instance_selection": (SizingOptions, "a SizingOptions(...)"),
    "engine_args": (Mapping, "a mapping of flag names to values, e.g. {'max_num_seqs': 64}"),
    "inference_ami_version": (str, "a string such as 'al2023-ami-sagemaker-inference-gpu-4-1'"),
    "gguf_file": (str, "the path of a GGUF file in the model, such as 'model-Q4_K_M.gguf'"),
}


def known_props() -> frozenset[str]:
    """The names ``EndpointProps`` declares."""
    return frozenset(EndpointProps.__annotations__)


def check_prop_names(subject: Callable[[], str], props: Mapping[str, Any]) -> None:
    """Refuse props the constructs do not have (a typo would otherwise deploy a default)."""
    unknown = sorted(set(props) - known_props())
    if unknown:
        raise ConfigurationError(
            f"{subject()}: unknown prop(s) {', '.join(unknown)}; allowed: {allowed_list(known_props(), 100)}"
        )


def check_prop_types(props: Mapping[str, Any], problems: Problems) -> None:
    """Props of the wrong type, named with the type they must have."""
    for prop, (expected, description) in _PROP_TYPES.items():
        value = props.get(prop)
        if value is not None and not isinstance(value, expected):
            problems.add(prop, value, f"must be {description}")
    role = props.get("role")
    # jsii interfaces cannot be used with isinstance; a role is what has an ARN and a principal.
    if role is not None and not (hasattr(role, "role_arn") and hasattr(role, "grant_principal")):
        problems.add("role", role, "must be an iam.IRole, e.g. iam.Role.from_role_arn(scope, 'Role', arn)")


def check_scalars(props: Mapping[str, Any], problems: Problems) -> None:
    """``instance_count``, the two timeouts and ``endpoint_name``."""
    count = props.get("instance_count", 1)
    if not is_unresolved(count) and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        problems.add("instance_count", count, "must be a whole number of at least 1")
    for prop in ("startup_health_check_timeout", "model_data_download_timeout"):
        _check_timeout(prop, props.get(prop), problems)
    check_gguf_file(props.get("gguf_file"), problems)
    name = props.get("endpoint_name")
    if name is not None and not is_unresolved(name) and not RESOURCE_NAME.match(name):
        problems.add(
            "endpoint_name",
            name,
            "is not a valid endpoint name: 1-63 characters, letters, digits and hyphens, "
            "starting and ending with a letter or digit",
        )


def check_gguf_file(value: Any, problems: Problems) -> None:
    """``gguf_file``: a relative path to a ``.gguf`` file, known at synth time (the file is looked for in the model)."""
    if not isinstance(value, str):
        return  # None, or the wrong type (reported with the types)
    if is_unresolved(value):
        problems.add("gguf_file", value, "must be known at synth time: the file is looked for among the model's files")
    elif not value.lower().endswith(".gguf") or value.startswith("/") or ".." in value.split("/"):
        problems.add(
            "gguf_file",
            value,
            "must be the path of a .gguf file inside the repository, directory or archive, e.g. 'model-Q4_K_M.gguf' "
            "or 'Q4_K_M/model-Q4_K_M-00001-of-00002.gguf' (relative, without '..')",
        )


def _check_timeout(prop: str, value: Duration | None, problems: Problems) -> None:
    if value is None:
        return
    if not isinstance(value, Duration):
        problems.add(prop, value, "must be a Duration, e.g. Duration.minutes(10)")
        return
    if value.is_unresolved():
        return
    seconds = duration_seconds(value)
    low, high = TIMEOUT_RANGE
    if seconds != int(seconds):
        problems.add(prop, f"{seconds:.10g} seconds", f"must be whole seconds from {low} to {high}")
    elif not low <= seconds <= high:
        problems.add(prop, f"{seconds:g} seconds", f"is outside the allowed range {low}..{high} seconds")


def check_requested_instance(props: Mapping[str, Any], problems: Problems) -> None:
    """An ``instance_type`` that no catalogued instance has, or that contradicts another prop."""
    requested = props.get("instance_type")
    if requested is None:
        return
    problem = instance_type_problem(requested)
    if problem:
        problems.add("instance_type", requested, problem)
    elif props.get("serverless") is not None:
        problems.add(
            "instance_type", requested, "cannot be combined with serverless: serverless endpoints have no instances"
        )
    elif props.get("instance_selection") is not None:
        count = props.get("instance_count", 1)
        for conflict in selection_conflicts(
            requested, props["instance_selection"], count if isinstance(count, int) else 1
        ):
            problems.add("instance_type", requested, conflict)


def check_host_ami(props: Mapping[str, Any], problems: Problems) -> None:
    """``inference_ami_version``: one of SageMaker's values, and not for serverless endpoints (no instances)."""
    ami = props.get("inference_ami_version")
    if not isinstance(ami, str) or is_unresolved(ami):
        return
    if ami not in HOST_AMIS:
        problems.add("inference_ami_version", ami, f"is not a SageMaker host AMI; allowed: {allowed_list(HOST_AMIS)}")
    elif props.get("serverless") is not None:
        problems.add(
            "inference_ami_version", ami, "cannot be combined with serverless: serverless endpoints have no instances"
        )


def check_volume(volume: Any, spec: InstanceSpec | None, problems: Problems) -> None:
    """``volume_size_gb``: 1-512, and not on instances with local NVMe storage."""
    if volume is None or is_unresolved(volume):
        return
    low, high = VOLUME_RANGE
    if not isinstance(volume, int) or isinstance(volume, bool) or not low <= volume <= high:
        problems.add("volume_size_gb", volume, f"must be a whole number from {low} to {high}")
    if spec is not None and spec.local_nvme:
        problems.add(
            "volume_size_gb",
            volume,
            f"cannot be set on {spec.name}: its storage is local NVMe, and SageMaker rejects "
            "VolumeSizeInGB there; leave it unset or use an instance without local storage (e.g. ml.p3.*)",
        )


def check_tags(tags: Any, hub_model_id: str | None, problems: Problems) -> None:
    """Tag keys and values AWS accepts, and no more than 50 with the library's own."""
    if tags is None:
        return
    if not isinstance(tags, Mapping):
        problems.add("tags", tags, "must be a mapping of tag keys to values")
        return
    for key, value in tags.items():
        if is_unresolved(key):
            continue
        problem = tag_problem(key, key=True)
        if problem:
            problems.add("tags", key, f"is not a valid tag key: {problem}")
        if is_unresolved(value):
            continue
        problem = tag_problem(value, key=False)
        if problem:
            problems.add(f"tags[{key!r}]", value, f"is not a valid tag value: {problem}")
    count = len(tags) + (1 if hub_model_id and MODEL_ID_TAG not in tags else 0)
    if count > MAX_TAGS:
        problems.add(
            "tags",
            f"{len(tags)} tags",
            f"are too many: AWS allows at most {MAX_TAGS} tags per resource, and the endpoint adds "
            f"{count - len(tags)} of its own ({MODEL_ID_TAG})",
        )


_NAMED_ENDPOINTS: weakref.WeakKeyDictionary[IConstruct, dict[str, list[tuple[IConstruct, str]]]] = (
    weakref.WeakKeyDictionary()
)
"""The endpoints of each app (by its root construct) built with a given name, by the name in lower case
(SageMaker compares endpoint names ignoring case), with the name as given. An endpoint claims its name
once it is built, so the check is one lookup, not a walk of the whole construct tree."""


def check_name_is_free(endpoint: IConstruct, name: str | None, problems: Problems) -> None:
    """A name given twice in one app and environment: the second CreateEndpoint fails mid-deploy.

    Names compare ignoring case, as CreateEndpoint does. Endpoints imported by name never claim one.
    """
    if name is None or is_unresolved(name):
        return
    stack = stack_facts(endpoint).stack
    for other, other_name in _NAMED_ENDPOINTS.get(stack.node.root, {}).get(name.lower(), ()):
        if _same_environment(Stack.of(other), stack):
            shown = "" if other_name == name else f" ({other_name!r})"
            problems.add(
                "endpoint_name",
                name,
                f"is also the name of {other.node.path}{shown}: endpoint names are unique per account and region, "
                "ignoring case",
            )
            return


def claim_name(endpoint: IConstruct, name: str | None) -> None:
    """Record that ``endpoint``, now built, has the given ``name`` (see :func:`check_name_is_free`)."""
    if name is None or is_unresolved(name):
        return
    root = stack_facts(endpoint).stack.node.root
    _NAMED_ENDPOINTS.setdefault(root, {}).setdefault(name.lower(), []).append((endpoint, name))


def _same_environment(first: Stack, second: Stack) -> bool:
    """Whether two stacks certainly deploy to one account and region: the same stack, or both
    environments concrete and equal (agnostic stacks of one app often go to different accounts)."""
    if first is second:
        return True
    pairs = ((first.account, second.account), (first.region, second.region))
    return all(a == b and not is_unresolved(a) for a, b in pairs)
