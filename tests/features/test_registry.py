"""The feature registry: each feature sees only the props it owns and those it declares it reads."""

from __future__ import annotations

import pytest

from constructs_lib import DeploymentGuardrails, EndpointAlarms, EndpointProps, ServerlessInference
from constructs_lib.features import registry
from constructs_lib.features.registry import FeatureProps, UndeclaredPropError, features_for


def _feature(props: dict[str, object], cls_name: str) -> object:
    (found,) = [f for f in features_for(props) if type(f).__name__ == cls_name]
    return found


def test_a_feature_sees_its_own_props_and_what_it_reads_and_nothing_else() -> None:
    alarms = EndpointAlarms(error_5xx_rate_percent=2.0)
    guardrails = DeploymentGuardrails.all_at_once()
    props = {"deployment": guardrails, "alarms": alarms, "instance_type": "ml.g5.xlarge", "tags": {"team": "ml"}}
    deployment = _feature(props, "DeploymentFeature")
    seen = deployment._props  # type: ignore[attr-defined]
    assert dict(seen) == {"deployment": guardrails, "alarms": alarms}
    # Another feature's prop, or the endpoint's, is an error: a feature cannot come to depend on it silently.
    for key in ("instance_type", "tags", "autoscaling"):
        with pytest.raises(UndeclaredPropError, match=rf"DeploymentFeature reads the prop '{key}'"):
            seen[key]
        with pytest.raises(UndeclaredPropError):
            seen.get(key)


def test_serverless_reads_the_instance_props_it_refuses() -> None:
    settings = ServerlessInference()
    props = {"serverless": settings, "instance_count": 2, "volume_size_gb": 30, "alarms": True}
    seen = _feature(props, "ServerlessFeature")._props  # type: ignore[attr-defined]
    assert dict(seen) == {"serverless": settings, "instance_count": 2, "volume_size_gb": 30}
    assert seen.get("startup_health_check_timeout") is None  # declared, not set
    with pytest.raises(UndeclaredPropError):
        seen.get("alarms")


def test_what_features_read_are_endpoint_props_they_do_not_own() -> None:
    table = registry.feature_props()
    for module, owned in table.items():
        reads = registry.feature_class(module).reads
        assert set(reads) <= set(EndpointProps.__annotations__), module
        assert not set(reads) & set(owned), module
    assert registry.feature_class("deployment").reads == ("alarms",)


def test_the_view_is_read_only() -> None:
    view = FeatureProps({"alarms": True}, allowed=("alarms",), feature="X")
    with pytest.raises(TypeError):
        view["alarms"] = False  # type: ignore[index]
    assert len(view) == 1 and list(view) == ["alarms"]
