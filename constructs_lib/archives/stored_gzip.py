"""The gzip stream of an archive: stored deflate blocks, written with ``writev``, checksummed on a thread."""

from __future__ import annotations

import os
import queue
import struct
import threading
from collections.abc import Callable

import blake3

try:  # ISA-L's crc32 runs ~6x faster than zlib's here (same value); it has wheels for x86-64 and ARM64.
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - other machines
    from zlib import crc32 as _crc32

# The format version lives with the digest prefix that names it, the lowest module to use it.
FORMAT_VERSION = 2
"""Bumped whenever the archive bytes or the asset hash for the same inputs change; part of every cache key."""

_CHUNK = 4 << 20  # read size; peak memory is a small multiple of this, whatever the model size
_BLOCK = 0xFFFF  # the largest stored deflate block
_IOV_MAX = 1024  # the smallest IOV_MAX of Linux and macOS
# The asset hash is the BLAKE3 of this prefix and the uncompressed tar stream. The gzip framing
# is a pure function of the tar stream, so the prefix names it (and the format) instead of
# hashing the framing bytes too.
_DIGEST_PREFIX = (
    f"constructs_lib model.tar.gz v{FORMAT_VERSION}, gzip of stored deflate blocks of {_BLOCK} bytes\n".encode()
)

# gzip member header: magic, CM=deflate, FLG=0 (no name/comment/extra), MTIME=0, XFL=0, OS=255 (unknown).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# stored block header, byte-aligned: BFINAL=0 BTYPE=00 (padding bits 0), LEN, NLEN (little-endian).
_STORED_FULL = b"\x00" + struct.pack("<HH", _BLOCK, _BLOCK ^ 0xFFFF)


class _StoredGzipWriter:
    """A single-member gzip stream of stored deflate blocks, with a content digest.

    Block boundaries fall every 65535 bytes of the uncompressed stream, whatever the sizes
    of the writes, so the output depends only on the data. Data is never copied into an
    output buffer: each write becomes one ``writev`` of block headers interleaved with
    slices of the caller's buffer. Only the tail of a write that does not fill a block
    (at most 64 KiB) is copied, because the header of that block can only be written once
    its length is known.

    The crc32 (for the gzip trailer) and the BLAKE3 digest (for the CDK asset hash) of the
    uncompressed stream are computed on a second thread; both release the GIL, so they
    overlap reading and writing. Buffers passed to :meth:`write_buffer` are lent to that
    thread until it has hashed them; :meth:`buffer` hands out free ones.
    """

    def __init__(self, fd: int, buffers: int = 3) -> None:
        self._fd = fd
        self._length = 0  # uncompressed bytes so far
        self._size = 0  # compressed bytes written so far
        self._carry = bytearray(_BLOCK)
        self._carry_fill = 0
        self._pending: list[bytes | bytearray | memoryview] = [_GZIP_HEADER]
        self._checksums = _ChecksumThread()
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(buffers):
            self._free.put(bytearray(_CHUNK))

    def buffer(self) -> bytearray:
        """A free buffer of ``_CHUNK`` bytes to fill and pass to :meth:`write_buffer` (or :meth:`release`)."""
        return self._free.get()

    def release(self, buffer: bytearray) -> None:
        """Return an unused buffer to the pool."""
        self._free.put(buffer)

    def write_buffer(self, buffer: bytearray, length: int) -> None:
        """Append ``buffer[:length]``; the buffer goes back to the pool once it is hashed."""
        view = memoryview(buffer)[:length]
        self._checksums.submit(view, lambda: self._free.put(buffer))
        self._append(view)

    def write(self, data: bytes) -> None:
        """Append immutable bytes (headers, padding)."""
        if data:
            self._checksums.submit(data, None)
            self._append(memoryview(data))

    def _append(self, view: memoryview) -> None:
        self._length += len(view)
        pieces = self._pending
        self._pending = []
        pos = 0
        if self._carry_fill:
            pos = min(_BLOCK - self._carry_fill, len(view))
            if self._carry_fill + pos < _BLOCK:
                self._carry[self._carry_fill : self._carry_fill + pos] = view
                self._carry_fill += pos
                self._pending = pieces
                return
            pieces += [_STORED_FULL, memoryview(self._carry)[: self._carry_fill], view[:pos]]
        while len(view) - pos >= _BLOCK:
            pieces += [_STORED_FULL, view[pos : pos + _BLOCK]]
            pos += _BLOCK
        # the carry is written from (above) before it is overwritten (below)
        self._size += _write_all(self._fd, pieces)
        self._carry_fill = len(view) - pos
        self._carry[: self._carry_fill] = view[pos:]

    def close(self) -> tuple[str, int]:
        """Write the final block and the trailer; return (content digest hex, compressed size)."""
        crc, digest = self._checksums.finish()
        last = self._carry_fill
        pieces = [
            *self._pending,
            b"\x01" + struct.pack("<HH", last, last ^ 0xFFFF),
            memoryview(self._carry)[:last],
            struct.pack("<II", crc, self._length & 0xFFFFFFFF),
        ]
        self._size += _write_all(self._fd, pieces)
        return digest, self._size

    def abort(self) -> None:
        """Stop the checksum thread after a failure."""
        self._checksums.finish()


CHECKSUM_THREAD_NAME = "constructs-lib-packaging-checksums"
"""The name of the worker thread that hashes an archive while it is written (joined when the archive is done)."""


class _ChecksumThread:
    """crc32 and BLAKE3 of a byte stream, computed in order on a worker thread."""

    def __init__(self) -> None:
        self._crc = 0
        self._digest = blake3.blake3(_DIGEST_PREFIX)
        self._work: queue.Queue[tuple[bytes | memoryview, Callable[[], object] | None] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=CHECKSUM_THREAD_NAME, daemon=True)
        self._thread.start()

    def submit(self, data: bytes | memoryview, release: Callable[[], object] | None) -> None:
        self._work.put((data, release))

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            data, release = item
            try:
                if self._error is None:
                    self._crc = _crc32(data, self._crc)
                    self._digest.update(data)
            except BaseException as error:  # pragma: no cover - memory errors only
                self._error = error
            finally:
                if release is not None:  # always: the writer waits for its buffers to come back
                    release()

    def finish(self) -> tuple[int, str]:
        self._work.put(None)
        self._thread.join()
        if self._error is not None:  # pragma: no cover
            raise self._error
        return self._crc, self._digest.hexdigest()


def _write_all(fd: int, pieces: list[bytes | bytearray | memoryview]) -> int:
    """Write ``pieces`` in order, with one ``writev`` per ``_IOV_MAX`` pieces; return the byte count."""
    total = 0
    for start in range(0, len(pieces), _IOV_MAX):
        batch = pieces[start : start + _IOV_MAX]
        size = sum(len(piece) for piece in batch)
        total += size
        written = os.writev(fd, batch) if hasattr(os, "writev") else 0
        if written < size:  # a short write (signal, full disk) or no writev (Windows): finish it plainly
            rest = memoryview(b"".join(batch))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
    return total
