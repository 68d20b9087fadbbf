"""The Hub's HTTP side (``model.hub_client``): timeouts on every request, retries with backoff on 429 and 5xx,
the failures of requests, httpx and httpx2 recognised, safetensors headers read with bounded requests."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from constructs_lib import ConfigurationError, ModelProfile
from constructs_lib.model.hub_client import RetryPolicy, client_errors, client_failure
from constructs_lib.model.hub_lookup import HubLookup

from ..fake_hub import (
    BERT_ID,
    BERT_PARAMETERS,
    BERT_TENSORS,
    LLAMA8B_ID,
    LLAMA8B_PARAMETERS,
    MISSING_ID,
    TOKEN,
    FakeHub,
    FakeRepo,
    RecordedRequest,
    safetensors_bytes,
)

pytestmark = pytest.mark.usefixtures("hermetic_hf")

INFO = r"^/api/models/"
CONFIG = r"/resolve/[^/]+/config\.json$"
WEIGHTS = r"/resolve/[^/]+/model\.safetensors$"
FAST = 0.05
"""A backoff short enough for tests; the waits it leads to are lower bounds, asserted from arrival times."""


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A fake Hub of this test's own: its faults never reach another test."""
    with FakeHub() as fake:
        yield fake


def lookup_with(hub: FakeHub, context: Path, model_id: str = BERT_ID, **settings: float) -> ModelProfile:
    return HubLookup(context_file=context, endpoint=hub.url, **settings).profile(model_id)  # type: ignore[arg-type]


def gaps(hub: FakeHub, pattern: str) -> list[float]:
    times = [r.at for r in hub.matching(pattern)]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


# ------------------------------------------------------------------------------------- retries
@pytest.mark.parametrize("route", [INFO, CONFIG, WEIGHTS], ids=["model-info", "config.json", "safetensors-header"])
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_each_hub_call_is_retried_on_429_and_5xx(hub: FakeHub, context: Path, route: str, status: int) -> None:
    hub.fail(route, status, status)
    profile = lookup_with(hub, context, backoff=FAST)
    assert profile.parameters == BERT_PARAMETERS
    assert len(hub.matching(route)) == 3  # two failures, then the answer
    assert json.loads(context.read_text())[f"hub:{BERT_ID}@main"]["parameters"] == BERT_PARAMETERS


def test_retries_back_off_doubling(hub: FakeHub, context: Path) -> None:
    hub.fail(INFO, 503, 503, 503)
    lookup_with(hub, context, backoff=FAST)
    waits = gaps(hub, INFO)
    assert len(waits) == 3
    assert [wait >= FAST * 2**retry for retry, wait in enumerate(waits)] == [True, True, True]


def test_a_longer_retry_after_is_honoured_up_to_the_cap(hub: FakeHub, context: Path) -> None:
    hub.fail(INFO, 429, headers={"Retry-After": "1"})
    lookup_with(hub, context, backoff=0.2)  # backoff 0.2 s, capped at 1.6 s: the Hub's 1 s wins
    (wait,) = gaps(hub, INFO)
    assert wait >= 1.0
    assert RetryPolicy(backoff=0.2).delay(1, 60.0) == pytest.approx(1.6)  # never longer than the cap


def test_the_hubs_rate_limit_header_is_read_like_retry_after(hub: FakeHub, context: Path) -> None:
    hub.fail(INFO, 429, headers={"RateLimit": '"api";r=0;t=1'})
    lookup_with(hub, context, backoff=0.2)
    (wait,) = gaps(hub, INFO)
    assert wait >= 1.0


def test_a_hub_failing_every_attempt_is_a_clear_error(hub: FakeHub, context: Path) -> None:
    hub.fail(INFO, *[503] * 10)
    with pytest.raises(ConfigurationError) as error:
        lookup_with(hub, context, max_attempts=3, backoff=FAST)
    message = str(error.value)
    assert len(hub.matching(INFO)) == 3
    assert f"the Hugging Face Hub at {hub.url} (the endpoint given) answered HTTP 503 to 3 attempts" in message
    assert f"{str(context)!r} has no cached answer for 'hub:{BERT_ID}@main'" in message
    assert "model_profile=ModelProfile(...)" in message
    assert not context.exists()


def test_rate_limiting_says_a_token_raises_the_limit(hub: FakeHub, context: Path) -> None:
    hub.fail(INFO, *[429] * 2)
    with pytest.raises(ConfigurationError, match=r"HTTP 429 to 2 attempts, with backoff \(rate limited: a token"):
        lookup_with(hub, context, max_attempts=2, backoff=FAST)


@pytest.mark.parametrize("status", [400, 403, 501])
def test_other_statuses_are_not_retried(hub: FakeHub, context: Path, status: int) -> None:
    hub.fail(INFO, status)
    with pytest.raises(ConfigurationError, match=f"answered HTTP {status}, and "):
        lookup_with(hub, context, backoff=FAST)
    assert len(hub.matching(INFO)) == 1


