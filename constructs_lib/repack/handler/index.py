"""Deploy-time repack: add ``code/`` to a ``model.tar.gz`` that already lives in S3.

Runs on the AWS Lambda Python runtime behind the CDK ``custom_resources.Provider`` framework
(``on_event`` returns ``PhysicalResourceId`` and ``Data``; the framework answers CloudFormation).
Standard library and boto3 only.

The archive is streamed end to end and never held in memory or on disk:
``GetObject`` body -> gunzip + untar (``r|gz``) -> every member not under ``code/`` -> tar (``w|``)
-> gzip (stored blocks by default) -> parts of ``PART_SIZE`` bytes -> S3 multipart upload, a few
parts in flight. Memory stays at about ``PART_SIZE x (MAX_PARTS_IN_FLIGHT + 2)`` whatever the size.
The code (a CDK asset zip, small and capped at ``MAX_CODE_BYTES``) is read into memory and
appended under ``code/``. A failure aborts the multipart upload, so no parts are left behind.

The output key is derived from the inputs (source bucket, key, ETag and version, code asset),
so a retry finds the finished object (``HEAD``) and does nothing, and a changed input gives a
new key, a new physical id and so a CloudFormation replacement that deletes the old object.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import io
import logging
import os
import tarfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3  # type: ignore[import-untyped,unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped,unused-ignore]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB
"""S3's smallest part (all parts but the last)."""
PART_SIZE = int(os.environ.get("REPACK_PART_SIZE_BYTES", str(64 * MIB)))
"""Bytes per multipart part: 64 MiB x 10,000 parts allows outputs up to 625 GiB."""
MAX_PARTS_IN_FLIGHT = int(os.environ.get("REPACK_PARTS_IN_FLIGHT", "4"))
"""Parts uploading while the next one is compressed; memory is about PART_SIZE x (this + 2)."""
MAX_CODE_BYTES = 100 * MIB
"""Cap on the code asset zip and on its uncompressed content."""
COMPRESS_LEVEL = int(os.environ.get("REPACK_COMPRESS_LEVEL", "0"))
"""gzip level of the output. 0 writes stored deflate blocks (like ``packaging``): model weights gain
only a few percent from level 1, which costs ~10x the CPU and would make compression the bottleneck."""
STREAM_BUFFER = 1 * MIB
"""Read/write block of the tar streams (tarfile's 10 KiB default costs CPU per byte)."""
TIME_MARGIN_MS = 30_000
"""Give up (and abort the upload) when less than this much of the Lambda timeout is left."""
PROGRESS_EVERY = 512 * MIB
OUTPUT_NAME = "model.tar.gz"
CODE_DIR = "code"
FORMAT_VERSION = "1"
"""Part of the output key: bump when the output layout changes so old objects are not reused."""

_ZIP_DIR_MODE = 0o755
_DEFAULT_FILE_MODE = 0o644


class RepackError(Exception):
    """A problem with the inputs that the user must fix (named object, clear reason)."""


