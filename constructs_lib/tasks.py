"""Deprecated path, kept for one release: use ``from constructs_lib import ...``, or the modules below."""

from .catalogue.tasks import (  # noqa: F401
    KNOWN_TASKS,
    PIPELINE_TASKS,
    SERVABLE_TASKS,
    TASK_ALIASES,
    TEI_ONLY_TASKS,
    TEI_TASKS,
    TGI_TASKS,
    canonical_task,
    default_serving,
    inferred_task_problem,
    serving_task_problem,
    task_architecture_problem,
    task_from_architecture,
    task_problem,
    tei_architecture_warning,
    tei_loads,
    toolkit_task_problem,
    untrained_head_warning,
)
