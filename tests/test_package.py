"""The public API: every exported name resolves, and importing one construct loads only what it needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import constructs_lib
from constructs_lib.features import registry
from constructs_lib.features.base import EndpointFeature

REPO = Path(__file__).resolve().parent.parent


def test_every_exported_name_resolves_and_is_listed() -> None:
    for name in constructs_lib.__all__:
        assert getattr(constructs_lib, name) is not None, name
    assert set(constructs_lib.__all__) == set(constructs_lib._EXPORTS) | {"ConfigurationError"}
    assert sorted(dir(constructs_lib)) == sorted(constructs_lib.__all__)


def test_submodules_are_attributes_of_the_package() -> None:
    script = "import constructs_lib\nprint(constructs_lib.sizing.plan_deployment.__name__)\n"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True, timeout=120
    )
    assert result.stdout.strip() == "plan_deployment"


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchConstruct"):
        constructs_lib.NoSuchConstruct  # type: ignore[attr-defined]  # noqa: B018


def test_every_feature_of_the_table_exists_and_owns_real_props() -> None:
    table = registry.feature_props()
    for module in table:
        assert issubclass(registry.feature_class(module), EndpointFeature), module
    # Every prop a feature owns is a real endpoint prop, owned once.
    from constructs_lib import EndpointProps

    owned = [prop for props in table.values() for prop in props]
    assert len(owned) == len(set(owned))
    assert set(owned) <= set(EndpointProps.__annotations__)


def test_a_plain_hub_endpoint_loads_no_feature_module() -> None:
    script = (
        "import sys\n"
        "from aws_cdk import App, Stack, Environment\n"
        "from constructs_lib import HubModelEndpoint\n"
        "stack = Stack(App(), 'S', env=Environment(account='123456789012', region='us-east-1'))\n"
        "HubModelEndpoint(stack, 'E', model_id='org/model', task='text-classification', instance_type='ml.g5.xlarge')\n"
        "print(__import__('json').dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True, timeout=120
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "constructs_lib.endpoints.hub_model" in loaded
    for module in (*registry.feature_props(), "repack"):
        assert f"constructs_lib.features.{module}" not in loaded and f"constructs_lib.{module}" not in loaded, module
    # packaging parses requirements.txt files: an endpoint without one does not import it.
    assert "packaging.requirements" not in loaded
    # Nor aws_cloudwatch, until a metric is asked for (alarms, a dashboard, metric_*()).
    assert "aws_cdk.aws_cloudwatch" not in loaded
