"""Synth-time checks of a user's inference script, without importing it: ``constructs_lib.scripts``.

This path is kept for users (it was a module before it became this package); the library imports
from the modules themselves:

- :mod:`.handlers`: ``inference.py`` against the Hugging Face inference toolkit's handler contract
  (:func:`check_inference_script`, :class:`ScriptReport`), with :mod:`.bindings` (what the script
  binds at module level) and :mod:`.contract` (what the toolkit expects, ``HANDLER_ARGUMENTS``);
- :mod:`.grammar`: syntax the image's Python cannot parse (:func:`script_grammar_problem`);
- :mod:`.requirements`: the ``requirements.txt`` pip installs (:func:`check_requirements_file`).
"""

from .contract import HANDLER_ARGUMENTS
from .grammar import script_grammar_problem
from .handlers import ScriptReport, check_inference_script
from .requirements import check_requirements_file

__all__ = [
    "HANDLER_ARGUMENTS",
    "ScriptReport",
    "check_inference_script",
    "check_requirements_file",
    "script_grammar_problem",
]
