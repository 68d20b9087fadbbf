"""The AST check of inference scripts against the Hugging Face inference toolkit contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError, check_inference_script

from .support import check, problems_of, write_code

# --- valid scripts of each style ---------------------------------------------------------------------


def test_model_fn_and_three_step_handlers_pass(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        """
        def model_fn(model_dir):
            return model_dir

        def input_fn(input_data, content_type):
            return input_data

        def predict_fn(data, model):
            return data

        def output_fn(prediction, accept):
            return prediction
        """,
    )
    assert report.handlers == ("model_fn", "input_fn", "predict_fn", "output_fn")
    assert report.uses_context == ()
    assert report.warnings == ()
    assert report.path == Path("code/inference.py")


def test_transform_fn_with_model_fn_passes(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        """
        def model_fn(model_dir, context):
            return model_dir

        def transform_fn(model, input_data, content_type, accept):
            return input_data
        """,
    )
    assert report.handlers == ("model_fn", "transform_fn")
    assert report.uses_context == ("model_fn",)


def test_context_is_detected_by_count_not_name(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        """
        def model_fn(path, ctx=None):
            return path

        def predict_fn(data, model, whatever):
            return data

        def output_fn(prediction, *rest):  # 2 parameters: no context, the call binds 'accept' to *rest
            return prediction

        input_fn = lambda body, content_type, context: body
        """,
    )
    assert report.handlers == ("model_fn", "input_fn", "predict_fn", "output_fn")
    assert report.uses_context == ("model_fn", "input_fn", "predict_fn")


def test_alias_to_module_function_is_checked(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        """
        def _predict(data, model, context):
            return data

        predict_fn = _predict
        """,
    )
    assert report.handlers == ("predict_fn",)
    assert report.uses_context == ("predict_fn",)
    message = problems_of(tmp_path, "def _p(data):\n    return data\n\npredict_fn = _p\n")
    assert "predict_fn = _p(data) takes 1 argument" in message


def test_none_means_no_handler(tmp_path: Path) -> None:
    report = check(
        tmp_path, "predict_fn = None\n\ndef transform_fn(model, input_data, content_type, accept):\n    pass\n"
    )
    assert report.handlers == ("transform_fn",)


def test_signature_preserving_decorator_is_not_a_warning(tmp_path: Path) -> None:
    report = check(tmp_path, "import torch\n\n@torch.no_grad()\ndef predict_fn(data, model):\n    return data\n")
    assert report.warnings == ()


# --- wrong argument counts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "def model_fn():\n    pass\n",
            "code/inference.py: model_fn() takes 0 arguments; the toolkit calls model_fn(model_dir) or "
            "model_fn(model_dir, context) (line 1)",
        ),
        (
            "def model_fn(model_dir, context, extra):\n    pass\n",
            "model_fn(model_dir, context, extra) takes 3 arguments; the toolkit calls model_fn(model_dir) or "
            "model_fn(model_dir, context)",
        ),
        (
            "def input_fn(input_data):\n    pass\n",
            "input_fn(input_data) takes 1 argument; the toolkit calls input_fn(input_data, content_type) or "
            "input_fn(input_data, content_type, context)",
        ),
        (
            "def predict_fn(data):\n    pass\n",
            "code/inference.py: predict_fn(data) takes 1 argument; the toolkit calls predict_fn(data, model) or "
            "predict_fn(data, model, context) (line 1)",
        ),
        (
            "def predict_fn(data, model, context, device):\n    pass\n",
            "predict_fn(data, model, context, device) takes 4 arguments; the toolkit calls predict_fn(data, model) "
            "or predict_fn(data, model, context)",
        ),
        (
            "def output_fn(prediction, accept, context, extra=None):\n    pass\n",
            "output_fn(prediction, accept, context, extra=None) takes 4 arguments; the toolkit calls "
            "output_fn(prediction, accept) or output_fn(prediction, accept, context) (the toolkit counts every "
            "parameter",
        ),
        (
            "def transform_fn(model, data, content_type):\n    pass\n",
            "transform_fn(model, data, content_type) takes 3 arguments; the toolkit calls "
            "transform_fn(model, input_data, content_type, accept) or "
            "transform_fn(model, input_data, content_type, accept, context)",
        ),
        (
            "def transform_fn(model, data, content_type, accept, context, extra):\n    pass\n",
            "transform_fn(model, data, content_type, accept, context, extra) takes 6 arguments",
        ),
        (
            "predict_fn = lambda data: data\n",
            "predict_fn(data) takes 1 argument; the toolkit calls predict_fn(data, model)",
        ),
        (
            "def predict_fn(data, model, *args, **kwargs):\n    pass\n",
            "predict_fn(data, model, *args, **kwargs) takes 4 arguments",
        ),
    ],
)
def test_wrong_argument_count(tmp_path: Path, source: str, expected: str) -> None:
    assert expected in problems_of(tmp_path, source)


def test_arguments_the_positional_call_cannot_bind(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "def predict_fn(data, *, model):\n    pass\n")
    assert "predict_fn(data, *, model) has 2 arguments, so the toolkit calls predict_fn(data, model) with " in message
    assert "positional arguments only, which *, model cannot receive" in message

    message = problems_of(tmp_path, "def predict_fn(data, **kwargs):\n    pass\n")
    assert "which **kwargs cannot receive" in message

    message = problems_of(tmp_path, "def predict_fn(*args, device):\n    pass\n")
    assert "keyword-only parameter(s) device without a default" in message


def test_async_handler_is_rejected(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "async def predict_fn(data, model):\n    return data\n")
    assert "code/inference.py: predict_fn (line 1) is 'async def'; the toolkit calls handlers synchronously" in message


def test_constant_handler_is_rejected(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "model_fn = 'bert'\n")
    assert "model_fn (line 1) is 'bert', not a function" in message


# --- combinations, presence, files ----------------------------------------------------------------------


def test_transform_fn_cannot_combine_with_input_fn(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path,
        """
        def input_fn(input_data, content_type):
            pass

        def transform_fn(model, input_data, content_type, accept):
            pass
        """,
    )
    assert message == (
        "code/inference.py: transform_fn (line 5) cannot be combined with input_fn; the toolkit raises ValueError "
        "at start-up. Use either transform_fn or input_fn/predict_fn/output_fn (model_fn combines with both)"
    )


def test_no_handler(tmp_path: Path) -> None:
    message = problems_of(tmp_path, "import os\n\ndef helper(x):\n    return x\n")
    assert message.startswith(
        "code/inference.py: defines none of model_fn, input_fn, predict_fn, output_fn, transform_fn at module level"
    )


@pytest.mark.parametrize(
    ("source", "how"),
    [
        (
            "def _install():\n    global model_fn\n    model_fn = lambda model_dir: model_dir\n_install()\n",
            "'global model_fn'",
        ),
        ("for name in ('model_fn',):\n    globals()[name] = print\n", "globals()"),
        ("import sys\nsetattr(sys.modules[__name__], 'predict_fn', print)\n", "setattr(..., 'predict_fn', ...)"),
        ("exec(open('handlers.txt').read())\n", "exec()"),
    ],
)
def test_handlers_defined_at_run_time_are_a_warning_not_an_error(tmp_path: Path, source: str, how: str) -> None:
    # Whether they exist is only known when the toolkit imports the script: not a synth error.
    report = check(tmp_path, source)
    assert report.handlers == ()
    assert any(f"defines no handler statically, but {how} (line" in warning for warning in report.warnings)


def test_unrelated_vars_and_setattr_do_not_excuse_a_script_without_handlers(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path, "import argparse\nsettings = vars(argparse.Namespace())\nsetattr(settings, 'x', 1)\n"
    )
    assert "defines none of model_fn, input_fn, predict_fn, output_fn, transform_fn" in message


def test_missing_entry_point(tmp_path: Path) -> None:
    code = write_code(tmp_path, "def predict_fn(data, model):\n    pass\n", name="handler.py")
    with pytest.raises(ConfigurationError, match=re.escape("code/inference.py: entry point not found")) as caught:
        check_inference_script(code)
    assert "handler.py" in str(caught.value)
    assert check_inference_script(code, "handler.py").handlers == ("predict_fn",)


def test_missing_code_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="the code directory does not exist"):
        check_inference_script(tmp_path / "nope")


@pytest.mark.parametrize(
    ("entry_point", "expected"),
    [
        ("inference.txt", "the entry point must be a Python file ending in '.py'"),
        ("inference", "the entry point must be a Python file ending in '.py'"),
        ("sub/inference.py", "must be a file directly in the code directory"),
        ("my.inference.py", "contains '.', so the toolkit would look for a package"),
        ("json.py", "already imported by the inference toolkit"),
    ],
)
def test_bad_entry_point_names(tmp_path: Path, entry_point: str, expected: str) -> None:
    code = write_code(tmp_path, "def predict_fn(data, model):\n    pass\n")
    with pytest.raises(ConfigurationError, match=re.escape(expected)):
        check_inference_script(code, entry_point)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    message = problems_of(
        tmp_path,
        """
        def model_fn():
            pass

        def predict_fn(data):
            pass
        """,
        requirements="numpy>=\n",
    )
    assert message.startswith("code/inference.py: 3 problems with the inference script:\n  - ")
    assert "model_fn() takes 0 arguments" in message
    assert "predict_fn(data) takes 1 argument" in message
    assert "code/requirements.txt line 1: 'numpy>=' is not a requirement pip can parse" in message


# --- warnings -----------------------------------------------------------------------------------------


def test_imported_handler_is_present_but_unchecked(tmp_path: Path) -> None:
    report = check(tmp_path, "from helpers import predict_fn\n")
    assert report.handlers == ("predict_fn",)
    assert report.uses_context == ()
    assert report.warnings == (
        "code/inference.py: predict_fn (line 1) is imported from helpers.predict_fn; it counts as defined but its "
        "signature cannot be checked statically",
    )


def test_conditional_definitions_are_all_checked_and_warned(tmp_path: Path) -> None:
    source = """
        import os

        if os.environ.get("FAST"):
            def predict_fn(data, model):
                return data
        else:
            def predict_fn(data, model, context):
                return data
        """
    report = check(tmp_path, source)
    assert report.handlers == ("predict_fn",)
    assert any("predict_fn is defined only conditionally" in warning for warning in report.warnings)

    bad = source.replace("def predict_fn(data, model, context)", "def predict_fn(data)")
    assert "predict_fn(data) takes 1 argument" in problems_of(tmp_path, bad)


def test_transform_fn_and_predict_fn_in_different_branches_only_warn(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        """
        import os

        if os.environ.get("ONE_SHOT"):
            def transform_fn(model, input_data, content_type, accept):
                pass
        else:
            def predict_fn(data, model):
                pass
        """,
    )
    assert report.handlers == ("predict_fn", "transform_fn")
    assert any("if both exist at run time the toolkit raises ValueError" in w for w in report.warnings)


def test_other_warnings(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        """
        import functools
        from helpers import *

        def decorate(fn):
            return fn

        @decorate
        def model_fn(model_dir):
            pass

        output_fn = functools.partial(print)

        def predict(data, model):
            pass

        class Handler:
            def input_fn(self, input_data, content_type):
                pass
        """,
    )
    warnings = "\n".join(report.warnings)
    assert "model_fn (line 9) is decorated with @decorate" in warnings
    assert "output_fn (line 12) is assigned from 'functools.partial(print)'" in warnings
    assert "'from helpers import *' (line 3) may define handlers" in warnings
    assert "input_fn (line 18) is defined inside class Handler, not at module level" in warnings
    assert "function predict (line 14) looks like a misspelt predict_fn" in warnings
