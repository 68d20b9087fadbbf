"""What a component reserves (components/resources.py), how copies are packed onto instances (packing.py) and what
the plan tells users (report.py): derived reservations, synth errors with the arithmetic, the cheapest instance type
and the cost against one endpoint each."""

from __future__ import annotations

import math

import pytest

from constructs_lib import INSTANCE_CATALOGUE, ModelProfile
from constructs_lib.components.packing import first_fit_decreasing
from constructs_lib.components.resources import HOST_RESERVE_FRACTION, gpu_counts, gpu_share, usable_memory_mb

from ..support import SST2, error_of, warnings_of
from .support import QWEN7B, component_named, environment_of, info_messages, shared_endpoint, template_of


def _requirements(endpoint: object, fragment: str) -> dict[str, int]:
    spec = component_named(template_of(endpoint), fragment)["Specification"]  # type: ignore[arg-type]
    return spec["ComputeResourceRequirements"]  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------------------- resources
def test_usable_memory_keeps_a_tenth_of_the_host() -> None:
    spec = INSTANCE_CATALOGUE["ml.g5.xlarge"]  # 16 GiB
    assert HOST_RESERVE_FRACTION == 0.1
    assert usable_memory_mb(spec) == math.floor(16 * 0.9 * 1024) == 14745


def test_a_share_is_powers_of_two_of_the_gpus_with_their_part_of_memory_and_vcpus() -> None:
    assert gpu_counts(8) == [1, 2, 4, 8] and gpu_counts(4) == [1, 2, 4] and gpu_counts(1) == [1]
    share = gpu_share(INSTANCE_CATALOGUE["ml.g5.12xlarge"], 1)  # 4 GPUs, 192 GiB, 48 vCPUs
    assert (share.accelerators, share.vcpus, share.memory_gib) == (1, 12, round(192 * 0.9 / 4, 2))


