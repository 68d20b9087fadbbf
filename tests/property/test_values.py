"""Generated settings never crash the value classes: built from keyword arguments (right and wrong types, out of
range, tokens) or read from JSON with ``from_config`` (unknown keys, any JSON in place of a setting), each draw gives
a value or a ConfigurationError that names a setting."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from constructs_lib import (
    AsyncInference,
    AutoScaling,
    DataCapture,
    DeploymentGuardrails,
    EndpointAlarms,
    ModelProfile,
    ModelVariant,
    ServerlessInference,
)
from stacks.features import sizing_options_from_config

from . import strategies as drawn
from .json_strategies import CONFIGS, JSON_JUNK
from .profiles import examples
from .strategies import Maker
from .support import builds_or_names_a_prop, new_app_stack

VALUE_CLASSES: dict[str, Callable[[], st.SearchStrategy[Maker]]] = {
    "ModelProfile": drawn.profiles,
    "SizingOptions": drawn.sizing_options,
    "ServerlessInference": drawn.serverless,
    "AsyncInference": drawn.async_inference,
    "AutoScaling": drawn.autoscaling,
    "DataCapture": drawn.data_capture,
    "DeploymentGuardrails": drawn.deployment,
    "EndpointAlarms": drawn.alarms,
    "ModelVariant": drawn.variants,
}
"""Each value class, and the strategy that draws its keyword arguments."""


def _names_of(maker: Maker) -> list[str]:
    """What a message may name for a drawn value: the keyword arguments drawn (``AutoScaling(max_capacity=...)``),
    the prop each class is given as, and the parameters of the image factories (``InferenceImage.tgi(version)``)."""
    drawn_keywords = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", repr(maker))
    props = ["model_profile", "instance_selection", "serverless", "async_inference", "autoscaling", "data_capture",
             "deployment", "alarms", "variants", "schedules"]  # fmt: skip
    return [*drawn_keywords, *props, "name", "version", "serving", "image"]


@pytest.mark.parametrize("name", sorted(VALUE_CLASSES))
def test_keyword_arguments(name: str) -> None:
    @examples("value")
    @given(maker=VALUE_CLASSES[name]())
    def check(maker: Maker) -> None:
        _app, stack = new_app_stack("us-east-1")
        builds_or_names_a_prop(lambda: maker.build(stack), _names_of(maker))

    check()


FROM_CONFIG: dict[str, Callable[[Any], Any]] = {
    "async_inference": AsyncInference.from_config,
    "autoscaling": AutoScaling.from_config,
    "serverless": ServerlessInference.from_config,
    "data_capture": DataCapture.from_config,
    "deployment": DeploymentGuardrails.from_config,
    "alarms": EndpointAlarms.from_config,
    "variants": lambda data: (
        [ModelVariant.from_config(item) for item in data] if isinstance(data, list) else ModelVariant.from_config(data)
    ),
    "instance_selection": sizing_options_from_config,
    "model_profile": ModelProfile.from_json,
}
"""How the app reads each feature's JSON (``from_config``), and a profile's cache entry (``from_json``)."""


@pytest.mark.parametrize("key", sorted(FROM_CONFIG))
def test_from_config(key: str) -> None:
    strategy = CONFIGS.get(key, st.dictionaries(st.sampled_from(["parameters", "dtype", "task", "x"]), JSON_JUNK))

    @examples("value")
    @given(data=st.one_of(strategy, JSON_JUNK))
    def check(data: Any) -> None:
        keys = list(data) if isinstance(data, dict) else []
        if isinstance(data, list):
            keys = [k for item in data if isinstance(item, dict) for k in item]
        builds_or_names_a_prop(lambda: FROM_CONFIG[key](data), [*keys, key, "name", "config", "schedules", "type"])

    check()
