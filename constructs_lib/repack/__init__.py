"""Deploy-time repack: add a local ``code_dir`` under ``code/`` to a ``model.tar.gz`` already in S3.

This package replaces the module ``constructs_lib.repack``; its public names stay importable from
here. Inside the library, import from the modules:

- ``construct``: ``ScriptRepack``, the custom resource and its Lambda function.
- ``handler/index.py``: the function's code (standard library + boto3 only), published as a Lambda
  asset from ``HANDLER_DIR``; it is not imported by the library.
"""

from .construct import DEFAULT_MEMORY_MB, HANDLER_DIR, MAX_TIMEOUT, RESOURCE_TYPE, ScriptRepack

__all__ = ["DEFAULT_MEMORY_MB", "HANDLER_DIR", "MAX_TIMEOUT", "RESOURCE_TYPE", "ScriptRepack"]
