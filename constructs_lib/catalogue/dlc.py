"""The Deep Learning Container catalogue: families, versions, tags, regions and registry accounts.

``_data/dlc_catalogue.json`` is generated from the SageMaker Python SDK's image configs
(``python -m tools.generate_dlc_catalogue``, with the dev dependency ``sagemaker-core``), so every
catalogued URI is the one ``sagemaker.core.image_uris.retrieve`` returns. The SDK itself is not a
runtime dependency. This module only reads the data; the serving stacks (``constructs_lib.serving``) say
which family and version an endpoint runs, and ``constructs_lib.images`` renders the URI.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class ResolvedImage:
    """One catalogued image, before a region is applied."""

    family: str
    """The catalogue family (an SDK framework key, e.g. ``huggingface-llm``)."""
    version: str
    """The catalogued version (for the toolkit: the transformers version)."""
    repository: str
    """The ECR repository name."""
    tag: str
    """The image tag."""
    account_table: str
    """Which account table the registry accounts come from."""
    regions: tuple[str, ...]
    """The regions that have the image."""
    description: str
    """How messages name the image."""
    python_version: tuple[int, int] | None
    """The Python that runs in the image (from the tag's ``py3xx``); ``None`` for images without Python."""
    cuda_version: str | None = None
    """The CUDA the image is built for (``"13.0"``); ``None`` for CPU and Neuron images."""
    transformers_version: str | None = None
    """The transformers version in the image, when its tag names one."""


@functools.cache
def catalogue() -> dict[str, Any]:
    """The whole catalogue, parsed once per process."""
    text = (resources.files(__package__) / "_data" / "dlc_catalogue.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def family(name: str) -> dict[str, Any]:
    """One image family (an SDK framework key such as ``huggingface-llm``)."""
    found: dict[str, Any] = catalogue()["families"][name]
    return found


@functools.cache
def version_key(version: str) -> tuple[int, ...]:
    """A sort key for dotted versions (``"3.3.6"`` -> ``(3, 3, 6)``); non-numeric parts sort first."""
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def versions_text(versions: Iterable[str]) -> str:
    """Versions sorted oldest first, comma-separated, for messages."""
    return ", ".join(sorted(set(versions), key=version_key))


def newest(versions: Iterable[str]) -> str:
    """The newest of ``versions``."""
    return max(versions, key=version_key)


def resolve_version(versions: Mapping[str, Any], aliases: Mapping[str, str], version: str | None) -> str | None:
    """The key of ``version`` in ``versions``: ``None`` -> the newest, a short alias -> its target, else ``None``."""
    if version is None:
        return newest(versions)
    if version in versions:
        return version
    return aliases.get(version)


@functools.cache  # the catalogue never changes in a process; every endpoint asks the same few questions
def lookup(family_name: str, version: str | None) -> str | None:
    """The catalogue key for ``version`` of a family (``None`` -> newest; short SDK aliases resolved)."""
    found = family(family_name)
    return resolve_version(found["versions"], found["aliases"], version)


def allowed_text(families: Iterable[str]) -> str:
    """The versions the families hold, and their short forms, for messages."""
    full: set[str] = set()
    short: set[str] = set()
    for name in families:
        full.update(family(name)["versions"])
        short.update(family(name)["aliases"])
    text = versions_text(full)
    return f"{text} (or a short form: {versions_text(short)})" if short else text


def resolved(item: Mapping[str, Any], family_name: str, version: str, tag: str, description: str) -> ResolvedImage:
    """A catalogued image (one processor's entry) with its tag and description."""
    return ResolvedImage(
        family=family_name,
        version=version,
        repository=item["repository"],
        tag=tag,
        account_table=family(family_name)["accounts"],
        regions=regions_of(item),
        description=description,
        python_version=python_version(item["py"]) if item["py"] else None,
        cuda_version=item["cuda"],
        transformers_version=item["transformers"],
    )


def image_of(family_name: str, version: str, processor: str) -> Mapping[str, Any] | None:
    """The catalogued entry of ``version`` for ``processor`` in a family without a base framework, if any."""
    images: Mapping[str, Any] = family(family_name)["versions"][version]["images"]
    return images.get(processor)


def tagged_image(family_name: str, version: str, processor: str, name: str) -> ResolvedImage:
    """The image of ``version`` for ``processor``, with the tag the SDK renders for the full version.

    :param version: a catalogued version key of the family.
    :param name: how messages name the server (``TGI``).
    """
    item = image_of(family_name, version, processor)
    assert item is not None, f"{family_name} {version} has no {processor} image"
    return resolved(item, family_name, version, item["tag"], f"{name} {version} ({processor})")


@functools.cache
def family_regions(family_name: str) -> frozenset[str]:
    """The regions of a family's newest version (of its first image, when it has several)."""
    newest_version = lookup(family_name, None)
    assert newest_version is not None
    entry = family(family_name)["versions"][newest_version]
    if "pytorch" in entry:
        entry = entry["pytorch"][newest(entry["pytorch"])]
    first = next(iter(entry["images"].values()))
    return frozenset(regions_of(first))


def regions_of(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The regions of one catalogued image (its ``regions`` set)."""
    return tuple(catalogue()["region_sets"][item["regions"]])


def accounts(table: str) -> Mapping[str, str]:
    """Region -> registry account of one account table (``dlc``, ``tei``)."""
    found: Mapping[str, str] = catalogue()["accounts"][table]
    return found


def python_version(tag_part: str) -> tuple[int, int]:
    """``py312`` -> ``(3, 12)``: the DLC tags' spelling of the image's Python."""
    return 3, int(tag_part.removeprefix("py3"))


@functools.cache
def newest_toolkit_python() -> tuple[int, int]:
    """The newest Python a catalogued inference-toolkit DLC runs (the images that run user scripts)."""
    return max(
        python_version(image["py"])
        for name in ("huggingface", "huggingface-neuronx")
        for entry in family(name)["versions"].values()
        for item in entry["pytorch"].values()
        for image in item["images"].values()
    )


def url_suffix(region: str) -> str:
    """The DNS suffix of a concrete region's partition (what ``AWS::URLSuffix`` resolves to)."""
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith("us-isob-"):
        return "sc2s.sgov.gov"
    if region.startswith("us-isof-"):
        return "csp.hci.ic.gov"
    if region.startswith("us-iso-"):
        return "c2s.ic.gov"
    if region.startswith("eu-isoe-"):
        return "cloud.adc-e.uk"
    if region.startswith("eusc-"):
        return "amazonaws.eu"
    return "amazonaws.com"
