"""``FineTunedEndpoint``: your own fine-tuned model, from S3 or from a local directory."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Unpack

from constructs import Construct

from .._core.errors import ConfigurationError, Problems, subject_of
from .._core.names import DEFAULT_ENTRY_POINT
from ..catalogue.tasks import inferred_task_problem
from ..images.base import InferenceImage, loads_from_model_dir
from ..model.hub_reference import check_task
from ..model.local import profile_from_directory
from ..model.profile import ModelProfile
from ..model_data.inspect import ArchiveLayoutProblem, ShippedCode
from ..model_data.sources import ModelData
from ..scripts.handlers import ScriptReport, check_inference_script
from ..serving.base import Serving, ServingStack
from .base import EndpointBase
from .props import EndpointProps, ModelSource, warn_archive_layout
from .resolve import auto_request, pick_stack


class FineTunedEndpoint(EndpointBase):
    """A real-time endpoint serving ``save_pretrained`` artifacts you own.

    Example::

        FineTunedEndpoint(stack, "Tuned", model_data="s3://my-bucket/models/model.tar.gz",
            task="text-classification", instance_type="ml.g4dn.xlarge")
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_data: str | Path | ModelData,
        task: str | None = None,
        **props: Unpack[EndpointProps],
    ) -> None:
        """
        :param model_data: ``s3://bucket/key.tar.gz``, an uncompressed ``s3://bucket/prefix/``, a local
            ``.tar.gz`` file, a local ``save_pretrained`` directory (packaged for you) or a ``ModelData``.
        :param task: pipeline task (``HF_TASK``).
        :default task: inferred by the container from ``config.json``'s architecture; a local directory whose
            architecture the toolkit cannot map is a synth error
        :param props: the props shared by all endpoints (``EndpointProps``).
        """
        problems = Problems(subject_of(type(self), scope, id))
        with fine_tuned_source(model_data, task, props, problems) as (source, layout):
            super().__init__(scope, id, source=source, props=props)
        if layout is not None:
            warn_archive_layout(self, layout, LAYOUT_NOTE)


LAYOUT_NOTE = " (unless your container's image reads the model from there)"
"""What the archive-layout warning adds for artifacts served as they are."""


@contextlib.contextmanager
def fine_tuned_source(
    model_data: str | Path | ModelData, task: str | None, props: Mapping[str, Any], problems: Problems
) -> Iterator[tuple[ModelSource, ArchiveLayoutProblem | None]]:
    """Your artifacts as a model source, checked: the layout, the ``code/`` they ship and, for a local directory
    without ``task``, that the toolkit can infer one; and the layout problem worth a warning.

    A local archive's ``code/`` stays extracted while the ``with`` block builds the model: its script is checked
    against the image then, and errors raised in the block name the archive rather than the temporary directory.

    :param props: the props of the model (``image``, ``serving``, ``environment``, ``model_profile``).
    :raises ConfigurationError: with every problem, prefixed with ``problems``' subject.
    """
    check_task(task, problems)
    problems.raise_if_any()
    data = ModelData.parse(model_data)
    layout = data.layout_problem
    if layout is not None and loads_from_model_dir(props.get("image")):
        problems.add_message(layout.message())
        problems.raise_if_any()
    directory = data.local_directory
    shipped = data.shipped_code
    link_warnings = _check_links(shipped, props, problems)
    problems.raise_if_any()
    with _code_of_archive(shipped) as extracted:
        scripts_root = directory or extracted
        script = _shipped_script(scripts_root, props) if scripts_root is not None else None
        report = _check_shipped_script(script, task, props) if script is not None else None
        if task is None and directory is not None and report is None:
            if _requested_stack(task, directory, props).runs_custom_scripts:  # HF_TASK is the toolkit's
                check_task_inferable(directory, problems)
            problems.raise_if_any()
        yield (
            ModelSource(
                task=task,
                model_data=data,
                local_directory=directory,
                script_warnings=link_warnings
                + (tuple(_in_archive(w, extracted, shipped) for w in report.warnings) if report else ()),
                script=script,
                script_shown_as=Path(_in_archive(str(script), extracted, shipped)) if script and extracted else None,
                script_loads_model=report is not None and "model_fn" in report.handlers,
            ),
            layout,
        )


@contextlib.contextmanager
def _code_of_archive(shipped: ShippedCode | None) -> Iterator[Path | None]:
    """The ``code/`` of a local archive, extracted to a temporary directory while the endpoint checks
    it. Paths in errors and warnings name the archive (``model.tar.gz/code/inference.py``)."""
    if shipped is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="constructs-lib-code-") as temporary:
        root = Path(temporary)
        try:
            shipped.extract_to(root)
        except OSError:
            # Entries no file system can hold side by side (a file and a directory of one name): not
            # checked, rather than failing the synth on what SageMaker's tar may well extract.
            yield None
            return
        try:
            yield root
        except ConfigurationError as error:
            raise ConfigurationError(_in_archive(str(error), root, shipped)) from None


