"""A fake Hugging Face Hub on 127.0.0.1 that answers the requests the real ``huggingface_hub`` makes.

Routes: ``GET /api/models/{repo}[/revision/{rev}]`` (model info) and ``HEAD``/``GET
/{repo}/resolve/{rev}/{file}`` (files, with ``ETag``, ``X-Repo-Commit``, ``Content-Length`` and
``Range``). Errors carry the Hub's ``X-Error-Code`` headers (``RepoNotFound``, ``GatedRepo``,
``EntryNotFound``, ``RevisionNotFound``). Safetensors and GGUF files hold only their header: enough for
metadata lookups, which read nothing else. Every request is recorded in ``FakeHub.requests``, with the time
it arrived.

Faults, for the transport tests: ``fail`` answers the next matching requests with error statuses, ``hang``
accepts matching requests and never answers, ``drop`` closes their connection without an answer, ``gate``
holds matching requests until several have arrived.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from tests._tiny_gguf import llama_gguf

TOKEN = "hf_fake_token_with_access"


def safetensors_bytes(tensors: Mapping[str, tuple[str, list[int]]], *, with_data: bool = False) -> bytes:
    """A safetensors file: 8-byte little-endian header length, JSON header, then (optionally zeroed) data."""
    sizes = {
        "F64": 8,
        "F32": 4,
        "F16": 2,
        "BF16": 2,
        "I64": 8,
        "I32": 4,
        "I16": 2,
        "I8": 1,
        "U8": 1,
        "F8_E4M3": 1,
        "BOOL": 1,
    }
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = math.prod(shape) * sizes[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    body = struct.pack("<Q", len(raw)) + raw
    return body + (b"\0" * offset if with_data else b"")


@dataclass
class FakeRepo:
    """One model repository: the model-info JSON fields and the files."""

    repo_id: str
    files: dict[str, bytes]
    info: dict[str, Any] = field(default_factory=dict)
    """Extra model-info fields (``pipeline_tag``, ``safetensors``, ``config``...)."""
    declared_sizes: dict[str, int] = field(default_factory=dict)
    """Sizes reported in ``siblings`` instead of the real content length (for big fake files)."""
    gated: bool = False
    private: bool = False
    revisions: tuple[str, ...] = ("main",)

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.repo_id.encode()).hexdigest()

    def model_info(self) -> dict[str, Any]:
        siblings = [
            {"rfilename": name, "size": self.declared_sizes.get(name, len(content))}
            for name, content in sorted(self.files.items())
        ]
        return {
            "_id": self.sha[:24],
            "id": self.repo_id,
            "modelId": self.repo_id,
            "sha": self.sha,
            "private": self.private,
            "gated": "manual" if self.gated else False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "library_name": "transformers",
            "siblings": siblings,
            **self.info,
        }


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    at: float = field(default_factory=time.monotonic)
    """When the request arrived (``time.monotonic()``)."""


@dataclass
class _Fault:
    """Error answers for the next requests whose path matches ``pattern``, in turn."""

    pattern: re.Pattern[str]
    statuses: list[int]
    headers: Mapping[str, str]


@dataclass
class _Gate:
    """Requests whose path matches ``pattern`` wait until ``count`` of them have arrived (at most ``timeout``)."""

    pattern: re.Pattern[str]
    count: int
    timeout: float
    arrived: int = 0
    opened: threading.Condition = field(default_factory=threading.Condition)

    def wait(self) -> None:
        with self.opened:
            self.arrived += 1
            self.opened.notify_all()
            self.opened.wait_for(lambda: self.arrived >= self.count, timeout=self.timeout)


def _bert_tensors() -> dict[str, tuple[str, list[int]]]:
    tensors: dict[str, tuple[str, list[int]]] = {
        "bert.embeddings.word_embeddings.weight": ("F32", [30522, 768]),
        "bert.embeddings.position_embeddings.weight": ("F32", [512, 768]),
        "bert.embeddings.token_type_embeddings.weight": ("F32", [2, 768]),
    }
    for layer in range(12):
        prefix = f"bert.encoder.layer.{layer}"
        tensors[f"{prefix}.attention.qkv.weight"] = ("F32", [2304, 768])
        tensors[f"{prefix}.attention.output.weight"] = ("F32", [768, 768])
        tensors[f"{prefix}.intermediate.weight"] = ("F32", [3072, 768])
        tensors[f"{prefix}.output.weight"] = ("F32", [768, 3072])
    tensors["bert.pooler.dense.weight"] = ("F32", [768, 768])
    tensors["classifier.weight"] = ("F32", [2, 768])
    return tensors


BERT_TENSORS = _bert_tensors()
BERT_PARAMETERS = sum(math.prod(shape) for _, shape in BERT_TENSORS.values())

BERT_ID = "fake-org/bert-sentiment"
LLAMA8B_ID = "fake-org/llama-8b-instruct"
LLAMA70B_ID = "fake-org/llama-70b-instruct"
MIXTRAL_ID = "fake-org/mixtral-8x7b"
BGE_ID = "fake-org/bge-large"
GATED_ID = "fake-org/gated-llm"
MISSING_ID = "fake-org/does-not-exist"
BIN_ID = "fake-org/legacy-bin"
BIN_SIZE = 438_000_000
AWQ70B_ID = "fake-org/llama-70b-awq"
# Llama-3.1-70B quantized with AWQ (4 bit, group size 128): qweight and qzeros are int32 elements that
# each pack eight 4-bit weights; scales, embeddings and norms stay float16. What the Hub reports.
AWQ70B_INT32 = 8_623_226_880
AWQ70B_FLOAT16 = 2_637_438_976

MHA7B_ID = "fake-org/llama-2-7b-chat"
"""Llama-2-7B-like: multi-head attention (32 key/value heads) and a 4k context, in float16."""
MHA7B_PARAMETERS = 6_738_415_616
TF_ONLY_ID = "fake-org/bert-tf-only"
"""A classifier whose only weights are TensorFlow's ``tf_model.h5`` (transformers 5 cannot load it)."""
FLAX_ONLY_ID = "fake-org/bert-flax-only"
"""A classifier whose only weights are Flax's ``flax_model.msgpack``."""
TF_WEIGHTS_SIZE = 438_000_000

