"""``CustomScriptEndpoint``: your ``inference.py`` with a fine-tuned or a Hub model."""

from __future__ import annotations

from pathlib import Path
from typing import Unpack

from constructs import Construct

from .._core.errors import Problems, subject_of
from .._core.names import DEFAULT_ENTRY_POINT
from .._core.paths import path_kind
from ..model.hub_reference import check_hub_reference, check_task
from ..model_data.inspect import ArchiveLayoutProblem
from ..model_data.sources import ModelData, code_only
from ..scripts.handlers import check_inference_script
from .base import EndpointBase
from .props import EndpointProps, ModelSource, warn_archive_layout


class CustomScriptEndpoint(EndpointBase):
    """A real-time endpoint that runs your inference script in the Hugging Face inference toolkit.

    The script (``model_fn``, ``transform_fn`` or ``input_fn``/``predict_fn``/``output_fn``) is
    checked against the toolkit's contract at synth time and shipped under ``code/`` in the
    model archive, also for Hub models, where the SageMaker SDK silently drops it.

    Example::

        CustomScriptEndpoint(stack, "Custom", code_dir="examples/custom_script/code",
            model_data="s3://my-bucket/models/model.tar.gz", instance_type="ml.g5.xlarge")
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        code_dir: str | Path,
        entry_point: str = DEFAULT_ENTRY_POINT,
        model_data: str | Path | ModelData | None = None,
        model_id: str | None = None,
        task: str | None = None,
        revision: str | None = None,
        **props: Unpack[EndpointProps],
    ) -> None:
        """
        :param code_dir: local directory holding the entry point and an optional ``requirements.txt``.
        :param entry_point: the script in ``code_dir`` the toolkit imports (``SAGEMAKER_PROGRAM``).
        :default entry_point: ``"inference.py"``
        :param model_data: the model artifacts, as for ``FineTunedEndpoint``. Exactly one of
            ``model_data`` and ``model_id``.
        :default model_data: none; ``model_id`` must be given
        :param model_id: a Hub model the container downloads at start-up. Exactly one of
            ``model_data`` and ``model_id``.
        :default model_id: none; ``model_data`` must be given
        :param task: pipeline task (``HF_TASK``), for scripts that use the default ``model_fn``.
        :default task: none (your ``model_fn`` loads the model)
        :param revision: Hub revision, with ``model_id`` only.
        :default revision: the default branch (``main``)
        :param props: the props shared by all endpoints (``EndpointProps``).
        """
        problems = Problems(subject_of(type(self), scope, id))
        source, layout = custom_script_source(
            code_dir, entry_point, model_data, problems, model_id=model_id, revision=revision, task=task
        )
        super().__init__(scope, id, source=source, props=props)
        if layout is not None:
            warn_archive_layout(self, layout, LAYOUT_NOTE)
        assert source.script is not None  # a script source always has its script
        self.code_dir = source.script.parent
        """The local directory shipped under ``code/``."""


LAYOUT_NOTE = " (fine if your model_fn loads it from there)"
"""What the archive-layout warning adds when a script ships with the model."""


def custom_script_source(
    code_dir: str | Path,
    entry_point: str,
    model_data: str | Path | ModelData | None,
    problems: Problems,
    *,
    model_id: str | None,
    revision: str | None,
    task: str | None,
) -> tuple[ModelSource, ArchiveLayoutProblem | None]:
    """Your inference script with a fine-tuned or a Hub model, as a model source: exactly one model, the script
    checked against the toolkit's contract; and the model's layout problem that the script's ``model_fn`` can work
    around (worth a warning).

    :raises ConfigurationError: with every problem, prefixed with ``problems``' subject.
    """
    _check_model_choice(model_data, model_id, revision, problems)
    check_task(task, problems)
    code_path = _existing_code_dir(code_dir, entry_point, problems)
    problems.raise_if_any()
    assert code_path is not None  # guaranteed by the checks above
    return _script_source(code_path, entry_point, model_data, problems, model_id=model_id, revision=revision, task=task)


def _check_model_choice(
    model_data: str | Path | ModelData | None, model_id: str | None, revision: str | None, problems: Problems
) -> None:
    if (model_data is None) == (model_id is None):
        given = "both" if model_data is not None else "neither"
        problems.add_message(
            f"model_data / model_id: {given} given; pass exactly one: model_data (S3 URI, local archive or "
            "directory) for your own model, or model_id for a Hub model"
        )
    if model_id is not None:
        check_hub_reference(model_id, revision, problems)
    elif revision is not None:
        problems.add("revision", revision, "only applies to a Hub model (model_id)")


def _script_source(
    code_path: Path,
    entry_point: str,
    model_data: str | Path | ModelData | None,
    problems: Problems,
    *,
    model_id: str | None,
    revision: str | None,
    task: str | None,
) -> tuple[ModelSource, ArchiveLayoutProblem | None]:
    """The model source with the checked script under ``code/``, and the model's layout problem if it has one
    that the script's ``model_fn`` can work around (one it cannot is raised)."""
    report = check_inference_script(code_path, entry_point)
    data = code_only(code_path) if model_data is None else ModelData.parse(model_data).with_code(code_path, entry_point)
    layout = data.layout_problem
    loads_model = "model_fn" in report.handlers
    if layout is not None and not loads_model:
        # The toolkit's default model_fn loads from /opt/ml/model; only a model_fn of the user's
        # can know to look elsewhere.
        problems.add_message(layout.message() + " (or define model_fn to load it from there)")
        problems.raise_if_any()
    source = ModelSource(
        model_id=model_id,
        revision=revision,
        task=task,
        model_data=data,
        entry_point=entry_point,
        script_warnings=report.warnings,
        script_loads_model=loads_model,
        script=code_path / entry_point,
        local_directory=data.local_directory,
    )
    return source, layout


def _existing_code_dir(code_dir: str | Path, entry_point: str, problems: Problems) -> Path | None:
    if not isinstance(code_dir, (str, Path)):
        problems.add("code_dir", code_dir, "must be the path (str or pathlib.Path) of a directory")
        return None
    path = Path(code_dir)
    if path_kind(path) != "directory":
        problems.add("code_dir", str(code_dir), "is not an existing directory")
        return None
    if not isinstance(entry_point, str) or not entry_point.endswith(".py") or "/" in entry_point:
        problems.add(
            "entry_point", entry_point, "must be the file name of a Python script in code_dir, e.g. 'inference.py'"
        )
        return None
    if path_kind(path / entry_point) != "file":
        present = sorted(p.name for p in path.glob("*.py"))
        problems.add(
            "code_dir",
            str(code_dir),
            f"has no entry point {entry_point!r}; Python files present: {present or 'none'} "
            "(set entry_point to the script the toolkit should import)",
        )
        return None
    return path
