"""The GPU families SageMaker hosting added (g7e, p5.4xlarge, p5en, p6-b200, p6-b300), with AWS's specs."""

from __future__ import annotations

import pytest

from constructs_lib import ModelProfile, SizingOptions
from constructs_lib.catalogue.instances import INSTANCE_CATALOGUE, instance_spec
from constructs_lib.sizing.planner import plan_deployment


@pytest.mark.parametrize(
    ("name", "gpus", "model", "memory", "host", "vcpus"),
    [
        ("ml.g7e.2xlarge", 1, "RTX PRO 6000", 96, 64, 8),
        ("ml.g7e.12xlarge", 2, "RTX PRO 6000", 96, 512, 48),
        ("ml.g7e.48xlarge", 8, "RTX PRO 6000", 96, 2048, 192),
        ("ml.p5.4xlarge", 1, "H100", 80, 256, 16),
        ("ml.p5en.48xlarge", 8, "H200", 141, 2048, 192),
        ("ml.p6-b200.48xlarge", 8, "B200", 179, 2048, 192),
        ("ml.p6-b300.48xlarge", 8, "B300", 268, 4096, 192),
    ],
)
def test_new_families_have_awss_shapes(
    name: str, gpus: int, model: str, memory: float, host: float, vcpus: int
) -> None:
    spec = instance_spec(name)
    assert spec is not None
    assert (spec.accelerators, spec.accelerator_model, spec.accelerator_memory_gib) == (gpus, model, memory)
    assert (spec.memory_gib, spec.vcpus) == (host, vcpus)
    assert spec.local_nvme and spec.price_per_hour is None  # no sourced price


def test_families_without_a_source_are_left_out() -> None:
    families = {spec.family for spec in INSTANCE_CATALOGUE.values()}
    assert "g7" not in families and "p6e-gb200" not in families


def test_unpriced_instances_are_picked_only_when_no_priced_one_fits() -> None:
    # 300B parameters in bfloat16 (559 GiB): only 8 x H200, B200 or B300 hold it.
    huge = ModelProfile(parameters=300_000_000_000, num_layers=96, num_attention_heads=96, num_key_value_heads=8,
                        hidden_size=12288, max_position_embeddings=8192, task="text-generation")  # fmt: skip
    picked = plan_deployment(huge, serving="vllm", instance_type=None)
    assert picked.instance_type == "ml.p5e.48xlarge"  # priced, and it fits
    unpriced = plan_deployment(huge, serving="vllm", instance_type=None, options=SizingOptions(families=["p6-b200"]))
    assert unpriced.instance_type == "ml.p6-b200.48xlarge"
