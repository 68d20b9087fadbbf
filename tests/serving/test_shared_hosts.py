"""What serving stacks say about sharing an instance with other models (inference components): which GPU images
serve on CPUs, the host memory a server keeps to its share, and the settings LoRA adapters need (serving/base.py,
serving/vllm/lora.py)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from constructs_lib import ConfigurationError, Serving
from constructs_lib.catalogue.instances import INSTANCE_CATALOGUE
from constructs_lib.serving.facts import ImageRequest
from constructs_lib.serving.registry import stack_of
from constructs_lib.serving.vllm import lora, memory
from constructs_lib.serving.vllm.contract import generation_2

NEWEST = ImageRequest()
"""The newest catalogued image (vLLM 0.22 or later: LMCache, ``true``/``false`` flags)."""
FIRST_GENERATION = ImageRequest(version="0.17")
"""A vLLM image before 0.22: no LMCache, a boolean flag is an empty value."""


def vllm(request: ImageRequest = NEWEST, **environment: str) -> object:
    stack = stack_of(Serving.VLLM).with_image(request)
    return stack.configured(replace(stack.settings, environment=environment))


def test_only_the_inference_toolkit_serves_from_its_gpu_image_on_cpus() -> None:
    assert {serving: stack_of(serving).gpu_image_runs_on_cpu for serving in Serving if serving is not Serving.AUTO} == {
        Serving.INFERENCE_TOOLKIT: True,
        Serving.VLLM: False,
        Serving.TGI: False,
        Serving.TEI: False,
        Serving.SGLANG: False,
        Serving.LLAMACPP: False,  # its CPU build is another image
    }


def test_vllm_pins_its_lmcache_pool_to_half_of_its_share_of_the_host() -> None:
    """The image sizes LMCache by the host it sees (max(5, floor(GiB x 0.5))): the whole instance, not the share."""
    share = replace(INSTANCE_CATALOGUE["ml.g5.12xlarge"], memory_gib=43.2)
    environment = vllm().shared_host_environment(share)  # type: ignore[attr-defined]
    assert environment == {"LMCACHE_MAX_LOCAL_CPU_SIZE": str(max(memory.LMCACHE_MIN_GIB, math.floor(43.2 * 0.5)))}
    assert environment["LMCACHE_MAX_LOCAL_CPU_SIZE"] == "21"
    small = replace(share, memory_gib=8)
    assert vllm().shared_host_environment(small) == {"LMCACHE_MAX_LOCAL_CPU_SIZE": "5"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("request_", "environment"),
    [(FIRST_GENERATION, {}), (NEWEST, {"HF_ENABLE_LMCACHE": "0"}), (NEWEST, {"HF_ENABLE_OPTIMIZATIONS": "0"})],
    ids=["before-0.22", "lmcache-off", "optimizations-off"],
)
def test_no_pool_no_pin(request_: ImageRequest, environment: dict[str, str]) -> None:
    share = INSTANCE_CATALOGUE["ml.g5.12xlarge"]
    assert vllm(request_, **environment).shared_host_environment(share) == {}  # type: ignore[attr-defined]


def test_the_other_stacks_keep_to_their_share_without_settings() -> None:
    share = INSTANCE_CATALOGUE["ml.g5.12xlarge"]
    for serving in (Serving.INFERENCE_TOOLKIT, Serving.TEI, Serving.TGI):
        assert stack_of(serving).shared_host_environment(share) == {}
        assert stack_of(serving).adapter_environment(None) is None


def test_vllm_loads_adapters_at_run_time_with_the_flags_of_its_image() -> None:
    assert generation_2(vllm().settings.image_version)  # type: ignore[attr-defined]
    assert vllm().adapter_environment(None) == {  # type: ignore[attr-defined]
        "SM_VLLM_ENABLE_LORA": "true",
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true",
    }
    # Before 0.22 the entrypoint passes values literally: a boolean flag is an empty value.
    assert vllm(FIRST_GENERATION).adapter_environment(24) == {  # type: ignore[attr-defined]
        "SM_VLLM_ENABLE_LORA": "",
        "SM_VLLM_MAX_LORA_RANK": "32",
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true",
    }


@pytest.mark.parametrize(("rank", "expected"), [(1, 1), (8, 8), (9, 16), (24, 32), (300, 320), (512, 512)])
def test_the_max_lora_rank_is_the_smallest_vllm_accepts_that_holds_the_rank(rank: int, expected: int) -> None:
    assert lora.max_lora_rank(rank) == expected
    assert expected in lora.LORA_RANKS and expected >= rank


def test_a_rank_above_what_vllm_loads_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"a LoRA rank of 600 is above 512, the largest vLLM loads"):
        vllm().adapter_environment(600)  # type: ignore[attr-defined]