GGUF_SINGLE_ID = "fake-org/llama-8b-instruct-GGUF"
"""One GGUF model (a Q4_K_M file), with the ``gguf`` summary the Hub reports for GGUF repositories."""
GGUF_SINGLE_FILE = "llama-8b-instruct-Q4_K_M.gguf"
GGUF_QUANTS_ID = "fake-org/llama-8b-quants-GGUF"
"""Three quantizations of one model, a vision projector (``mmproj``, not a model) and no ``gguf`` summary."""
GGUF_QUANT_SIZES = {
    "llama-8b-Q4_K_M.gguf": 4_920_734_016,
    "llama-8b-Q8_0.gguf": 8_540_775_744,
    "llama-8b-F16.gguf": 16_068_890_944,
    "mmproj-llama-8b-f16.gguf": 624_000_000,
}
GGUF_SPLIT_ID = "fake-org/llama-70b-GGUF"
"""A 70B model whose Q4_K_M and Q8_0 files are each split in two, in folders (the Hub takes files of 50 GB at most)."""
GGUF_SPLIT_FIRST = "Q4_K_M/llama-70b-Q4_K_M-00001-of-00002.gguf"
GGUF_SPLIT_SIZES = {
    GGUF_SPLIT_FIRST: 21_474_836_480,
    "Q4_K_M/llama-70b-Q4_K_M-00002-of-00002.gguf": 21_045_000_000,
    "Q8_0/llama-70b-Q8_0-00001-of-00002.gguf": 39_728_447_488,
    "Q8_0/llama-70b-Q8_0-00002-of-00002.gguf": 35_246_000_000,
}

LLAMA8B_PARAMETERS = 8_030_261_248
LLAMA70B_PARAMETERS = 70_553_706_496
MIXTRAL_PARAMETERS = 46_702_792_704
BGE_PARAMETERS = 335_141_888
GATED_PARAMETERS = 1_235_814_400


def _json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, indent=2).encode()