def on_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point for the CDK Provider framework."""
    request = event["RequestType"]
    props: dict[str, Any] = event["ResourceProperties"]
    LOGGER.info("%s request, properties %s", request, {k: v for k, v in props.items() if k != "ServiceToken"})
    s3 = _client()
    if request in ("Create", "Update"):
        return _create(s3, props, _deadline(context))
    if request == "Delete":
        _delete(s3, props, str(event.get("PhysicalResourceId", "")))
        return {"PhysicalResourceId": event.get("PhysicalResourceId")}
    raise ValueError(f"unknown RequestType {request!r}")


def _client() -> Any:
    return boto3.client("s3", config=Config(retries={"max_attempts": 10, "mode": "adaptive"}))


def _deadline(context: Any) -> Callable[[], int] | None:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining if callable(remaining) else None


def _uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def output_key(props: dict[str, Any], source_etag: str, source_version: str) -> str:
    """The deterministic key of the repacked archive for these inputs."""
    parts = [
        FORMAT_VERSION,
        props["SourceBucket"],
        props["SourceKey"],
        source_etag,
        source_version,
        props["CodeBucket"],
        props["CodeKey"],
        props.get("CodeHash", ""),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return f"{props['OutputPrefix']}{digest}/{OUTPUT_NAME}"


def _create(s3: Any, props: dict[str, Any], remaining_ms: Callable[[], int] | None) -> dict[str, Any]:
    source_bucket, source_key = props["SourceBucket"], props["SourceKey"]
    source_uri = _uri(source_bucket, source_key)
    try:
        head = s3.head_object(Bucket=source_bucket, Key=source_key)
    except ClientError as error:
        if _status(error) in (403, 404) or _error_code(error) in ("404", "403", "NoSuchKey", "AccessDenied"):
            raise RepackError(
                f"source model archive {source_uri} does not exist or is not readable by the repack function "
                f"(HTTP {_status(error) or _error_code(error)}); upload the model.tar.gz first"
            ) from error
        raise
    etag = str(head.get("ETag", "")).strip('"')
    version = str(head.get("VersionId") or "")
    size = int(head.get("ContentLength", 0))
    out_bucket = props["OutputBucket"]
    out_key = output_key(props, etag, version)
    out_uri = _uri(out_bucket, out_key)
    result = {
        "PhysicalResourceId": out_uri,
        "Data": {"ModelDataUrl": out_uri, "Bucket": out_bucket, "Key": out_key},
    }
    if _exists(s3, out_bucket, out_key):
        LOGGER.info("%s already exists (same inputs): nothing to do", out_uri)
        return result

    code_files = _read_code(s3, props["CodeBucket"], props["CodeKey"])
    LOGGER.info("repacking %s (%d bytes) with %d code files into %s", source_uri, size, len(code_files), out_uri)
    started = time.monotonic()
    body = s3.get_object(Bucket=source_bucket, Key=source_key, IfMatch=head["ETag"])["Body"]
    writer = MultipartWriter(s3, out_bucket, out_key)
    try:
        reader = _ProgressReader(body, size, remaining_ms)
        _repack_stream(reader, writer, code_files, source_uri)
        writer.complete()
    except BaseException:
        writer.abort()
        raise
    finally:
        body.close()
    elapsed = time.monotonic() - started
    LOGGER.info(
        "wrote %s: %d bytes in, %d bytes out, %d parts, %.1f s (%.1f MiB/s in)",
        out_uri,
        reader.bytes_read,
        writer.bytes_written,
        writer.part_count,
        elapsed,
        reader.bytes_read / MIB / max(elapsed, 1e-6),
    )
    return result


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        # Without s3:ListBucket a missing object answers 403, not 404: treat both as absent.
        # A real lack of permission then fails loudly on the upload itself.
        if _status(error) in (403, 404) or _error_code(error) in ("404", "403", "NoSuchKey"):
            return False
        raise
    return True


def _delete(s3: Any, props: dict[str, Any], physical_id: str) -> None:
    bucket, prefix = props.get("OutputBucket", ""), props.get("OutputPrefix", "")
    owned = f"s3://{bucket}/{prefix}"
    if not bucket or not prefix or not physical_id.startswith(owned) or not physical_id.endswith(f"/{OUTPUT_NAME}"):
        LOGGER.info("physical id %r is not an object written under %s: nothing to delete", physical_id, owned)
        return
    key = physical_id[len(f"s3://{bucket}/") :]
    try:
        s3.delete_object(Bucket=bucket, Key=key)
        LOGGER.info("deleted %s", physical_id)
    except ClientError as error:
        if _status(error) == 404 or _error_code(error) in ("NoSuchKey", "NoSuchBucket"):
            LOGGER.info("%s is already gone", physical_id)
            return
        raise


def _read_code(s3: Any, bucket: str, key: str) -> list[tuple[tarfile.TarInfo, bytes]]:
    """The code asset's files as tar members under ``code/`` (sorted, so the output is stable)."""
    uri = _uri(bucket, key)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        raise RepackError(f"code asset {uri} could not be read ({_error_code(error)})") from error
    length = int(obj.get("ContentLength", 0))
    if length > MAX_CODE_BYTES:
        obj["Body"].close()
        raise RepackError(
            f"code asset {uri} is {length} bytes; the code directory may hold at most {MAX_CODE_BYTES} bytes "
            "(keep model weights out of code_dir)"
        )
    data = obj["Body"].read(MAX_CODE_BYTES + 1)
    obj["Body"].close()
    if len(data) > MAX_CODE_BYTES:
        raise RepackError(f"code asset {uri} is larger than {MAX_CODE_BYTES} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise RepackError(f"code asset {uri} is not a zip archive") from error
    infos = sorted(archive.infolist(), key=lambda info: info.filename)
    total = sum(info.file_size for info in infos)
    if total > MAX_CODE_BYTES:
        raise RepackError(f"code asset {uri} unpacks to {total} bytes; the limit is {MAX_CODE_BYTES} bytes")
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    directory = tarfile.TarInfo(CODE_DIR)
    directory.type = tarfile.DIRTYPE
    directory.mode = _ZIP_DIR_MODE
    members.append((directory, b""))
    for info in infos:
        name = info.filename.replace("\\", "/").lstrip("/")
        if not name or any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
            raise RepackError(f"code asset {uri} holds an unsafe path {info.filename!r}")
        member = tarfile.TarInfo(f"{CODE_DIR}/{name.rstrip('/')}")
        member.mtime = calendar.timegm((*info.date_time, 0, 0, 0))
        unix_mode = (info.external_attr >> 16) & 0o7777
        if info.is_dir():
            member.type = tarfile.DIRTYPE
            member.mode = unix_mode or _ZIP_DIR_MODE
            members.append((member, b""))
            continue
        content = archive.read(info)
        member.size = len(content)
        member.mode = unix_mode or _DEFAULT_FILE_MODE
        members.append((member, content))
    if len(members) == 1:
        raise RepackError(f"code asset {uri} is empty; code_dir must hold inference.py")
    return members


def _in_code_dir(name: str) -> bool:
    normalized = name
    while normalized.startswith("./"):
        normalized = normalized[2:]
    normalized = normalized.lstrip("/")
    return normalized == CODE_DIR or normalized.startswith(f"{CODE_DIR}/")


def _repack_stream(
    source: io.RawIOBase,
    sink: io.RawIOBase,
    code_files: list[tuple[tarfile.TarInfo, bytes]],
    source_uri: str,
) -> None:
    dropped = 0
    try:
        tar_in = _open_reader(source)
    except (tarfile.TarError, zlib.error, EOFError) as error:
        raise RepackError(
            f"source model archive {source_uri} is not a gzip-compressed tar (.tar.gz): {error}"
        ) from error
    # gzip outside tarfile: tarfile's own "w|gz" takes no compresslevel before Python 3.12.
    # mtime=0 keeps the gzip header free of the time of the deployment.
    with (
        tar_in,
        gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0) as gz_out,
        _open_writer(gz_out) as tar_out,
    ):
        try:
            for member in tar_in:
                if _in_code_dir(member.name):
                    dropped += 1
                    continue
                if member.isreg():
                    data = tar_in.extractfile(member)
                    tar_out.addfile(member, data)
                else:
                    # Directories, symlinks and hard links carry no data in the stream.
                    tar_out.addfile(member)
        except (tarfile.TarError, zlib.error, EOFError) as error:
            raise RepackError(
                f"source model archive {source_uri} is not a valid gzip-compressed tar (.tar.gz): {error}"
            ) from error
        for info, content in code_files:
            tar_out.addfile(info, io.BytesIO(content) if info.isreg() else None)
    if dropped:
        LOGGER.info("dropped %d existing entries under %s/ in favour of the new code", dropped, CODE_DIR)


