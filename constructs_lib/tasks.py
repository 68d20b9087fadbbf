"""Deprecated path, kept for one release (see CHANGELOG.md): import these names from ``constructs_lib``."""

from .catalogue.tasks import (
    KNOWN_TASKS,
    PIPELINE_TASKS,
    TASK_ALIASES,
    canonical_task,
    inferred_task_problem,
    task_architecture_problem,
    task_from_architecture,
    task_problem,
    untrained_head_warning,
)

__all__ = [
    "KNOWN_TASKS",
    "PIPELINE_TASKS",
    "TASK_ALIASES",
    "canonical_task",
    "inferred_task_problem",
    "task_architecture_problem",
    "task_from_architecture",
    "task_problem",
    "untrained_head_warning",
]
