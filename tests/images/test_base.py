"""``InferenceImage`` (``images.base``): DLC URIs, image configs, grants and the factories' errors.

Every literal URI below is what ``sagemaker.core.image_uris.retrieve`` (sagemaker-core 2.27.0, the catalogue's
source, image_scope="inference") returns for the same versions, except where the SDK needs a version the
library defaults (a transformers version without a PyTorch version: the library takes the full PyTorch
version of the newest pairing). ``tests/catalogue/test_dlc_oracle.py`` checks the whole catalogue.
"""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Match, Template

from constructs_lib import (
    ConfigurationError,
    ImageConfig,
    InferenceImage,
    ModelVariant,
    ServerlessInference,
    Serving,
)

from ..support import (
    CPU_TOOLKIT_TAG,
    GPU_TOOLKIT_TAG,
    PULL_ACTIONS,
    TOOLKIT_REPOSITORY,
    bound_uri,
    container,
    entry_text,
    error_of,
    find_in_map,
    hub,
    image_stack,
    policy_statements,
    synth,
    variant,
    warnings_of,
)

URI_TABLE: list[tuple[str, Callable[[], InferenceImage], str, str | None, str]] = [
    (
        "newest toolkit, GPU",
        InferenceImage.huggingface, "us-east-1", "ml.g5.xlarge",
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{TOOLKIT_REPOSITORY}:2.6.0-transformers5.5.3-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "newest toolkit, CPU",
        InferenceImage.huggingface, "us-east-1", "ml.m5.xlarge",
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{TOOLKIT_REPOSITORY}:2.6.0-transformers5.5.3-cpu-py312-ubuntu22.04",
    ),
    (
        "serverless is CPU",
        InferenceImage.huggingface, "us-east-1", None,
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{TOOLKIT_REPOSITORY}:2.6.0-transformers5.5.3-cpu-py312-ubuntu22.04",
    ),
    (
        "a short PyTorch version keeps its spelling in the tag; transformers is written in full",
        lambda: InferenceImage.huggingface(transformers_version="4.51", pytorch_version="2.6"),
        "eu-central-1", "ml.g5.xlarge",
        f"763104351884.dkr.ecr.eu-central-1.amazonaws.com/{TOOLKIT_REPOSITORY}:2.6-transformers4.51.3-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "a short transformers version alone is its newest release, with the full PyTorch version",
        lambda: InferenceImage.huggingface(transformers_version="4.51"), "us-east-1", "ml.g5.xlarge",
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{TOOLKIT_REPOSITORY}:2.6.0-transformers4.51.3-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "oldest catalogued toolkit, own account",
        lambda: InferenceImage.huggingface(transformers_version="4.26.0"), "ap-south-2", "ml.g4dn.xlarge",
        f"772153158452.dkr.ecr.ap-south-2.amazonaws.com/{TOOLKIT_REPOSITORY}:1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
    ),
    (
        "China: amazonaws.com.cn",
        InferenceImage.huggingface, "cn-north-1", "ml.g5.xlarge",
        f"727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/{TOOLKIT_REPOSITORY}:2.6.0-transformers5.5.3-gpu-py312-cu124-ubuntu22.04",
    ),
    (
        "Inferentia2: neuronx repository",
        InferenceImage.huggingface, "us-east-1", "ml.inf2.xlarge",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference-neuronx:"
        "2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04",
    ),
    (
        "Inferentia2 in GovCloud, short forms resolved like the SDK does for neuronx",
        lambda: InferenceImage.huggingface(transformers_version="4.51", pytorch_version="2.7"),
        "us-gov-west-1", "ml.inf2.8xlarge",
        "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/huggingface-pytorch-inference-neuronx:"
        "2.7.1-transformers4.51.3-neuronx-py310-sdk2.24.1-ubuntu22.04",
    ),
    (
        "TGI 3.3.6",
        lambda: InferenceImage.tgi("3.3.6"), "eu-west-1", "ml.g5.2xlarge",
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
        "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04",
    ),
    (
        "TGI short form in GovCloud",
        lambda: InferenceImage.tgi("3.0"), "us-gov-west-1", "ml.p4d.24xlarge",
        "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
        "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04-v2.1",
    ),
    (
        "TEI GPU",
        lambda: InferenceImage.tei("1.8.2"), "us-west-2", "ml.g5.xlarge",
        "246618743249.dkr.ecr.us-west-2.amazonaws.com/tei:2.0.1-tei1.8.2-gpu-py310-cu122-ubuntu22.04",
    ),
    (
        "TEI CPU",
        lambda: InferenceImage.tei("1.8.2"), "us-west-2", "ml.m5.xlarge",
        "246618743249.dkr.ecr.us-west-2.amazonaws.com/tei-cpu:2.0.1-tei1.8.2-cpu-py310-ubuntu22.04",
    ),
    (
        "TEI CPU in China, short form",
        lambda: InferenceImage.tei("1.8"), "cn-northwest-1", None,
        "451049120500.dkr.ecr.cn-northwest-1.amazonaws.com.cn/tei-cpu:2.0.1-tei1.8.2-cpu-py310-ubuntu22.04",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("factory", "region", "instance_type", "expected"),
    [row[1:] for row in URI_TABLE],
    ids=[row[0] for row in URI_TABLE],
)
def test_literal_uri_matches_sagemaker_sdk(
    factory: Callable[[], InferenceImage], region: str, instance_type: str | None, expected: str
) -> None:
    assert bound_uri(factory(), region, instance_type) == expected


def test_image_config_fields_for_a_concrete_region() -> None:
    stack, role = image_stack("eu-west-1")
    config = InferenceImage.tgi().bind(stack, role, instance_type="ml.g5.xlarge")
    assert isinstance(config, ImageConfig)
    assert config.repository_name == "huggingface-pytorch-tgi-inference"
    assert config.serving is Serving.TGI
    assert stack.resolve(config.repository_arn) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecr:eu-west-1:763104351884:repository/huggingface-pytorch-tgi-inference",
            ],
        ]
    }


