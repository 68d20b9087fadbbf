"""``invoke-local``: run a model and an inference script through the real Hugging Face inference toolkit.

No Docker, no Java: one fresh Python subprocess per call loads the toolkit's handler service
(``sagemaker_huggingface_inference_toolkit.handler_service``) the way the Multi Model Server's Python
worker does in the container (``mms.model_loader.MmsModelLoader``, ``mms.service.Service.predict``),
sends it one request, and decodes the worker's reply the way the MMS frontend turns it into an HTTP
response. A subprocess per call because the user module stays in ``sys.modules`` and the toolkit
writes to ``os.environ`` (``HF_TASK``).

The toolkit is the optional ``[local]`` extra. constructs_lib is not on PyPI: in a checkout,
``pip install -r requirements-local.txt '.[local]'`` installs it with the tested pins (``INSTALL_LOCAL_EXTRA``).

This module imports only the standard library at module level: the worker loads this very file by
path (without importing the ``constructs_lib`` package, which would pull in ``aws_cdk``).
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "INSTALL_LOCAL_EXTRA",
    "LOCAL_EXTRA_MODULES",
    "LocalInvokeError",
    "LocalInvokeResult",
    "MissingLocalExtraError",
    "add_invoke_local_command",
    "invoke_local",
]

#: Modules the ``[local]`` extra provides (import name -> distribution).
LOCAL_EXTRA_MODULES: dict[str, str] = {
    "sagemaker_huggingface_inference_toolkit": "sagemaker-huggingface-inference-toolkit",
    "mms": "multi-model-server",
    "transformers": "transformers",
    "retrying": "retrying",
    "torch": "torch",
}
INSTALL_LOCAL_EXTRA = (
    "in a checkout of constructs_lib (it is not on PyPI), with the tested pins: "
    "pip install -r requirements-local.txt '.[local]'; from a wheel built there: pip install '<the wheel file>[local]'"
)
"""How to install the ``[local]`` extra, for messages (the README's "Installation" says the same)."""
_HANDLER_SERVICE = "sagemaker_huggingface_inference_toolkit.handler_service"
_MODEL_NAME = "model"
_REQUEST_ID = "local-invoke-0"
# Environment the SageMaker SDK / container sets that must not leak in from the caller's shell.
_CONTAINER_ENV = ("HF_TASK", "HF_MODEL_ID", "SAGEMAKER_PROGRAM", "SAGEMAKER_SUBMIT_DIRECTORY", "SAGEMAKER_MULTI_MODEL")
_DEFAULT_TIMEOUT = 900.0


class LocalInvokeError(RuntimeError):
    """The local worker could not produce a response at all (crash, timeout); the toolkit's errors are responses."""


class MissingLocalExtraError(ImportError):
    """The optional ``[local]`` dependencies (the inference toolkit and its stack) are not installed."""


@dataclass(frozen=True)
class LocalInvokeResult:
    """The HTTP response the endpoint would give."""

    status: int
    """HTTP status: 200 on success; the toolkit reports any handler exception as 400."""
    body: bytes
    """Response body; for errors the MMS frontend's JSON (``{"code", "type", "message"}``)."""
    content_type: str
    """Response content type (the ``Accept`` the handler answered with, ``application/json`` for errors)."""
    warnings: tuple[str, ...] = ()
    """Script check warnings and differences from the container (e.g. ``requirements.txt`` not installed)."""
    logs: str = ""
    """Everything the worker printed (toolkit logs, the script's own output, tracebacks)."""

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300


def invoke_local(
    *,
    model_dir: str | Path,
    code_dir: str | Path | None = None,
    entry_point: str = "inference.py",
    data: bytes,
    content_type: str = "application/json",
    accept: str = "application/json",
    task: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = _DEFAULT_TIMEOUT,
    image_transformers_version: str | None = None,
) -> LocalInvokeResult:
    """Send one request to ``model_dir`` (+ ``code_dir``) served by the real inference toolkit, in a subprocess.

    The container layout is rebuilt in a temporary directory: the model files (linked, not copied)
    with ``code_dir`` copied to ``code/``; a ``model_dir`` that already holds ``code/`` is used as is
    when ``code_dir`` is not given (or is that ``code/``).

    :param model_dir: the ``save_pretrained`` files (what ``model.tar.gz`` unpacks to at ``/opt/ml/model``).
    :param code_dir: directory with the entry point (and ``requirements.txt``), shipped as ``code/``.
    :default code_dir: none (``model_dir/code`` if present, else the toolkit's default handlers)
    :param entry_point: the script in ``code_dir`` (``SAGEMAKER_PROGRAM``).
    :default entry_point: ``"inference.py"``
    :param data: the request body.
    :param content_type: the request ``Content-Type``.
    :default content_type: ``"application/json"``
    :param accept: the request ``Accept`` (empty or ``*/*`` means JSON, as in the toolkit).
    :default accept: ``"application/json"``
    :param task: ``HF_TASK`` for the default handlers.
    :default task: none (the toolkit infers it from ``config.json``)
    :param env: more container environment variables (applied last).
    :default env: none
    :param timeout: seconds for loading and answering, before the worker is stopped.
    :default timeout: 900 seconds
    :param image_transformers_version: the transformers version of the image the endpoint runs; a warning says
        when its major version differs from the one installed here.
    :default image_transformers_version: what an endpoint with the default image runs for this model (the newest
        toolkit image, or the newest transformers-4 one for a model with only TensorFlow or Flax weights)
    :raises ConfigurationError: the script breaks the toolkit contract (checked before anything loads),
        or ``model_dir``/``code_dir`` does not exist.
    :raises MissingLocalExtraError: the ``[local]`` extra is not installed.
    :raises LocalInvokeError: the worker crashed or timed out without producing a response.
    """
    from .._core.errors import ConfigurationError
    from .local_differences import differences_from_the_container

    _require_local_extra()
    model_path = Path(model_dir)
    if not model_path.is_dir():
        raise ConfigurationError(f"model_dir: {str(model_dir)!r} is not an existing directory")
    effective_code = _code_dir_of(model_path, code_dir, entry_point)
    warnings = differences_from_the_container(model_path, effective_code, entry_point, image_transformers_version)
    with tempfile.TemporaryDirectory(prefix="constructs-lib-invoke-") as scratch:
        workdir = Path(scratch)
        container_model_dir = _container_layout(model_path, effective_code if code_dir is not None else None, workdir)
        request = {
            "model_dir": str(container_model_dir),
            "body": base64.b64encode(data).decode("ascii"),
            "content_type": content_type,
            "accept": accept,
        }
        worker_env = _worker_environment(container_model_dir, entry_point, task, env)
        result, logs = _run_worker(workdir, request, worker_env, timeout)
    if "missing_module" in result:
        raise MissingLocalExtraError(_missing_message([str(result["missing_module"])], str(result.get("error", ""))))
    return LocalInvokeResult(
        status=int(result["status"]),
        body=base64.b64decode(result["body"]),
        content_type=str(result["content_type"]),
        warnings=tuple(warnings),
        logs=logs,
    )


def _code_dir_of(model_path: Path, code_dir: str | Path | None, entry_point: str) -> Path | None:
    """The script's directory: ``code_dir``, else the model's own ``code/`` when it holds the entry point."""
    from .._core.errors import ConfigurationError

    if code_dir is not None:
        if not Path(code_dir).is_dir():
            raise ConfigurationError(f"code_dir: {str(code_dir)!r} is not an existing directory")
        return Path(code_dir)
    return model_path / "code" if (model_path / "code" / entry_point).is_file() else None


# The worker loads this file by path: importing the package would pull in aws_cdk.
_BOOTSTRAP = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('_constructs_lib_local_worker', sys.argv[1])\n"
    "module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "sys.exit(module._worker_main(sys.argv[2:]))\n"
)


