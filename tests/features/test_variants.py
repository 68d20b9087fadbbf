"""Variants (``features.variants``): weighted production variants and a shadow variant, each with its own model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template

from constructs_lib import (
    AsyncInference,
    ConfigurationError,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelVariant,
)

from ..support import (
    CPU_TOOLKIT_TAG,
    ROBERTA,
    SST2,
    actions_of,
    build_on_g5,
    build_on_g5_error,
    config_of,
    hub_error,
    new_stack,
    policy_statements,
    resources,
)

CANDIDATE_URI = "s3://candidates/v2/model.tar.gz"


def models(template: Template) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::SageMaker::Model")


def variant_environment(template: Template, name: str) -> dict[str, str]:
    """The container environment of variant ``name``'s model (``<endpoint>/Variants/<name>/Model``)."""
    for logical_id, model in models(template).items():
        if logical_id.startswith(f"EndpointVariants{name}"):
            environment: dict[str, str] = model["Properties"]["PrimaryContainer"]["Environment"]
            return environment
    raise AssertionError(f"no model for variant {name!r}")


def variants_error(*variants: Any, **props: Any) -> str:
    """The message of the ``ConfigurationError`` a fine-tuned endpoint with ``variants`` raises."""
    return build_on_g5_error("tuned", variants=list(variants), **props)


def variant_task_warnings(stack: Stack) -> list[Any]:
    found: list[Any] = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("endpoint's task"))
    return found


@pytest.mark.parametrize("kind", ["hub", "tuned", "custom"])
def test_weighted_variants_each_get_a_model(kind: str, code_dir: Path) -> None:
    stack = new_stack()
    build_on_g5(
        kind,
        stack,
        code_dir,
        variants=[
            ModelVariant(name="roberta", model_id=ROBERTA, weight=0.25),
            ModelVariant(
                name="candidate", model_data=CANDIDATE_URI, instance_type="ml.m5.xlarge", instance_count=2, weight=0.5
            ),
        ],
    )
    template = Template.from_stack(stack)

    variants = config_of(template)["ProductionVariants"]
    assert [v["VariantName"] for v in variants] == ["AllTraffic", "roberta", "candidate"]
    assert [v["InitialVariantWeight"] for v in variants] == [1, 0.25, 0.5]
    assert [v["InstanceType"] for v in variants] == ["ml.g5.xlarge", "ml.g5.xlarge", "ml.m5.xlarge"]
    assert variants[2]["InitialInstanceCount"] == 2
    assert "ShadowProductionVariants" not in config_of(template)
    all_models = models(template)
    assert len(all_models) == 3
    by_id = {k: v["Properties"] for k, v in all_models.items()}
    roberta = next(p for k, p in by_id.items() if k.startswith("EndpointVariantsroberta"))
    candidate = next(p for k, p in by_id.items() if k.startswith("EndpointVariantscandidate"))
    assert roberta["PrimaryContainer"]["Environment"] == {"HF_MODEL_ID": ROBERTA, "HF_TASK": "text-classification"}
    assert candidate["PrimaryContainer"]["ModelDataUrl"] == CANDIDATE_URI
    assert candidate["PrimaryContainer"]["Environment"] == {"HF_TASK": "text-classification"}
    assert candidate["PrimaryContainer"]["Image"].endswith(CPU_TOOLKIT_TAG)
    assert "ModelName" not in roberta and "ModelName" not in candidate
    # Both run with the endpoint's role, which may read the candidate's artifact.
    roles = {json.dumps(p["ExecutionRoleArn"]) for p in by_id.values()}
    assert len(roles) == 1
    reads = json.dumps([s["Resource"] for s in policy_statements(template) if "s3:GetObject" in actions_of(s)])
    assert "candidates" in reads and "v2/model.tar.gz" in reads


