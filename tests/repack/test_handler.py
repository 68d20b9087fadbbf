"""ScriptRepack's deploy-time handler against moto's S3 server: streaming, retries, deletes, failures."""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import re
import tarfile
import zipfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from constructs_lib.repack.construct import HANDLER_DIR

from ..support import INFERENCE, SOURCE_KEY

MIB = 1024 * 1024
SOURCE_BUCKET = "source-models"
CODE_BUCKET = "cdk-assets"
OUTPUT_BUCKET = "repacked-models"
OTHER_BUCKET = "someone-elses"
PREFIX = "script-repack/abc123/"
WEIGHTS = os.urandom(12 * MIB)  # incompressible: ~12 MiB of gzip output, three 5 MiB parts
CONFIG = b'{"architectures": ["BertForSequenceClassification"]}'


def _load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("repack_handler_index", HANDLER_DIR / "index.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    # moto parses path-style S3 URLs only for the host name localhost.
    endpoint = f"http://localhost:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_REGION", "us-east-1")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield endpoint
    server.stop()


@pytest.fixture
def s3_client(moto_endpoint: str) -> Iterator[Any]:
    client = boto3.client("s3")
    for bucket in (SOURCE_BUCKET, CODE_BUCKET, OUTPUT_BUCKET, OTHER_BUCKET):
        client.create_bucket(Bucket=bucket)
    yield client
    for bucket in (SOURCE_BUCKET, CODE_BUCKET, OUTPUT_BUCKET, OTHER_BUCKET):
        for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)