def _check_links(shipped: ShippedCode | None, props: Mapping[str, Any], problems: Problems) -> tuple[str, ...]:
    """Symbolic links under ``code/`` that point out of the archive: errors for the files the toolkit
    looks for by name, warnings for the rest (an absolute link may name a file of the image)."""
    if shipped is None:
        return ()
    looked_for = {
        _entry_point(props) or DEFAULT_ENTRY_POINT: "finds no script and serves the model with its default handlers",
        "requirements.txt": "installs none of the requirements",
    }
    warnings: list[str] = []
    fix = "Archive the file itself (`tar czhf` stores what links point to) or copy it into code/"
    for name, target in shipped.dangling:
        if name in looked_for or not target.startswith("/"):
            problems.add(
                "model_data",
                str(shipped.archive),
                f"holds code/{name} as a symbolic link to {target!r}, which is not in the archive: SageMaker "
                f"extracts it into /opt/ml/model/code/ as a link to nothing, and the toolkit "
                f"{looked_for.get(name, 'cannot import it')}. {fix}",
            )
        else:
            warnings.append(
                f"{shipped.archive} holds code/{name} as a symbolic link to {target!r}, outside the archive: in the "
                f"container it resolves only if the image has that file. {fix}"
            )
    return tuple(warnings)


def _in_archive(text: str, extracted: Path | None, shipped: ShippedCode | None) -> str:
    """``text`` with the temporary directory ``code/`` was extracted to replaced by the archive's path."""
    return text.replace(str(extracted), str(shipped.archive)) if extracted is not None and shipped else text


def _shipped_script(directory: Path, props: Mapping[str, Any]) -> Path | None:
    """The ``code/`` script a model directory ships (``None`` when it ships none)."""
    script = directory / "code" / (_entry_point(props) or DEFAULT_ENTRY_POINT)
    return script if script.is_file() else None


def _entry_point(props: Mapping[str, Any]) -> str | None:
    """The script ``SAGEMAKER_PROGRAM`` names in ``code/`` (``None`` when it names none)."""
    environment = props.get("environment")
    program = environment.get("SAGEMAKER_PROGRAM") if isinstance(environment, Mapping) else None
    return program if isinstance(program, str) and program.endswith(".py") and "/" not in program else None


def _check_shipped_script(script: Path, task: str | None, props: Mapping[str, Any]) -> ScriptReport:
    """Check the ``code/`` script a model directory ships.

    The toolkit imports ``code/inference.py`` (or ``SAGEMAKER_PROGRAM``) whenever it exists, so a
    broken one must fail the synth as it would for ``CustomScriptEndpoint``. Other stacks ignore it,
    which deserves a warning: whoever put it there expects it to run.
    """
    stack = _requested_stack(task, script.parent.parent, props)
    if not stack.runs_custom_scripts:
        ignored = f"{script} is not run: {stack.name} ignores inference scripts, only the inference toolkit runs them"
        return ScriptReport(path=script, handlers=(), uses_context=(), warnings=(ignored,))
    return check_inference_script(script.parent, script.name)


def _requested_stack(task: str | None, directory: Path, props: Mapping[str, Any]) -> ServingStack:
    """The serving stack the endpoint will resolve to, by the base's own rule (``resolve.pick_stack``), before the
    base has run: from the given profile, else the one the directory gives (``None`` when it gives none, as the
    ``code/`` of an archive, extracted alone, does)."""
    image = props.get("image")
    image_stack = image.serving_stack if isinstance(image, InferenceImage) else None
    requested = props.get("serving", Serving.AUTO)
    if not isinstance(requested, Serving | ServingStack):
        requested = Serving.AUTO  # the props check reports it
    profile = props.get("model_profile")
    if not isinstance(profile, ModelProfile):  # the props check says what is wrong with anything else
        profile = _directory_profile(directory)
    return pick_stack(image_stack, requested, auto_request(props, profile, task, custom_script=False))


def _directory_profile(directory: Path) -> ModelProfile | None:
    """The profile the endpoint reads from the directory (``None`` when it cannot: the endpoint says why later)."""
    try:
        return profile_from_directory(directory)
    except ConfigurationError:
        return None


def _read_config(model_dir: Path) -> dict[str, Any] | None:
    """``config.json`` of a local model directory (``None`` when missing or not a JSON object)."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def _first_architecture(config: Mapping[str, Any]) -> str | None:
    architectures = config.get("architectures")
    first = architectures[0] if isinstance(architectures, list) and architectures else None
    return first if isinstance(first, str) else None


def check_task_inferable(model_dir: Path, problems: Problems) -> None:
    """Record a problem when the toolkit could not infer a task from a local model's config.json.

    Without ``HF_TASK`` the container maps ``config.json``'s architecture to a task at start-up
    and fails there, after a full deploy, when it cannot.
    """
    config_path = model_dir / "config.json"
    config = _read_config(model_dir)
    if config is None:
        problems.add("task", None, f"must be set: {config_path} is missing or not JSON, so no task can be inferred")
        return
    problem = inferred_task_problem(_first_architecture(config), config)
    if problem is not None:
        problems.add("task", None, f"must be set: {problem} (in {config_path}); pass task='...'")
