"""Test-wide hermetic setup: no network but loopback, caches in temp dirs, quiet jsii."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from constructs_lib import ModelProfile
    from tests.fake_hub import FakeHub

# Set before anything imports huggingface_hub (it reads HF_ENDPOINT once, at import): an
# accidental Hub request goes to a closed loopback port and fails at once instead of leaving
# the machine. Tests that need a Hub start the fake one and pass its URL explicitly. This is why
# the fixtures below import the library and tests.support lazily.
_SCRATCH = Path(tempfile.mkdtemp(prefix="constructs-lib-tests-"))
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"
os.environ["HF_HOME"] = str(_SCRATCH / "hf-home")
os.environ["CONSTRUCTS_LIB_CACHE_DIR"] = str(_SCRATCH / "archives")
os.environ["CONSTRUCTS_LIB_HUB_CONTEXT"] = str(_SCRATCH / "hub.context.json")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
os.environ.setdefault("NODE_NO_WARNINGS", "1")
for _credential in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
    os.environ.pop(_credential, None)


def _seed_hub_context() -> None:
    """Hub answers the tests may rely on, as users commit them: the app's hub.context.json plus
    test fixtures. Lookups of anything else go to the closed port and fail fast."""
    root = Path(__file__).resolve().parent.parent
    entries: dict[str, object] = {}
    for source in (root / "hub.context.json", root / "tests" / "data" / "hub.context.json"):
        entries.update(json.loads(source.read_text()))
    (_SCRATCH / "hub.context.json").write_text(json.dumps(entries, indent=2, sort_keys=True))


_seed_hub_context()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The scratch directory goes with the run: its archive cache reaches gigabytes, and every run (four per
    ``./run.sh test``) would otherwise leave one behind in the system's temp directory."""
    shutil.rmtree(_SCRATCH, ignore_errors=True)


LOCAL_EXTRA_UNAVAILABLE = "CONSTRUCTS_LIB_LOCAL_EXTRA_UNAVAILABLE"
"""Why the ``[local]`` extra is not installed in this environment, set by ``./run.sh test`` for the range runs
where pip cannot add it (transformers<5 requires huggingface_hub<1.0). Unset, a missing extra is a failure."""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``local_extra`` run through the real inference toolkit. Without it they are skipped only
    with the reason ``./run.sh`` gives for this environment, and fail otherwise: a broken install never
    passes as skipped tests."""
    if item.get_closest_marker("local_extra") is None:
        return
    import importlib.util

    from constructs_lib.cli.local_invoke import LOCAL_EXTRA_MODULES

    missing = [dist for module, dist in LOCAL_EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]
    if not missing:
        return
    reason = os.environ.get(LOCAL_EXTRA_UNAVAILABLE, "").strip()
    if reason:
        pytest.skip(f"the [local] extra is not installed in this run: {reason}")
    pytest.fail(
        f"the [local] extra is not installed (missing {', '.join(missing)}): ./run.sh test installs it from "
        "requirements-dev.txt",
        pytrace=False,
    )


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    """A ``code/`` directory with a minimal ``inference.py`` (only ``model_fn``)."""
    from tests.support import write_script

    return write_script(tmp_path / "code")


@pytest.fixture
def handlers_code_dir(tmp_path: Path) -> Path:
    """A ``code/`` directory whose ``inference.py`` has ``model_fn`` and ``predict_fn``."""
    from tests.support import HANDLERS_SCRIPT, write_script

    return write_script(tmp_path / "code", HANDLERS_SCRIPT)


@pytest.fixture(scope="module")
def module_code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``code_dir``, once per test module (for module-scoped fixtures)."""
    from tests.support import write_script

    return write_script(tmp_path_factory.mktemp("code"))


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A tiny local model directory (``write_bert_model_dir``)."""
    from tests.support import write_bert_model_dir

    return write_bert_model_dir(tmp_path)


@pytest.fixture(scope="module")
def fake_hub() -> Iterator[FakeHub]:
    """A fake Hub on loopback serving ``tests.fake_hub``'s repositories, one per test module."""
    from tests.fake_hub import FakeHub

    with FakeHub() as fake:
        yield fake


@pytest.fixture
def hermetic_hf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh ``HF_HOME`` per test and no Hub token or offline switch from the environment."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def lookups_go_to_the_fake_hub(
    fake_hub: FakeHub, hermetic_hf: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point the constructs' Hub lookups at the fake Hub with an empty cache of their own."""
    context = tmp_path / "hub.context.json"
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("CONSTRUCTS_LIB_HUB_CONTEXT", str(context))
    return context


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModelProfile]]:
    """The profiles of the fake Hub's models, looked up once per test module."""
    from constructs_lib.model.hub_lookup import lookup_hub_profile
    from tests.fake_hub import AWQ70B_ID, BERT_ID, BGE_ID, BIN_ID, LLAMA8B_ID, LLAMA70B_ID, MIXTRAL_ID, FakeHub

    context = tmp_path_factory.mktemp("sizing") / "hub.context.json"
    with FakeHub() as hub:
        yield {
            model_id: lookup_hub_profile(model_id, context_file=context, endpoint=hub.url)
            for model_id in (BERT_ID, LLAMA8B_ID, LLAMA70B_ID, MIXTRAL_ID, BGE_ID, BIN_ID, AWQ70B_ID)
        }