def _llama_config(layers: int, heads: int, kv: int, hidden: int, positions: int, **extra: Any) -> dict[str, Any]:
    return {
        "architectures": [extra.pop("architecture", "LlamaForCausalLM")],
        "model_type": extra.pop("model_type", "llama"),
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "hidden_size": hidden,
        "max_position_embeddings": positions,
        "torch_dtype": "bfloat16",
        **extra,
    }


def gguf_repos() -> list[FakeRepo]:
    """Repositories of GGUF files only: tiny real headers, the sizes of the real files declared."""
    llama8b = llama_gguf(context=131072, layers=32, heads=32, kv_heads=8, embedding=4096)
    llama70b = llama_gguf(context=131072, layers=80, heads=64, kv_heads=8, embedding=8192)
    readme = {"README.md": b"# GGUF"}
    return [
        FakeRepo(
            GGUF_SINGLE_ID,
            {GGUF_SINGLE_FILE: llama8b, **readme},
            info={
                "pipeline_tag": "text-generation",
                "library_name": "gguf",
                "gguf": {"total": LLAMA8B_PARAMETERS, "architecture": "llama", "context_length": 131072},
            },
            declared_sizes={GGUF_SINGLE_FILE: 4_920_734_016},
            revisions=("main", "v1"),
        ),
        FakeRepo(
            GGUF_QUANTS_ID,
            {name: llama8b for name in GGUF_QUANT_SIZES} | readme,
            info={"pipeline_tag": "text-generation", "library_name": "gguf"},
            declared_sizes=GGUF_QUANT_SIZES,
        ),
        FakeRepo(
            GGUF_SPLIT_ID,
            {name: llama70b for name in GGUF_SPLIT_SIZES} | readme,
            info={"pipeline_tag": "text-generation", "library_name": "gguf"},
            declared_sizes=GGUF_SPLIT_SIZES,
        ),
    ]