@pytest.fixture
def handler(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = _load_handler()
    monkeypatch.setattr(module, "PART_SIZE", 5 * MIB)
    return module


def _source_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("config.json", CONFIG), ("model.safetensors", WEIGHTS)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        code = tarfile.TarInfo("code")
        code.type = tarfile.DIRTYPE
        tar.addfile(code)
        old = tarfile.TarInfo("code/old.py")
        old.size = 4
        tar.addfile(old, io.BytesIO(b"old\n"))
    return buffer.getvalue()


SOURCE_ARCHIVE = _source_archive()


def _code_zip(inference: bytes = INFERENCE) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inference.py", inference)
        archive.writestr("requirements.txt", b"numpy\n")
        archive.writestr("lib/helpers.py", b"X = 1\n")
    return buffer.getvalue()


def _put_inputs(client: Any, code_key: str = "v1.zip", inference: bytes = INFERENCE) -> None:
    client.put_object(Bucket=SOURCE_BUCKET, Key=SOURCE_KEY, Body=SOURCE_ARCHIVE)
    client.put_object(Bucket=CODE_BUCKET, Key=code_key, Body=_code_zip(inference))


def _props(code_key: str = "v1.zip", code_hash: str = "hash-1", source_key: str = SOURCE_KEY) -> dict[str, str]:
    return {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "SourceBucket": SOURCE_BUCKET,
        "SourceKey": source_key,
        "CodeBucket": CODE_BUCKET,
        "CodeKey": code_key,
        "CodeHash": code_hash,
        "OutputBucket": OUTPUT_BUCKET,
        "OutputPrefix": PREFIX,
    }


def _event(request: str, props: dict[str, str], physical_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"RequestType": request, "ResourceProperties": props}
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


def _members(client: Any, key: str) -> dict[str, bytes | None]:
    data = client.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read()
    members: dict[str, bytes | None] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            extracted = tar.extractfile(member) if member.isreg() else None
            members[member.name] = extracted.read() if extracted else None
    return members


def _keys(client: Any, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def _pending_uploads(client: Any) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = client.list_multipart_uploads(Bucket=OUTPUT_BUCKET).get("Uploads", [])
    return uploads


def test_create_replaces_code_and_keeps_model_files(handler: ModuleType, s3_client: Any) -> None:
    _put_inputs(s3_client)

    result = handler.on_event(_event("Create", _props()), None)

    data = result["Data"]
    assert re.fullmatch(rf"{PREFIX}[0-9a-f]{{16}}/model\.tar\.gz", data["Key"])
    assert data["Bucket"] == OUTPUT_BUCKET
    assert data["ModelDataUrl"] == f"s3://{OUTPUT_BUCKET}/{data['Key']}" == result["PhysicalResourceId"]
    members = _members(s3_client, data["Key"])
    assert members["config.json"] == CONFIG
    assert members["model.safetensors"] == WEIGHTS
    assert members["code/inference.py"] == INFERENCE
    assert members["code/requirements.txt"] == b"numpy\n"
    assert members["code/lib/helpers.py"] == b"X = 1\n"
    assert "code/old.py" not in members
    assert list(members).count("code") == 1  # the old code/ directory entry is replaced, not duplicated
    # Written as a multipart upload of several 5 MiB parts: the ETag of such an object ends in -<parts>.
    etag = s3_client.head_object(Bucket=OUTPUT_BUCKET, Key=data["Key"])["ETag"].strip('"')
    assert int(etag.rsplit("-", 1)[1]) >= 2
    assert _pending_uploads(s3_client) == []


def test_output_is_gzip(handler: ModuleType, s3_client: Any) -> None:
    _put_inputs(s3_client)
    key = handler.on_event(_event("Create", _props()), None)["Data"]["Key"]
    body = s3_client.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read()
    assert body[:2] == b"\x1f\x8b"
    assert len(gzip.decompress(body)) > len(WEIGHTS)


def test_retry_with_same_inputs_does_no_work(
    handler: ModuleType, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_inputs(s3_client)
    first = handler.on_event(_event("Create", _props()), None)
    before = s3_client.head_object(Bucket=OUTPUT_BUCKET, Key=first["Data"]["Key"])

    def no_upload(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a retry with unchanged inputs must not upload again")

    monkeypatch.setattr(handler, "MultipartWriter", no_upload)
    second = handler.on_event(_event("Create", _props()), None)

    assert second == first
    after = s3_client.head_object(Bucket=OUTPUT_BUCKET, Key=first["Data"]["Key"])
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])


def test_new_code_gives_new_key_and_delete_removes_only_the_old_object(handler: ModuleType, s3_client: Any) -> None:
    _put_inputs(s3_client)
    s3_client.put_object(Bucket=CODE_BUCKET, Key="v2.zip", Body=_code_zip(b"# version 2\n"))
    old = handler.on_event(_event("Create", _props()), None)

    new = handler.on_event(
        _event("Update", _props(code_key="v2.zip", code_hash="hash-2"), old["PhysicalResourceId"]), None
    )

    assert new["PhysicalResourceId"] != old["PhysicalResourceId"]
    assert _members(s3_client, new["Data"]["Key"])["code/inference.py"] == b"# version 2\n"
    # CloudFormation then deletes the replaced resource: its object goes, the new one stays.
    handler.on_event(_event("Delete", _props(), old["PhysicalResourceId"]), None)
    assert _keys(s3_client, OUTPUT_BUCKET) == [new["Data"]["Key"]]
    assert _keys(s3_client, SOURCE_BUCKET) == [SOURCE_KEY]


def test_changed_source_object_gives_new_key(handler: ModuleType, s3_client: Any) -> None:
    _put_inputs(s3_client)
    first = handler.on_event(_event("Create", _props()), None)
    s3_client.put_object(Bucket=SOURCE_BUCKET, Key=SOURCE_KEY, Body=SOURCE_ARCHIVE)  # same bytes, same ETag
    same = handler.on_event(_event("Update", _props(), first["PhysicalResourceId"]), None)
    assert same["PhysicalResourceId"] == first["PhysicalResourceId"]

    s3_client.put_object(Bucket=SOURCE_BUCKET, Key=SOURCE_KEY, Body=_archive_without_code())
    changed = handler.on_event(_event("Update", _props(), first["PhysicalResourceId"]), None)
    assert changed["PhysicalResourceId"] != first["PhysicalResourceId"]
    # "./"-prefixed names (tar -C dir .) are kept as they are; code/ is added.
    assert set(_members(s3_client, changed["Data"]["Key"])) == {
        "./config.json",
        "code",
        "code/inference.py",
        "code/requirements.txt",
        "code/lib/helpers.py",
    }


def _archive_without_code() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("./config.json")
        info.size = len(CONFIG)
        tar.addfile(info, io.BytesIO(CONFIG))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "physical_id",
    [
        f"s3://{SOURCE_BUCKET}/{SOURCE_KEY}",  # the user's model: never
        f"s3://{OTHER_BUCKET}/{PREFIX}0123456789abcdef/model.tar.gz",  # another bucket
        f"s3://{OUTPUT_BUCKET}/other-prefix/0123456789abcdef/model.tar.gz",  # outside our prefix
        f"s3://{OUTPUT_BUCKET}/{PREFIX}0123456789abcdef/weights.bin",  # not an archive we write
        "8c2a7f0e-request-id",  # what the framework reports when Create failed
    ],
)
def test_delete_leaves_objects_it_does_not_own(handler: ModuleType, s3_client: Any, physical_id: str) -> None:
    _put_inputs(s3_client)
    match = re.match(r"s3://([^/]+)/(.+)", physical_id)
    if match and match[1] != SOURCE_BUCKET:
        s3_client.put_object(Bucket=match[1], Key=match[2], Body=b"keep me")
    before = {bucket: _keys(s3_client, bucket) for bucket in (SOURCE_BUCKET, OUTPUT_BUCKET, OTHER_BUCKET)}

    result = handler.on_event(_event("Delete", _props(), physical_id), None)

    assert result["PhysicalResourceId"] == physical_id
    assert {bucket: _keys(s3_client, bucket) for bucket in before} == before


def test_delete_of_a_missing_object_succeeds(handler: ModuleType, s3_client: Any) -> None:
    physical_id = f"s3://{OUTPUT_BUCKET}/{PREFIX}0123456789abcdef/model.tar.gz"
    assert handler.on_event(_event("Delete", _props(), physical_id), None)["PhysicalResourceId"] == physical_id


def test_missing_source_names_the_object(handler: ModuleType, s3_client: Any) -> None:
    _put_inputs(s3_client)
    with pytest.raises(handler.RepackError, match=rf"s3://{SOURCE_BUCKET}/missing/model\.tar\.gz does not exist"):
        handler.on_event(_event("Create", _props(source_key="missing/model.tar.gz")), None)
    assert _keys(s3_client, OUTPUT_BUCKET) == []


@pytest.mark.parametrize(
    "body",
    [b"this is not an archive at all" * 100, gzip.compress(b"gzip, but no tar inside" * 100)],
    ids=["not-gzip", "gzip-not-tar"],
)
def test_source_that_is_not_a_tar_gz(handler: ModuleType, s3_client: Any, body: bytes) -> None:
    _put_inputs(s3_client)
    s3_client.put_object(Bucket=SOURCE_BUCKET, Key=SOURCE_KEY, Body=body)
    with pytest.raises(handler.RepackError, match=r"s3://source-models/fine-tuned/model\.tar\.gz is not a .*gzip"):
        handler.on_event(_event("Create", _props()), None)
    assert _pending_uploads(s3_client) == []
    assert _keys(s3_client, OUTPUT_BUCKET) == []


def _spy_on_aborts(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The part counts of every aborted multipart upload, appended as the handler aborts them."""
    aborted: list[int] = []
    original_abort = handler.MultipartWriter.abort

    def spy_abort(self: Any) -> None:
        aborted.append(self.part_count)
        original_abort(self)

    monkeypatch.setattr(handler.MultipartWriter, "abort", spy_abort)
    return aborted


def test_failure_after_uploaded_parts_aborts_the_upload(
    handler: ModuleType, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_inputs(s3_client)
    # A truncated archive fails after more than one part (5 MiB) of output has been uploaded.
    s3_client.put_object(Bucket=SOURCE_BUCKET, Key=SOURCE_KEY, Body=SOURCE_ARCHIVE[: len(SOURCE_ARCHIVE) * 9 // 10])
    aborted = _spy_on_aborts(handler, monkeypatch)

    with pytest.raises(handler.RepackError, match="not a valid gzip-compressed tar"):
        handler.on_event(_event("Create", _props()), None)

    assert aborted and aborted[0] >= 1  # parts had been uploaded, then the upload was aborted
    assert _pending_uploads(s3_client) == []
    assert _keys(s3_client, OUTPUT_BUCKET) == []


def test_stops_before_the_lambda_timeout(handler: ModuleType, s3_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _put_inputs(s3_client)
    aborted = _spy_on_aborts(handler, monkeypatch)

    class RunningOutOfTime:
        """Plenty of time for the first 8 MiB of the source (one 5 MiB part uploaded), then 5 s left."""

        calls = 0

        def get_remaining_time_in_millis(self) -> int:
            self.calls += 1
            return 600_000 if self.calls <= 8 else 5_000

    with pytest.raises(TimeoutError, match="Lambda timeout is near"):
        handler.on_event(_event("Create", _props()), RunningOutOfTime())
    assert aborted and aborted[0] >= 1
    assert _pending_uploads(s3_client) == []
    assert _keys(s3_client, OUTPUT_BUCKET) == []


def test_code_over_the_cap_is_refused(handler: ModuleType, s3_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _put_inputs(s3_client)
    monkeypatch.setattr(handler, "MAX_CODE_BYTES", 100)
    with pytest.raises(handler.RepackError, match=r"code asset s3://cdk-assets/v1\.zip is \d+ bytes"):
        handler.on_event(_event("Create", _props()), None)
    assert _keys(s3_client, OUTPUT_BUCKET) == []


def test_code_zip_with_unsafe_path_is_refused(handler: ModuleType, s3_client: Any) -> None:
    _put_inputs(s3_client)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.py", b"x")
    s3_client.put_object(Bucket=CODE_BUCKET, Key="v1.zip", Body=buffer.getvalue())
    with pytest.raises(handler.RepackError, match="unsafe path"):
        handler.on_event(_event("Create", _props()), None)


def test_output_key_is_deterministic(handler: ModuleType) -> None:
    props = _props()
    assert handler.output_key(props, "etag", "") == handler.output_key(dict(props), "etag", "")
    assert handler.output_key(props, "etag", "") != handler.output_key(props, "etag", "v2")
    assert handler.output_key(props, "etag", "") != handler.output_key(_props(code_hash="hash-2"), "etag", "")