def test_a_missing_model_is_asked_once(hub: FakeHub, context: Path) -> None:
    with pytest.raises(ConfigurationError, match="was not found on the Hugging Face Hub"):
        lookup_with(hub, context, MISSING_ID, backoff=FAST)
    assert len(hub.matching(INFO)) == 1


# ------------------------------------------------------------------------------------ timeouts
def finishes_within(seconds: float, call: Callable[[], object]) -> BaseException:
    """Run ``call`` in a thread; fail the test if it has not ended after ``seconds``. Returns what it raised."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # the test looks at it
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the lookup was still running after {seconds} s"
    assert outcome, "the lookup succeeded against a Hub that never answers"
    return outcome[0]


@pytest.mark.parametrize("route", [INFO, CONFIG, WEIGHTS], ids=["model-info", "config.json", "safetensors-header"])
def test_a_hub_that_never_answers_is_a_clear_error_after_the_timeout(
    hub: FakeHub, context: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    hub.hang(route)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    # 30 s is far above the 1 s timeout: without one, huggingface_hub's own calls wait 384 s (hf_hub_download
    # in 1.x and 2.x) or forever (safetensors headers in 0.36).
    error = finishes_within(30, lambda: HubLookup(context_file=context, timeout=1).profile(BERT_ID))
    assert isinstance(error, ConfigurationError)
    message = str(error)
    assert f"could not reach the Hugging Face Hub at {hub.url} (HF_ENDPOINT): no answer within 1 s (" in message
    assert f"{str(context)!r} has no cached answer for 'hub:{BERT_ID}@main'" in message
    assert len(hub.matching(route)) == 1  # a timeout is not retried: the bound is one timeout
    assert not context.exists()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("timeout", 0, "timeout: 0 must be a number of seconds above 0, at most 600"),
        ("timeout", None, "timeout: None must be a number of seconds above 0, at most 600"),
        ("timeout", 3600, "timeout: 3600 must be a number of seconds above 0, at most 600"),
        ("max_attempts", 0, "max_attempts: 0 must be a whole number from 1 to 10"),
        ("max_attempts", 2.5, "max_attempts: 2.5 must be a whole number from 1 to 10"),
        ("backoff", -1, "backoff: -1 must be a number of seconds from 0 to 60"),
    ],
)
def test_transport_settings_are_checked(context: Path, setting: str, value: object, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        HubLookup(context_file=context, **{setting: value})  # type: ignore[arg-type]
    assert str(error.value) == message


# ------------------------------------------------------------------------------- error mapping
CLIENT_MODULES = [name for name in ("requests", "httpx", "httpx2") if importlib.util.find_spec(name) is not None]
"""The HTTP clients installed here: requests with huggingface_hub 0.x (and moto), httpx with 1.x, httpx2 with
2.x. ``./run.sh test`` runs this module with each (see the README's "Dependency ranges")."""

CONNECTION_FAILURES = {"requests": "ConnectionError", "httpx": "ConnectError", "httpx2": "ConnectError"}
TIMEOUTS = {"requests": "ReadTimeout", "httpx": "ReadTimeout", "httpx2": "ReadTimeout"}
DROPPED = {"requests": "ChunkedEncodingError", "httpx": "RemoteProtocolError", "httpx2": "RemoteProtocolError"}


def exceptions_of(client: str) -> object:
    """Where a client defines its exceptions (requests keeps some out of its top level)."""
    return importlib.import_module("requests.exceptions" if client == "requests" else client)


def test_the_client_of_the_installed_huggingface_hub_is_one_the_mapping_knows() -> None:
    from huggingface_hub.utils import get_session

    client = type(get_session()).__module__.split(".")[0]
    assert client in CLIENT_MODULES
    module = exceptions_of(client)
    for name in (CONNECTION_FAILURES[client], TIMEOUTS[client], DROPPED[client]):
        assert issubclass(getattr(module, name), client_errors()), f"{client}.{name}"


@pytest.mark.parametrize("client", CLIENT_MODULES)
def test_each_clients_failures_are_mapped(client: str) -> None:
    module = exceptions_of(client)
    refused = getattr(module, CONNECTION_FAILURES[client])("[Errno 111] Connection refused")
    timed_out = getattr(module, TIMEOUTS[client])("timed out")
    dropped = getattr(module, DROPPED[client])("Server disconnected without sending a response")
    assert all(isinstance(error, client_errors()) for error in (refused, timed_out, dropped))
    assert client_failure(refused, 10) == f"connection failed ({type(refused).__name__})"
    assert client_failure(timed_out, 10) == "no answer within 10 s (ReadTimeout)"
    assert client_failure(dropped, 10) == f"connection failed ({type(dropped).__name__})"


def test_the_hub_errors_stay_hub_errors_not_client_failures() -> None:
    # In huggingface_hub 0.x HfHubHTTPError is a requests.RequestException: HubLookup catches it first.
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    assert issubclass(RepositoryNotFoundError, HfHubHTTPError)
    assert not issubclass(ConfigurationError, client_errors())


@pytest.mark.parametrize("route", [INFO, CONFIG, WEIGHTS], ids=["model-info", "config.json", "safetensors-header"])
def test_a_connection_closed_without_an_answer_is_a_connection_failure(hub: FakeHub, context: Path, route: str) -> None:
    # huggingface_hub 2.4 let this through as a raw httpx2.RemoteProtocolError.
    hub.drop(route)
    with pytest.raises(
        ConfigurationError,
        match=r"could not reach the Hugging Face Hub at .* \(the endpoint given\): "
        r"connection failed \(\w+\)",
    ):
        lookup_with(hub, context)
    assert not context.exists()


# ---------------------------------------------------------------------------- safetensors headers
def test_sharded_checkpoint_without_hub_counts_is_read_from_each_shards_header(tmp_path: Path) -> None:
    half = dict(list(BERT_TENSORS.items())[: len(BERT_TENSORS) // 2])
    rest = dict(list(BERT_TENSORS.items())[len(BERT_TENSORS) // 2 :])
    index = {"weight_map": {**dict.fromkeys(half, "model-1.safetensors"), **dict.fromkeys(rest, "model-2.safetensors")}}
    repo = FakeRepo(
        "fake-org/sharded",
        {
            "config.json": b'{"model_type": "bert", "torch_dtype": "float32"}',
            "model.safetensors.index.json": json.dumps(index).encode(),
            "model-1.safetensors": safetensors_bytes(half),
            "model-2.safetensors": safetensors_bytes(rest),
        },
    )
    with FakeHub([repo]) as hub:
        profile = HubLookup(context_file=tmp_path / "h.json", endpoint=hub.url).profile("fake-org/sharded")
        shards = [r.path.rsplit("/", 1)[-1] for r in hub.matching(r"\.safetensors$")]
    assert profile.parameters_by_dtype == {"float32": BERT_PARAMETERS}
    assert shards == ["model-1.safetensors", "model-2.safetensors"]


def test_a_header_longer_than_the_first_read_takes_a_second_range(tmp_path: Path) -> None:
    # 4,000 tensors make a header of about 300 kB: more than the first 100,000 bytes read.
    tensors = {f"layer.{i}.weight": ("F16", [16, 16]) for i in range(4000)}
    repo = FakeRepo("fake-org/wide", {"config.json": b"{}", "model.safetensors": safetensors_bytes(tensors)})
    with FakeHub([repo]) as hub:
        profile = HubLookup(context_file=tmp_path / "h.json", endpoint=hub.url).profile("fake-org/wide")
        ranges = [r.headers.get("Range") or r.headers.get("range") for r in hub.matching(WEIGHTS)]
    assert profile.parameters_by_dtype == {"float16": 4000 * 256}
    assert ranges[0] == "bytes=0-99999"
    assert len(ranges) == 2 and ranges[1] is not None and ranges[1].startswith("bytes=100000-")


def test_hub_counts_need_no_header_request(hub: FakeHub, context: Path) -> None:
    assert lookup_with(hub, context, LLAMA8B_ID).parameters == LLAMA8B_PARAMETERS
    assert hub.matching(r"\.safetensors") == []


# ------------------------------------------------------------------------------------ redirects
def test_a_file_the_hub_redirects_to_its_cdn_is_read_there_without_the_token(hub: FakeHub, context: Path) -> None:
    # The Hub serves LFS files from another host; the token must not follow them there. The fake Hub listens
    # on 127.0.0.1, so "localhost" is another host to the client, and the same server.
    port = hub.url.rsplit(":", 1)[1]
    weights = f"/{BERT_ID}/resolve/main/model.safetensors"
    hub.fail(WEIGHTS, 302, headers={"Location": f"http://localhost:{port}{weights}?signed=1"})
    profile = HubLookup(context_file=context, endpoint=hub.url, token=TOKEN).profile(BERT_ID)
    assert profile.parameters == BERT_PARAMETERS
    first, second = hub.matching(WEIGHTS)
    assert header(first, "Authorization") == f"Bearer {TOKEN}"
    assert header(second, "Authorization") is None and header(second, "Range") == "bytes=0-99999"


def test_a_redirect_on_the_hubs_own_host_keeps_the_token(hub: FakeHub, context: Path) -> None:
    hub.fail(CONFIG, 307, headers={"Location": f"/{BERT_ID}/resolve/main/config.json?moved=1"})
    HubLookup(context_file=context, endpoint=hub.url, token=TOKEN).profile(BERT_ID)
    assert [header(r, "Authorization") for r in hub.matching(CONFIG)] == [f"Bearer {TOKEN}"] * 2


def header(request: RecordedRequest, name: str) -> str | None:
    """A header of a recorded request, whatever the case the client sent it in."""
    return next((value for key, value in request.headers.items() if key.lower() == name.lower()), None)
