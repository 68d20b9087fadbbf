"""Generated props never crash the endpoint constructs: every draw synthesizes, or raises a ConfigurationError that
names a prop drawn. The draws mix good and bad values of every prop, unknown props, conflicting combinations
(serverless with instances, TGI on CPUs, shadow variants with async...) and tokens where literals are expected.

Lookups stay offline: the models drawn are in the committed caches, or are ids the Hub lookup (pointed at a closed
loopback port) cannot find.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from constructs_lib import CustomScriptEndpoint, FineTunedEndpoint, HubModelEndpoint

from ..support import MODEL_FN_SCRIPT, TUNED_URI, write_bert_model_dir, write_script
from .profiles import examples
from .strategies import HUB_MODELS, TASKS, Maker, either, endpoint_props, kwargs_of
from .support import builds_or_names_a_prop, new_app_stack

REGIONS = st.sampled_from(["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", None])
"""Concrete regions of each partition, and environment-agnostic stacks."""


@pytest.fixture(scope="module")
def local_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A local model directory and a script directory the draws may name."""
    root = tmp_path_factory.mktemp("drawn")
    return {"model": write_bert_model_dir(root), "code": write_script(root / "code", MODEL_FN_SCRIPT)}


def _props() -> st.SearchStrategy[dict[str, Maker]]:
    """Any props at once, or a few (which get past the first checks and into sizing, images and features)."""
    props = endpoint_props()
    few = st.lists(st.sampled_from(sorted(props)), max_size=3, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: props[name] for name in names})
    )
    return st.one_of(few, few, kwargs_of(props, max_unknown=1))


def _build(cls: type, region: str | None, fixed: dict[str, Maker], props: dict[str, Maker]) -> None:
    app, stack = new_app_stack(region)
    values: dict[str, Any] = {}

    def build() -> None:
        values.update({name: maker.build(stack) for name, maker in {**fixed, **props}.items()})
        cls(stack, "Endpoint", **values)

    # An image factory's own error names its parameter (InferenceImage.tgi: version: ...); a missing model
    # source names both (model_data / model_id).
    # Settings objects name their own fields (EndpointAlarms: period: ...).
    nested = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", repr(props))
    names = [*fixed, *props, *nested, "version", "serving", "model_data", "model_id", "schedules"]
    builds_or_names_a_prop(build, names, synthesize=app)


@examples("endpoint")
@given(region=REGIONS, model_id=either(HUB_MODELS), task=either(TASKS), props=_props())
def test_hub_model_endpoint(region: str | None, model_id: Maker, task: Maker, props: dict[str, Maker]) -> None:
    _build(HubModelEndpoint, region, {"model_id": model_id, "task": task}, props)


def _model_data(local: dict[str, Path]) -> st.SearchStrategy[Maker]:
    return either(
        st.sampled_from(
            [
                TUNED_URI,
                "s3://my-bucket/llm/",
                "s3://my-bucket/x.zip",
                "s3://UPPER/model.tar.gz",
                "s3://b//k.tar.gz",
                "./does-not-exist",
                str(local["model"]),
                str(local["code"]),
            ]
        )
    )


@examples("endpoint")
@given(data=st.data(), region=REGIONS, task=either(TASKS), props=_props())
def test_fine_tuned_endpoint(
    local_files: dict[str, Path], data: st.DataObject, region: str | None, task: Maker, props: dict[str, Maker]
) -> None:
    model_data = data.draw(_model_data(local_files), label="model_data")
    _build(FineTunedEndpoint, region, {"model_data": model_data, "task": task}, props)


@examples("endpoint")
@given(data=st.data(), region=REGIONS, props=_props())
def test_custom_script_endpoint(
    local_files: dict[str, Path], data: st.DataObject, region: str | None, props: dict[str, Maker]
) -> None:
    code_dir = data.draw(
        either(st.sampled_from([str(local_files["code"]), str(local_files["model"]), "./missing"])), label="code_dir"
    )
    fixed: dict[str, Maker] = {"code_dir": code_dir}
    source = data.draw(
        kwargs_of(
            {
                "model_data": _model_data(local_files),
                "model_id": either(HUB_MODELS),
                "task": either(TASKS),
                "revision": either(st.sampled_from(["main", "a" * 40, "", "v1.0"])),
                "entry_point": either(st.sampled_from(["inference.py", "serve.py", "dir/x.py", "x.txt"])),
            }
        ),
        label="script props",
    )
    _build(CustomScriptEndpoint, region, {**fixed, **source}, props)


def test_the_strategies_also_draw_endpoints_that_build() -> None:
    """A property test that only ever draws errors proves little: the same strategies find draws that build and
    synthesize, with several props set."""

    def builds(drawn: tuple[Maker, Maker, dict[str, Maker]]) -> bool:
        model_id, task, props = drawn
        if len(props) < 2:
            return False
        app, stack = new_app_stack("us-east-1")
        values = {"model_id": model_id, "task": task, **props}
        return builds_or_names_a_prop(
            lambda: HubModelEndpoint(stack, "Endpoint", **{k: v.build(stack) for k, v in values.items()}),
            list(values),
            synthesize=app,
        )

    found = find(st.tuples(either(HUB_MODELS), either(TASKS), _props()), builds, settings=settings(max_examples=2000))
    assert len(found[2]) >= 2
