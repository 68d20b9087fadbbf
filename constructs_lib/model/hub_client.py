"""The Hub's HTTP side of ``HubLookup``: every request has a timeout, 429 and 5xx answers are retried with
backoff, and the failures of each HTTP client huggingface_hub uses are recognised.

huggingface_hub's own helpers are not used where their time cannot be bounded. After a failed HEAD,
``hf_hub_download`` retries with a fixed 60 s timeout: 384 s against a Hub that never answers, in 1.x and 2.x.
In 0.36, ``get_safetensors_metadata`` reads headers with no timeout at all. So each file is one GET through
``huggingface_hub.utils.get_session()``, and ``hf_raise_for_status`` turns the Hub's answers into the same
``huggingface_hub.errors`` classes in every version.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from .._core.errors import ConfigurationError
from .local import (
    SAFETENSORS_INDEX,
    count_safetensors_parameters,
    parse_safetensors_header,
    safetensors_header_length,
    safetensors_index_shards,
)

T = TypeVar("T")

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Rate limiting and server errors: the same request may succeed a moment later."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
"""Answers that send the client on: a file stored in LFS is served by the Hub's CDN."""

_HEADER_READ_BYTES = 100_000
"""The first read of a safetensors file, as huggingface_hub does it: most headers fit, so one request suffices."""

_CLIENT_ERRORS: dict[str, tuple[str, ...]] = {
    # huggingface_hub 0.x uses requests, 1.x httpx, 2.x httpx2 (its own class tree, unrelated to httpx's).
    "requests": ("ConnectionError", "Timeout", "RequestException"),
    "httpx": ("RequestError",),
    "httpx2": ("RequestError",),
}
_TIMEOUT_ERRORS: dict[str, tuple[str, ...]] = {
    "requests": ("Timeout",),
    "httpx": ("TimeoutException",),
    "httpx2": ("TimeoutException",),
}


def _installed_classes(table: dict[str, tuple[str, ...]]) -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for module_name, names in table.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # only the client of the installed huggingface_hub is there
            continue
        found += [getattr(module, name) for name in names if hasattr(module, name)]
    return tuple(found)


def client_errors() -> tuple[type[BaseException], ...]:
    """The exceptions the HTTP clients raise when no answer came (refused, reset, timed out, unreadable).

    Catch ``huggingface_hub.errors.HfHubHTTPError`` first: in 0.x it is a ``requests.RequestException`` too.
    """
    return (ConnectionError, TimeoutError, *_installed_classes(_CLIENT_ERRORS))


def client_failure(error: BaseException, timeout: float) -> str:
    """What went wrong, for a message: ``no answer within 10 s (ReadTimeout)``, ``connection failed (ConnectError)``."""
    if isinstance(error, (TimeoutError, *_installed_classes(_TIMEOUT_ERRORS))):
        return f"no answer within {timeout:g} s ({type(error).__name__})"
    return f"connection failed ({type(error).__name__})"


