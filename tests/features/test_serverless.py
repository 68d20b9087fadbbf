"""Serverless inference (``features.serverless``): the serverless config, CPU images, memory and every prop it
refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Template

from constructs_lib import (
    AutoScaling,
    ConfigurationError,
    FineTunedEndpoint,
    ModelProfile,
    ModelVariant,
    ServerlessInference,
    Serving,
    SizingOptions,
)

from ..support import (
    CPU_TOOLKIT_TAG,
    SST2,
    TUNED_URI,
    build_endpoint,
    build_error,
    config_of,
    new_stack,
    only,
)


@pytest.mark.parametrize("kind", ["hub", "tuned", "custom"])
def test_serverless_variant_has_serverless_config_and_a_cpu_image(kind: str, code_dir: Path) -> None:
    stack = new_stack()
    settings = ServerlessInference(memory_size_mb=3072, max_concurrency=10, provisioned_concurrency=2)
    build_endpoint(kind, stack, code_dir, serverless=settings)
    template = Template.from_stack(stack)

    variant = config_of(template)["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 10, "ProvisionedConcurrency": 2}
    for absent in ("InstanceType", "InitialInstanceCount", "VolumeSizeInGB"):
        assert absent not in variant
    image = only(template, "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]["Image"]
    assert image.endswith(CPU_TOOLKIT_TAG)


def test_serverless_defaults() -> None:
    stack = new_stack()
    build_endpoint("tuned", stack, serverless=ServerlessInference())
    variant = config_of(Template.from_stack(stack))["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}


def test_serverless_runs_tei_on_cpu() -> None:
    stack = new_stack()
    FineTunedEndpoint(stack, "E", model_data=TUNED_URI, task="feature-extraction", serverless=ServerlessInference())
    image = only(Template.from_stack(stack), "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]["Image"]
    assert "/tei-cpu:" in image


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"memory_size_mb": 1500}, "serverless.memory_size_mb: 1500 must be a multiple of 1024 from 1024 to 6144"),
        ({"memory_size_mb": 7168}, "serverless.memory_size_mb: 7168 must be a multiple of 1024 from 1024 to 6144"),
        ({"memory_size_mb": 0}, "serverless.memory_size_mb: 0 must be a multiple"),
        ({"max_concurrency": 0}, "serverless.max_concurrency: 0 must be a whole number from 1 to 200"),
        ({"max_concurrency": 201}, "serverless.max_concurrency: 201 must be a whole number from 1 to 200"),
        (
            {"max_concurrency": 5, "provisioned_concurrency": 6},
            "serverless.provisioned_concurrency: 6 must be a whole number from 1 to max_concurrency (5)",
        ),
        ({"provisioned_concurrency": 0}, "serverless.provisioned_concurrency: 0 must be a whole number"),
    ],
)
def test_serverless_invalid_values(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        ServerlessInference(**kwargs)
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"volume_size_gb": 30}, "volume_size_gb: 30 cannot be combined with serverless: serverless endpoints have no"),
        (
            {"startup_health_check_timeout": Duration.minutes(10)},
            "startup_health_check_timeout: '(given)' cannot be combined with serverless: SageMaker does not support "
            "ContainerStartupHealthCheckTimeoutInSeconds",
        ),
        (
            {"model_data_download_timeout": Duration.minutes(10)},
            "model_data_download_timeout: '(given)' cannot be combined with serverless",
        ),
        ({"instance_count": 2}, "instance_count: 2 cannot be combined with serverless"),
        ({"instance_selection": SizingOptions()}, "instance_selection: '(given)' cannot be combined with serverless"),
        ({"autoscaling": AutoScaling(max_capacity=2, target_invocations_per_instance=10)}, "autoscaling / serverless"),
        ({"variants": [ModelVariant(name="b", model_id=SST2)]}, "variants / serverless: both given"),
        ({"instance_type": "ml.m5.xlarge"}, "instance_type: 'ml.m5.xlarge' cannot be combined with serverless"),
    ],
)
def test_serverless_rejects_instance_only_props(props: dict[str, Any], expected: str) -> None:
    message = build_error("tuned", serverless=ServerlessInference(), **props)
    assert expected in message


def test_serverless_accepts_an_explicit_instance_count_of_one() -> None:
    stack = new_stack()
    build_endpoint("tuned", stack, serverless=ServerlessInference(), instance_count=1)
    assert "ServerlessConfig" in config_of(Template.from_stack(stack))["ProductionVariants"][0]


def test_serverless_rejects_tgi() -> None:
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "Endpoint",
            model_data="s3://bucket/llm/model.tar.gz",
            task="text-generation",
            serverless=ServerlessInference(),
            serving=Serving.TGI,
        )
    assert "serving: 'TGI' cannot run serverless: TGI images are GPU-only" in str(error.value)


def test_serverless_rejects_a_model_too_big_for_its_memory() -> None:
    profile = ModelProfile(parameters=3_000_000_000, dtype="bfloat16")
    message = build_error("tuned", serverless=ServerlessInference(memory_size_mb=4096), model_profile=profile)
    assert "serverless.memory_size_mb: 4096 is too small for the model" in message


def test_serverless_memory_is_checked_against_the_weights_as_the_toolkit_loads_them(code_dir: Path) -> None:
    # 1.7B bfloat16 parameters: 3.2 GiB on disk, 6.3 GiB once the toolkit's default handler casts them to float32.
    profile = ModelProfile(parameters=1_700_000_000, dtype="bfloat16")
    largest = ServerlessInference(memory_size_mb=6144)
    message = build_error("tuned", serverless=largest, model_profile=profile)
    assert "serverless.memory_size_mb: 6144 is too small for the model" in message
    assert "take 6.3 GiB once loaded (1.70B params (bfloat16) as stored)" in message
    # A script with its own model_fn decides the dtype: the stored size is what is known.
    endpoint = build_endpoint("custom", new_stack(), code_dir, serverless=largest, model_profile=profile)
    assert endpoint.instance_type is None


def test_serverless_memory_is_never_checked_below_the_stored_size() -> None:
    # TEI would serve float32 weights in float16 on a GPU; serverless runs CPU images, which keep float32.
    profile = ModelProfile(parameters=1_500_000_000, dtype="float32", task="feature-extraction")
    message = build_error(
        "tuned", serverless=ServerlessInference(memory_size_mb=4096), model_profile=profile, serving=Serving.TEI
    )
    assert "serverless.memory_size_mb: 4096 is too small for the model: its weights alone take 5.6 GiB" in message


def test_serverless_wrong_type_is_rejected() -> None:
    message = build_error("tuned", serverless=True)
    assert "serverless: True must be a ServerlessInference" in message


def test_serverless_from_config_round_trip_and_unknown_keys() -> None:
    settings = ServerlessInference.from_config({"memory_size_mb": 4096, "provisioned_concurrency": 1})
    assert settings == ServerlessInference(memory_size_mb=4096, provisioned_concurrency=1)
    assert ServerlessInference.from_config(settings.to_config()) == settings
    assert settings.to_config() == {"memory_size_mb": 4096, "provisioned_concurrency": 1}
    with pytest.raises(ConfigurationError) as error:
        ServerlessInference.from_config({"memory": 4096})
    assert "serverless: unknown key(s) memory; allowed: max_concurrency, memory_size_mb, provisioned_concurrency" in (
        str(error.value)
    )
    with pytest.raises(ConfigurationError, match="memory_size_mb: 100"):
        ServerlessInference.from_config({"memory_size_mb": 100})
