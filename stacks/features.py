"""Turn the JSON feature settings of the app (context or config file) into construct props.

Each feature class parses its own JSON with ``from_config``, which rejects unknown keys with the
allowed list, so this module only routes keys to parsers.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib import (
    AsyncInference,
    AutoScaling,
    ConfigurationError,
    DataCapture,
    DeploymentGuardrails,
    EndpointAlarms,
    ModelVariant,
    ServerlessInference,
    SizingOptions,
)
from constructs_lib.features.security.token import secret_from_config

from .settings import EndpointSettings


def feature_props(scope: Construct, settings: EndpointSettings) -> dict[str, Any]:
    """The production-feature props ``settings`` asks for (absent keys are left to the defaults)."""
    props: dict[str, Any] = {}
    if settings.instance_selection is not None:
        props["instance_selection"] = sizing_options_from_config(settings.instance_selection)
    if settings.autoscaling is not None:
        props["autoscaling"] = AutoScaling.from_config(settings.autoscaling)
    if settings.async_inference is not None:
        props["async_inference"] = AsyncInference.from_config(settings.async_inference)
    if settings.serverless is not None:
        props["serverless"] = ServerlessInference.from_config(settings.serverless)
    if settings.variants is not None:
        props["variants"] = [ModelVariant.from_config(variant) for variant in settings.variants]
    if settings.data_capture is not None:
        props["data_capture"] = DataCapture.from_config(settings.data_capture)
    if settings.deployment is not None:
        props["deployment"] = DeploymentGuardrails.from_config(settings.deployment)
    # {} means "default thresholds" and false means none: only None and false skip the alarms.
    if settings.alarms is not None and settings.alarms is not False:
        props["alarms"] = EndpointAlarms.from_config(settings.alarms)
    if _flag("dashboard", settings.dashboard):
        props["dashboard"] = True
    if settings.tags:
        props["tags"] = dict(settings.tags)
    if settings.hf_token_secret:
        props["hf_token_secret"] = secret_from_config(scope, settings.hf_token_secret)
    if settings.encryption_key_arn:
        props["encryption_key"] = kms.Key.from_key_arn(scope, "EncryptionKey", settings.encryption_key_arn)
    if _flag("network_isolation", settings.network_isolation):
        props["network_isolation"] = True
    return props


def _flag(key: str, value: Any) -> bool:
    """A JSON boolean: 1, "yes" or {} must not quietly turn a feature on (or off)."""
    if not isinstance(value, bool):
        raise ConfigurationError(f"context: {key} {value!r} must be true or false")
    return value


def sizing_options_from_config(data: Any) -> SizingOptions:
    allowed = [f.name for f in fields(SizingOptions)]
    if not isinstance(data, dict) or set(data) - set(allowed):
        unknown = sorted(set(data) - set(allowed)) if isinstance(data, dict) else data
        raise ConfigurationError(f"instance_selection: {unknown!r} not allowed; allowed keys: {', '.join(allowed)}")
    return SizingOptions(**data)
