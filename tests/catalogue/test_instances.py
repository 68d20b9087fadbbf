"""The instance catalogue (``catalogue.instances``): unknown instance types are refused with a suggestion."""

from __future__ import annotations

from ..support import (
    hub_error,
)


def test_unknown_instance_type() -> None:
    message = hub_error(instance_type="ml.g5.xlarg")
    assert "instance_type: 'ml.g5.xlarg' is not a known SageMaker hosting instance type" in message
    assert "(did you mean 'ml.g5.xlarge'?)" in message
    assert "ml.g6.xlarge" in message  # the allowed list
    assert "did you mean 'ml.g5.xlarge'" in hub_error(instance_type="ML.G5.XLARGE")
    assert "did you mean" not in hub_error(instance_type="ml.zz9.huge")


def test_instance_type_without_ml_prefix() -> None:
    message = hub_error(instance_type="g5.xlarge")
    assert "instance_type: 'g5.xlarge'" in message and "start with 'ml.'" in message
