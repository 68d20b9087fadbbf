"""What to deploy, read from CDK context (``-c key=value``) or from a JSON file named in context.

Every key is documented in the README ("Context keys"). Unknown keys and bad values fail the
synth with a message naming the key, so a typo never deploys a default model.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from constructs import Node

from constructs_lib import ConfigurationError
from constructs_lib._core.hf_token import looks_like_hf_token

from .shared_settings import ENDPOINT_KEYS as SHARED_ENDPOINT_KEYS
from .shared_settings import KIND as COMPONENTS_KIND
from .shared_settings import SharedEndpointSettings, shared_endpoint_settings

KINDS = ("hub", "fine-tuned", "custom-script", COMPONENTS_KIND)
# What each kind cannot do without (custom scripts also need model_data or model_id: the
# construct itself says so).
_REQUIRED_KEYS = {"hub": ("model_id",), "fine-tuned": ("model_data",), "custom-script": ("code_dir",)}


@dataclass(frozen=True)
class EndpointSettings:
    """One endpoint of the app, as the user described it."""

    kind: str = "hub"
    """``hub``, ``fine-tuned`` or ``custom-script``; inferred from the other keys when omitted."""
    stack_name: str = "HuggingFaceEndpoint"
    model_id: str | None = None
    task: str | None = None
    revision: str | None = None
    model_data: str | None = None
    code_dir: str | None = None
    entry_point: str = "inference.py"
    instance_type: str | None = None
    instance_count: int = 1
    serving: str = "auto"
    endpoint_name: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    engine_args: Mapping[str, Any] | None = None
    """Server flags (vLLM, SGLang, llama.cpp), as a JSON object: ``{"max_num_seqs": 64, "jinja": true}``."""
    inference_ami_version: str | None = None
    gguf_file: str | None = None
    """The GGUF file llama.cpp serves (a quantization), when the model holds several."""
    # Production features, as JSON (see stacks/features.py and the README):
    instance_selection: Mapping[str, Any] | None = None
    autoscaling: Mapping[str, Any] | None = None
    async_inference: Mapping[str, Any] | None = None
    serverless: Mapping[str, Any] | None = None
    variants: Sequence[Mapping[str, Any]] | None = None
    data_capture: Mapping[str, Any] | None = None
    deployment: Mapping[str, Any] | None = None
    alarms: bool | Mapping[str, Any] | None = None
    dashboard: bool = False
    tags: Mapping[str, str] | None = None
    hf_token_secret: str | None = None
    encryption_key_arn: str | None = None
    network_isolation: bool = False


# Keys whose value is JSON (an object, a list or a boolean); from `-c key=value` they arrive as text.
JSON_KEYS = frozenset(
    {
        "environment", "engine_args", "instance_selection", "autoscaling", "async_inference", "serverless", "variants",
        "data_capture", "deployment", "alarms", "dashboard", "tags", "network_isolation",
    }
)  # fmt: skip

SETTING_KEYS = tuple(f.name for f in fields(EndpointSettings))
# Context keys the app reads itself; CDK's own context (feature flags, lookups) is ignored.
_CONTEXT_SETTING_KEYS = (*SETTING_KEYS, *(k for k in SHARED_ENDPOINT_KEYS if k not in SETTING_KEYS))
"""Keys that describe an endpoint or a shared endpoint (``kind`` says which)."""
APP_KEYS = (*_CONTEXT_SETTING_KEYS, "config", "bootstrap_version_rule")
# CDK's own context keys (feature flags, lookups, CLI settings) contain ':', '@' or '/'; these few
# do not, and are CDK's too.
_CDK_PLAIN_KEYS = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})
_CDK_KEY_MARKERS = re.compile(r"[:@/]")
# Keys that mean nothing for a kind: silently dropping them would deploy something else.
_FOREIGN_KEYS = {
    "hub": ("model_data", "code_dir"),
    "fine-tuned": ("model_id", "revision", "code_dir"),
    "custom-script": (),
}


def settings_from_context(node: Node) -> list[EndpointSettings | SharedEndpointSettings]:
    """The endpoints requested through context, or an empty list when none were requested."""
    context = node.get_all_context()
    unknown = sorted(k for k in context if not _CDK_KEY_MARKERS.search(k) and k not in (*APP_KEYS, *_CDK_PLAIN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"context: unknown key(s) {_with_suggestions(unknown)}; allowed: {', '.join(APP_KEYS)}"
        )
    config_file = node.try_get_context("config")
    if config_file:
        alongside = sorted(k for k in _CONTEXT_SETTING_KEYS if context.get(k) is not None)
        if alongside:
            raise ConfigurationError(
                f"context: {alongside} given together with config={config_file!r}; the config file describes "
                "every endpoint: put them in the file instead"
            )
        return _settings_from_file(Path(config_file))
    values = {key: node.try_get_context(key) for key in _CONTEXT_SETTING_KEYS}
    values = {key: value for key, value in values.items() if value is not None}
    if not (values.keys() & {"model_id", "model_data", "code_dir", "components"}):
        if values:
            raise ConfigurationError(
                f"context: {sorted(values)} given without a model; add -c model_id=... (Hub model), "
                "-c model_data=... (your model), -c code_dir=... (custom script) or -c kind=components with "
                "-c components='[...]' (a shared endpoint)"
            )
        return []
    return [_settings(values, source="context")]


def _settings_from_file(path: Path) -> list[EndpointSettings | SharedEndpointSettings]:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise ConfigurationError(f"config: {str(path)!r} cannot be read: {error.strerror}") from error
    except ValueError as error:
        raise ConfigurationError(f"config: {str(path)!r} is not valid JSON: {error}") from error
    entries = document.get("endpoints", [document]) if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ConfigurationError(f'config: {str(path)!r} must hold an endpoint object or {{"endpoints": [objects]}}')
    if isinstance(document, dict) and "endpoints" in document and len(document) > 1:
        beside = sorted(set(document) - {"endpoints"})
        raise ConfigurationError(
            f'config: {str(path)!r} has {beside} next to "endpoints", where nothing reads them; '
            "put them in each endpoint object"
        )
    settings = [_settings(entry, source=f"{path} endpoint {index}") for index, entry in enumerate(entries)]
    for attribute in ("stack_name", "endpoint_name"):
        names = [getattr(s, attribute) for s in settings if getattr(s, attribute) is not None]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigurationError(
                f"config: {attribute} {duplicates} used by more than one endpoint; names must differ"
            )
    return settings


def _with_suggestions(keys: list[str]) -> str:
    """``['modelId' (did you mean 'model_id'?)]``: the app key a misspelt one most resembles."""
    rendered = []
    for key in keys:
        normalised = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower().replace("-", "_")
        close = difflib.get_close_matches(normalised, APP_KEYS, n=1, cutoff=0.75)
        rendered.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    return "[" + ", ".join(rendered) + "]"


def _settings(values: Mapping[str, Any], *, source: str) -> EndpointSettings | SharedEndpointSettings:
    if values.get("kind") == COMPONENTS_KIND:
        return _shared_settings(values, source=source)
    unknown = sorted(set(values) - set(SETTING_KEYS))
    if unknown:
        raise ConfigurationError(f"{source}: unknown key(s) {unknown}; allowed: {', '.join(SETTING_KEYS)}")
    converted = {key: _from_json(key, value, source) if key in JSON_KEYS else value for key, value in values.items()}
    if "instance_count" in converted:
        converted["instance_count"] = _as_int("instance_count", converted["instance_count"], source)
    if "environment" in converted:
        converted["environment"] = _as_mapping("environment", converted["environment"], source)
    if "engine_args" in converted:
        converted["engine_args"] = _as_mapping("engine_args", converted["engine_args"], source)
    converted.setdefault("kind", _infer_kind(converted))
    if converted["kind"] not in KINDS:
        raise ConfigurationError(f"{source}: kind {converted['kind']!r} is not one of {', '.join(KINDS)}")
    required = _REQUIRED_KEYS[converted["kind"]]
    if not any(converted.get(key) for key in required):
        raise ConfigurationError(f"{source}: kind {converted['kind']!r} needs {' or '.join(required)}")
    if converted.get("entry_point") is not None and not converted.get("code_dir"):
        # Without code_dir the endpoint is a Hub or fine-tuned one, which would never run the script.
        raise ConfigurationError(
            f"{source}: entry_point {converted['entry_point']!r} needs code_dir, the directory that holds it"
        )
    foreign = [key for key in _FOREIGN_KEYS[converted["kind"]] if converted.get(key) is not None]
    if foreign:
        raise ConfigurationError(f"{source}: {foreign} do not apply to kind {converted['kind']!r}")
    _check_stack_name(converted.get("stack_name"), source)
    _check_key_arn(converted.get("encryption_key_arn"), source)
    secret = converted.get("hf_token_secret")
    if looks_like_hf_token(secret):  # a value that must never be a secret's *name*
        raise ConfigurationError(
            f"{source}: hf_token_secret 'hf_***' looks like a Hugging Face token; give the name or ARN of a "
            "Secrets Manager secret that holds it (the token itself would end up in the template)"
        )
    return EndpointSettings(**converted)


def _shared_settings(values: Mapping[str, Any], *, source: str) -> SharedEndpointSettings:
    """A shared endpoint (``"kind": "components"``): its JSON keys decoded, its names checked like an endpoint's."""
    converted = {
        key: _from_json(key, value, source) if key in _SHARED_JSON_KEYS else value for key, value in values.items()
    }
    converted.setdefault("stack_name", EndpointSettings.stack_name)
    _check_stack_name(converted.get("stack_name"), source)
    _check_key_arn(converted.get("encryption_key_arn"), source)
    return shared_endpoint_settings(converted, source)


