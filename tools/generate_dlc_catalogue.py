"""Regenerate the Deep Learning Container catalogue (``dlc_catalogue.json``, format 2).

The catalogue lists every inference image of the Hugging Face DLC families the library deploys:
repository, fully rendered tag, Python, CUDA, OS, transformers version, and the regions (with
their ECR accounts) that have it. It is read from the image configs in the ``sagemaker-core``
package, a dev/test-only dependency (the library never imports the SDK)::

    pip install sagemaker-core==2.27.0
    python -m tools.generate_dlc_catalogue --output constructs_lib/catalogue/_data/dlc_catalogue.json
    python -m tools.generate_dlc_catalogue --output constructs_lib/catalogue/_data/dlc_catalogue.json --check

``--check`` writes nothing and exits 1 when the file is not what this script would write.

Every family has an explicit tag rule (:data:`FAMILIES`) that does what
``sagemaker.core.image_uris.retrieve`` does for full version strings. The script does not guess:
it stops with exit status 1 and a message when the SDK ships a ``huggingface*`` config with no rule
(and no reason to skip it in :data:`IGNORED`), when a config has a field the rule does not know,
or when a value does not have the expected shape. The output is deterministic: the same input
gives byte-identical output (sorted keys, fixed layout, no timestamps).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from tools.dlc_rules import (
    FAMILIES,
    FAMILY_PREFIX,
    FIELDS,
    FILE_KEYS,
    IGNORED,
    SCOPE,
    SCOPE_KEYS,
    CatalogueError,
    FamilyRule,
    TagRule,
)

FORMAT = 2
SDK_DISTRIBUTION = "sagemaker-core"
CONFIG_PACKAGE = "sagemaker.core"
CONFIG_DIR = "image_uri_config"
CONFIG_PATH = "sagemaker/core/image_uri_config"
BASE_FRAMEWORK = "pytorch"


_CONTAINER = re.compile(r"(?:cu(?P<cuda>\d{3})-)?(?P<os>ubuntu\d+\.\d+|amzn\d+)(?:-v\d+(?:\.\d+)*)?")
_PY = re.compile(r"py3\d+")
_SDK = re.compile(r"sdk\d+(?:\.\d+)+")
_BASE_KEY = re.compile(r"(?P<framework>[a-z]+)(?P<version>\d+(?:\.\d+)*)")
_TRANSFORMERS = re.compile(r"(?:^|-)transformers(?P<version>\d+(?:\.\d+)*)(?=-|$)")
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]+(?:-[a-z]+)+-\d+")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

Json = dict[str, Any]


@dataclass(frozen=True)
class Image:
    """One catalogued image (one processor of one version)."""

    repository: str
    tag: str
    py: str | None
    cuda: str | None
    os: str
    transformers: str | None
    regions: tuple[str, ...]

    def as_json(self, region_set: str) -> Json:
        return {
            "repository": self.repository,
            "tag": self.tag,
            "py": self.py,
            "cuda": self.cuda,
            "os": self.os,
            "transformers": self.transformers,
            "regions": region_set,
        }


@dataclass(frozen=True)
class Context:
    """Where in the SDK's config a value comes from, for error messages."""

    family: str
    version: str
    pytorch: str | None = None

    def __str__(self) -> str:
        base = f", {BASE_FRAMEWORK} {self.pytorch}" if self.pytorch else ""
        return f"{self.family} {self.version}{base}"


# --------------------------------------------------------------------------------------------
# Reading the SDK's files


def _config_dir() -> Traversable:
    try:
        return resources.files(CONFIG_PACKAGE) / CONFIG_DIR
    except ModuleNotFoundError as error:
        raise CatalogueError(f"{CONFIG_PACKAGE} is not importable ({error}): pip install {SDK_DISTRIBUTION}") from error


def _load_config(family: str) -> Json:
    entry = _config_dir() / f"{family}.json"
    if not entry.is_file():
        raise CatalogueError(f"{family}: {CONFIG_PATH}/{family}.json is not in the installed {SDK_DISTRIBUTION}")
    data: Json = json.loads(entry.read_text(encoding="utf-8"))
    return data


