"""Model profiles from the Hugging Face Hub, cached in ``hub.context.json``: ``HubLookup``.

Hub lookups behave like CDK context lookups: every answer is written to ``hub.context.json``
(next to ``cdk.json`` by default) and read back *before* any network call, so later synths are
deterministic and work offline. Commit the file like ``cdk.context.json``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._core.errors import ConfigurationError, describe
from ..catalogue.tasks import task_problem
from .context_file import (
    CONTEXT_FILE_NAME,
    HubCacheError,
    context_key,
    default_context_file,
    read_context,
    write_context_entry,
)
from .gguf import HEADER_PREFIX_BYTES, gguf_files, gguf_models, gguf_profile, read_gguf_facts
from .hub_client import RETRIED_STATUSES, HubClient, RetryPolicy, client_errors, client_failure, http_status
from .local import build_profile, config_facts
from .modalities import checkpoint_modalities
from .profile import ModelProfile
from .weight_files import fallback_weights_bytes, weight_formats

DEFAULT_TIMEOUT_SECONDS = 10.0
"""How long each Hub request may wait for the connection, and then for each read."""
DEFAULT_MAX_ATTEMPTS = 4
"""Requests per call when the Hub answers 429 or 5xx: the first, then retries after 1, 2 and 4 s."""


class HubModelNotFoundError(ConfigurationError):
    """The Hub answered that the model does not exist (or is private to the caller)."""


class HubRevisionNotFoundError(ConfigurationError):
    """The Hub has the model but not the revision asked for."""


class HubAccessError(ConfigurationError):
    """The model is gated or private on the Hub, and the synth-time lookup has no token for it."""


def _hub_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", "")
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    try:
        from huggingface_hub import constants

        return bool(getattr(constants, "HF_HUB_OFFLINE", False))
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        return False


class HubLookup:
    """Reads model profiles from the Hugging Face Hub, cached in a ``hub.context.json`` file.

    Every request waits at most ``timeout`` seconds for the connection and for each read, and a 429 or 5xx
    answer is retried with backoff, so a Hub that does not answer is an error after ``timeout`` seconds, and
    one that keeps failing after at most ``max_attempts`` requests and 7 ``backoff`` seconds of waiting.

    :param token: Hub token for private or gated models.
    :default token: the token huggingface_hub finds (``HF_TOKEN`` or a saved login)
    :param context_file: cache file.
    :default context_file: ``default_context_file()``
    :param endpoint: Hub URL.
    :default endpoint: ``HF_ENDPOINT``, else https://huggingface.co
    :param timeout: seconds each request may wait for the connection and for each read.
    :default timeout: 10
    :param max_attempts: requests per call when the Hub answers 429 or 5xx.
    :default max_attempts: 4
    :param backoff: seconds before the first retry, doubled before each next one (at most 8 times this), or
        the Hub's ``Retry-After`` when longer, up to that cap.
    :default backoff: 1
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        context_file: Path | None = None,
        endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: float = 1.0,
    ) -> None:
        _check_transport_settings(timeout, max_attempts, backoff)
        self.token = token
        self.context_file = Path(context_file) if context_file is not None else default_context_file()
        # Read here, not at import as huggingface_hub does: an app (or a test) may point it elsewhere later.
        self._endpoint_origin = "the endpoint given" if endpoint is not None else "HF_ENDPOINT"
        self.endpoint = endpoint if endpoint is not None else os.environ.get("HF_ENDPOINT") or None
        self.timeout = timeout
        self.max_attempts = max_attempts
        self._client = HubClient(
            endpoint=self.endpoint, token=token, timeout=timeout, retry=RetryPolicy(max_attempts, backoff)
        )

    def cached(self, model_id: str, revision: str | None = None) -> ModelProfile | None:
        """The cached profile, or ``None`` (never touches the network)."""
        entry = read_context(self.context_file).get(context_key(model_id, revision))
        if entry is None:
            return None
        try:
            if not isinstance(entry, Mapping):
                raise TypeError(f"expected an object, found {type(entry).__name__}")
            return ModelProfile.from_json(entry)
        except (TypeError, ValueError, ConfigurationError) as error:
            raise HubCacheError(
                f"{str(self.context_file)!r}: entry {context_key(model_id, revision)!r} is invalid ({error}); "
                "delete it to look the model up again"
            ) from None

    def profile(self, model_id: str, revision: str | None = None) -> ModelProfile:
        """The profile of ``model_id``: from the cache if present, else from the Hub (then cached)."""
        cached = self.cached(model_id, revision)
        if cached is not None:
            return cached
        if _hub_offline():
            raise self._offline_error(model_id, revision, "HF_HUB_OFFLINE is set")
        profile = self._fetch(model_id, revision)
        write_context_entry(self.context_file, context_key(model_id, revision), profile.to_json())
        return profile

    # -- errors

    def _hub_url(self) -> str:
        """The Hub the lookup asks, and where that came from, for messages."""
        if self.endpoint is not None:
            return f"{self.endpoint} ({self._endpoint_origin})"
        from huggingface_hub import constants

        return f"{constants.ENDPOINT} (the default; set HF_ENDPOINT to use another Hub or a mirror)"

    def _not_cached(self, model_id: str, revision: str | None) -> str:
        return f"{str(self.context_file)!r} has no cached answer for {context_key(model_id, revision)!r}"

    def _offline_error(self, model_id: str, revision: str | None, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"model_id: {model_id!r} could not be looked up: the lookup could not reach the Hugging Face Hub at "
            f"{self._hub_url()}: {why}, and {self._not_cached(model_id, revision)}. Fill the cache by running "
            f"`cdk synth` once online, or `python -m constructs_lib recommend {model_id}` online (then commit "
            f"{CONTEXT_FILE_NAME}), or pass model_profile=ModelProfile(...) to skip the lookup."
        )

    def _status_error(self, model_id: str, revision: str | None, status: int | None) -> ConfigurationError:
        tries = f" to {self.max_attempts} attempts, with backoff" if status in RETRIED_STATUSES else ""
        hint = " (rate limited: a token, HF_TOKEN, raises the limit)" if status == 429 else ""
        return ConfigurationError(
            f"model_id: {model_id!r} could not be looked up: the Hugging Face Hub at {self._hub_url()} answered "
            f"HTTP {status}{tries}{hint}, and {self._not_cached(model_id, revision)}. Try again later, or pass "
            "model_profile=ModelProfile(...) to skip the lookup."
        )

    def _gated_error(self, model_id: str, kind: str) -> HubAccessError:
        return HubAccessError(
            f"model_id: {model_id!r} is {kind} on the Hugging Face Hub: the endpoint needs hf_token_secret "
            "(a Secrets Manager secret holding a Hub token that has access), and the synth-time lookup needs a "
            "token too (set HF_TOKEN, or pass model_profile=ModelProfile(...) to skip the lookup). For gated "
            "models, accept the licence on the model page first."
        )

    # -- network

    def _fetch(self, model_id: str, revision: str | None) -> ModelProfile:
        from huggingface_hub import errors as hf_errors

        try:
            return self._fetch_unchecked(model_id, revision)
        except hf_errors.OfflineModeIsEnabled:
            raise self._offline_error(model_id, revision, "HF_HUB_OFFLINE is set") from None
        except hf_errors.GatedRepoError:
            raise self._gated_error(model_id, "gated") from None
        except hf_errors.RepositoryNotFoundError:
            raise HubModelNotFoundError(
                f"model_id: {model_id!r} was not found on the Hugging Face Hub: check the spelling "
                "(organisation/name); a private repository needs a token with access (HF_TOKEN) and "
                "hf_token_secret on the endpoint"
            ) from None
        except hf_errors.RevisionNotFoundError:
            raise HubRevisionNotFoundError(
                f"revision: {revision!r} was not found in {model_id!r} on the Hugging Face Hub "
                "(use a branch, tag or commit hash that exists)"
            ) from None
        except hf_errors.HfHubHTTPError as error:
            raise self._status_error(model_id, revision, http_status(error)) from None
        except client_errors() as error:
            raise self._offline_error(model_id, revision, client_failure(error, self.timeout)) from None

    def _fetch_unchecked(self, model_id: str, revision: str | None) -> ModelProfile:
        from huggingface_hub import errors as hf_errors
        from huggingface_hub import get_token

        info = self._client.model_info(model_id, revision)
        gated = bool(getattr(info, "gated", False))
        private = bool(getattr(info, "private", False))
        if (gated or private) and not (self.token or get_token()):
            raise self._gated_error(model_id, "gated" if gated else "private")

        config = self._client.json_file(model_id, revision, "config.json")
        if not isinstance(config, dict):
            info_config = getattr(info, "config", None)
            config = info_config if isinstance(info_config, dict) else {}
        facts = config_facts(config)

        files = [(str(s.rfilename), getattr(s, "size", None)) for s in getattr(info, "siblings", None) or []]
        formats = weight_formats(name for name, _ in files)
        described = {
            "task": _servable_task(getattr(info, "pipeline_tag", None)),
            "gated": gated,
            "private": private,
            "model_id": model_id,
            "revision": revision,
            "source": "hub",
        }
        if formats == ("gguf",):
            return self._gguf_profile(model_id, revision, gguf_files(files), getattr(info, "gguf", None), described)
        counts: dict[str, int] | None = None
        weights_bytes: int | None = None
        safetensors = getattr(info, "safetensors", None)
        parameters = getattr(safetensors, "parameters", None) if safetensors is not None else None
        if parameters:
            counts = {str(k): int(v) for k, v in parameters.items()}
        else:
            try:
                counts = self._client.safetensors_parameters(model_id, revision, (name for name, _ in files))
            except hf_errors.NotASafetensorsRepoError:
                weights_bytes = fallback_weights_bytes(files)
        try:
            return build_profile(
                counts,
                weights_bytes,
                facts,
                weight_formats=formats,
                gguf_files=gguf_files(files) or None,
                modalities=checkpoint_modalities(config, [name for name, _ in files]),
                **described,
            )
        except ConfigurationError as error:
            raise ConfigurationError(
                f"model_id: {model_id!r} cannot be sized from the Hub: {error}; pass model_profile=ModelProfile(...)"
            ) from None

    def _gguf_profile(
        self,
        model_id: str,
        revision: str | None,
        files: dict[str, int],
        reported: Any,
        described: dict[str, Any],
    ) -> ModelProfile:
        """A repository of GGUF files only: sized from the header of its smallest model (one range request)."""
        models = gguf_models(files)
        smallest = min(models.values(), key=lambda m: m.size)
        header = self._client.read(model_id, revision, smallest.files[0], range(HEADER_PREFIX_BYTES))
        facts = read_gguf_facts(header[:HEADER_PREFIX_BYTES])  # a server that ignores Range sends more
        summary = reported if isinstance(reported, dict) else {}
        total, context = summary.get("total"), summary.get("context_length")
        return gguf_profile(
            files,
            facts,
            parameters=total if isinstance(total, int) and total > 0 else None,
            context_length=context if isinstance(context, int) and context > 0 else None,
            **described,
        )


