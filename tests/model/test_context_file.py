"""The ``hub.context.json`` file (``model.context_file``): where it is, its keys, merged writes, corrupt files,
and what concurrent and killed writers leave."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from constructs_lib import ModelProfile
from constructs_lib.model import context_file
from constructs_lib.model.context_file import (
    CONTEXT_FILE_ENV,
    HubCacheError,
    default_context_file,
    lock_file_of,
    write_context_entry,
)
from constructs_lib.model.hub_lookup import HubLookup, lookup_hub_profile

from ..fake_hub import (
    BERT_ID,
    BGE_ID,
    BGE_PARAMETERS,
    LLAMA8B_ID,
    LLAMA8B_PARAMETERS,
    FakeHub,
)
from ..support import (
    ROOT,
    lookup,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")


def test_cache_write_merges_with_existing_entries(fake_hub: FakeHub, context: Path) -> None:
    context.parent.mkdir(parents=True)
    context.write_text(json.dumps({"hub:someone/else@v1": ModelProfile(parameters=5).to_json()}))
    lookup(fake_hub, BGE_ID, context)
    data = json.loads(context.read_text())
    assert set(data) == {"hub:someone/else@v1", "hub:fake-org/bge-large@main"}
    assert (
        lookup_hub_profile("someone/else", revision="v1", context_file=context, endpoint=fake_hub.url).parameters == 5
    )


def test_revision_is_part_of_the_cache_key(fake_hub: FakeHub, context: Path) -> None:
    profile = lookup(fake_hub, LLAMA8B_ID, context, revision="main")
    assert profile.revision == "main"
    assert "hub:fake-org/llama-8b-instruct@main" in json.loads(context.read_text())


def test_default_context_file_is_next_to_cdk_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONTEXT_FILE_ENV, raising=False)
    (tmp_path / "cdk.json").write_text("{}")
    nested = tmp_path / "stacks" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert default_context_file() == tmp_path.resolve() / "hub.context.json"
    monkeypatch.setenv(CONTEXT_FILE_ENV, str(tmp_path / "elsewhere.json"))
    assert default_context_file() == tmp_path / "elsewhere.json"
    assert HubLookup().context_file == tmp_path / "elsewhere.json"


def test_default_context_file_without_cdk_json_is_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONTEXT_FILE_ENV, raising=False)
    assert default_context_file(tmp_path) == tmp_path.resolve() / "hub.context.json"


# ------------------------------------------------------------------------- corrupt or hand-edited
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2"),
        ("", "is not valid JSON (Expecting value: line 1 column 1"),
        ('{"hub:a/b@main": {"parameters": 5}', "is not valid JSON ("),
        ("<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> theirs\n", "is not valid JSON ("),
        ("[1, 2]", "must hold a JSON object of Hub answers, found list"),
    ],
    ids=["garbage", "empty", "truncated", "merge-conflict", "a-list"],
)
def test_a_corrupt_file_is_an_error_naming_it_and_is_never_reset(
    fake_hub: FakeHub, context: Path, text: str, problem: str
) -> None:
    context.parent.mkdir(parents=True)
    context.write_text(text)
    fake_hub.clear()
    with pytest.raises(HubCacheError) as error:
        lookup(fake_hub, BGE_ID, context)
    assert str(error.value).startswith(f"{str(context)!r} {problem}")
    assert "delete it" in str(error.value)
    assert context.read_text() == text  # not replaced by a fresh cache holding only the new answer
    assert fake_hub.requests == []  # read before any network call
    with pytest.raises(HubCacheError):
        write_context_entry(context, "hub:x/y@main", {"parameters": 1})
    assert context.read_text() == text


def test_a_hand_edited_entry_is_an_error_naming_the_file_and_the_entry(context: Path) -> None:
    context.parent.mkdir(parents=True)
    context.write_text(json.dumps({f"hub:{BERT_ID}@main": {"parameters": -3}}))
    with pytest.raises(HubCacheError) as error:
        lookup_hub_profile(BERT_ID, context_file=context, endpoint="http://127.0.0.1:9")
    assert str(error.value).startswith(f"{str(context)!r}: entry 'hub:{BERT_ID}@main' is invalid (")


def test_a_file_that_cannot_be_written_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "not-a-directory").write_text("")
    target = tmp_path / "not-a-directory" / "hub.context.json"
    with pytest.raises(HubCacheError) as error:
        write_context_entry(target, "hub:x/y@main", {"parameters": 1})
    assert str(error.value).startswith(f"{str(target)!r} cannot be written (")
    assert "'hub:x/y@main' was not cached" in str(error.value) and CONTEXT_FILE_ENV in str(error.value)


# ----------------------------------------------------------------------------- how it is written
def test_the_file_keeps_its_mode_and_a_new_one_follows_the_umask(context: Path) -> None:
    write_context_entry(context, "hub:a/b@main", {"parameters": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(context.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    context.chmod(0o640)
    write_context_entry(context, "hub:c/d@main", {"parameters": 2})
    assert stat.S_IMODE(context.stat().st_mode) == 0o640
    assert sorted(path.name for path in context.parent.iterdir()) == ["hub.context.json", "hub.context.json.lock"]


def run_python(script: str, *args: str) -> subprocess.Popen[str]:
    """Start ``script`` in a new interpreter that imports this checkout's constructs_lib."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


WRITER = """
    import sys, time
    from pathlib import Path
    from constructs_lib.model.context_file import write_context_entry
    path, name, count, go = sys.argv[1:]
    while not Path(go).exists():
        time.sleep(0.001)
    for i in range(int(count)):
        write_context_entry(Path(path), f"hub:{name}/model-{i}@main", {"parameters": i})
"""