def test_an_llm_reserves_what_vllm_needs_on_its_share() -> None:
    endpoint = shared_endpoint()
    chat = endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation")
    requirements = _requirements(endpoint, "Chat")
    # 7.6B parameters in bf16 (15.9 GiB with the KV cache) fit one A10G's 24 GiB: one GPU, tensor parallel 1.
    assert requirements["NumberOfAcceleratorDevicesRequired"] == 1
    assert chat.cfn_model is not None
    environment = environment_of(chat)
    assert environment["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "1"
    # Half of the share's vCPUs (48 / 4 / 2); host memory: vLLM's workers and the LMCache pool, pinned to the share.
    assert requirements["NumberOfCpuCoresRequired"] == 6
    pool = float(environment["LMCACHE_MAX_LOCAL_CPU_SIZE"])
    assert pool == math.floor(192 * 0.9 / 4 * 0.5)  # half of the share's GiB, not of the whole host's
    assert requirements["MinMemoryRequiredInMb"] >= pool * 1024


def test_a_large_model_takes_several_gpus_and_vllm_runs_tensor_parallel_over_them() -> None:
    big = ModelProfile(
        parameters=32_000_000_000, num_layers=64, num_attention_heads=40, num_key_value_heads=8, hidden_size=5120,
        max_position_embeddings=32768, task="text-generation",
    )  # fmt: skip
    endpoint = shared_endpoint()
    chat = endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", model_profile=big)
    assert _requirements(endpoint, "Chat")["NumberOfAcceleratorDevicesRequired"] == 4
    assert environment_of(chat)["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "4"


def test_given_resources_win_and_a_reservation_below_need_warns() -> None:
    endpoint = shared_endpoint()
    chat = endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", memory_mb=4096, cpu_cores=2.5)
    requirements = _requirements(endpoint, "Chat")
    assert requirements["MinMemoryRequiredInMb"] == 4096 and requirements["NumberOfCpuCoresRequired"] == 2.5
    assert warnings_of(chat, "memory_mb=4096 is below the .* MB the model needs on ml.g5.12xlarge's 1-GPU share")


def test_a_toolkit_model_on_the_cpus_of_a_gpu_instance_reserves_no_gpu() -> None:
    endpoint = shared_endpoint()
    sentiment = endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", accelerators=0)
    requirements = _requirements(endpoint, "Sentiment")
    assert "NumberOfAcceleratorDevicesRequired" not in requirements
    assert requirements["NumberOfCpuCoresRequired"] == 2  # CPU_MODEL_CORES
    # The toolkit would take a GPU it can see; it sees none.
    assert environment_of(sentiment)["CUDA_VISIBLE_DEVICES"] == ""


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"memory_mb": 100_000},
            "Sentiment cannot run on ml.g5.xlarge: one copy reserves more than one ml.g5.xlarge offers: 100000 MB of "
            "host memory, and components may reserve 14745 MB of its 16 GiB (10% is kept for the host)",
        ),
        (
            {"cpu_cores": 16},
            "one copy reserves more than one ml.g5.xlarge offers: 16 CPU cores, and it has 4 vCPUs",
        ),
        ({"accelerators": 2}, "accelerators=2 asks for more GPUs than ml.g5.xlarge has (1)"),
    ],
)
def test_a_reservation_no_instance_can_hold_is_a_synth_error(props: dict[str, int], message: str) -> None:
    endpoint = shared_endpoint(instance_type="ml.g5.xlarge")
    error = error_of(lambda: endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", **props))
    assert error.startswith("InferenceComponentEndpoint 'TestStack/Shared': add_model 'Sentiment': ")
    assert message in error


def test_an_llm_that_fits_no_share_of_the_instance_is_a_synth_error() -> None:
    huge = ModelProfile(
        parameters=70_000_000_000, num_layers=80, num_attention_heads=64, num_key_value_heads=8, hidden_size=8192,
        max_position_embeddings=8192, task="text-generation",
    )  # fmt: skip
    endpoint = shared_endpoint(instance_type="ml.g5.2xlarge")
    error = error_of(lambda: endpoint.add_model("Big", model_id=QWEN7B, task="text-generation", model_profile=huge))
    assert "Big cannot run on ml.g5.2xlarge" in error and "GiB" in error


# ------------------------------------------------------------------------------------------ packing
def test_copies_beyond_max_instances_are_a_synth_error_with_the_packing_arithmetic() -> None:
    endpoint = shared_endpoint(max_instances=1)
    error = error_of(lambda: endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=5))
    assert (
        "the copies need 2 x ml.g5.12xlarge and max_instances is 1: each ml.g5.12xlarge offers 4 GPUs (A10G), "
        "176947 MB and 48 vCPUs; the copies reserve Sentiment 5 x (1 GPU, 2356 MB, 6 cores) = 5 GPUs, 11780 MB, "
        "30 cores, so at least 2 instance(s); first-fit decreasing places them #1: Sentiment #1, Sentiment #2, "
        "Sentiment #3, Sentiment #4; #2: Sentiment #5. Raise max_instances to 2"
    ) in error
    assert endpoint.components == ()  # the endpoint keeps its last good plan


def test_the_copies_of_all_components_must_fit_together() -> None:
    endpoint = shared_endpoint(max_instances=1)
    endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", copies=3)
    error = error_of(lambda: endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=2))
    assert "= 5 GPUs" in error and "#1: Chat #1, Chat #2, Chat #3, Sentiment #1; #2: Sentiment #2" in error


def test_first_fit_decreasing_places_the_largest_copies_first() -> None:
    endpoint = shared_endpoint()
    endpoint.add_model("Small", model_id=SST2, task="text-classification", accelerators=0, copies=2)
    endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation", copies=4)
    plan = endpoint.plan
    assert plan is not None
    loads = first_fit_decreasing(plan.spec, plan.demands, plan.reservations, peak=False)
    assert [[(p.component, p.copy) for p in load.placed] for load in loads] == [
        [("Chat", 1), ("Chat", 2), ("Chat", 3), ("Chat", 4), ("Small", 1), ("Small", 2)]
    ]
    assert (loads[0].gpus, plan.instance_count) == (4, 1)