def test_defaults_pick_newest_pairings() -> None:
    # transformers alone -> newest PyTorch for it; PyTorch alone -> newest transformers with it.
    assert "1.13.1-transformers4.26.0-gpu" in bound_uri(InferenceImage.huggingface(transformers_version="4.26.0"))
    assert "2.3.0-transformers4.48.0-gpu" in bound_uri(InferenceImage.huggingface(pytorch_version="2.3.0"))
    assert ":2.7.0-tgi3.3.6-gpu" in bound_uri(InferenceImage.tgi())
    assert "/tei:2.0.1-tei1.8.2-gpu" in bound_uri(InferenceImage.tei())


def test_for_serving_and_serving_property() -> None:
    assert InferenceImage.for_serving(Serving.INFERENCE_TOOLKIT).serving is Serving.INFERENCE_TOOLKIT
    assert InferenceImage.for_serving(Serving.TGI).serving is Serving.TGI
    assert InferenceImage.for_serving(Serving.TEI).serving is Serving.TEI
    assert "tgi3.3.6" in bound_uri(InferenceImage.for_serving(Serving.TGI))
    assert InferenceImage.from_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1").serving is None
    image = InferenceImage.from_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1", serving=Serving.TGI)
    assert image.serving is Serving.TGI


def test_dlc_grant_is_scoped_to_the_repository() -> None:
    app = cdk.App()
    stack, role = image_stack("us-east-1", app)
    InferenceImage.huggingface().bind(stack, role, instance_type="ml.g5.xlarge")
    statements = policy_statements(Template.from_stack(stack))
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements
    assert {
        "Action": PULL_ACTIONS,
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, f":ecr:us-east-1:763104351884:repository/{TOOLKIT_REPOSITORY}"],
            ]
        },
    } in statements
    assert len(statements) == 2  # nothing else, in particular no pull on "*"


def test_dlc_grant_for_token_region_uses_the_mapped_account() -> None:
    app = cdk.App()
    stack, role = image_stack(None, app)
    InferenceImage.tei().bind(stack, role, instance_type="ml.m5.xlarge")
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": PULL_ACTIONS,
                            "Effect": "Allow",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:", {"Ref": "AWS::Partition"}, ":ecr:", {"Ref": "AWS::Region"}, ":",
                                        find_in_map("HuggingFaceTeiCpuAccounts"), ":repository/tei-cpu",
                                    ],
                                ]
                            },
                        }
                    ]
                )
            }
        },
    )  # fmt: skip


