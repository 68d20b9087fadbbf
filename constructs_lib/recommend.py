"""Deprecated path, kept for one release (see CHANGELOG.md): the command lives in ``constructs_lib.cli``."""

from .cli.recommend import add_recommend_command, format_table, run_recommend

__all__ = ["add_recommend_command", "format_table", "run_recommend"]
