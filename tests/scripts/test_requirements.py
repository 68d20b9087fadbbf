"""The check of the requirements.txt shipped with an inference script (and of the files it includes)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError, check_inference_script
from constructs_lib.scripts.requirements import check_requirements_file

from .support import check, write_code


def test_requirements_pinning_dlc_packages_warn(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        "def predict_fn(data, model):\n    pass\n",
        requirements="torch==2.0.1\ntransformers>=4.50\naccelerate==1.0\nnumpy\ntorch\n",
    )
    assert len(report.warnings) == 2
    assert report.warnings[0].startswith(
        "code/requirements.txt line 1: torch==2.0.1 pins torch, which the Hugging Face"
    )
    assert report.warnings[1].startswith("code/requirements.txt line 2: transformers>=4.50 pins transformers")


def test_requirements_accepts_what_pip_accepts(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("requests>=2\n", encoding="utf-8")
    (tmp_path / "constraints.txt").write_text("urllib3<3\n", encoding="utf-8")
    path = tmp_path / "requirements.txt"
    path.write_text(
        textwrap.dedent(
            """\
            # a comment

            -r base.txt
            --requirement=base.txt
            -c constraints.txt
            -i https://pypi.org/simple
            --extra-index-url https://download.pytorch.org/whl/cpu
            --extra-index https://example.com/simple
            --find-links ./wheels
            --trusted-host example.com
            --pre
            --prefer-binary
            --only-binary :all:
            -e git+https://github.com/org/repo.git#egg=repo
            -e ./local/pkg
            numpy>=1.26,<2  # inline comment
            scipy == 1.13.1
            pandas[performance]~=2.2; python_version >= "3.10"
            sentencepiece
            accelerate==1.*
            mylib @ https://example.com/mylib-1.0-py3-none-any.whl
            https://example.com/other-1.0.tar.gz
            git+https://github.com/org/another.git@v1#egg=another
            ./vendor/thing-1.0-py3-none-any.whl
            ./localpkg[extra]
            protobuf==4.25.3 \\
                --hash=sha256:abc \\
                --hash=sha256:def
            foo>=1.0 --config-settings=key=value
            """
        ),
        encoding="utf-8",
    )
    assert check_requirements_file(path) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("torch===", "'torch===' is not a requirement pip can parse: operator '===' has no version after it"),
        ("numpy>=", "'numpy>=' is not a requirement pip can parse: operator '>=' has no version after it"),
        ("numpy>=1.0,<", "'numpy>=1.0,<' is not a requirement pip can parse: operator '<' has no version after it"),
        ("foo bar", "'foo bar' is not a requirement pip can parse"),
        ("numpy=>1.0", "'numpy=>1.0' is not a requirement pip can parse"),
        ("--bogus-option", "'--bogus-option' is not an option pip accepts in a requirements file"),
        ("--index-url", "option --index-url needs a value"),
        ("--pre=yes", "option --pre takes no value"),
        ("--hash=sha256:abc", "--hash must follow a requirement on the same line"),
        ("-e notapath", "an editable requirement must be a local directory or a VCS URL"),
    ],
)
def test_requirements_rejects_garbage(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text(f"numpy\n{line}\n", encoding="utf-8")
    problems = check_requirements_file(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path} line 2: ")
    assert expected in problems[0]


def test_requirements_missing_included_file(tmp_path: Path) -> None:
    nested = tmp_path / "nested"
    nested.mkdir()
    (nested / "requirements.txt").write_text("-r other.txt\n-r ../shared.txt\n", encoding="utf-8")
    (tmp_path / "shared.txt").write_text("numpy>=\n", encoding="utf-8")
    problems = check_requirements_file(nested / "requirements.txt")
    assert problems == [
        f"{nested / 'requirements.txt'} line 1: '-r other.txt': file {nested / 'other.txt'} does not exist "
        f"(pip resolves it relative to {nested / 'requirements.txt'})",
        f"{nested / '../shared.txt'} line 1: 'numpy>=' is not a requirement pip can parse: "
        "operator '>=' has no version after it",
    ]


PREDICT_ONLY = """
def predict_fn(data, model):
    return data
"""


def test_requirements_option_after_a_requirement_is_a_warning(tmp_path: Path) -> None:
    code = write_code(tmp_path, PREDICT_ONLY, requirements="numpy --index-url https://x\n")
    report = check_inference_script(code)
    assert any("pip ignores --index-url after a requirement" in warning for warning in report.warnings)


def test_requirements_included_from_outside_code_dir_is_an_error(tmp_path: Path) -> None:
    code = write_code(tmp_path, PREDICT_ONLY, requirements="-r ../base-requirements.txt\n")
    (tmp_path / "base-requirements.txt").write_text("numpy\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"is outside code_dir .*copy it into code_dir"):
        check_inference_script(code)
    (code / "requirements.txt").write_text("-r base.txt\n", encoding="utf-8")
    (code / "base.txt").write_text("numpy\n", encoding="utf-8")
    check_inference_script(code)  # included from inside code_dir: shipped with it
    (code / "base.txt").unlink()
    (code / "base.txt").symlink_to(tmp_path / "base-requirements.txt")
    check_inference_script(code)  # a symlink in code_dir is followed when packaging: shipped too


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_requirements_with_a_byte_order_mark_are_read_like_pip(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "requirements.txt"
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path.write_bytes(bom + "numpy>=1.24\nscipy\n".encode(encoding))
    assert check_requirements_file(path) == []
    path.write_bytes(bom + "numpy>=\n".encode(encoding))
    assert len(check_requirements_file(path)) == 1


def test_requirements_include_cycle_terminates(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\nnumpy\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("-r a.txt\nscipy\n", encoding="utf-8")
    assert check_requirements_file(tmp_path / "a.txt") == []


@pytest.mark.parametrize("name", ["Requirements.txt", "requirement.txt", "REQUIREMENTS.TXT", "requirements.txt.txt"])
def test_misnamed_requirements_file_warns(tmp_path: Path, name: str) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / name).write_text("numpy==2.0.0\n")
    report = check(tmp_path, "def predict_fn(data, model):\n    return data\n")
    assert any(name in warning and "will not be installed" in warning for warning in report.warnings)


def test_requirements_file_named_right_does_not_warn_about_its_name(tmp_path: Path) -> None:
    report = check(tmp_path, "def predict_fn(data, model):\n    return data\n", requirements="numpy==2.0.0\n")
    assert not any("will not be installed" in warning for warning in report.warnings)
