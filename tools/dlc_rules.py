"""What the catalogue generator knows about each DLC family: its tag rule, repository, processors.

Read by ``tools/generate_dlc_catalogue.py``; a family with no rule here stops the generator.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

FAMILY_PREFIX = "huggingface"
SCOPE = "inference"


class CatalogueError(Exception):
    """The SDK's config holds something this script cannot render the way ``retrieve`` does."""


class TagRule(enum.Enum):
    """How ``image_uris.retrieve`` renders a family's tag (parts joined by ``-``, empty parts dropped)."""

    TOOLKIT = "toolkit"
    """``{pytorch}-transformers{version}-{processor}-{py}-{container}``."""
    TOOLKIT_NEURONX = "toolkit-neuronx"
    """``{pytorch}-transformers{version}-neuronx-{py}-{sdk}-{container}`` (inference_tool replaces the processor)."""
    PREFIXED = "prefixed"
    """``{tag_prefix}-{processor}-{py}-{container}``; ``tag_prefix`` defaults to the version, ``py`` may be absent."""
    PREFIXED_SDK = "prefixed-sdk"
    """``{tag_prefix}-{processor}-{py}-{sdk}-{container}``: the Neuron SDK goes before the container version."""

    @property
    def has_base_framework(self) -> bool:
        return self in (TagRule.TOOLKIT, TagRule.TOOLKIT_NEURONX)

    @property
    def has_sdk(self) -> bool:
        return self in (TagRule.TOOLKIT_NEURONX, TagRule.PREFIXED_SDK)


@dataclass(frozen=True)
class FamilyRule:
    """What the script knows about one SDK framework key."""

    tag_rule: TagRule
    repository: str
    """The only repository expected: ``retrieve`` keys some tag parts (the Neuron SDK) on its name."""
    accounts: str
    """Id of the account table (region -> ECR account) the family's registries must agree with."""
    processors: Mapping[str, str]
    """The SDK's processor keys, mapped to the catalogue's (``gpu``, ``cpu``, ``neuronx``)."""
    skipped_base_frameworks: frozenset[str] = frozenset()
    """Base frameworks other than PyTorch that are left out on purpose (no other is accepted)."""


GPU = {"gpu": "gpu"}
CPU = {"cpu": "cpu"}

FAMILIES: Mapping[str, FamilyRule] = {
    "huggingface": FamilyRule(
        TagRule.TOOLKIT,
        "huggingface-pytorch-inference",
        "dlc",
        {"gpu": "gpu", "cpu": "cpu"},
        skipped_base_frameworks=frozenset({"tensorflow"}),
    ),
    "huggingface-neuronx": FamilyRule(
        TagRule.TOOLKIT_NEURONX, "huggingface-pytorch-inference-neuronx", "dlc", {"inf": "neuronx"}
    ),
    "huggingface-llm": FamilyRule(TagRule.PREFIXED, "huggingface-pytorch-tgi-inference", "dlc", GPU),
    "huggingface-tei": FamilyRule(TagRule.PREFIXED, "tei", "tei", GPU),
    "huggingface-tei-cpu": FamilyRule(TagRule.PREFIXED, "tei-cpu", "tei", CPU),
    "huggingface-vllm": FamilyRule(TagRule.PREFIXED, "huggingface-vllm", "dlc", GPU),
    "huggingface-sglang": FamilyRule(TagRule.PREFIXED, "huggingface-sglang", "dlc", GPU),
    "huggingface-llamacpp": FamilyRule(TagRule.PREFIXED, "huggingface-llamacpp", "dlc", {"gpu": "gpu", "cpu": "cpu"}),
    "huggingface-vllm-neuronx": FamilyRule(
        TagRule.PREFIXED_SDK, "huggingface-vllm-inference-neuronx", "dlc", {"neuronx": "neuronx"}
    ),
}
"""The families in the catalogue, by SDK framework key (the config file's name)."""

IGNORED: Mapping[str, str] = {
    "huggingface-training-compiler": "training images only",
    "huggingface-neuron": "Inferentia1 (inf1) toolkit images",
    "huggingface-llm-neuronx": "TGI on Inferentia2 (optimum-neuron), not a family of the library",
    "huggingface-vllm-omni": "vLLM-Omni images, not a family of the library",
}
"""``huggingface*`` configs that are left out on purpose, with the reason."""

SCOPE_KEYS = frozenset({"processors", "version_aliases", "versions"})
FILE_KEYS = frozenset({"training", SCOPE})
IMAGE_FIELDS = frozenset({"repository", "registries", "container_version"})
FIELDS: Mapping[TagRule, tuple[frozenset[str], frozenset[str]]] = {
    TagRule.TOOLKIT: (IMAGE_FIELDS | {"py_versions"}, frozenset()),
    TagRule.TOOLKIT_NEURONX: (IMAGE_FIELDS | {"py_versions", "sdk_versions"}, frozenset()),
    TagRule.PREFIXED: (IMAGE_FIELDS, frozenset({"tag_prefix", "py_versions"})),
    TagRule.PREFIXED_SDK: (IMAGE_FIELDS | {"py_versions", "sdk_versions"}, frozenset({"tag_prefix"})),
}
"""Per tag rule: (required, optional) fields of an image entry; any other field is an error."""
