"""The settings of a shared endpoint: several models (and LoRA adapters) as inference components on one endpoint.

A config file describes it as ``{"stack_name": ..., "kind": "components", "instance_type": ..., "components":
[{"name": "Chat", "model_id": ...}, ...], "adapters": [{"name": "Sql", "base": "Chat", "adapter_data": ...}]}``
(see the README). Every key is checked here, naming the key, the component and what is allowed; the constructs
check the values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from constructs_lib import ConfigurationError
from constructs_lib._core.errors import allowed_list, check_config_keys, describe

KIND = "components"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")


@dataclass(frozen=True)
class ComponentSettings:
    """One model of a shared endpoint, as the config file describes it (``add_model``'s arguments)."""

    name: str
    model_id: str | None = None
    model_data: str | None = None
    code_dir: str | None = None
    entry_point: str | None = None
    task: str | None = None
    revision: str | None = None
    serving: str = "auto"
    environment: Mapping[str, str] | None = None
    engine_args: Mapping[str, Any] | None = None
    hf_token_secret: str | None = None
    copies: int = 1
    accelerators: int | None = None
    memory_mb: int | None = None
    cpu_cores: float | None = None
    autoscaling: Mapping[str, Any] | None = None
    deployment: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AdapterSettings:
    """One LoRA adapter of a shared endpoint's component."""

    name: str
    base: str
    adapter_data: str


@dataclass(frozen=True)
class SharedEndpointSettings:
    """A shared endpoint of the app (``"kind": "components"``)."""

    stack_name: str
    components: tuple[ComponentSettings, ...]
    kind: str = KIND
    instance_type: str | None = None
    min_instances: int = 1
    max_instances: int | None = None
    routing: str = "least_outstanding_requests"
    scale_in: Mapping[str, Any] | None = None
    endpoint_name: str | None = None
    tags: Mapping[str, str] | None = None
    encryption_key_arn: str | None = None
    adapters: tuple[AdapterSettings, ...] = field(default=())


ENDPOINT_KEYS = tuple(f.name for f in fields(SharedEndpointSettings))
COMPONENT_KEYS = tuple(f.name for f in fields(ComponentSettings))
ADAPTER_KEYS = tuple(f.name for f in fields(AdapterSettings))


def shared_endpoint_settings(values: Mapping[str, Any], source: str) -> SharedEndpointSettings:
    """The shared endpoint ``values`` describe (a config file's object, JSON keys decoded).

    :raises ConfigurationError: naming ``source``, the key and what is allowed.
    """
    check_config_keys(f"{source} (kind 'components')", values, ENDPOINT_KEYS)
    components = _list_of(values, "components", source, required=True)
    parsed = tuple(_component(item, f"{source} components[{index}]") for index, item in enumerate(components))
    adapters = tuple(
        _adapter(item, f"{source} adapters[{index}]")
        for index, item in enumerate(_list_of(values, "adapters", source, required=False))
    )
    _check_names(parsed, adapters, source)
    for key in ("min_instances", "max_instances"):
        if values.get(key) is not None and not _whole(values[key]):
            raise ConfigurationError(f"{source}: {key} {describe(values[key])} is not a whole number")
    rest = {k: v for k, v in values.items() if k not in ("components", "adapters")}
    return SharedEndpointSettings(**rest, components=parsed, adapters=adapters)


def _list_of(values: Mapping[str, Any], key: str, source: str, *, required: bool) -> Sequence[Any]:
    items = values.get(key)
    if items is None and not required:
        return ()
    if not isinstance(items, list) or (required and not items):
        what = "a non-empty list of component objects" if required else "a list of adapter objects"
        raise ConfigurationError(f"{source}: {key} {describe(items)} must be {what}")
    return items


def _component(item: Any, source: str) -> ComponentSettings:
    check_config_keys(source, item, COMPONENT_KEYS)
    for key in ("name",):
        if key not in item:
            raise ConfigurationError(f"{source}: {key} is required")
    for key in ("copies", "accelerators", "memory_mb"):
        if item.get(key) is not None and not _whole(item[key]):
            raise ConfigurationError(f"{source}: {key} {describe(item[key])} is not a whole number")
    for key in ("environment", "engine_args", "autoscaling", "deployment"):
        if item.get(key) is not None and not isinstance(item[key], dict):
            raise ConfigurationError(f"{source}: {key} must be a JSON object")
    return ComponentSettings(**item)


def _adapter(item: Any, source: str) -> AdapterSettings:
    check_config_keys(source, item, ADAPTER_KEYS)
    missing = [key for key in ADAPTER_KEYS if not item.get(key)]
    if missing:
        raise ConfigurationError(f"{source}: {', '.join(missing)} required")
    return AdapterSettings(**item)


def _check_names(components: Sequence[ComponentSettings], adapters: Sequence[AdapterSettings], source: str) -> None:
    names = [c.name for c in components] + [a.name for a in adapters]
    for name in names:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError(
                f"{source}: name {describe(name)} is not a component name: 1-63 letters and digits, starting with a "
                "letter (it names the construct and the stack's outputs)"
            )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"{source}: name {duplicates} used by more than one component; names must differ")
    models = {c.name for c in components}
    for adapter in adapters:
        if adapter.base not in models:
            raise ConfigurationError(
                f"{source}: adapter {adapter.name!r}: base {adapter.base!r} is not a component of the endpoint; "
                f"allowed: {allowed_list(models)}"
            )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