def test_variant_models_are_tagged_with_their_own_model_id() -> None:
    stack = new_stack()
    build_on_g5(
        "hub",
        stack,
        variants=[ModelVariant(name="roberta", model_id=ROBERTA), ModelVariant(name="s3", model_data=CANDIDATE_URI)],
    )
    by_id = {k: v["Properties"] for k, v in models(Template.from_stack(stack)).items()}

    def tag(prefix: str) -> str | None:
        props = next(p for k, p in by_id.items() if k.startswith(prefix))
        tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
        return tags.get("huggingface:model-id")

    assert tag("EndpointModel") == SST2
    assert tag("EndpointVariantsroberta") == ROBERTA
    assert tag("EndpointVariantss3") is None


def test_shadow_variant() -> None:
    stack = new_stack()
    build_on_g5("hub", stack, variants=[ModelVariant(name="shadow", model_id=ROBERTA, weight=0.5, shadow=True)])
    config = config_of(Template.from_stack(stack))

    assert [v["VariantName"] for v in config["ProductionVariants"]] == ["AllTraffic"]
    (shadow,) = config["ShadowProductionVariants"]
    assert shadow["VariantName"] == "shadow"
    assert shadow["InitialVariantWeight"] == 0.5
    assert shadow["InstanceType"] == "ml.g5.xlarge"


def test_variant_serving_follows_its_task_and_image() -> None:
    stack = new_stack()
    build_on_g5(
        "tuned",
        stack,
        variants=[
            ModelVariant(name="embed", model_data=CANDIDATE_URI, task="feature-extraction"),
            ModelVariant(
                name="pinned", model_id=ROBERTA, image=InferenceImage.huggingface(transformers_version="4.48.0")
            ),
        ],
    )
    by_id = {k: v["Properties"] for k, v in models(Template.from_stack(stack)).items()}
    embed = next(p for k, p in by_id.items() if k.startswith("EndpointVariantsembed"))["PrimaryContainer"]
    pinned = next(p for k, p in by_id.items() if k.startswith("EndpointVariantspinned"))["PrimaryContainer"]
    assert "/tei:" in embed["Image"] and embed["Environment"] == {"HF_MODEL_ID": "/opt/ml/model"}
    assert "transformers4.48.0" in pinned["Image"]


def test_variant_on_the_toolkit_with_a_tei_only_task_is_an_error() -> None:
    toolkit = InferenceImage.huggingface()
    own = ModelVariant(name="own", model_data=CANDIDATE_URI, task="sentence-similarity", image=toolkit)
    expected = "variants['own'].task: 'sentence-similarity' is a Hub pipeline tag, not a transformers pipeline"
    assert expected in variants_error(own)
    # Inherited from an endpoint that TEI serves: the variant's image is the toolkit's.
    inherited = ModelVariant(name="inherited", model_data=CANDIDATE_URI, image=toolkit)
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "Endpoint",
            model_data=CANDIDATE_URI,
            task="sentence-similarity",
            instance_type="ml.g5.xlarge",
            variants=[inherited],
        )
    expected = "variants['inherited'].task: 'sentence-similarity' (the endpoint's task) is a Hub pipeline tag"
    assert expected in str(error.value)


def test_a_variant_with_weight_0_gets_only_requests_that_name_it() -> None:
    # InitialVariantWeight 0: a challenger reached only through InvokeEndpoint's TargetVariant.
    stack = new_stack()
    build_on_g5("hub", stack, variants=[ModelVariant(name="challenger", model_id=ROBERTA, weight=0)])
    weights = {
        v["VariantName"]: v["InitialVariantWeight"] for v in config_of(Template.from_stack(stack))["ProductionVariants"]
    }
    assert weights == {"AllTraffic": 1.0, "challenger": 0.0}


def test_tgi_variant_gets_the_tgi_startup_timeout() -> None:
    stack = new_stack()
    build_on_g5(
        "hub",
        stack,
        variants=[
            ModelVariant(
                name="llm",
                model_data=CANDIDATE_URI,
                task="text-generation",
                instance_type="ml.g5.2xlarge",
                image=InferenceImage.tgi(),
            )
        ],
    )
    timeouts = {
        v["VariantName"]: v.get("ContainerStartupHealthCheckTimeoutInSeconds")
        for v in config_of(Template.from_stack(stack))["ProductionVariants"]
    }
    assert timeouts == {"AllTraffic": None, "llm": 600}