def test_from_uri_grants_on_the_parsed_repository() -> None:
    app = cdk.App()
    stack, role = image_stack("us-east-1", app)
    uri = "210987654321.dkr.ecr.us-east-1.amazonaws.com/team/my-model@sha256:" + "a" * 64
    config = InferenceImage.from_uri(uri).bind(stack, role, instance_type=None)
    assert config.image_uri == uri
    assert config.repository_name == "team/my-model"
    assert config.serving is None
    statements = policy_statements(Template.from_stack(stack))
    assert {
        "Action": PULL_ACTIONS,
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":ecr:us-east-1:210987654321:repository/team/my-model"],
            ]
        },
    } in statements
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements
    assert len(statements) == 2


def test_from_uri_with_tokens_grants_on_the_repository_built_from_the_parts() -> None:
    stack, role = image_stack("us-east-1")
    repository = ecr.Repository(stack, "Repo")
    config = InferenceImage.from_uri(repository.repository_uri_for_tag("v1")).bind(stack, role, instance_type=None)
    arn = stack.resolve(config.repository_arn)["Fn::Join"][1]
    assert arn[-2:] == [":repository/", {"Ref": "Repo02AC86CF"}]
    assert stack.resolve(config.repository_name) == {"Ref": "Repo02AC86CF"}


def test_from_ecr_repository_uses_grant_pull() -> None:
    app = cdk.App()
    stack, role = image_stack("us-east-1", app)
    repository = ecr.Repository(stack, "Repo")
    config = InferenceImage.from_ecr_repository(repository, "v2", serving=Serving.INFERENCE_TOOLKIT).bind(
        stack, role, instance_type="ml.g5.xlarge"
    )
    assert config.serving is Serving.INFERENCE_TOOLKIT
    assert stack.resolve(config.image_uri)["Fn::Join"][1][-1].endswith(":v2")
    statements = policy_statements(Template.from_stack(stack))
    pull = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["Repo02AC86CF", "Arn"]}]
    assert [sorted(s["Action"]) for s in pull] == [sorted(PULL_ACTIONS)]
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in statements

    digest = "sha256:" + "b" * 64
    by_digest = InferenceImage.from_ecr_repository(repository, digest).bind(stack, role, instance_type=None)
    assert stack.resolve(by_digest.image_uri)["Fn::Join"][1][-1] == "@" + digest


def test_unknown_transformers_version() -> None:
    message = error_of(lambda: InferenceImage.huggingface(transformers_version="4.99"))
    assert "transformers_version: '4.99' is not a catalogued Hugging Face inference DLC version" in message
    # Every version of the GPU/CPU and the neuronx families, sagemaker-core 2.27.0's oldest (4.6.1) to 5.5.3.
    assert (
        "allowed: 4.6.1, 4.10.2, 4.11.0, 4.12.3, 4.17.0, 4.26.0, 4.28.1, 4.34.1, 4.36.2, 4.37.0, 4.43.2, 4.48.0, "
        "4.49.0, 4.51.3, 4.55.4, 5.5.3 (" in message
    )
    assert "short form: 4.6, 4.10, " in message and ", 4.55, 5.5)" in message


def test_pytorch_version_not_paired_with_transformers_version() -> None:
    message = error_of(lambda: InferenceImage.huggingface(transformers_version="4.26.0", pytorch_version="2.6.0"))
    assert "pytorch_version: '2.6.0' is not catalogued with transformers_version '4.26.0'" in message
    assert message.endswith("allowed: 1.13, 1.13.1")


def test_unknown_pytorch_version_alone() -> None:
    message = error_of(lambda: InferenceImage.huggingface(pytorch_version="9.9"))
    assert "pytorch_version: '9.9' is not a catalogued" in message
    assert "2.6.0" in message and "1.13.1" in message