_SHARED_JSON_KEYS = frozenset({"components", "adapters", "scale_in", "tags", "min_instances", "max_instances"})
"""A shared endpoint's keys whose value is JSON (from ``-c key=value`` they arrive as text)."""


# CloudFormation's rule for stack names (the CDK checks it too, but with a message that names no key).
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
# kms.Key.from_key_arn needs the key itself: grants on an alias ARN grant nothing.
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def _check_stack_name(name: Any, source: str) -> None:
    if name is not None and (not isinstance(name, str) or not _STACK_NAME.match(name)):
        raise ConfigurationError(
            f"{source}: stack_name {name!r} is not a CloudFormation stack name: 1-128 letters, digits and hyphens, "
            "starting with a letter"
        )


def _check_key_arn(arn: Any, source: str) -> None:
    # "" (`-c encryption_key_arn=`) means no key, as it always has.
    if arn is None or arn == "" or (isinstance(arn, str) and _KMS_KEY_ARN.match(arn)):
        return
    hint = " (an alias ARN names no key to grant on; give the key's ARN)" if ":alias/" in str(arn) else ""
    raise ConfigurationError(
        f"{source}: encryption_key_arn {arn!r} is not a KMS key ARN{hint}; expected "
        "arn:aws:kms:<region>:<account>:key/<key-id>"
    )


def _infer_kind(values: Mapping[str, Any]) -> str:
    if values.get("code_dir"):
        return "custom-script"
    return "fine-tuned" if values.get("model_data") else "hub"


def _as_int(key: str, value: Any, source: str) -> int:
    # Whole numbers only: 2.7 or true must not quietly become 2 or 1 instances.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    raise ConfigurationError(f"{source}: {key} {value!r} is not a whole number")


def _from_json(key: str, value: Any, source: str) -> Any:
    """Decode a JSON key given as text on the command line (`-c autoscaling='{"max_capacity": 4}'`)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ConfigurationError(f"{source}: {key} {value!r} is not valid JSON") from None


def _as_mapping(key: str, value: Any, source: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigurationError(f"{source}: {key} must be a JSON object")
    # Values go to the construct as given: it rejects the ones it cannot use.
    return {str(k): v for k, v in value.items()}
