"""``install`` extends moto once and ``uninstall`` puts moto back as it was."""

from __future__ import annotations

from moto.cloudformation import parsing
from moto.sagemaker.responses import SageMakerResponse

from tests.local_aws import COMPONENT, TARGET, install


def test_install_is_idempotent_and_its_undo_restores_moto() -> None:
    assert COMPONENT not in parsing.get_model_map()
    undo = install()
    try:
        assert install() is undo
        assert {COMPONENT, TARGET} <= set(parsing.get_model_map())
        assert hasattr(SageMakerResponse, "create_inference_component")
    finally:
        undo()
    assert COMPONENT not in parsing.get_model_map() and TARGET not in parsing.get_model_map()
    assert not hasattr(SageMakerResponse, "create_inference_component")
