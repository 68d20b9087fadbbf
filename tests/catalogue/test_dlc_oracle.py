"""The oracle: every image URI the library renders equals ``sagemaker.core.image_uris.retrieve``'s.

For every family x version (x PyTorch version) x processor x region of the shipped catalogue, the serving
stack that runs the family resolves the image, and ``images.regions.image_location`` renders its URI for a
stack in that region: the path an endpoint takes. ``sagemaker-core`` is a dev dependency only.

Quirks of ``retrieve`` as an oracle (llm-serving-2026.md, section 2): ``huggingface-vllm-neuronx`` fails with
an ``ml.inf2.*`` instance type ("Unsupported processor: inf"), so it is asked without one. ``retrieve`` reads
botocore's endpoint data and the family's config file on every call; the module fixture reads each once, which
changes no answer and makes the 3000+ calls take seconds instead of minutes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sagemaker.core import common_utils, image_uris

from constructs_lib import Serving
from constructs_lib._core.stack_facts import StackFacts
from constructs_lib.catalogue import dlc
from constructs_lib.catalogue.instances import Processor
from constructs_lib.images.regions import image_location
from constructs_lib.serving.facts import ImageRequest
from constructs_lib.serving.registry import stack_of

INSTANCE_TYPES = {"gpu": "ml.g5.xlarge", "cpu": "ml.m5.xlarge", "neuronx": "ml.inf2.xlarge"}
TOOLKIT_FAMILIES = ("huggingface", "huggingface-neuronx")
STACK_OF_FAMILY = {
    "huggingface": Serving.INFERENCE_TOOLKIT,
    "huggingface-neuronx": Serving.INFERENCE_TOOLKIT,
    "huggingface-llm": Serving.TGI,
    "huggingface-tei": Serving.TEI,
    "huggingface-tei-cpu": Serving.TEI,
    "huggingface-vllm": Serving.VLLM,
    "huggingface-vllm-neuronx": Serving.VLLM,  # vLLM on neuronx instances is the vLLM Neuron image
    "huggingface-sglang": Serving.SGLANG,
    "huggingface-llamacpp": Serving.LLAMACPP,
}
"""The serving stack that renders each family (every catalogued family has one)."""


@dataclass(frozen=True)
class Case:
    family: str
    version: str
    pytorch: str | None
    processor: str
    py: str | None


def cases() -> Iterator[Case]:
    for family, data in sorted(dlc.catalogue()["families"].items()):
        for version, entry in sorted(data["versions"].items()):
            bases = entry["pytorch"] if family in TOOLKIT_FAMILIES else {None: entry}
            for pytorch, base in sorted(bases.items(), key=lambda item: str(item[0])):
                for processor, image in sorted(base["images"].items()):
                    yield Case(family, version, pytorch, processor, image["py"])


def _facts(region: str) -> StackFacts:
    """What ``image_location`` reads of a stack deployed to ``region`` (no App: thousands of cases)."""
    facts = StackFacts.__new__(StackFacts)
    facts.region, facts.account, facts.account_mappings, facts.nag_names = region, "123456789012", {}, {}
    facts.partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov") else "aws"
    return facts


def _ours(case: Case) -> dlc.ResolvedImage:
    serving = STACK_OF_FAMILY[case.family]
    request = ImageRequest(version=case.version, base_version=case.pytorch)
    return stack_of(serving).resolve_image(request, Processor(case.processor), f"{case.family} test")


def _retrieve(case: Case, region: str) -> str:
    args: dict[str, Any] = {"framework": case.family, "version": case.version, "py_version": case.py}
    if case.family in TOOLKIT_FAMILIES:
        args.update(framework="huggingface", base_framework_version=f"pytorch{case.pytorch}")
        if case.family == "huggingface-neuronx":
            args["inference_tool"] = "neuronx"
    if case.family != "huggingface-vllm-neuronx":
        args["instance_type"] = INSTANCE_TYPES[case.processor]
    uri: str = image_uris.retrieve(region=region, image_scope="inference", **args)
    return uri


ALL_CASES = list(cases())


@pytest.fixture(scope="module", autouse=True)
def _sdk_reads_its_files_once() -> Iterator[None]:
    resolver, config = common_utils._botocore_resolver, image_uris.config_for_framework
    common_utils._botocore_resolver = functools.cache(resolver)
    image_uris.config_for_framework = functools.cache(config)
    try:
        yield
    finally:
        common_utils._botocore_resolver, image_uris.config_for_framework = resolver, config


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.family}-{c.version}-{c.pytorch or ''}-{c.processor}")
def test_every_region_of_every_image_matches_the_sdk(case: Case) -> None:
    image = _ours(case)
    assert image.regions, "an image without regions"
    mismatches = []
    for region in image.regions:
        uri, _ = image_location(_facts(region), image)
        expected = _retrieve(case, region)
        if uri != expected:
            mismatches.append(f"{region}: {uri} != {expected}")
    assert mismatches == []


def test_the_oracle_covers_every_family_the_issue_names() -> None:
    families = {case.family for case in ALL_CASES}
    assert {
        "huggingface",
        "huggingface-neuronx",
        "huggingface-llm",
        "huggingface-tei",
        "huggingface-tei-cpu",
        "huggingface-vllm",
        "huggingface-sglang",
        "huggingface-llamacpp",
        "huggingface-vllm-neuronx",
    } <= families
    regions = sum(len(_ours(case).regions) for case in ALL_CASES)
    assert regions > 3000  # every family x version x processor x region, not a sample


def test_the_catalogue_covers_every_inference_image_of_the_sdk() -> None:
    """No version, processor or region of the SDK's configs is missing from the catalogue."""
    processor_names = {"inf": "neuronx"}
    missing = []
    for family in dlc.catalogue()["families"]:
        scope = image_uris.config_for_framework(family)["inference"]
        for version, config in scope["versions"].items():
            entries = (
                [(key.removeprefix("pytorch"), e) for key, e in config.items() if key.startswith("pytorch")]
                if family in TOOLKIT_FAMILIES
                else [(None, config)]
            )
            for pytorch, entry in entries:
                for processor in entry["container_version"]:
                    case = Case(family, version, pytorch, processor_names.get(processor, processor), None)
                    ours = set(_ours(case).regions)
                    missing += [f"{family} {version} {processor} {r}" for r in entry["registries"] if r not in ours]
    assert missing == []


