"""Helpers shared by the archive tests: tiny model and script directories, and archive readers."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

from ..support import write_script

REPO = Path(__file__).resolve().parents[2]
TAR = shutil.which("tar") or "tar"
needs_tar = pytest.mark.skipif(shutil.which("tar") is None, reason="system tar not installed")


def make_model(root: Path, *, weights: bytes = b"\x00\x01weights" * 1000) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"architectures": ["BertForSequenceClassification"]}')
    (root / "model.safetensors").write_bytes(weights)
    (root / "tokenizer.json").write_text('{"version": "1.0"}')
    (root / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    return root


def make_code(root: Path, body: str = "def model_fn(model_dir):\n    return model_dir\n") -> Path:
    write_script(root, body)
    (root / "requirements.txt").write_text("numpy\n")
    return root


def members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, mode="r:gz") as archive:
        return archive.getmembers()


def names(path: Path) -> list[str]:
    return [member.name for member in members(path)]


def contents(path: Path) -> dict[str, bytes]:
    result: dict[str, bytes] = {}
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive:
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                result[member.name] = handle.read()
    return result
