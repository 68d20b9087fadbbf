"""Test-wide hermetic setup: no network but loopback, caches in temp dirs, quiet jsii."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

# Set before anything imports huggingface_hub (it reads HF_ENDPOINT once, at import): an
# accidental Hub request goes to a closed loopback port and fails at once instead of leaving
# the machine. Tests that need a Hub start the fake one and pass its URL explicitly.
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


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    """A ``code/`` directory with a minimal ``inference.py`` (test modules needing another script override it)."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    return code


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
