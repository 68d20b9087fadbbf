"""``invoke-local`` (``cli.local_invoke``): a tiny random model served by the real inference toolkit in a subprocess."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.cli import local_invoke
from constructs_lib.cli.local_invoke import (
    LocalInvokeResult,
    MissingLocalExtraError,
    add_invoke_local_command,
    invoke_local,
)

from .._tiny_models import LABELS, build_text_classifier
from ..support import (
    write_script,
)


@pytest.fixture(autouse=True)
def _hermetic_hub(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker inherits this environment: Hub cache in a temp dir, offline."""
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    for name in ("HF_TASK", "SAGEMAKER_PROGRAM"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer BERT text classifier, saved once per session."""
    return build_text_classifier(tmp_path_factory.mktemp("tiny-bert"))


def assert_label_scores(payload: Any, count: int) -> None:
    assert isinstance(payload, list)
    assert len(payload) == count
    for item in payload:
        assert set(item) == {"label", "score"}
        assert item["label"] in LABELS.values()
        assert 0.0 <= item["score"] <= 1.0


def run_cli(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m constructs_lib")
    add_invoke_local_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["invoke-local", *arguments])
    exit_code: int = args.func(args)
    return exit_code


@pytest.mark.local_extra
def test_default_handler_text_classification(tiny_model: Path) -> None:
    result = invoke_local(model_dir=tiny_model, data=b'{"inputs": "i love this movie"}', task="text-classification")
    assert result.status == 200, result.logs
    assert result.content_type == "application/json"
    assert result.ok
    assert_label_scores(json.loads(result.body), 1)
    assert "No inference script implementation was found" in result.logs


@pytest.mark.local_extra
def test_default_handler_csv_input(tiny_model: Path) -> None:
    # No task: the toolkit infers text-classification from config.json's architecture.
    result = invoke_local(
        model_dir=tiny_model, data=b"inputs\ni love this movie\nthe film was bad\n", content_type="text/csv"
    )
    assert result.status == 200, result.logs
    assert_label_scores(json.loads(result.body), 2)


@pytest.mark.local_extra
def test_bad_payload_is_the_toolkits_400(tiny_model: Path) -> None:
    result = invoke_local(model_dir=tiny_model, data=b"this is not json", task="text-classification")
    assert result.status == 400
    assert not result.ok
    assert result.content_type == "application/json"
    assert json.loads(result.body) == {
        "code": 400,
        "type": "InternalServerException",
        "message": "Expecting value: line 1 column 1 (char 0)",
    }
    assert "PredictionException" in result.logs


@pytest.mark.local_extra
def test_script_with_model_fn_and_predict_fn(tiny_model: Path, tmp_path: Path) -> None:
    code = write_script(
        tmp_path / "code",
        """
        import os

        from transformers import pipeline


        def model_fn(model_dir):
            return pipeline("text-classification", model=model_dir, top_k=None)


        def predict_fn(data, model, context):
            scores = model([data["inputs"]])[0]  # one list of {label, score} per input
            return {
                "custom": True,
                "labels": sorted(score["label"] for score in scores),
                "has_context": context is not None,
                "program": os.environ["SAGEMAKER_PROGRAM"],
                "flag": os.environ.get("MY_FLAG"),
            }
        """,
    )
    result = invoke_local(model_dir=tiny_model, code_dir=code, data=b'{"inputs": "great fun"}', env={"MY_FLAG": "on"})
    assert result.status == 200, result.logs
    assert json.loads(result.body) == {
        "custom": True,
        "labels": ["NEGATIVE", "POSITIVE"],
        "has_context": True,
        "program": "inference.py",
        "flag": "on",
    }
    assert not (code / "__pycache__").exists()  # the user's code dir is copied, not written to


@pytest.mark.local_extra
def test_transform_fn_script_inside_model_dir(tiny_model: Path, tmp_path: Path) -> None:
    # A model dir that already holds code/ (as in model.tar.gz) is used as is; the entry point is not inference.py.
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for entry in tiny_model.iterdir():
        (model_dir / entry.name).symlink_to(entry)
    write_script(
        model_dir / "code",
        """
        import json


        def model_fn(model_dir):
            return "no model needed"


        def transform_fn(model, input_data, content_type, accept):
            text = input_data.decode("utf-8") if isinstance(input_data, bytes) else input_data
            return json.dumps(
                {"model": model, "upper": text.upper(), "type": type(input_data).__name__, "accept": accept}
            )
        """,
        name="serve.py",
    )
    result = invoke_local(
        model_dir=model_dir, entry_point="serve.py", data=b"hello there", content_type="text/plain", accept="*/*"
    )
    assert result.status == 200, result.logs
    assert result.content_type == "application/json"
    # text/plain is not one of the toolkit's UTF-8 types, so transform_fn gets bytes; Accept */* means JSON.
    assert json.loads(result.body) == {
        "model": "no model needed",
        "upper": "HELLO THERE",
        "type": "bytes",
        "accept": "application/json",
    }


@pytest.mark.local_extra
def test_load_failure_is_a_400_like_the_endpoint(tiny_model: Path, tmp_path: Path) -> None:
    # MMS only logs initialize() failures; the toolkit retries in handle() and answers 400 with the error.
    code = write_script(tmp_path / "code", "def model_fn(model_dir):\n    raise RuntimeError('weights corrupted')\n")
    result = invoke_local(model_dir=tiny_model, code_dir=code, data=b'{"inputs": "x"}')
    assert result.status == 400
    assert json.loads(result.body)["message"] == "weights corrupted"


def test_contract_violation_is_rejected_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_worker(*args: object, **kwargs: object) -> None:
        raise AssertionError("the worker must not start for a script that breaks the contract")

    monkeypatch.setattr(local_invoke.subprocess, "run", no_worker)
    monkeypatch.setattr(local_invoke, "_require_local_extra", lambda: None)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    code = write_script(tmp_path / "code", "def predict_fn(data):\n    return data\n")
    with pytest.raises(ConfigurationError, match=r"predict_fn\(data\) takes 1 argument; the toolkit calls"):
        invoke_local(model_dir=model_dir, code_dir=code, data=b"{}")

    exit_code = run_cli(["--model-dir", str(model_dir), "--code-dir", str(code), "--data", "{}"])
    captured = capsys.readouterr()
    assert exit_code == 1
    assert captured.out == ""
    assert "error: " in captured.err
    assert "predict_fn(data) takes 1 argument" in captured.err


def test_missing_extra_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(local_invoke.LOCAL_EXTRA_MODULES, "constructs_lib_no_such_module", "no-such-dist")
    with pytest.raises(MissingLocalExtraError) as caught:
        invoke_local(model_dir=tmp_path, data=b"{}")
    message = str(caught.value)
    assert "constructs_lib_no_such_module (no-such-dist)" in message
    # constructs_lib is not on PyPI: `pip install 'constructs_lib[local]'` would fail (or install another package).
    assert "pip install -r requirements-local.txt '.[local]'" in message
    assert "pip install 'constructs_lib[local]'" not in message


def test_missing_model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_invoke, "_require_local_extra", lambda: None)
    with pytest.raises(ConfigurationError, match="is not an existing directory"):
        invoke_local(model_dir=tmp_path / "nope", data=b"{}")


def test_container_layout_links_model_and_copies_code(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    write_script(model_dir / "code", "# stale\n")
    (model_dir / "config.json").write_text("{}", encoding="utf-8")
    code = write_script(tmp_path / "mycode", "def predict_fn(data, model):\n    return data\n")
    (code / "__pycache__").mkdir()
    work = tmp_path / "work"
    work.mkdir()

    layout = local_invoke._container_layout(model_dir, code, work)
    assert layout == work / "model"
    assert (layout / "config.json").read_text(encoding="utf-8") == "{}"
    assert "predict_fn" in (layout / "code" / "inference.py").read_text(encoding="utf-8")
    assert not (layout / "code" / "__pycache__").exists()
    # No separate code dir, or the model's own code/: the model dir is used as is.
    assert local_invoke._container_layout(model_dir, None, work) == model_dir.resolve()
    assert local_invoke._container_layout(model_dir, model_dir / "code", work) == model_dir.resolve()


def test_worker_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TASK", "summarization")  # from the caller's shell: must not leak in
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    environment = local_invoke._worker_environment(tmp_path, "serve.py", None, {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "5"})
    assert "HF_TASK" not in environment
    assert environment["SAGEMAKER_PROGRAM"] == "serve.py"
    assert environment["HF_HUB_OFFLINE"] == "1"
    assert environment["PYTHONPATH"] == f"{tmp_path / 'code'}{os.pathsep}/elsewhere"
    assert environment["SAGEMAKER_MODEL_SERVER_TIMEOUT"] == "5"
    assert local_invoke._worker_environment(tmp_path, "inference.py", "fill-mask", None)["HF_TASK"] == "fill-mask"


def test_error_body_is_the_frontends_json() -> None:
    body = local_invoke._error_body(400, "can't use <b>")
    assert (
        body
        == b'{\n  "code": 400,\n  "type": "InternalServerException",\n  "message": "can\\u0027t use \\u003cb\\u003e"\n}'
    )
    assert json.loads(body)["message"] == "can't use <b>"


def test_cli_parses_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def fake_invoke(**kwargs: Any) -> LocalInvokeResult:
        seen.update(kwargs)
        return LocalInvokeResult(status=503, body=b"busy", content_type="text/plain")

    monkeypatch.setattr(local_invoke, "invoke_local", fake_invoke)
    payload = tmp_path / "payload.csv"
    payload.write_bytes(b"inputs\nhello\n")
    exit_code = run_cli(
        [
            "--model-dir",
            "m",
            "--data-file",
            str(payload),
            "--content-type",
            "text/csv",
            "--accept",
            "text/csv",
            "--entry-point",
            "serve.py",
            "--task",
            "text-classification",
            "--env",
            "A=1",
            "--env",
            "B=x=y",
        ]
    )
    assert exit_code == 1  # not 2xx
    assert seen["data"] == b"inputs\nhello\n"
    assert seen["env"] == {"A": "1", "B": "x=y"}
    assert (seen["model_dir"], seen["code_dir"], seen["entry_point"]) == ("m", None, "serve.py")
    assert (seen["content_type"], seen["accept"], seen["task"]) == ("text/csv", "text/csv", "text-classification")
    with pytest.raises(SystemExit):
        run_cli(["--model-dir", "m", "--data", "{}", "--env", "novalue"])
    with pytest.raises(SystemExit):
        run_cli(["--model-dir", "m"])  # --data or --data-file is required


@pytest.mark.local_extra
def test_cli_end_to_end(tiny_model: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    exit_code = run_cli(
        ["--model-dir", str(tiny_model), "--task", "text-classification", "--data", '{"inputs": ["good", "bad"]}']
    )
    captured = capsysbinary.readouterr()
    assert exit_code == 0, captured.err.decode()
    assert_label_scores(json.loads(captured.out), 2)
    assert b"status: 200 (application/json)" in captured.err