def http_status(error: BaseException) -> int | None:
    """The HTTP status of an ``HfHubHTTPError`` (``None`` when it carries no response)."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _asked_delay(error: BaseException) -> float | None:
    """The wait the Hub asked for: ``Retry-After: <seconds>`` or the ``t`` of ``RateLimit: "api";r=0;t=<seconds>``."""
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    retry_after = str(headers.get("Retry-After", "")).strip()
    if retry_after.isdigit():
        return float(retry_after)
    reset = re.search(r";\s*t=(\d+)", str(headers.get("RateLimit", "")))
    return float(reset.group(1)) if reset else None


@dataclass(frozen=True)
class RetryPolicy:
    """How 429 and 5xx answers are retried: ``attempts`` requests in all, waiting ``backoff`` seconds after the
    first, doubling each time, at most 8 ``backoff``; a longer ``Retry-After`` is honoured up to that cap."""

    attempts: int = 4
    backoff: float = 1.0

    def delay(self, retry: int, asked: float | None) -> float:
        cap = 8.0 * self.backoff
        doubled = self.backoff * 2.0 ** (retry - 1)
        return min(max(doubled, asked or 0.0), cap)


class HubClient:
    """The requests of one lookup: model info and files of one Hub, with a token, a timeout and retries."""

    def __init__(self, *, endpoint: str | None, token: str | None, timeout: float, retry: RetryPolicy) -> None:
        self.endpoint = endpoint
        self.token = token
        self.timeout = timeout
        self.retry = retry

    def model_info(self, model_id: str, revision: str | None) -> Any:
        """``HfApi.model_info`` with file sizes (one request, retried on 429 and 5xx)."""
        from huggingface_hub import HfApi

        api = HfApi(endpoint=self.endpoint, token=self.token)
        return self._retrying(
            lambda: api.model_info(model_id, revision=revision, files_metadata=True, timeout=self.timeout)
        )

    def read(self, model_id: str, revision: str | None, filename: str, byte_range: range | None = None) -> bytes:
        """A file of the repository (or the bytes of ``byte_range``): one GET, retried on 429 and 5xx. A redirect
        the session did not follow is followed once, with the token only on the Hub's own host (the CDN's URL
        is signed, and a token is not sent to another host)."""
        from huggingface_hub import hf_hub_url
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = hf_hub_url(model_id, filename, revision=revision, endpoint=self.endpoint)
        ranged = {} if byte_range is None else {"Range": f"bytes={byte_range.start}-{byte_range.stop - 1}"}
        headers = {**build_hf_headers(token=self.token), **ranged}

        def get() -> bytes:
            session = get_session()
            response = session.get(url, headers=headers, timeout=self.timeout)
            location = response.headers.get("Location")
            if response.status_code in _REDIRECTS and location:
                target = urljoin(url, location)
                same_host = urlsplit(target).netloc == urlsplit(url).netloc
                response = session.get(target, headers=headers if same_host else ranged, timeout=self.timeout)
            hf_raise_for_status(response)
            return bytes(response.content)

        return self._retrying(get)

    def json_file(self, model_id: str, revision: str | None, filename: str) -> Any:
        """A JSON file of the repository, parsed; ``None`` when the repository has no such file."""
        from huggingface_hub import errors as hf_errors

        try:
            raw = self.read(model_id, revision, filename)
        except hf_errors.EntryNotFoundError:  # 1.x+ raises RemoteEntryNotFoundError, a subclass
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ConfigurationError(f"model_id: {model_id!r}: {filename} on the Hub is not valid JSON") from None

    def safetensors_parameters(self, model_id: str, revision: str | None, names: Iterable[str]) -> dict[str, int]:
        """Parameters per safetensors dtype, read from the headers of ``model.safetensors`` or of the shards
        ``model.safetensors.index.json`` names (``names``: the repository's files).

        :raises huggingface_hub.errors.NotASafetensorsRepoError: the repository has neither file.
        """
        from huggingface_hub import errors as hf_errors

        files = set(names)
        if "model.safetensors" in files:
            shards = ["model.safetensors"]
        elif SAFETENSORS_INDEX in files:
            shards = safetensors_index_shards(self.json_file(model_id, revision, SAFETENSORS_INDEX))
        else:
            raise hf_errors.NotASafetensorsRepoError(f"{model_id} has no model.safetensors or {SAFETENSORS_INDEX}")
        counts: dict[str, int] = {}
        for shard in shards:
            count_safetensors_parameters(self._safetensors_header(model_id, revision, shard), counts)
        return counts

    def _safetensors_header(self, model_id: str, revision: str | None, filename: str) -> dict[str, Any]:
        where = f"{model_id}/{filename}"
        head = self.read(model_id, revision, filename, range(_HEADER_READ_BYTES))
        end = 8 + safetensors_header_length(head, where)
        if end > len(head):
            head += self.read(model_id, revision, filename, range(len(head), end))
        return parse_safetensors_header(head[8:end], where)

    def _retrying(self, call: Callable[[], T]) -> T:
        from huggingface_hub import errors as hf_errors

        for retry in range(1, self.retry.attempts):
            try:
                return call()
            except hf_errors.HfHubHTTPError as error:
                if http_status(error) not in RETRIED_STATUSES:
                    raise
                time.sleep(self.retry.delay(retry, _asked_delay(error)))
        return call()