def _check_family_files() -> None:
    """Every ``huggingface*`` config must have a rule or a reason to be skipped."""
    names = sorted(
        item.name.removesuffix(".json")
        for item in _config_dir().iterdir()
        if item.name.startswith(FAMILY_PREFIX) and item.name.endswith(".json")
    )
    unknown = [name for name in names if name not in FAMILIES and name not in IGNORED]
    if unknown:
        raise CatalogueError(
            f"no tag rule for SDK families {', '.join(unknown)}: add a FamilyRule to FAMILIES "
            "(after checking how image_uris.retrieve renders its tags) or a reason to IGNORED"
        )


def _sdk_version() -> str:
    return metadata.version(SDK_DISTRIBUTION)


def _inference_scope(family: str, rule: FamilyRule, config: Json) -> Json:
    _check_keys(family, "top-level keys", config, required=frozenset({SCOPE}), optional=FILE_KEYS)
    scope: Json = config[SCOPE]
    _check_keys(f"{family} {SCOPE}", "keys", scope, required=SCOPE_KEYS, optional=frozenset())
    if sorted(scope["processors"]) != sorted(rule.processors):
        raise CatalogueError(
            f"{family}: processors {scope['processors']} differ from the rule's {sorted(rule.processors)}"
        )
    return scope


def _check_keys(
    where: str, what: str, data: Mapping[str, Any], *, required: frozenset[str], optional: frozenset[str]
) -> None:
    missing = sorted(required - data.keys())
    unknown = sorted(data.keys() - required - optional)
    if missing or unknown:
        raise CatalogueError(
            f"{where}: {what} not understood (missing: {missing or 'none'}, unknown: {unknown or 'none'})"
        )


# --------------------------------------------------------------------------------------------
# Rendering one image


def _single(context: Context, entry: Json, name: str, pattern: re.Pattern[str]) -> str | None:
    """The one value of a list field such as ``py_versions`` (``None`` when the field is absent)."""
    if name not in entry:
        return None
    values = entry[name]
    if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
        raise CatalogueError(f"{context}: {name} {values!r} is not a list of exactly one value")
    if not pattern.fullmatch(values[0]):
        raise CatalogueError(f"{context}: {name} value {values[0]!r} does not match {pattern.pattern}")
    value: str = values[0]
    return value


def _parse_container(context: Context, processor: str, value: object) -> tuple[str | None, str]:
    """``cu130-ubuntu24.04-v1.0`` -> ``("13.0", "ubuntu24.04")``; CUDA only (and always) on GPU images."""
    match = _CONTAINER.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise CatalogueError(f"{context}: container_version {value!r} for {processor} is not understood")
    cuda = match["cuda"]
    if (processor == "gpu") != (cuda is not None):
        raise CatalogueError(f"{context}: container_version {value!r} for {processor}: CUDA must be there on GPU only")
    return (f"{int(cuda[:-1])}.{cuda[-1]}" if cuda else None), match["os"]


def _join(*parts: str | None) -> str:
    """``image_uris._format_tag``: the non-empty parts joined by ``-``."""
    return "-".join(part for part in parts if part)


def _render_tag(
    rule: FamilyRule, *, prefix: str, processor: str, py: str | None, sdk: str | None, container: str
) -> str:
    """The tag ``retrieve`` renders: the Neuron families put ``sdk`` before the container version."""
    if rule.tag_rule is TagRule.TOOLKIT_NEURONX:
        return _join(prefix, "neuronx", py, _join(sdk, container))
    if rule.tag_rule is TagRule.PREFIXED_SDK:
        return _join(prefix, processor, py, _join(sdk, container))
    return _join(prefix, processor, py, container)


def _tag_prefix(rule: FamilyRule, context: Context, entry: Json) -> str:
    if rule.tag_rule.has_base_framework:
        return f"{context.pytorch}-transformers{context.version}"
    prefix = entry.get("tag_prefix", context.version)
    if not isinstance(prefix, str) or not prefix:
        raise CatalogueError(f"{context}: tag_prefix {prefix!r} is not a non-empty string")
    return prefix


def _transformers(rule: FamilyRule, context: Context, prefix: str) -> str | None:
    if rule.tag_rule.has_base_framework:
        return context.version
    match = _TRANSFORMERS.search(prefix)
    return match["version"] if match else None