def test_variant_environment_is_added() -> None:
    stack = new_stack()
    build_on_g5("tuned", stack, variants=[ModelVariant(name="b", model_id=ROBERTA, environment={"SAGEMAKER_X": "1"})])
    by_id = {k: v["Properties"] for k, v in models(Template.from_stack(stack)).items()}
    b = next(p for k, p in by_id.items() if k.startswith("EndpointVariantsb"))
    assert b["PrimaryContainer"]["Environment"]["SAGEMAKER_X"] == "1"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"name": "bad_name", "model_id": ROBERTA}, "variants[].name: 'bad_name' is not a valid variant name"),
        ({"name": "a" * 64, "model_id": ROBERTA}, "is not a valid variant name: 1-63"),
        ({"name": "AllTraffic", "model_id": ROBERTA}, "'AllTraffic' is the name of the endpoint's own variant"),
        ({"name": "b"}, "variants['b'].model_id / variants['b'].model_data: neither given"),
        ({"name": "b", "model_id": ROBERTA, "model_data": CANDIDATE_URI}, "model_data: both given"),
        ({"name": "b", "model_id": "not a repo"}, "variants['b'].model_id: 'not a repo' is not a valid Hub"),
        ({"name": "b", "model_data": "s3://b-1/model.zip"}, "variants['b'].model_data: 's3://b-1/model.zip'"),
        ({"name": "b", "model_id": ROBERTA, "task": "text-clasification"}, "variants['b'].task: 'text-clasification'"),
        (
            {"name": "b", "model_id": ROBERTA, "weight": 0, "shadow": True},
            "variants['b'].weight: 0 copies no requests: a shadow variant's weight must be above 0",
        ),
        (
            {"name": "b", "model_id": ROBERTA, "weight": -1.5},
            "variants['b'].weight: -1.5 must be a number of at least 0",
        ),
        (
            {"name": "b", "model_id": ROBERTA, "weight": 2, "shadow": True},
            "variants['b'].weight: 2 is above 1: a shadow variant's weight is the share of requests copied",
        ),
        ({"name": "b", "model_id": ROBERTA, "instance_type": "ml.g5.xlarg"}, "variants['b'].instance_type: 'ml.g5"),
        ({"name": "b", "model_id": ROBERTA, "instance_count": 0}, "variants['b'].instance_count: 0 must be a whole"),
        ({"name": "b", "model_id": ROBERTA, "image": "uri"}, "variants['b'].image: 'uri' must be an InferenceImage"),
        ({"name": "b", "model_id": ROBERTA, "shadow": "yes"}, "variants['b'].shadow: 'yes' must be True or False"),
    ],
)
def test_invalid_variant(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        ModelVariant(**kwargs)
    assert expected in str(error.value)


def test_duplicate_names() -> None:
    message = variants_error(ModelVariant(name="b", model_id=ROBERTA), ModelVariant(name="b", model_data=CANDIDATE_URI))
    assert "variants: ['b'] repeat a variant name" in message


def test_two_shadows_and_shadow_with_production_variants() -> None:
    message = variants_error(
        ModelVariant(name="s1", model_id=ROBERTA, shadow=True),
        ModelVariant(name="s2", model_id=ROBERTA, shadow=True),
        ModelVariant(name="p", model_id=ROBERTA),
    )
    assert "variants: ['s1', 's2'] are several shadow variants; SageMaker allows one" in message
    assert "with a shadow variant SageMaker allows exactly one production variant" in message


def test_shadow_with_async() -> None:
    message = variants_error(
        ModelVariant(name="s", model_id=ROBERTA, shadow=True),
        instance_type="ml.m5.xlarge",
        async_inference=AsyncInference(),
    )
    assert "variants / async_inference: shadow variant 's' cannot be used on an async endpoint" in message


def test_too_many_variants() -> None:
    message = variants_error(*(ModelVariant(name=f"v{i}", model_id=ROBERTA) for i in range(10)))
    assert "variants: '10 production variants' are too many: SageMaker allows 10" in message


def test_tgi_variant_on_a_cpu_instance() -> None:
    variant = ModelVariant(
        name="llm", model_id="gpt2", task="text-generation", instance_type="ml.m5.xlarge", image=InferenceImage.tgi()
    )
    message = variants_error(variant)
    assert "variants['llm'].instance_type: 'ml.m5.xlarge' cannot run TGI" in message
    assert "TGI images are GPU-only" in message


def test_tgi_variant_on_a_multi_gpu_instance_without_a_shard_count_is_a_warning() -> None:
    # Variants are not sized: whether 4 shards divide the model's attention heads is unknown, so TGI's
    # own default (one shard) stays, and the synth says so.
    stack = new_stack()
    tgi = InferenceImage.tgi()
    llm = ModelVariant(name="llm", model_id="gpt2", task="text-generation", instance_type="ml.g5.12xlarge", image=tgi)
    sharded = ModelVariant(
        name="sharded",
        model_id="gpt2",
        task="text-generation",
        instance_type="ml.g5.12xlarge",
        environment={"SM_NUM_GPUS": "4"},
        image=tgi,
    )
    build_on_g5("hub", stack, variants=[llm, sharded])
    template = Template.from_stack(stack)
    assert "SM_NUM_GPUS" not in variant_environment(template, "llm")
    assert variant_environment(template, "sharded")["SM_NUM_GPUS"] == "4"
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("TGI runs one shard"))
    assert len(warnings) == 1
    assert "variants['llm']: TGI runs one shard, on 1 of the 4 GPUs of ml.g5.12xlarge" in str(warnings[0].entry.data)