@pytest.mark.parametrize(
    "family",
    ["huggingface-vllm", "huggingface-llm", "huggingface-tei", "huggingface-sglang", "huggingface-vllm-neuronx"],
)
def test_short_versions_resolve_as_the_sdk_resolves_them(family: str) -> None:
    aliases = dlc.family(family)["aliases"]
    assert aliases
    serving = STACK_OF_FAMILY[family]
    neuron = family.endswith("-neuronx")
    processor = Processor.NEURONX if neuron else Processor.GPU
    for alias in aliases:
        image = stack_of(serving).resolve_image(ImageRequest(version=alias), processor, "alias test")
        uri, _ = image_location(_facts("us-east-1"), image)
        instance = {} if neuron else {"instance_type": "ml.g5.xlarge"}
        expected = image_uris.retrieve(
            framework=family, version=alias, region="us-east-1", image_scope="inference", **instance
        )
        assert uri == expected, alias


def test_short_toolkit_versions_are_spelled_as_the_sdk_spells_them() -> None:
    """``transformers_version="4.51"`` and ``pytorch_version="2.6"``, as users often write them."""
    toolkit = stack_of(Serving.INFERENCE_TOOLKIT)
    family = dlc.family("huggingface")
    checked = 0
    for alias, version in family["aliases"].items():
        entry = family["versions"][version]
        pytorch_spellings = [None, *entry["pytorch"], *entry["pytorch_aliases"]]
        for pytorch in pytorch_spellings:
            for processor, instance_type in (("gpu", "ml.g5.xlarge"), ("cpu", "ml.m5.xlarge")):
                resolved_pytorch = dlc.resolve_version(entry["pytorch"], entry["pytorch_aliases"], pytorch)
                assert resolved_pytorch is not None
                if processor not in entry["pytorch"][resolved_pytorch]["images"]:
                    continue
                request = ImageRequest(version=alias, base_version=pytorch)
                uri, _ = image_location(_facts("us-east-1"), toolkit.resolve_image(request, Processor(processor), "t"))
                expected = image_uris.retrieve(
                    framework="huggingface",
                    version=alias,
                    base_framework_version=f"pytorch{pytorch or resolved_pytorch}",
                    region="us-east-1",
                    image_scope="inference",
                    instance_type=instance_type,
                )
                assert uri == expected, (alias, pytorch, processor)
                checked += 1
    assert checked > 20