def _regions(context: Context, entry: Json) -> tuple[str, ...]:
    registries = entry["registries"]
    if not isinstance(registries, dict) or not registries:
        raise CatalogueError(f"{context}: registries {registries!r} is not a region -> account mapping")
    for region, account in registries.items():
        if not _REGION.fullmatch(region) or not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
            raise CatalogueError(f"{context}: registry {region!r}: {account!r} is not a region and 12-digit account")
    return tuple(sorted(registries))


def _images(rule: FamilyRule, context: Context, entry: Json) -> dict[str, Image]:
    """The entry's image per catalogue processor."""
    required, optional = FIELDS[rule.tag_rule]
    _check_keys(str(context), "fields", entry, required=required, optional=optional)
    if entry["repository"] != rule.repository:
        raise CatalogueError(f"{context}: repository {entry['repository']!r} is not the rule's {rule.repository!r}")
    containers = entry["container_version"]
    if not isinstance(containers, dict) or sorted(containers) != sorted(rule.processors):
        raise CatalogueError(f"{context}: container_version {containers!r} does not have one value per processor")
    py = _single(context, entry, "py_versions", _PY)
    sdk = _single(context, entry, "sdk_versions", _SDK)
    prefix = _tag_prefix(rule, context, entry)
    regions = _regions(context, entry)
    images: dict[str, Image] = {}
    for sdk_processor, processor in sorted(rule.processors.items()):
        cuda, os_name = _parse_container(context, processor, containers[sdk_processor])
        container: str = containers[sdk_processor]
        tag = _render_tag(rule, prefix=prefix, processor=sdk_processor, py=py, sdk=sdk, container=container)
        if not _TAG.fullmatch(tag):
            raise CatalogueError(f"{context}: rendered tag {tag!r} is not a valid image tag")
        transformers = _transformers(rule, context, prefix)
        images[processor] = Image(entry["repository"], tag, py, cuda, os_name, transformers, regions)
    return images


# --------------------------------------------------------------------------------------------
# Versions and aliases


def _aliases(where: str, aliases: object, targets: Mapping[str, object]) -> dict[str, str]:
    if not isinstance(aliases, dict):
        raise CatalogueError(f"{where}: version_aliases {aliases!r} is not a mapping")
    for alias, target in aliases.items():
        if target not in targets:
            raise CatalogueError(f"{where}: alias {alias!r} -> {target!r} names no catalogued version")
    return dict(sorted(aliases.items()))


def _base_key(context: Context, key: str) -> tuple[str, str]:
    match = _BASE_KEY.fullmatch(key)
    if match is None:
        raise CatalogueError(f"{context}: base framework key {key!r} is not understood")
    return match["framework"], match["version"]


def _wanted_base(rule: FamilyRule, context: Context, key: str) -> str | None:
    """The PyTorch version of a base framework key; ``None`` for a skipped framework; else an error."""
    framework, version = _base_key(context, key)
    if framework == BASE_FRAMEWORK:
        return version
    if framework in rule.skipped_base_frameworks:
        return None
    raise CatalogueError(f"{context}: base framework {framework!r} ({key!r}) has no tag rule")


def _base_version(rule: FamilyRule, context: Context, config: Json) -> Json:
    """``{"pytorch": {version: {"images": ...}}, "pytorch_aliases": {...}}`` for a toolkit version."""
    pytorch: dict[str, Json] = {}
    for key, entry in sorted(config.items()):
        if key == "version_aliases":
            continue
        version = _wanted_base(rule, context, key)
        if version is not None:
            images = _images(rule, Context(context.family, context.version, version), entry)
            pytorch[version] = {"images": images}
    if not pytorch:
        raise CatalogueError(f"{context}: no {BASE_FRAMEWORK} images")
    aliases: dict[str, str] = {}
    for alias, target in sorted(config.get("version_aliases", {}).items()):
        short, full = _wanted_base(rule, context, alias), _wanted_base(rule, context, target)
        if (short is None) != (full is None):
            raise CatalogueError(f"{context}: base framework alias {alias!r} -> {target!r} changes framework")
        if short is not None and full is not None:
            aliases[short] = full
    return {BASE_FRAMEWORK: pytorch, f"{BASE_FRAMEWORK}_aliases": _aliases(str(context), aliases, pytorch)}


