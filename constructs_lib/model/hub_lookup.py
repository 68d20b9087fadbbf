"""Model profiles from the Hugging Face Hub, cached in ``hub.context.json``: ``HubLookup``.

Hub lookups behave like CDK context lookups: every answer is written to ``hub.context.json``
(next to ``cdk.json`` by default) and read back *before* any network call, so later synths are
deterministic and work offline. Commit the file like ``cdk.context.json``.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from .._core.errors import ConfigurationError
from ..catalogue.tasks import task_problem
from .context_file import CONTEXT_FILE_NAME, context_key, default_context_file, read_context, write_context_entry
from .gguf import HEADER_PREFIX_BYTES, gguf_files, gguf_models, gguf_profile, read_gguf_facts
from .local import build_profile, config_facts
from .profile import ModelProfile
from .weight_files import fallback_weights_bytes, weight_formats

_REDIRECTS = frozenset({301, 302, 303, 307, 308})

DEFAULT_TIMEOUT_SECONDS = 10.0


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


def _connection_errors() -> tuple[type[BaseException], ...]:
    """Connection failures of the HTTP clients huggingface_hub uses (requests in 0.x, httpx in 1.x+)."""
    errors: list[type[BaseException]] = [ConnectionError, TimeoutError]
    for module_name, names in (("requests", ("ConnectionError", "Timeout")), ("httpx", ("TransportError",))):
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # pragma: no cover - depends on the huggingface_hub version
            continue
        errors += [getattr(module, name) for name in names if hasattr(module, name)]
    return tuple(errors)


class HubLookup:
    """Reads model profiles from the Hugging Face Hub, cached in a ``hub.context.json`` file.

    :param token: Hub token for private or gated models.
        Default: the token huggingface_hub finds (``HF_TOKEN`` or a saved login)
    :param context_file: cache file. Default: ``default_context_file()``
    :param endpoint: Hub URL. Default: ``HF_ENDPOINT``, else https://huggingface.co
    :param timeout: seconds per request. Default: 10
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        context_file: Path | None = None,
        endpoint: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.token = token
        self.context_file = Path(context_file) if context_file is not None else default_context_file()
        # Read here, not at import as huggingface_hub does: an app (or a test) may point it elsewhere later.
        self.endpoint = endpoint if endpoint is not None else os.environ.get("HF_ENDPOINT") or None
        self.timeout = timeout

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
            raise ConfigurationError(
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

    def _offline_error(self, model_id: str, revision: str | None, why: str) -> ConfigurationError:
        key = context_key(model_id, revision)
        return ConfigurationError(
            f"model_id: {model_id!r} could not be looked up: the lookup could not reach the Hugging Face Hub "
            f"({why}) and {str(self.context_file)!r} has no cached answer for {key!r}. Fill the cache by running "
            f"`cdk synth` once online, or `python -m constructs_lib recommend {model_id}` online (then commit "
            f"{CONTEXT_FILE_NAME}), or pass model_profile=ModelProfile(...) to skip the lookup."
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
        except hf_errors.LocalEntryNotFoundError as error:  # hf_hub_download could not connect
            raise self._offline_error(model_id, revision, f"connection failed: {error}") from None
        except hf_errors.HfHubHTTPError as error:
            status = getattr(getattr(error, "response", None), "status_code", None)
            raise ConfigurationError(
                f"model_id: {model_id!r} could not be looked up: the Hugging Face Hub answered HTTP {status}. "
                "Try again, or pass model_profile=ModelProfile(...)"
            ) from None
        except _connection_errors() as error:
            raise self._offline_error(model_id, revision, f"connection failed: {type(error).__name__}") from None

    def _fetch_unchecked(self, model_id: str, revision: str | None) -> ModelProfile:
        from huggingface_hub import HfApi, get_token
        from huggingface_hub import errors as hf_errors

        api = HfApi(endpoint=self.endpoint, token=self.token)
        info = api.model_info(model_id, revision=revision, files_metadata=True, timeout=self.timeout)
        gated = bool(getattr(info, "gated", False))
        private = bool(getattr(info, "private", False))
        if (gated or private) and not (self.token or get_token()):
            raise self._gated_error(model_id, "gated" if gated else "private")

        config = self._download_config(api, model_id, revision)
        if config is None:
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
                metadata = api.get_safetensors_metadata(model_id, revision=revision)
                counts = {str(k): int(v) for k, v in metadata.parameter_count.items()}
            except hf_errors.NotASafetensorsRepoError:
                weights_bytes = fallback_weights_bytes(files)
        try:
            return build_profile(
                counts,
                weights_bytes,
                facts,
                weight_formats=formats,
                gguf_files=gguf_files(files) or None,
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
        facts = read_gguf_facts(self._read_prefix(model_id, revision, smallest.files[0]))
        summary = reported if isinstance(reported, dict) else {}
        total, context = summary.get("total"), summary.get("context_length")
        return gguf_profile(
            files,
            facts,
            parameters=total if isinstance(total, int) and total > 0 else None,
            context_length=context if isinstance(context, int) and context > 0 else None,
            **described,
        )

    def _read_prefix(self, model_id: str, revision: str | None, filename: str) -> bytes:
        """The first bytes of a file of the repository (its GGUF header), in one range request (two when the Hub
        redirects to its CDN, whose signed URL takes no token)."""
        from huggingface_hub import get_session, hf_hub_url
        from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

        url = hf_hub_url(model_id, filename, revision=revision, endpoint=self.endpoint)
        byte_range = {"Range": f"bytes=0-{HEADER_PREFIX_BYTES - 1}"}
        session = get_session()
        response = session.get(url, headers={**build_hf_headers(token=self.token), **byte_range}, timeout=self.timeout)
        location = response.headers.get("Location")
        if response.status_code in _REDIRECTS and location:
            response = session.get(urljoin(url, location), headers=byte_range, timeout=self.timeout)
        hf_raise_for_status(response)
        content: bytes = response.content
        return content[:HEADER_PREFIX_BYTES]

    def _download_config(self, api: Any, model_id: str, revision: str | None) -> dict[str, Any] | None:
        from huggingface_hub import errors as hf_errors

        with tempfile.TemporaryDirectory(prefix="constructs-lib-hub-") as cache_dir:
            try:
                path = api.hf_hub_download(
                    model_id,
                    "config.json",
                    revision=revision,
                    cache_dir=cache_dir,
                    etag_timeout=self.timeout,
                )
            except hf_errors.LocalEntryNotFoundError:
                raise
            except hf_errors.EntryNotFoundError:
                return None
            loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else None


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

    :param revision: branch, tag or commit. Default: the main branch
    :param token: Hub token for gated/private models. Default: ``HF_TOKEN`` or a saved login
    :param context_file: cache file. Default: ``$CONSTRUCTS_LIB_HUB_CONTEXT``, else
        ``hub.context.json`` next to the nearest ``cdk.json``, else in the working directory
    :param endpoint: Hub URL. Default: ``HF_ENDPOINT``, else https://huggingface.co
    :raises ConfigurationError: offline without a cached answer, unknown, gated or private model.
    """
    return HubLookup(token=token, context_file=context_file, endpoint=endpoint).profile(model_id, revision)
