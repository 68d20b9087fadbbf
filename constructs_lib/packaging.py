"""Deprecated path, kept for one release: use ``from constructs_lib.archives import ...``.

The module moved to :mod:`constructs_lib.archives`; its old name shadowed the PyPI ``packaging``
package, which the library also uses.
"""

from .archives import (
    CACHE_DIR_ENV,
    FORMAT_VERSION,
    PackagedArchive,
    add_code_to_archive,
    default_cache_dir,
    package_code_only,
    package_model_directory,
)

__all__ = [
    "CACHE_DIR_ENV",
    "FORMAT_VERSION",
    "PackagedArchive",
    "add_code_to_archive",
    "default_cache_dir",
    "package_code_only",
    "package_model_directory",
]