def default_repos() -> list[FakeRepo]:
    """The profiles the tests use (sizes like the real models they imitate)."""
    bert_config = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "hidden_size": 768,
        "max_position_embeddings": 512,
        "torch_dtype": "float32",
    }
    bge_config = {
        **bert_config,
        "architectures": ["BertModel"],
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "hidden_size": 1024,
    }
    mixtral_config = _llama_config(
        32,
        32,
        8,
        4096,
        32768,
        architecture="MixtralForCausalLM",
        model_type="mixtral",
        num_local_experts=8,
        num_experts_per_tok=2,
    )
    return [
        # No `safetensors` field: the lookup reads the safetensors header over HTTP.
        FakeRepo(
            BERT_ID,
            {"config.json": _json(bert_config), "model.safetensors": safetensors_bytes(BERT_TENSORS)},
            info={"pipeline_tag": "text-classification", "config": {"model_type": "bert"}},
        ),
        FakeRepo(
            LLAMA8B_ID,
            {
                "config.json": _json(_llama_config(32, 32, 8, 4096, 131072, head_dim=128)),
                "model-00001-of-00002.safetensors": b"",
                "model-00002-of-00002.safetensors": b"",
            },
            info={
                "pipeline_tag": "text-generation",
                "safetensors": {"parameters": {"BF16": LLAMA8B_PARAMETERS}, "total": LLAMA8B_PARAMETERS},
            },
        ),
        FakeRepo(
            LLAMA70B_ID,
            {"config.json": _json(_llama_config(80, 64, 8, 8192, 131072))},
            info={
                "pipeline_tag": "text-generation",
                "safetensors": {"parameters": {"BF16": LLAMA70B_PARAMETERS}, "total": LLAMA70B_PARAMETERS},
            },
        ),
        FakeRepo(
            MIXTRAL_ID,
            {"config.json": _json(mixtral_config)},
            info={
                "pipeline_tag": "text-generation",
                "safetensors": {"parameters": {"BF16": MIXTRAL_PARAMETERS}, "total": MIXTRAL_PARAMETERS},
            },
        ),
        FakeRepo(
            BGE_ID,
            {"config.json": _json(bge_config)},
            info={
                "pipeline_tag": "feature-extraction",
                "safetensors": {"parameters": {"F32": BGE_PARAMETERS}, "total": BGE_PARAMETERS},
            },
        ),
        FakeRepo(
            GATED_ID,
            {"config.json": _json(_llama_config(16, 32, 8, 2048, 131072, head_dim=64))},
            info={
                "pipeline_tag": "text-generation",
                "safetensors": {"parameters": {"BF16": GATED_PARAMETERS}, "total": GATED_PARAMETERS},
            },
            gated=True,
        ),
        FakeRepo(
            AWQ70B_ID,
            {
                "config.json": _json(
                    _llama_config(80, 64, 8, 8192, 131072, quantization_config={"quant_method": "awq", "bits": 4})
                )
            },
            info={
                "pipeline_tag": "text-generation",
                "safetensors": {
                    "parameters": {"I32": AWQ70B_INT32, "F16": AWQ70B_FLOAT16},
                    "total": AWQ70B_INT32 + AWQ70B_FLOAT16,
                },
            },
        ),
        FakeRepo(
            MHA7B_ID,
            {"config.json": _json({**_llama_config(32, 32, 32, 4096, 4096), "torch_dtype": "float16"})},
            info={
                "pipeline_tag": "text-generation",
                "safetensors": {"parameters": {"F16": MHA7B_PARAMETERS}, "total": MHA7B_PARAMETERS},
            },
        ),
        FakeRepo(
            TF_ONLY_ID,
            {"config.json": _json(bert_config), "tf_model.h5": b"not really a checkpoint", "vocab.txt": b"[PAD]"},
            info={"pipeline_tag": "text-classification"},
            declared_sizes={"tf_model.h5": TF_WEIGHTS_SIZE},
        ),
        FakeRepo(
            FLAX_ONLY_ID,
            {"config.json": _json(bert_config), "flax_model.msgpack": b"not really a checkpoint"},
            info={"pipeline_tag": "text-classification"},
            declared_sizes={"flax_model.msgpack": TF_WEIGHTS_SIZE},
        ),
        FakeRepo(
            BIN_ID,
            {
                "config.json": _json(bert_config),
                "pytorch_model.bin": b"not really a checkpoint",
                "training_args.bin": b"x",
            },
            info={"pipeline_tag": "text-classification"},
            declared_sizes={"pytorch_model.bin": BIN_SIZE},
        ),
        *gguf_repos(),
    ]


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+?)(?:/revision/(?P<rev>[^/]+))?/?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class FakeHub:
    """A threaded fake Hub server; use as a context manager: ``with FakeHub() as hub: hub.url``."""

    def __init__(self, repos: list[FakeRepo] | None = None) -> None:
        self.repos = {repo.repo_id: repo for repo in (repos if repos is not None else default_repos())}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._faults: list[_Fault] = []
        self._hangs: list[re.Pattern[str]] = []
        self._drops: list[re.Pattern[str]] = []
        self._gates: list[_Gate] = []
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeHub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                hub._handle(self, head=False)

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() (shutdown) waits for one, and tests start hubs of their own.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # lets hung requests end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def paths(self) -> list[str]:
        """``"METHOD path"`` for every recorded request."""
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests]

    def matching(self, pattern: str) -> list[RecordedRequest]:
        """The recorded requests whose path matches the regular expression ``pattern``."""
        with self._lock:
            return [r for r in self.requests if re.search(pattern, r.path)]

    # -- faults

    def fail(self, pattern: str, *statuses: int, headers: Mapping[str, str] | None = None) -> None:
        """Answer the next requests whose path matches ``pattern`` with ``statuses``, one each, then normally."""
        with self._lock:
            self._faults.append(_Fault(re.compile(pattern), list(statuses), dict(headers or {})))

    def hang(self, pattern: str) -> None:
        """Accept the requests whose path matches ``pattern`` and never answer them (until the hub stops)."""
        with self._lock:
            self._hangs.append(re.compile(pattern))

    def drop(self, pattern: str) -> None:
        """Close the connection of the requests whose path matches ``pattern`` without answering them."""
        with self._lock:
            self._drops.append(re.compile(pattern))

    def gate(self, pattern: str, count: int, timeout: float = 60.0) -> None:
        """Hold the requests whose path matches ``pattern`` until ``count`` of them have arrived, then answer them
        all: the clients that sent them are then sure to have been running at the same time."""
        with self._lock:
            self._gates.append(_Gate(re.compile(pattern), count, timeout))

    def _fault_for(self, path: str) -> tuple[int, Mapping[str, str]] | None:
        with self._lock:
            for fault in self._faults:
                if fault.statuses and fault.pattern.search(path):
                    return fault.statuses.pop(0), fault.headers
        return None

    def _delay(self, path: str) -> bool:
        """Hold a request as the hangs and gates say; ``False`` when it must get no answer at all."""
        with self._lock:
            hung = any(pattern.search(path) for pattern in self._hangs)
            dropped = any(pattern.search(path) for pattern in self._drops)
            gates = [gate for gate in self._gates if gate.pattern.search(path)]
        if dropped:
            return False
        if hung:
            self._stopping.wait()
            return False
        for gate in gates:
            gate.wait()
        return True

    # -- request handling

    def _handle(self, handler: BaseHTTPRequestHandler, *, head: bool) -> None:
        path = unquote(urlsplit(handler.path).path)
        with self._lock:
            self.requests.append(RecordedRequest(handler.command, path, dict(handler.headers.items())))
        if not self._delay(path):
            handler.close_connection = True
            return None
        fault = self._fault_for(path)
        if fault is not None:
            status, headers = fault
            return self._error(handler, status, None, f"fault injected: {status}", head, headers)
        authorised = handler.headers.get("Authorization") == f"Bearer {TOKEN}"
        match = _API.match(path)
        if match:
            repo = self.repos.get(match["repo"])
            if repo is None or (repo.private and not authorised):
                return self._error(handler, 404 if repo is None else 401, "RepoNotFound", "Repository not found", head)
            if match["rev"] and match["rev"] not in repo.revisions and match["rev"] != repo.sha:
                return self._error(handler, 404, "RevisionNotFound", "Invalid rev id", head)
            return self._send(
                handler, 200, json.dumps(repo.model_info()).encode(), head, {"Content-Type": "application/json"}
            )
        match = _RESOLVE.match(path)
        if match:
            repo = self.repos.get(match["repo"])
            if repo is None or (repo.private and not authorised):
                return self._error(handler, 404 if repo is None else 401, "RepoNotFound", "Repository not found", head)
            if repo.gated and not authorised:
                return self._error(handler, 401, "GatedRepo", "Access to model is restricted", head)
            if match["rev"] not in repo.revisions and match["rev"] != repo.sha:
                return self._error(handler, 404, "RevisionNotFound", "Invalid rev id", head)
            content = repo.files.get(match["file"])
            if content is None:
                return self._error(handler, 404, "EntryNotFound", "Entry not found", head)
            etag = hashlib.sha256(content).hexdigest()
            headers = {
                "ETag": f'"{etag}"',
                "X-Repo-Commit": repo.sha,
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
            }
            status = 200
            byte_range = handler.headers.get("Range")
            if byte_range and not head:
                start_text, _, end_text = byte_range.removeprefix("bytes=").partition("-")
                start = int(start_text or 0)
                end = min(int(end_text) if end_text else len(content) - 1, len(content) - 1)
                headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
                content = content[start : end + 1]
                status = 206
            return self._send(handler, status, content, head, headers)
        return self._error(handler, 404, None, "Not found", head)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, head: bool, headers: Mapping[str, str]
    ) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head:
            handler.wfile.write(body)

    def _error(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        code: str | None,
        message: str,
        head: bool,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        headers = {"Content-Type": "application/json", "X-Error-Message": message, **(extra_headers or {})}
        if code:
            headers["X-Error-Code"] = code
        self._send(handler, status, json.dumps({"error": message}).encode(), head, headers)


def start_fake_hub(repos: list[FakeRepo] | None = None) -> Iterator[FakeHub]:
    """Generator for a pytest fixture: ``yield from start_fake_hub()``."""
    with FakeHub(repos) as hub:
        yield hub