def _family(name: str, rule: FamilyRule) -> Json:
    scope = _inference_scope(name, rule, _load_config(name))
    versions: dict[str, Json] = {}
    for version, config in sorted(scope["versions"].items()):
        context = Context(name, version)
        if rule.tag_rule.has_base_framework:
            versions[version] = _base_version(rule, context, config)
        else:
            versions[version] = {"images": _images(rule, context, config)}
    return {
        "accounts": rule.accounts,
        "aliases": _aliases(name, scope["version_aliases"], versions),
        "versions": versions,
    }


# --------------------------------------------------------------------------------------------
# Accounts, region sets and the whole catalogue


def _entries(name: str, rule: FamilyRule) -> Iterator[tuple[Context, Json]]:
    """Every image entry of a family's inference scope (checked again by :func:`_family`)."""
    scope = _load_config(name)[SCOPE]
    for version, config in sorted(scope["versions"].items()):
        if not rule.tag_rule.has_base_framework:
            yield Context(name, version), config
            continue
        for key, entry in sorted(config.items()):
            pytorch = None if key == "version_aliases" else _wanted_base(rule, Context(name, version), key)
            if pytorch is not None:
                yield Context(name, version, pytorch), entry


def _account_tables() -> dict[str, dict[str, str]]:
    """One region -> account table per rule table id; registries that disagree on a region are an error."""
    tables: dict[str, dict[str, str]] = {}
    for name, rule in sorted(FAMILIES.items()):
        table = tables.setdefault(rule.accounts, {})
        for context, entry in _entries(name, rule):
            for region, account in sorted(entry["registries"].items()):
                known = table.setdefault(region, account)
                if known != account:
                    raise CatalogueError(
                        f"{context}: {region} account {account} differs from {known} in table {rule.accounts!r}"
                    )
    return {table_id: dict(sorted(table.items())) for table_id, table in sorted(tables.items())}


def _walk_images(node: object) -> Iterator[Image]:
    if isinstance(node, Image):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _walk_images(value)


def _region_set_ids(families: Json) -> dict[tuple[str, ...], str]:
    """``regions-<count>`` per distinct region set (``regions-<count>a``, ``b``... when counts collide)."""
    sets = sorted({image.regions for image in _walk_images(families)})
    ids: dict[tuple[str, ...], str] = {}
    for regions in sets:
        same_size = [other for other in sets if len(other) == len(regions)]
        suffix = "" if len(same_size) == 1 else "abcdefghijklmnopqrstuvwxyz"[same_size.index(regions)]
        ids[regions] = f"regions-{len(regions)}{suffix}"
    return ids


def _jsonable(node: object, region_ids: Mapping[tuple[str, ...], str]) -> object:
    if isinstance(node, Image):
        return node.as_json(region_ids[node.regions])
    if isinstance(node, dict):
        return {key: _jsonable(value, region_ids) for key, value in node.items()}
    return node


def _source() -> str:
    files = ",".join(sorted(FAMILIES))
    return f"{SDK_DISTRIBUTION}=={_sdk_version()} {CONFIG_PATH}/{{{files}}}.json ({SCOPE} scope)"


def build_catalogue() -> Json:
    """The catalogue as a JSON-ready dict; raises :class:`CatalogueError` on anything not understood."""
    _check_family_files()
    families: Json = {name: _family(name, rule) for name, rule in sorted(FAMILIES.items())}
    region_ids = _region_set_ids(families)
    return {
        "format": FORMAT,
        "source": _source(),
        "accounts": _account_tables(),
        "region_sets": {set_id: list(regions) for regions, set_id in sorted(region_ids.items(), key=lambda i: i[1])},
        "families": _jsonable(families, region_ids),
    }


def render(catalogue: Json) -> str:
    """The file's text: sorted keys, one-space indent, no spaces after separators, trailing newline."""
    return json.dumps(catalogue, indent=1, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n"


# --------------------------------------------------------------------------------------------
# Command line


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, required=True, help="where to write dlc_catalogue.json")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if --output is out of date")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        text = render(build_catalogue())
    except CatalogueError as error:
        print(f"generate_dlc_catalogue: error: {error}", file=sys.stderr)
        return 1
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            print(f"generate_dlc_catalogue: {output} is out of date; run without --check", file=sys.stderr)
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