def test_tgi_variant_gpu_count_must_fit_its_instance() -> None:
    variant = ModelVariant(
        name="llm",
        model_id="gpt2",
        task="text-generation",
        instance_type="ml.g5.2xlarge",
        environment={"SM_NUM_GPUS": "4"},
        image=InferenceImage.tgi(),
    )
    message = variants_error(variant)
    assert "environment['SM_NUM_GPUS']: '4' must be '1': ml.g5.2xlarge has one GPU" in message


def test_hub_variant_with_network_isolation() -> None:
    message = variants_error(
        ModelVariant(name="b", model_id=ROBERTA), network_isolation=True, instance_type="ml.m5.xlarge"
    )
    assert f"variants['b'].model_id: {ROBERTA!r} cannot be downloaded with network_isolation=True" in message


def test_token_in_variant_environment() -> None:
    message = variants_error(ModelVariant(name="b", model_id=ROBERTA, environment={"HF_TOKEN": "hf_x"}))
    assert "variants['b'].environment['HF_TOKEN']: '***' puts a Hugging Face token in plain text" in message
    assert "hf_x" not in message


def test_variant_environment_cannot_contradict_its_model_id_or_task() -> None:
    variant = ModelVariant(
        name="b", model_id=ROBERTA, task="text-classification", environment={"HF_MODEL_ID": "other/model"}
    )
    message = variants_error(variant)
    assert "variants['b'].environment['HF_MODEL_ID']: 'other/model' conflicts with the variant's model_id" in message
    message = variants_error(ModelVariant(name="b", model_id=ROBERTA, task="fill-mask", environment={"HF_TASK": "ner"}))
    assert "variants['b'].environment['HF_TASK']: 'ner' conflicts with the variant's task" in message


def test_variant_gets_the_token_variables_of_its_own_serving_stack() -> None:
    from constructs_lib import HubModelEndpoint

    stack = new_stack()
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "Token", "hf-token")
    HubModelEndpoint(
        stack,
        "Endpoint",
        model_id="Qwen/Qwen2.5-0.5B-Instruct",
        task="text-generation",
        instance_type="ml.g5.xlarge",
        hf_token_secret=secret,
        variants=[ModelVariant(name="b", model_id="org/private-classifier", task="text-classification")],
    )
    environments = {
        key: value["Properties"]["PrimaryContainer"]["Environment"]
        for key, value in models(Template.from_stack(stack)).items()
    }
    main = next(env for key, env in environments.items() if not key.startswith("EndpointVariantsb"))
    variant = next(env for key, env in environments.items() if key.startswith("EndpointVariantsb"))
    assert "HF_TOKEN" in main and "HF_API_TOKEN" not in main  # vLLM, which Serving.AUTO picks for the LLM
    assert {"HF_API_TOKEN", "HF_TOKEN"} <= set(variant)  # the toolkit downloads with HF_API_TOKEN


