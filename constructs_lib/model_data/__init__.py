"""Where a model's artifacts come from: S3 objects and prefixes, local archives and directories.

This package replaces the module ``constructs_lib.model_data``; its public names stay importable
from here. Inside the library, import from the modules:

- ``sources``: ``ModelData`` (static factories ``from_s3``, ``from_bucket``, ``from_asset``,
  ``parse``), ``ModelDataConfig``, ``code_only``, and the S3 object, S3 prefix and repacked S3 forms.
- ``local``: the local forms staged as a ``model.tar.gz`` on disk (archive, directory, code only).
- ``inspect``: ``ArchiveLayoutProblem``, ``ShippedCode``: what a local archive or directory holds.
"""

from .._core.names import is_archive_name
from .inspect import ArchiveLayoutProblem, ShippedCode
from .sources import MODEL_DATA_FORMS, ModelData, ModelDataConfig, code_only

__all__ = [
    "MODEL_DATA_FORMS",
    "ArchiveLayoutProblem",
    "ModelData",
    "ModelDataConfig",
    "ShippedCode",
    "code_only",
    "is_archive_name",
]