def test_unknown_tgi_and_tei_versions() -> None:
    message = error_of(lambda: InferenceImage.tgi("9.9.9"))
    assert "version: '9.9.9' is not a catalogued TGI (huggingface-llm) DLC version" in message
    assert "3.2.3, 3.3.4, 3.3.6 (or a short form: " in message
    message = error_of(lambda: InferenceImage.tei("0.1"))
    assert "version: '0.1' is not a catalogued TEI DLC version; allowed: 1.2.3, 1.4.0" in message


@pytest.mark.parametrize(
    ("instance_type", "shown", "processor"),
    [
        ("ml.m5.xlarge", "'ml.m5.xlarge'", "cpu"),
        (None, "None (serverless, CPU)", "cpu"),
        ("ml.inf2.xlarge", "'ml.inf2.xlarge'", "neuronx"),
    ],
)
def test_tgi_is_gpu_only(instance_type: str | None, shown: str, processor: str) -> None:
    message = error_of(lambda: bound_uri(InferenceImage.tgi(), instance_type=instance_type))
    assert f"instance_type: {shown} runs {processor} images, but TGI images are GPU-only" in message
    assert "GPU instance" in message and "Serving.INFERENCE_TOOLKIT" in message


def test_tei_has_no_neuronx_image() -> None:
    message = error_of(lambda: bound_uri(InferenceImage.tei(), instance_type="ml.inf2.xlarge"))
    assert "instance_type: 'ml.inf2.xlarge' runs neuronx images, but TEI images exist for GPU and CPU only" in message


def test_toolkit_version_without_an_image_for_the_processor() -> None:
    on_inf2 = error_of(
        lambda: bound_uri(InferenceImage.huggingface(transformers_version="4.49.0"), instance_type="ml.inf2.xlarge")
    )
    assert "transformers_version: '4.49.0' has no neuronx Hugging Face inference DLC" in on_inf2
    assert "allowed: 4.28.1, 4.34.1, 4.36.2, 4.43.2, 4.51.3, 4.55.4" in on_inf2
    on_gpu = error_of(
        lambda: bound_uri(InferenceImage.huggingface(transformers_version="4.55.4"), instance_type="ml.g5.xlarge")
    )
    assert "transformers_version: '4.55.4' has no gpu Hugging Face inference DLC" in on_gpu
    assert (
        "allowed: 4.6.1, 4.10.2, 4.11.0, 4.12.3, 4.17.0, 4.26.0, 4.28.1, 4.37.0, 4.48.0, 4.49.0, 4.51.3, 5.5.3 ("
        in on_gpu
    )


def test_token_instance_type() -> None:
    stack, role = image_stack()
    token = cdk.CfnParameter(stack, "InstanceType").value_as_string
    message = error_of(lambda: InferenceImage.huggingface().bind(stack, role, instance_type=token))
    assert "instance_type:" in message and "use a concrete instance type" in message
    # TGI has GPU images only, so a deploy-time instance type still has exactly one image.
    assert "tgi3.3.6-gpu" in InferenceImage.tgi().bind(stack, role, instance_type=token).image_uri


def test_from_ecr_repository_rejects_bad_tags() -> None:
    stack, _ = image_stack()
    repository = ecr.Repository(stack, "Repo")
    message = error_of(lambda: InferenceImage.from_ecr_repository(repository, "-bad tag"))
    assert "tag: '-bad tag' is not an image tag" in message


def test_from_uri_in_another_region_than_the_stack_is_an_error() -> None:
    app = cdk.App()
    stack, role = image_stack("us-east-1", app)
    uri = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/my-model:1"
    with pytest.raises(ConfigurationError, match="is in eu-west-1, but the stack deploys to us-east-1"):
        InferenceImage.from_uri(uri).bind(stack, role, instance_type=None)
    agnostic, agnostic_role = image_stack(None, app)
    assert InferenceImage.from_uri(uri).bind(agnostic, agnostic_role, instance_type=None).image_uri == uri


@pytest.mark.parametrize(
    ("instance_type", "tag"),
    [("ml.g5.xlarge", GPU_TOOLKIT_TAG), ("ml.g4dn.xlarge", GPU_TOOLKIT_TAG), ("ml.m5.xlarge", CPU_TOOLKIT_TAG)],
)
def test_image_follows_the_instance_processor(instance_type: str, tag: str) -> None:
    template = synth(lambda s: hub(s, instance_type=instance_type), region="eu-west-1")
    assert container(template)["Image"] == (
        f"763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-inference:{tag}"
    )
    assert variant(template)["InstanceType"] == instance_type
    assert "InferenceAmiVersion" not in variant(template)  # a CUDA 12.4 (or CPU) image: SageMaker's default host