def test_wrong_types() -> None:
    assert "variants: 'b' must be a list of ModelVariant" in build_on_g5_error(variants="b")
    assert "variants: {'name': 'b'} must be a ModelVariant" in build_on_g5_error(variants=[{"name": "b"}])


def test_from_config_round_trip_and_unknown_keys() -> None:
    data = {"name": "candidate", "model_data": CANDIDATE_URI, "weight": 0.1, "environment": {"A": "1"}}
    variant = ModelVariant.from_config(data)
    assert variant == ModelVariant(name="candidate", model_data=CANDIDATE_URI, weight=0.1, environment={"A": "1"})
    assert variant.to_config() == data
    assert ModelVariant.from_config(variant.to_config()) == variant
    shadow = ModelVariant.from_config({"name": "s", "model_id": ROBERTA, "shadow": True, "instance_count": 2})
    assert shadow.to_config() == {"name": "s", "model_id": ROBERTA, "instance_count": 2, "shadow": True}
    with pytest.raises(ConfigurationError) as error:
        ModelVariant.from_config({"name": "b", "model_id": ROBERTA, "image": "x"})
    assert "variants[]: unknown key(s) image; allowed: environment, instance_count, instance_type, model_data" in (
        str(error.value)
    )
    with pytest.raises(ConfigurationError, match=r"variants\[\].name: is required"):
        ModelVariant.from_config({"model_id": ROBERTA})
    with pytest.raises(ConfigurationError, match="image and ModelData objects have no config form"):
        ModelVariant(name="b", model_id=ROBERTA, image=InferenceImage.huggingface()).to_config()


def test_variant_inheriting_a_task_its_hub_model_is_not_for_warns() -> None:
    stack = new_stack()
    # The endpoint classifies; the variant is a text generator on the Hub (cached in tests/data/hub.context.json).
    build_on_g5("hub", stack, variants=[ModelVariant(name="generator", model_id="Qwen/Qwen2.5-0.5B-Instruct")])
    found = variant_task_warnings(stack)
    assert len(found) == 1
    text = json.dumps(found[0].entry.data)
    assert "constructs-lib:variant-task" in text and "'text-generation' model on the Hub" in text


def test_variant_of_the_same_kind_or_with_its_own_task_does_not_warn() -> None:
    stack = new_stack()
    build_on_g5(
        "hub",
        stack,
        variants=[
            ModelVariant(name="roberta", model_id=ROBERTA),  # also text-classification
            ModelVariant(name="generator", model_id="Qwen/Qwen2.5-0.5B-Instruct", task="text-generation"),
            ModelVariant(name="tuned", model_data=CANDIDATE_URI),  # not on the Hub: nothing to compare
        ],
    )
    assert variant_task_warnings(stack) == []


def test_generative_task_inherited_by_a_classifier_variant_is_an_error() -> None:
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(
            new_stack(),
            "Endpoint",
            model_id="gpt2",
            task="text-generation",
            instance_type="ml.g5.xlarge",
            variants=[ModelVariant(name="classifier", model_id=SST2)],
        )
    message = str(error.value)
    assert (
        "variants['classifier'].task: 'text-generation' (the endpoint's task) cannot be served with this model"
        in message
    )


def test_token_value_in_a_variant_environment_is_an_error() -> None:
    token = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    variant = ModelVariant(name="b", model_id=SST2, task="text-classification", environment={"SOME_KEY": token})
    message = hub_error(task="text-classification", variants=[variant])
    assert "variants['b'].environment['SOME_KEY']: '***' puts a Hugging Face token in plain text" in message
    assert token not in message