def _open_reader(fileobj: io.RawIOBase) -> tarfile.TarFile:
    """Read a gzip tar as a forward-only stream (no seeking, nothing buffered beyond one block)."""
    return tarfile.open(fileobj=fileobj, mode="r|gz", bufsize=STREAM_BUFFER)


def _open_writer(fileobj: gzip.GzipFile) -> tarfile.TarFile:
    """Write an uncompressed tar stream with large blocks (tarfile's 10 KiB default costs CPU)."""
    # copybufsize: the block size of addfile's copy loop (a TarFile argument missing from typeshed).
    extra: dict[str, Any] = {"copybufsize": STREAM_BUFFER}
    return tarfile.open(fileobj=fileobj, mode="w|", bufsize=STREAM_BUFFER, format=tarfile.PAX_FORMAT, **extra)


class _ProgressReader(io.RawIOBase):
    """Counts and logs bytes read from the source; stops before the Lambda timeout."""

    def __init__(self, body: Any, total: int, remaining_ms: Callable[[], int] | None) -> None:
        super().__init__()
        self._body = body
        self._total = total
        self._remaining_ms = remaining_ms
        self.bytes_read = 0
        self._next_log = PROGRESS_EVERY

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._remaining_ms is not None and self._remaining_ms() < TIME_MARGIN_MS:
            raise TimeoutError(
                f"stopped after {self.bytes_read} of {self._total} bytes: the Lambda timeout is near; the archive is "
                "too large to repack in one invocation (raise memory_size for more CPU, or add code/ to the archive "
                "before uploading it)"
            )
        data: bytes = self._body.read(size if size is not None and size >= 0 else None)
        self.bytes_read += len(data)
        if self.bytes_read >= self._next_log:
            percent = 100 * self.bytes_read / max(self._total, 1)
            LOGGER.info("read %d of %d bytes (%.0f%%)", self.bytes_read, self._total, percent)
            self._next_log += PROGRESS_EVERY
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class MultipartWriter(io.RawIOBase):
    """A write-only file that uploads what it is given as an S3 multipart upload.

    Parts of ``PART_SIZE`` bytes go up on a few threads while the caller produces the next one;
    at most ``MAX_PARTS_IN_FLIGHT`` parts wait or upload at once, which bounds memory.
    ``complete()`` uploads the rest and completes the upload; ``abort()`` discards it. Plain
    ``close()`` (also run by the garbage collector) never completes a half-written upload.
    """

    def __init__(self, s3: Any, bucket: str, key: str, part_size: int | None = None) -> None:
        super().__init__()
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._part_size = max(part_size or PART_SIZE, MIN_PART_SIZE)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._futures: list[Future[dict[str, Any]]] = []
        self._slots = threading.BoundedSemaphore(max(MAX_PARTS_IN_FLIGHT, 1))
        self._pool = ThreadPoolExecutor(max_workers=max(MAX_PARTS_IN_FLIGHT, 1), thread_name_prefix="upload-part")
        self._done = False
        self.bytes_written = 0
        self.part_count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._done:
            raise ValueError("write to a finished multipart upload")
        view = memoryview(data).cast("B")
        self._buffer += view
        self.bytes_written += len(view)
        while len(self._buffer) >= self._part_size:
            chunk = bytes(self._buffer[: self._part_size])
            del self._buffer[: self._part_size]
            self._submit(chunk)
        return len(view)

    def _start(self) -> str:
        if self._upload_id is None:
            response = self._s3.create_multipart_upload(
                Bucket=self._bucket, Key=self._key, ContentType="application/gzip", ChecksumAlgorithm="CRC32"
            )
            self._upload_id = str(response["UploadId"])
        return self._upload_id

    def _submit(self, chunk: bytes) -> None:
        upload_id = self._start()
        self._raise_failed()
        self._slots.acquire()
        self.part_count += 1
        number = self.part_count
        future = self._pool.submit(self._upload_part, upload_id, number, chunk)
        future.add_done_callback(lambda _: self._slots.release())
        self._futures.append(future)

    def _upload_part(self, upload_id: str, number: int, chunk: bytes) -> dict[str, Any]:
        response = self._s3.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=upload_id,
            PartNumber=number,
            Body=chunk,
            ChecksumAlgorithm="CRC32",
        )
        part: dict[str, Any] = {"PartNumber": number, "ETag": response["ETag"]}
        if response.get("ChecksumCRC32"):
            part["ChecksumCRC32"] = response["ChecksumCRC32"]
        return part

    def _raise_failed(self) -> None:
        for future in self._futures:
            error = future.exception() if future.done() else None
            if error is not None:
                raise error

    def complete(self) -> None:
        """Upload what is buffered and complete the upload (``close()`` alone does not complete it)."""
        if self._done:
            raise ValueError("the multipart upload is already finished")
        if self._buffer or self.part_count == 0:
            self._submit(bytes(self._buffer))
            self._buffer.clear()
        parts = [future.result() for future in self._futures]
        self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._start(),
            MultipartUpload={"Parts": sorted(parts, key=lambda part: int(part["PartNumber"]))},
        )
        self._done = True
        self._pool.shutdown(wait=True)
        super().close()

    def abort(self) -> None:
        """Discard the upload (its parts stop costing storage); safe to call more than once."""
        if self._done:
            return
        self._done = True
        for future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)
        if self._upload_id is not None:
            try:
                self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
                LOGGER.info("aborted multipart upload of s3://%s/%s", self._bucket, self._key)
            except ClientError:
                LOGGER.exception("could not abort upload %s of s3://%s/%s", self._upload_id, self._bucket, self._key)
        super().close()