def test_concurrent_writers_lose_no_answer(context: Path, tmp_path: Path) -> None:
    # Each of three processes merges 40 answers as fast as it can, all starting at once: without the lock, a
    # writer that read the file before another's replace would drop that writer's answers.
    go = tmp_path / "go"
    writers = [run_python(WRITER, str(context), f"writer{n}", "40", str(go)) for n in range(3)]
    time.sleep(0.5)  # let them import; each waits for the go file
    go.write_text("")
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    data = json.loads(context.read_text())
    assert sorted(data) == sorted(f"hub:writer{n}/model-{i}@main" for n in range(3) for i in range(40))
    assert list(context.parent.glob(".hub.context.json.*")) == []


def test_a_writer_waits_for_the_lock_another_process_holds(context: Path) -> None:
    from filelock import FileLock

    write_context_entry(context, "hub:first/model@main", {"parameters": 1})
    before = context.read_text()
    held = FileLock(str(lock_file_of(context)))
    held.acquire()
    try:
        writer = run_python(
            """
            import sys
            from pathlib import Path
            from constructs_lib.model.context_file import write_context_entry
            print("ready", flush=True)
            write_context_entry(Path(sys.argv[1]), "hub:second/model@main", {"parameters": 2})
            """,
            str(context),
        )
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        assert writer.poll() is None  # still waiting for the lock
        assert context.read_text() == before
    finally:
        held.release()
    _, stderr = writer.communicate(timeout=60)
    assert writer.returncode == 0, stderr
    assert set(json.loads(context.read_text())) == {"hub:first/model@main", "hub:second/model@main"}


def test_a_lock_held_too_long_is_a_clear_error(context: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    monkeypatch.setattr(context_file, "LOCK_TIMEOUT_SECONDS", 0.2)
    context.parent.mkdir(parents=True)
    with FileLock(str(lock_file_of(context))), pytest.raises(HubCacheError) as error:
        write_context_entry(context, "hub:x/y@main", {"parameters": 1})
    assert str(error.value) == (
        f"{str(context)!r}: another process has held {str(lock_file_of(context))!r} for over 0.2 s; "
        "if no other synth is running, delete the lock file"
    )
    assert not context.exists()


KILLED_MID_WRITE = """
    import os, signal, sys
    from pathlib import Path
    from constructs_lib.model.context_file import write_context_entry

    real_fdopen = os.fdopen

    class DiesHalfway:
        # The temporary file's handle: writes half of the JSON, then the process is killed.
        def __init__(self, handle):
            self.handle = handle
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return False
        def write(self, text):
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    os.fdopen = lambda *args, **kwargs: DiesHalfway(real_fdopen(*args, **kwargs))
    write_context_entry(Path(sys.argv[1]), "hub:killed/model@main", {"parameters": 3})
"""


def test_a_writer_killed_mid_write_leaves_the_file_whole(context: Path) -> None:
    write_context_entry(context, "hub:first/model@main", {"parameters": 1})
    write_context_entry(context, "hub:second/model@main", {"parameters": 2})
    before = context.read_bytes()

    killed = run_python(KILLED_MID_WRITE, str(context))
    _, stderr = killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL, stderr
    assert context.read_bytes() == before
    (stale,) = context.parent.glob(".hub.context.json.*.tmp")
    assert 0 < stale.stat().st_size < len(before)  # it died halfway through its temporary file

    # The kernel released the dead writer's lock, and the next writer clears what it left.
    write_context_entry(context, "hub:third/model@main", {"parameters": 4})
    assert set(json.loads(context.read_text())) == {
        "hub:first/model@main",
        "hub:second/model@main",
        "hub:third/model@main",
    }
    assert not stale.exists()


# --------------------------------------------------------------------- two synths in one app directory
def synth_process(app_dir: Path, hub: FakeHub, model_id: str, outdir: str) -> subprocess.Popen[str]:
    """``python app.py``, as ``cdk synth`` runs it, in ``app_dir`` (which has a cdk.json), for one model."""
    env = {key: value for key, value in os.environ.items() if key not in (CONTEXT_FILE_ENV, "HF_HUB_OFFLINE")}
    env.update(
        HF_ENDPOINT=hub.url,
        CDK_OUTDIR=str(app_dir / outdir),
        CDK_CONTEXT_JSON=json.dumps({"model_id": model_id}),
    )
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=app_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_synths_started_at_once_in_one_app_directory_both_keep_their_answer(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "cdk.json").write_text((ROOT / "cdk.json").read_text())
    with FakeHub() as hub:
        # Both model-info requests are held until both have arrived: the two lookups run at the same time,
        # and both processes then write their answer into the file at about the same moment.
        hub.gate(r"^/api/models/", 2)
        synths = [synth_process(app_dir, hub, LLAMA8B_ID, "out-llm"), synth_process(app_dir, hub, BGE_ID, "out-tei")]
        for synth in synths:
            _, stderr = synth.communicate(timeout=300)
            assert synth.returncode == 0, stderr[-3000:]
        asked = sorted(r.path for r in hub.matching(r"^/api/models/"))
    assert asked == [f"/api/models/{BGE_ID}", f"/api/models/{LLAMA8B_ID}"]
    data = json.loads((app_dir / "hub.context.json").read_text())
    assert set(data) == {f"hub:{LLAMA8B_ID}@main", f"hub:{BGE_ID}@main"}
    assert data[f"hub:{LLAMA8B_ID}@main"]["parameters"] == LLAMA8B_PARAMETERS
    assert data[f"hub:{BGE_ID}@main"]["parameters"] == BGE_PARAMETERS
    assert (app_dir / "out-llm" / "HuggingFaceEndpoint.template.json").is_file()
