"""ECR image URIs as users write them: parsed so that pull access can be scoped to the one repository."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._core.errors import ConfigurationError, describe
from .._core.tokens import is_unresolved
from ..catalogue import dlc

_TOKEN = r"\$\{Token\[[^\]]+\]\}"
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_REPOSITORY = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
# Every partition's DNS suffix (see catalogue.dlc.url_suffix); which one a region needs is checked after matching.
_SUFFIXES = r"amazonaws\.com(?:\.cn)?|amazonaws\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov|csp\.hci\.ic\.gov|cloud\.adc-e\.uk"
_ECR_URI = re.compile(
    rf"(?P<account>\d{{12}})\.dkr\.ecr\.(?P<region>[a-z]{{2}}(?:-[a-z]+)+-\d+)\.(?P<suffix>{_SUFFIXES})"
    rf"/(?P<repository>{_REPOSITORY})(?::(?P<tag>{TAG.pattern})|@(?P<digest>{DIGEST.pattern}))?"
)
_ECR_URI_WITH_TOKENS = re.compile(
    rf"(?P<account>\d{{12}}|{_TOKEN})\.dkr\.ecr\.(?P<region>[a-z]{{2}}(?:-[a-z]+)+-\d+|{_TOKEN})"
    rf"\.(?P<suffix>{_SUFFIXES}|{_TOKEN})"
    rf"/(?P<repository>(?:[a-z0-9._/-]|{_TOKEN})+?)(?::(?P<tag>(?:[A-Za-z0-9_.-]|{_TOKEN})+)|@(?P<digest>sha256:[a-f0-9]{{64}}))?"
)
_URI_EXAMPLE = "'123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1.0'"


@dataclass(frozen=True)
class EcrUri:
    uri: str
    account: str
    region: str
    repository: str
    tag: str | None = None
    """The image tag (``None``: a digest, or no tag)."""


def parse_ecr_uri(uri: str) -> EcrUri:
    prefix = "InferenceImage.from_uri: image:"
    if not isinstance(uri, str):
        raise ConfigurationError(f"{prefix} {describe(uri)} is not a string; e.g. {_URI_EXAMPLE}")
    if is_unresolved(uri):
        match = _ECR_URI_WITH_TOKENS.fullmatch(uri)
        if match is None:
            raise ConfigurationError(
                f"{prefix} {describe(uri)} is a deploy-time value whose ECR repository cannot be read, so pull "
                "access cannot be scoped to it; use InferenceImage.from_ecr_repository(repository, tag) instead"
            )
    else:
        match = _ECR_URI.fullmatch(uri)
        problem = None
        if match is None:
            problem = "is not an ECR image URI"
        elif match["suffix"] != dlc.url_suffix(match["region"]):
            problem = (
                f"has a URL suffix that does not fit its region ({match['region']} images are at "
                f"*.dkr.ecr.{match['region']}.{dlc.url_suffix(match['region'])})"
            )
        if problem:
            raise ConfigurationError(
                f"{prefix} {describe(uri)} {problem}; expected "
                f"<12-digit account>.dkr.ecr.<region>.<amazonaws.com, or the partition's suffix>/<repository>"
                f"[:tag|@sha256:<digest>], "
                f"e.g. {_URI_EXAMPLE}"
            )
    assert match is not None
    return EcrUri(uri, match["account"], match["region"], match["repository"], match["tag"])