def _run_worker(
    workdir: Path, request: Mapping[str, Any], worker_env: Mapping[str, str], timeout: float
) -> tuple[dict[str, Any], str]:
    """Run one request in a fresh worker process; its result and everything it printed."""
    request_path, result_path = workdir / "request.json", workdir / "result.json"
    request_path.write_text(json.dumps(request), encoding="utf-8")
    command = [sys.executable, "-c", _BOOTSTRAP, str(Path(__file__).resolve()), str(request_path), str(result_path)]
    try:
        completed = subprocess.run(
            command, cwd=workdir, env=dict(worker_env), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        logs = _text(error.stdout) + _text(error.stderr)
        raise LocalInvokeError(f"the local worker did not answer within {timeout:g} s\n{_tail(logs)}") from None
    logs = _text(completed.stdout) + _text(completed.stderr)
    if not result_path.is_file():
        raise LocalInvokeError(
            f"the local worker exited with code {completed.returncode} without a response\n{_tail(logs)}"
        )
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return result, logs


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output if isinstance(output, str) else output.decode("utf-8", errors="replace")


def _tail(logs: str, lines: int = 40) -> str:
    return "\n".join(logs.rstrip().splitlines()[-lines:])


def _missing_message(missing: Sequence[str], detail: str = "") -> str:
    names = ", ".join(f"{module} ({LOCAL_EXTRA_MODULES.get(module, module)})" for module in missing)
    message = (
        f"invoke-local needs the optional dependencies of constructs_lib; missing: {names}. "
        f"Install them {INSTALL_LOCAL_EXTRA}"
    )
    return f"{message}\n{detail}" if detail else message


def _require_local_extra() -> None:
    """Fail early, without importing anything heavy, when the ``[local]`` extra is missing."""
    missing = [module for module in LOCAL_EXTRA_MODULES if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingLocalExtraError(_missing_message(missing))


def _place(source: Path, destination: Path) -> None:
    """Link a model file or directory into the layout; copy where symlinks are not allowed."""
    try:
        destination.symlink_to(source, target_is_directory=source.is_dir())
    except OSError:
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)


def _container_layout(model_path: Path, code_dir: Path | None, workdir: Path) -> Path:
    """Return a directory laid out like ``/opt/ml/model``: model files at the root, the script in ``code/``."""
    model_path = model_path.resolve()
    if code_dir is None or code_dir.resolve() == model_path / "code":
        return model_path
    target = workdir / "model"
    target.mkdir()
    for entry in sorted(model_path.iterdir()):
        if entry.name != "code":
            _place(entry, target / entry.name)
    shutil.copytree(code_dir.resolve(), target / "code", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def _worker_environment(
    model_dir: Path, entry_point: str, task: str | None, extra: Mapping[str, str] | None
) -> dict[str, str]:
    """The container's environment for the worker: ours first, the caller's ``env`` last."""
    environment = {key: value for key, value in os.environ.items() if key not in _CONTAINER_ENV}
    code_dir = str(model_dir / "code")
    # sagemaker_inference.model_server._set_python_path: code/ goes first on PYTHONPATH.
    existing = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = code_dir + (os.pathsep + existing if existing else "")
    environment["SAGEMAKER_PROGRAM"] = entry_point
    environment["SAGEMAKER_SUBMIT_DIRECTORY"] = code_dir
    environment["HF_HUB_OFFLINE"] = "1"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"  # do not litter the user's code/ with __pycache__
    environment.setdefault("PYTHONIOENCODING", "utf-8")
    if task is not None:
        environment["HF_TASK"] = task
    if extra:
        environment.update({str(key): str(value) for key, value in extra.items()})
    return environment


# --------------------------------------------------------------------------------------------------
# worker side (runs in the subprocess; imports the toolkit)


def _worker_main(argv: Sequence[str]) -> int:
    """Load the model like the MMS Python worker, answer one request, write the HTTP response as JSON."""
    import logging

    request_path, result_path = Path(argv[0]), Path(argv[1])
    request: dict[str, Any] = json.loads(request_path.read_text(encoding="utf-8"))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        from mms.model_loader import ModelLoaderFactory  # type: ignore[import-untyped,unused-ignore]

        importlib.import_module(_HANDLER_SERVICE)
    except ImportError as error:
        missing = (error.name or "").split(".")[0] or "sagemaker_huggingface_inference_toolkit"
        result_path.write_text(json.dumps({"missing_module": missing, "error": str(error)}), encoding="utf-8")
        return 3

    model_dir = str(request["model_dir"])
    loader = ModelLoaderFactory.get_model_loader(model_dir)
    # As the container: gpu id from MMS (none here), batch size 1. MmsModelLoader instantiates
    # HuggingFaceHandlerService, calls initialize() and only logs its exceptions: the toolkit then
    # retries initialize() in handle() and answers 400 with the error, as a real endpoint does.
    service = loader.load(_MODEL_NAME, model_dir, _HANDLER_SERVICE, -1, 1)
    headers = [{"name": b"Content-Type", "value": str(request["content_type"]).encode("utf-8")}]
    if request.get("accept"):
        headers.append({"name": b"Accept", "value": str(request["accept"]).encode("utf-8")})
    batch = [
        {
            "requestId": _REQUEST_ID.encode("utf-8"),
            "headers": headers,
            "parameters": [
                {
                    "name": "body",
                    "contentType": str(request["content_type"]),
                    "value": base64.b64decode(request["body"]),
                }
            ],
        }
    ]
    raw = service.predict(batch)
    status, content_type, body = _frontend_response(bytes(raw))
    result = {"status": status, "content_type": content_type, "body": base64.b64encode(body).decode("ascii")}
    result_path.write_text(json.dumps(result), encoding="utf-8")
    return 0


class _Reader:
    """Reads the MMS backend's binary predict response (``otf_message_handler.create_predict_response``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def integer(self) -> int:
        (value,) = struct.unpack_from("!i", self._data, self._offset)
        self._offset += 4
        return int(value)

    def buffer(self, length: int) -> bytes:
        chunk = self._data[self._offset : self._offset + length]
        self._offset += length
        return chunk

    def sized(self) -> bytes:
        return self.buffer(max(self.integer(), 0))


def _frontend_response(raw: bytes) -> tuple[int, str, bytes]:
    """Turn the backend reply into (HTTP status, content type, body) like the MMS frontend does.

    A batch code other than 200 (the toolkit's ``PredictionException``: 400; MMS's own failures:
    503/507) becomes the frontend's JSON error ``{"code", "type": "InternalServerException", "message"}``.
    """
    reader = _Reader(raw)
    code = reader.integer()
    message = reader.sized().decode("utf-8", errors="replace")
    if code != 200:
        return code, "application/json", _error_body(code, message)
    if reader.integer() < 0:  # request id length; -1 would mean an empty batch
        return 503, "application/json", _error_body(503, "number of batch response mismatched")
    reader.buffer(len(_REQUEST_ID))
    content_type = reader.sized().decode("utf-8")
    status = reader.integer()
    reader.sized()  # reason phrase
    for _ in range(reader.integer()):  # response headers
        reader.sized()
        reader.sized()
    body = reader.sized()
    return status, content_type or "application/json", body


def _error_body(code: int, message: str) -> bytes:
    """The MMS frontend's error JSON, pretty-printed and HTML-escaped as Gson does."""
    text = json.dumps(
        {"code": code, "type": "InternalServerException", "message": message}, indent=2, ensure_ascii=False
    )
    for character in "<>&='":
        text = text.replace(character, f"\\u{ord(character):04x}")
    return text.encode("utf-8")


# --------------------------------------------------------------------------------------------------
# command line


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def add_invoke_local_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``invoke-local``; its ``func`` takes the parsed Namespace and returns the exit code."""
    parser = subparsers.add_parser(
        "invoke-local",
        help="send one request to a model + inference script through the real inference toolkit, locally",
        description=(
            "Load MODEL_DIR (and CODE_DIR as code/) with the SageMaker Hugging Face inference toolkit in a "
            "subprocess, as the endpoint container does, and send it one request. The response body goes to "
            "stdout, the status to stderr; exit code 0 for 2xx, 1 otherwise. Needs the [local] extra: install it "
            f"{INSTALL_LOCAL_EXTRA}."
        ),
    )
    parser.add_argument("--model-dir", required=True, help="the model files (save_pretrained output)")
    parser.add_argument("--code-dir", help="directory with the inference script, shipped as code/")
    parser.add_argument("--entry-point", default="inference.py", help="script in the code dir (default: %(default)s)")
    payload = parser.add_mutually_exclusive_group(required=True)
    payload.add_argument("--data", help="request body as a string")
    payload.add_argument("--data-file", help="file with the request body ('-' for stdin)")
    parser.add_argument("--content-type", default="application/json", help="request Content-Type (%(default)s)")
    parser.add_argument("--accept", default="application/json", help="request Accept (%(default)s)")
    parser.add_argument("--task", help="HF_TASK for the default handlers, e.g. text-classification")
    parser.add_argument(
        "--env", action="append", default=[], type=_key_value, metavar="KEY=VALUE", help="container env (repeatable)"
    )
    parser.add_argument("--timeout", type=float, default=_DEFAULT_TIMEOUT, help="seconds (default: %(default)s)")
    parser.add_argument(
        "--transformers-version",
        help="transformers version of the endpoint's image, to warn when this machine runs another major version "
        "(default: the image an endpoint picks for the model)",
    )
    parser.add_argument("--verbose", action="store_true", help="print the worker's logs to stderr")
    parser.set_defaults(func=_run_invoke_local)


def _run_invoke_local(args: argparse.Namespace) -> int:
    """Run ``invoke-local`` for parsed arguments; return the process exit code."""
    from .._core.errors import ConfigurationError

    if args.data is not None:
        data = str(args.data).encode("utf-8")
    elif args.data_file == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(args.data_file).read_bytes()
        except OSError as error:
            print(f"error: cannot read --data-file {args.data_file}: {error.strerror or error}", file=sys.stderr)
            return 1
    try:
        result = invoke_local(
            model_dir=args.model_dir,
            code_dir=args.code_dir,
            entry_point=args.entry_point,
            data=data,
            content_type=args.content_type,
            accept=args.accept,
            task=args.task,
            env=dict(args.env),
            timeout=args.timeout,
            image_transformers_version=args.transformers_version,
        )
    except (ConfigurationError, MissingLocalExtraError, LocalInvokeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.verbose or not result.ok:
        print(_tail(result.logs, 200 if args.verbose else 40), file=sys.stderr)
    print(f"status: {result.status} ({result.content_type})", file=sys.stderr)
    sys.stdout.flush()
    sys.stdout.buffer.write(result.body)
    if sys.stdout.isatty() and not result.body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.buffer.flush()
    return 0 if result.ok else 1