def test_without_instance_type_packing_picks_the_cheapest_fleet_that_holds_every_copy() -> None:
    endpoint = shared_endpoint(instance_type=None)
    endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation")
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=2)
    plan = endpoint.plan
    assert plan is not None and plan.chosen
    assert (endpoint.instance_type, plan.instance_count) == ("ml.g6.xlarge", 3)
    price = INSTANCE_CATALOGUE["ml.g6.xlarge"].price_per_hour
    assert price is not None and plan.price_per_hour == pytest.approx(3 * price)
    # Every other priced GPU type that holds the copies costs more for them.
    from constructs_lib.components.packing import plan_packing

    for name in ("ml.g5.12xlarge", "ml.g6.12xlarge", "ml.g5.xlarge", "ml.g4dn.12xlarge"):
        other = plan_packing(list(plan.demands), instance_type=name, max_instances=None)
        assert other.price_per_hour is not None and other.price_per_hour > plan.price_per_hour
    (variant,) = template_of(endpoint).to_json()["Resources"]["SharedEndpointConfig061E01B1"]["Properties"][
        "ProductionVariants"
    ]
    # The config starts at one instance; managed instance scaling launches the three the copies need.
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g6.xlarge", 1)
    assert variant["ManagedInstanceScaling"]["MaxInstanceCount"] == 3


def test_nothing_fits_names_the_cheapest_types_and_why() -> None:
    endpoint = shared_endpoint(instance_type=None, max_instances=1)
    error = error_of(lambda: endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=9))
    assert "instance_type: no GPU instance type holds every copy of Sentiment within max_instances=1" in error
    assert "ml.g4dn.xlarge: the copies need 9 x ml.g4dn.xlarge and max_instances is 1" in error
    assert "more types considered" in error


# ------------------------------------------------------------------------------------------- report
def test_the_plan_is_a_synth_info_with_placement_prices_and_one_endpoint_each() -> None:
    endpoint = shared_endpoint(instance_type=None)
    endpoint.add_model("Chat", model_id=QWEN7B, task="text-generation")
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification", copies=2)
    (summary,) = [m for m in info_messages(endpoint) if m.startswith("Inference components on")]
    lines = summary.splitlines()
    assert lines[0] == (
        "Inference components on 3 x ml.g6.xlarge (1 x L4, 16 GiB, 4 vCPUs) (picked as the cheapest that holds every "
        "copy): ~$3.02/h for the instances the starting copies need; managed instance scaling from 1 to 3"
    )
    assert lines[1] == "  #1: Chat (1 GPU, 11264 MB, 2 cores) - 1/1 GPUs, 11264/14745 MB, 2/4 cores"
    assert lines[2].startswith("  #2: Sentiment #1 (1 GPU, 2356 MB, 2 cores)")
    assert lines[4].startswith("  Chat: 7.62B params (bfloat16), 15.9 of 20.2 GiB GPU memory on ml.g6.xlarge")
    # Alone, each model gets the instance HubModelEndpoint picks, one per copy: the classifier fits a T4.
    assert lines[-1] == (
        "One endpoint each, as HubModelEndpoint picks for each model alone: Chat 1 x ml.g6.xlarge ~$1.01/h, "
        "Sentiment 2 x ml.g4dn.xlarge ~$1.47/h = ~$2.48/h around the clock"
    )


def test_scale_to_zero_shows_the_idle_price() -> None:
    endpoint = shared_endpoint(min_instances=0, max_instances=1)
    endpoint.add_model("Sentiment", model_id=SST2, task="text-classification")
    (summary,) = [m for m in info_messages(endpoint) if m.startswith("Inference components on")]
    assert "managed instance scaling from 0 to 1; $0.00/h at 0 instances" in summary.splitlines()[0]