def _check_transport_settings(timeout: float, max_attempts: int, backoff: float) -> None:
    """A lookup that could wait forever, or never ask, is a mistake to report, not a default to pick."""
    numbers = (int, float)
    if isinstance(timeout, bool) or not isinstance(timeout, numbers) or not 0 < timeout <= 600:
        raise ConfigurationError(f"timeout: {describe(timeout)} must be a number of seconds above 0, at most 600")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or not 1 <= max_attempts <= 10:
        raise ConfigurationError(f"max_attempts: {describe(max_attempts)} must be a whole number from 1 to 10")
    if isinstance(backoff, bool) or not isinstance(backoff, numbers) or not 0 <= backoff <= 60:
        raise ConfigurationError(f"backoff: {describe(backoff)} must be a number of seconds from 0 to 60")


def _servable_task(pipeline_tag: str | None) -> str | None:
    """The Hub's pipeline tag when the serving stacks know it as a task; other tags (e.g.
    ``text-ranking``) are not a default ``HF_TASK``, and must not make the profile invalid."""
    if pipeline_tag is None or task_problem(pipeline_tag) is not None:
        return None
    return pipeline_tag


def lookup_hub_profile(
    model_id: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    context_file: Path | None = None,
    endpoint: str | None = None,
) -> ModelProfile:
    """The profile of a Hub model, cached in ``hub.context.json`` like a CDK context lookup.

    A cached answer is returned without any network call. Otherwise the Hub is asked
    (``model_info`` with file metadata, safetensors headers, ``config.json``) and the answer is
    merged into the cache file.

    :param revision: branch, tag or commit.
    :default revision: the main branch
    :param token: Hub token for gated/private models.
    :default token: ``HF_TOKEN`` or a saved login
    :param context_file: cache file.
    :default context_file: ``$CONSTRUCTS_LIB_HUB_CONTEXT``, else ``hub.context.json`` next to the nearest
        ``cdk.json``, else in the working directory
    :param endpoint: Hub URL.
    :default endpoint: ``HF_ENDPOINT``, else https://huggingface.co
    :raises ConfigurationError: offline without a cached answer, unknown, gated or private model.
    """
    return HubLookup(token=token, context_file=context_file, endpoint=endpoint).profile(model_id, revision)
