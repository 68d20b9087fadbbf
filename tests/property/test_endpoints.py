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

from .._tiny_gguf import llama_gguf, write_gguf_directory
from ..support import MODEL_FN_SCRIPT, SST2, TUNED_URI, write_bert_model_dir, write_script
from .profiles import examples
from .strategies import HUB_MODELS, MODELS_AND_TASKS, TASKS, Maker, either, endpoint_props, kwargs_of, literal
from .support import builds_or_names_a_prop, new_app_stack

REGIONS = st.sampled_from(["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", None])
"""Concrete regions of each partition, and environment-agnostic stacks."""


@pytest.fixture(scope="module")
def local_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A local model directory, a directory of two GGUF models and a script directory the draws may name."""
    root = tmp_path_factory.mktemp("drawn")
    tiny = llama_gguf(layers=4, embedding=64)
    gguf = write_gguf_directory(root / "gguf", {"model-Q4_K_M.gguf": tiny, "model-Q8_0.gguf": tiny})
    return {"model": write_bert_model_dir(root), "code": write_script(root / "code", MODEL_FN_SCRIPT), "gguf": gguf}


def _props() -> st.SearchStrategy[dict[str, Maker]]:
    """Any props at once, or a few (which get past the first checks and into sizing, images and features)."""
    props = endpoint_props()
    few = st.lists(st.sampled_from(sorted(props)), max_size=3, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: props[name] for name in names})
    )
    return st.one_of(few, few, kwargs_of(props, max_unknown=1))


def _build(cls: type, region: str | None, fixed: dict[str, Maker], props: dict[str, Maker]) -> bool:
    """Build ``cls`` from the drawn props in a fresh stack of ``region`` and synthesize it; whether it built."""
    app, stack = new_app_stack(region)
    values = {**fixed, **props}

    def build() -> None:
        cls(stack, "Endpoint", **{name: maker.build(stack) for name, maker in values.items()})

    # An image factory's own error names its parameter (InferenceImage.tgi: version: ...); a missing model
    # source names both (model_data / model_id).
    # Settings objects name their own fields (EndpointAlarms: period: ...). When no instance can hold the model,
    # the automatic pick's error names instance_type, the prop it fills, drawn or not; gguf_file likewise when a
    # model holds several GGUF models.
    nested = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", repr(values))
    names = [
        *values,
        *nested,
        "version",
        "serving",
        "model_data",
        "model_id",
        "schedules",
        "instance_type",
        "gguf_file",
    ]
    return builds_or_names_a_prop(build, names, synthesize=app)


def _model_and_task() -> st.SearchStrategy[dict[str, Maker]]:
    """Half the time a cached model and a task it serves, else any model id and any task (or none)."""
    served = MODELS_AND_TASKS.map(
        lambda pair: {"model_id": literal(pair[0]), **({"task": literal(pair[1])} if pair[1] else {})}
    )
    return st.one_of(served, st.fixed_dictionaries({"model_id": either(HUB_MODELS), "task": either(TASKS)}))


@examples("endpoint")
@given(region=REGIONS, model=_model_and_task(), props=_props())
def test_hub_model_endpoint(region: str | None, model: dict[str, Maker], props: dict[str, Maker]) -> None:
    _build(HubModelEndpoint, region, model, props)


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
                str(local["gguf"]),
            ]
        )
    )


def _served(choices: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Maker]]:
    """Props that build on their own (a model, a task it serves, an instance where nothing sizes it)."""
    return st.sampled_from(choices).map(lambda props: {name: literal(value) for name, value in props.items()})


def _fine_tuned_sources(local: dict[str, Path]) -> st.SearchStrategy[dict[str, Maker]]:
    """Half the time a model that builds, else any model_data and any task."""
    served = _served(
        [
            {"model_data": TUNED_URI, "task": "text-classification", "instance_type": "ml.g5.xlarge"},
            {"model_data": "s3://my-bucket/llm/", "task": "text-generation", "instance_type": "ml.g6e.xlarge"},
            {"model_data": str(local["model"]), "task": "text-classification"},
            {"model_data": str(local["gguf"]), "gguf_file": "model-Q4_K_M.gguf"},
        ]
    )
    drawn = st.fixed_dictionaries({"model_data": _model_data(local), "task": either(TASKS)})
    return st.one_of(served, drawn)


@examples("endpoint")
@given(data=st.data(), region=REGIONS, props=_props())
def test_fine_tuned_endpoint(
    local_files: dict[str, Path], data: st.DataObject, region: str | None, props: dict[str, Maker]
) -> None:
    source = data.draw(_fine_tuned_sources(local_files), label="model")
    _build(FineTunedEndpoint, region, source, props)


def _script_sources(local: dict[str, Path]) -> st.SearchStrategy[dict[str, Maker]]:
    """Half the time a script and a model that build, else any code_dir, source and script props."""
    code = str(local["code"])
    served = _served(
        [
            {"code_dir": code, "model_id": SST2},
            {"code_dir": code, "model_id": SST2, "task": "text-classification"},
            {"code_dir": code, "model_data": TUNED_URI, "instance_type": "ml.g5.xlarge"},
            {"code_dir": code, "model_data": str(local["model"])},
        ]
    )
    code_dir = either(st.sampled_from([code, str(local["model"]), "./missing"]))
    script = {
        "model_data": _model_data(local),
        "model_id": either(HUB_MODELS),
        "task": either(TASKS),
        "revision": either(st.sampled_from(["main", "a" * 40, "", "v1.0"])),
        "entry_point": either(st.sampled_from(["inference.py", "serve.py", "dir/x.py", "x.txt"])),
    }
    drawn = st.tuples(code_dir, kwargs_of(script)).map(lambda d: {"code_dir": d[0], **d[1]})
    return st.one_of(served, drawn)


@examples("endpoint")
@given(data=st.data(), region=REGIONS, props=_props())
def test_custom_script_endpoint(
    local_files: dict[str, Path], data: st.DataObject, region: str | None, props: dict[str, Maker]
) -> None:
    source = data.draw(_script_sources(local_files), label="script and model")
    _build(CustomScriptEndpoint, region, source, props)


def test_the_strategies_also_draw_endpoints_that_build() -> None:
    """A property test that only ever draws errors proves little: the same strategies find draws that build and
    synthesize with three props or more set besides the model (``--hypothesis-show-statistics`` shows the share
    of draws that build in each test)."""

    def builds(drawn: tuple[dict[str, Maker], dict[str, Maker]]) -> bool:
        model, props = drawn
        return len(props) >= 3 and _build(HubModelEndpoint, "us-east-1", model, props)

    found = find(st.tuples(_model_and_task(), _props()), builds, settings=settings(max_examples=2000))
    assert len(found[1]) >= 3