# ----------------------------------------------------------------- from_uri against the instance's processor
_OWN_REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-server"
GPU_URI = f"{_OWN_REPOSITORY}:{GPU_TOOLKIT_TAG}"
CPU_URI = f"{_OWN_REPOSITORY}:{CPU_TOOLKIT_TAG}"
NEURONX_URI = f"{_OWN_REPOSITORY}:2.8.0-transformers4.55.4-neuronx-py310-sdk2.26.0-ubuntu22.04"


@pytest.mark.parametrize(
    ("uri", "props", "expected"),
    [
        (GPU_URI, {"instance_type": "ml.m5.xlarge"}, "is a GPU image (its tag says -gpu-), and instance_type"),
        (GPU_URI, {"instance_type": "ml.inf2.xlarge"}, "is a GPU image (its tag says -gpu-), and instance_type"),
        (
            GPU_URI,
            {"serverless": "serverless"},
            "is a GPU image (its tag says -gpu-), and a serverless endpoint (CPU only) has no NVIDIA GPU",
        ),
        (NEURONX_URI, {"instance_type": "ml.g5.xlarge"}, "is a Neuron image (its tag says neuronx)"),
        (
            NEURONX_URI,
            {"instance_type": "ml.m5.xlarge"},
            "is a Neuron image (its tag says neuronx), which runs only on Inferentia and Trainium, not on "
            "instance_type 'ml.m5.xlarge'",
        ),
    ],
)
def test_an_image_of_your_own_that_cannot_run_on_the_instance_is_a_synth_error(
    uri: str, props: dict[str, object], expected: str
) -> None:
    if props.get("serverless"):
        props = {"serverless": ServerlessInference(), "instance_type": None}
    message = error_of(lambda: hub(cdk.Stack(cdk.App(), "S"), image=InferenceImage.from_uri(uri), **props))
    assert f"image: {uri!r} {expected}" in message


def test_a_cpu_image_on_a_gpu_instance_warns_that_it_wastes_the_gpu() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
    hub(stack, image=InferenceImage.from_uri(CPU_URI), instance_type="ml.g5.xlarge")
    warnings = warnings_of(stack, "image-processor")
    assert len(warnings) == 1
    assert "is a CPU image (its tag says -cpu-) on instance_type 'ml.g5.xlarge': it runs, but never uses" in (
        entry_text(warnings[0])
    )


@pytest.mark.parametrize(
    ("uri", "instance_type"),
    [
        (GPU_URI, "ml.g5.xlarge"),
        (CPU_URI, "ml.m5.xlarge"),
        (NEURONX_URI, "ml.inf2.xlarge"),
        (f"{_OWN_REPOSITORY}:latest", "ml.m5.xlarge"),  # a tag that names no processor is not judged
        (f"{_OWN_REPOSITORY}:gpu-build", "ml.g5.xlarge"),
    ],
)
def test_an_image_of_your_own_for_the_instances_processor_builds_without_warning(uri: str, instance_type: str) -> None:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-east-1"))
    extra = {"environment": {"HF_OPTIMUM_SEQUENCE_LENGTH": "128"}} if "inf2" in instance_type else {}
    hub(stack, image=InferenceImage.from_uri(uri), instance_type=instance_type, **extra)
    assert warnings_of(stack, "image-processor") == []


def test_a_variants_image_is_held_against_the_variants_instance() -> None:
    variants = [ModelVariant(name="b", model_data="s3://my-bucket/b/model.tar.gz", task="text-classification",
                             instance_type="ml.m5.xlarge", image=InferenceImage.from_uri(GPU_URI))]  # fmt: skip
    message = error_of(lambda: hub(cdk.Stack(cdk.App(), "S"), instance_type="ml.g5.xlarge", variants=variants))
    assert f"variants['b'].image: {GPU_URI!r} is a GPU image" in message
