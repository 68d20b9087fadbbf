"""Where a local ``invoke-local`` run differs from the endpoint's container: the transformers version, the
script check's findings, a ``requirements.txt`` that is not installed here."""

from __future__ import annotations

from pathlib import Path

from ..scripts.handlers import check_inference_script


def differences_from_the_container(
    model_path: Path, code: Path | None, entry_point: str, image_version: str | None
) -> list[str]:
    """Where this run differs from the container: the transformers version, the script check, requirements."""
    warnings: list[str] = []
    mismatch = transformers_mismatch(model_path, image_version)
    if mismatch is not None:
        warnings.append(mismatch)
    if code is None:
        return warnings
    warnings.extend(check_inference_script(code, entry_point).warnings)  # raises on a contract error
    if (code / "requirements.txt").is_file():
        warnings.append(
            f"{code / 'requirements.txt'}: not installed by invoke-local (the container pip-installs "
            "it at start-up); the packages it names must already be installed here"
        )
    return warnings


def transformers_mismatch(model_path: Path, image_version: str | None) -> str | None:
    """A warning when the endpoint's image runs another transformers major version than this machine."""
    from importlib.metadata import PackageNotFoundError, version

    from .._core.errors import ConfigurationError
    from ..catalogue import dlc
    from ..model.local import profile_from_directory
    from ..serving.base import Serving
    from ..serving.registry import stack_of

    try:
        local = version("transformers")
    except PackageNotFoundError:
        return None  # the missing extra is reported on its own
    if image_version is None:
        try:
            profile = profile_from_directory(model_path)
        except ConfigurationError:
            profile = None
        toolkit = stack_of(Serving.INFERENCE_TOOLKIT)
        request, _ = toolkit.default_image_request(profile)
        image_version = dlc.lookup("huggingface", request.version)
    if image_version is None or image_version.split(".")[0] == local.split(".")[0]:
        return None
    return (
        f"the endpoint's image runs transformers {image_version}, and this machine has transformers {local}: "
        "behaviour differs between major versions (transformers 5 removed TensorFlow and Flax, load_in_8bit and "
        f"TRANSFORMERS_CACHE), so this run may pass or fail where the endpoint does not; install transformers "
        f"{image_version.split('.')[0]}.x here, or pin the endpoint's image with "
        "InferenceImage.huggingface(transformers_version=...)"
    )
