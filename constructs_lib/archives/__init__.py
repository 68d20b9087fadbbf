"""Deterministic, cached, streaming ``model.tar.gz`` builder.

SageMaker wants model data as one gzip-compressed tar with the ``save_pretrained`` files at
the archive root and an optional inference script under ``code/``. This package builds such
archives from local directories so that:

* **the bytes depend only on the inputs' names, contents and executable bits.** Entries are
  sorted (component-wise, parents before children, directories included), every header has
  mtime 0, uid/gid 0, empty uname/gname, mode 0o644 (0o755 for directories and files with
  any execute bit). The tar headers (POSIX ustar + pax extended headers where ustar cannot
  hold a name or a size >= 8 GiB) and the gzip stream are written by this package, not by
  ``tarfile``/``zlib``, so the result does not change with the Python or zlib version
  (zlib-ng, which some distributions ship as ``libz``, emits different deflate bytes).
  Same inputs -> same content digest -> same CDK asset hash -> no re-upload and no replacement of
  the SageMaker Model on another machine or in CI.
* **packing runs close to copy speed.** Weights are incompressible (safetensors,
  ``.bin``, ``.gguf`` gain a few percent at best, at 50-300 MB/s per core), so the gzip
  stream uses *stored* deflate blocks (deflate's "no compression" block type) for all
  data: a valid ``.tar.gz`` that ``tar -xzf``, ``gzip -d`` and ``tarfile`` read, produced
  by streaming each file through a fixed-size buffer (memory does not grow with the model)
  while the crc32 and the asset hash are computed on the fly (no second pass). The asset
  hash is a BLAKE3 digest of the tar stream: about 3x faster than sha256 (even with SHA
  extensions), so hashing a 2 GiB model no longer takes longer than writing it.
  The cost is that the few small text files (config, tokenizer) are stored uncompressed;
  for real models that is well under 1% of the archive.
* **unchanged inputs are never packed twice.** Archives are cached under a fingerprint of
  the inputs; see :func:`package_model_directory` for what is fingerprinted and where the
  cache lives.

Symbolic links are **followed**: the archive holds the content they point at. Hugging Face
cache snapshots (``~/.cache/huggingface/hub/models--*/snapshots/<rev>/``) are made of
symlinks into ``blobs/``, so following them is what makes such a directory usable as model
data. A broken link, a directory link that loops, or a special file (socket, FIFO, device)
raises :class:`~constructs_lib._core.errors.ConfigurationError`.

Skipped everywhere: ``.git/``, ``__pycache__/``, ``.ipynb_checkpoints/``, ``.DS_Store`` and
``*.pyc``; additionally a top-level ``.cache/`` directory of a model directory (written by
``huggingface-cli download --local-dir``).

Modules, each importing only those listed before it: :mod:`.scan` (what goes in),
:mod:`.stored_gzip` (the gzip stream and the asset hash), :mod:`.tar_format` (tar members and
headers, repacking), :mod:`.cache` (fingerprints, cached builds) and :mod:`.api` (the entry points).
"""

from .api import (
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
