"""``FineTunedEndpoint``: your own fine-tuned model, from S3 or from a local directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Unpack

from constructs import Construct

from ._validation import Problems
from .endpoint import EndpointBase, EndpointProps, ModelSource, subject_of
from .hub_model import check_task
from .model_data import ModelData
from .scripts import check_inference_script
from .tasks import task_from_architecture


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
        :param props: the props shared by all endpoints (``EndpointProps``).
        :default task: - inferred by the container from ``config.json``'s architecture; a local directory
            whose architecture the toolkit cannot map is a synth error
        """
        problems = Problems(subject_of(type(self), scope, id))
        check_task(task, problems)
        problems.raise_if_any()
        data = ModelData.parse(model_data)
        directory = data.local_directory
        # The toolkit imports <model>/code/inference.py whenever it exists: a directory that ships
        # one is a custom-script model, checked like CustomScriptEndpoint's.
        shipped_script = directory / "code" / _DEFAULT_ENTRY_POINT if directory is not None else None
        report = check_inference_script(shipped_script.parent) if shipped_script and shipped_script.is_file() else None
        if task is None and directory is not None and report is None:
            check_task_inferable(directory, problems)
            problems.raise_if_any()
        source = ModelSource(
            task=task,
            model_data=data,
            local_directory=directory,
            entry_point=_DEFAULT_ENTRY_POINT if report is not None else None,
            script_warnings=report.warnings if report is not None else (),
        )
        super().__init__(scope, id, source=source, props=props)


_DEFAULT_ENTRY_POINT = "inference.py"  # what the toolkit imports from code/ without SAGEMAKER_PROGRAM


def check_task_inferable(model_dir: Path, problems: Problems) -> None:
    """Record a problem when the toolkit could not infer a task from a local model's config.json.

    Without ``HF_TASK`` the container maps ``config.json``'s architecture to a task at start-up
    and fails there, after a full deploy, when it cannot.
    """
    config_path = model_dir / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError):
        problems.add("task", None, f"must be set: {config_path} is missing or not JSON, so no task can be inferred")
        return
    architectures = config.get("architectures") or []
    architecture = architectures[0] if architectures else None
    if not isinstance(architecture, str) or task_from_architecture(architecture) is None:
        problems.add(
            "task",
            None,
            f"must be set: the inference toolkit cannot infer a task from architecture {architecture!r} "
            f"in {config_path}; pass task='...' (e.g. 'text-classification')",
        )
