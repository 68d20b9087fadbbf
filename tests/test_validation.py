"""Bad input fails at synth with a message naming the property, the value and what is allowed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CfnParameter, Duration

from constructs_lib import (
    AutoScaling,
    ConfigurationError,
    CustomScriptEndpoint,
    FineTunedEndpoint,
    HubModelEndpoint,
    InferenceImage,
    ModelProfile,
    ModelVariant,
    Serving,
)
from constructs_lib._core.errors import Problems
from constructs_lib.model.hub_reference import check_hub_reference

from .support import container, new_stack, synth

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


def hub_error(**kwargs: Any) -> str:
    kwargs.setdefault("model_id", SST2)
    kwargs.setdefault("instance_type", "ml.g5.xlarge")
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(new_stack(), "Endpoint", **kwargs)
    return str(error.value)


def test_unknown_instance_type() -> None:
    message = hub_error(instance_type="ml.g5.xlarg")
    assert "instance_type: 'ml.g5.xlarg' is not a known SageMaker hosting instance type" in message
    assert "(did you mean 'ml.g5.xlarge'?)" in message
    assert "ml.g6.xlarge" in message  # the allowed list
    assert "did you mean 'ml.g5.xlarge'" in hub_error(instance_type="ML.G5.XLARGE")
    assert "did you mean" not in hub_error(instance_type="ml.zz9.huge")


def test_instance_type_without_ml_prefix() -> None:
    message = hub_error(instance_type="g5.xlarge")
    assert "instance_type: 'g5.xlarge'" in message and "start with 'ml.'" in message


def test_unknown_task() -> None:
    message = hub_error(task="text-clasification")
    assert "task: 'text-clasification' is not a known Hugging Face task" in message
    assert "text-classification" in message


@pytest.mark.parametrize(
    "model_id",
    [
        "gpt2",
        "org/model",
        "Qwen/Qwen2.5-0.5B-Instruct",
        "a",
        "x" * 96,
        "x" * 97,
        "org/" + "x" * 96,
        "org/" + "x" * 97,
        "org/model.git",
        "org/a--b",
        "org/a..b",
        "_org/_model_",
        "org/model-",
        ".org/model",
        "org/mödel",
        "org//model",
        "org/model\n",
        "org/model name",
    ],
)
def test_repo_id_check_agrees_with_huggingface_hub(model_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    from constructs_lib.model.hub_reference import _is_valid_repo_id

    try:
        validate_repo_id(model_id)
        hub_says_valid = True
    except HFValidationError:
        hub_says_valid = False
    assert _is_valid_repo_id(model_id) is hub_says_valid


@pytest.mark.parametrize("model_id", ["not a repo", "org/name/extra", "-bad/name", ""])
def test_malformed_model_id(model_id: str) -> None:
    message = hub_error(model_id=model_id)
    assert f"model_id: {model_id!r}" in message


@pytest.mark.parametrize(
    "revision", ["bad revision", "../main", "a//b", "main/", "v1.", "feature/.hidden", "release.lock", "a..b"]
)
def test_malformed_revision(revision: str) -> None:
    message = hub_error(revision=revision)
    assert f"revision: {revision!r} is not a valid revision" in message


@pytest.mark.parametrize("revision", ["main", "v1.0.2", "refs/pr/12", "release/2024_10", "a" * 40, "my.lock-branch"])
def test_git_ref_revisions_are_accepted(revision: str) -> None:
    problems = Problems("test")
    check_hub_reference("org/model", revision, problems)
    assert not problems


def test_transformers_version_not_in_the_catalogue() -> None:
    with pytest.raises(ConfigurationError) as error:
        InferenceImage.huggingface(transformers_version="4.99.0")
    message = str(error.value)
    assert "transformers_version: '4.99.0'" in message
    assert "4.51.3" in message


def test_pytorch_version_not_paired_with_transformers_version() -> None:
    with pytest.raises(ConfigurationError) as error:
        InferenceImage.huggingface(transformers_version="4.51.3", pytorch_version="1.13.1")
    message = str(error.value)
    assert "pytorch_version: '1.13.1'" in message
    assert "2.6.0" in message


def test_tgi_on_a_cpu_instance() -> None:
    message = hub_error(model_id="Qwen/Qwen2.5-0.5B-Instruct", task="text-generation", instance_type="ml.m5.xlarge")
    assert "ml.m5.xlarge" in message and "TGI" in message


@pytest.mark.parametrize("instance_type", ["ml.g5.xlarge", "ml.g4dn.xlarge", "ml.g6.2xlarge", "ml.p4d.24xlarge"])
def test_volume_size_on_local_nvme_instance(instance_type: str) -> None:
    message = hub_error(instance_type=instance_type, volume_size_gb=100)
    assert f"volume_size_gb: 100 cannot be set on {instance_type}" in message
    assert "NVMe" in message


@pytest.mark.parametrize("size", [0, 513])
def test_volume_size_out_of_range(size: int) -> None:
    message = hub_error(instance_type="ml.p3.2xlarge", volume_size_gb=size)
    assert f"volume_size_gb: {size} must be a whole number from 1 to 512" in message


@pytest.mark.parametrize("prop", ["startup_health_check_timeout", "model_data_download_timeout"])
@pytest.mark.parametrize(("duration", "seconds"), [(Duration.seconds(30), "30"), (Duration.hours(2), "7200")])
def test_timeouts_outside_60_to_3600_seconds(prop: str, duration: Duration, seconds: str) -> None:
    message = hub_error(**{prop: duration})
    assert f"{prop}: '{seconds} seconds' is outside the allowed range 60..3600 seconds" in message


@pytest.mark.parametrize("count", [0, -1])
def test_instance_count_below_one(count: int) -> None:
    message = hub_error(instance_count=count)
    assert f"instance_count: {count} must be a whole number of at least 1" in message


@pytest.mark.parametrize("name", ["a" * 64, "a" * 32 + "-" + "b" * 31, "a" + "-b" * 62])
def test_endpoint_name_too_long(name: str) -> None:
    # Hyphens count towards the 63 characters too.
    assert f"endpoint_name: {name!r} is not a valid endpoint name" in hub_error(endpoint_name=name)


def test_endpoint_name_of_63_characters_with_hyphens_is_accepted() -> None:
    name = "a" * 31 + "-" + "b" * 31
    endpoint = HubModelEndpoint(
        new_stack(),
        "Endpoint",
        model_id=SST2,
        task="text-classification",
        instance_type="ml.g5.xlarge",
        endpoint_name=name,
    )
    assert endpoint.physical_endpoint_name == name


@pytest.mark.parametrize(
    ("serving", "task"),
    [(Serving.TGI, "fill-mask"), (Serving.TEI, "summarization"), (Serving.TEI, "text-generation")],
)
def test_explicit_serving_must_serve_the_task(serving: Serving, task: str) -> None:
    message = hub_error(serving=serving, task=task)
    assert f"serving: '{serving.name}' cannot serve task {task!r}" in message
    assert "Serving.INFERENCE_TOOLKIT" in message


@pytest.mark.parametrize(
    ("serving", "task"), [(Serving.TGI, "text2text-generation"), (Serving.TEI, "text-classification")]
)
def test_explicit_serving_accepts_the_tasks_it_serves(serving: Serving, task: str) -> None:
    # A model that can serve the task: SST-2 is a classifier and cannot generate (test_task_architecture.py).
    model_id = "gpt2" if serving is Serving.TGI else SST2
    endpoint = HubModelEndpoint(
        new_stack(), "Endpoint", model_id=model_id, task=task, instance_type="ml.g5.xlarge", serving=serving
    )
    assert endpoint.serving is serving


def test_tgi_with_a_deploy_time_instance_type_builds() -> None:
    stack = new_stack()
    instance_type = CfnParameter(stack, "InstanceType", default="ml.g5.xlarge").value_as_string
    endpoint = HubModelEndpoint(
        stack, "Endpoint", model_id="Qwen/Qwen2.5-0.5B-Instruct", task="text-generation", instance_type=instance_type
    )
    assert endpoint.serving is Serving.TGI and "tgi-inference" in endpoint.image_uri


@pytest.mark.parametrize(
    "uri", ["s3://192.168.1.1/m.tar.gz", "s3://xn--bucket/m.tar.gz", "s3://sthree-bucket/m.tar.gz"]
)
def test_bucket_names_s3_reserves_are_rejected(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="has an invalid bucket name"):
        FineTunedEndpoint(new_stack(), "E", model_data=uri, task="text-classification", instance_type="ml.g5.xlarge")


def test_uppercase_s3_scheme_is_explained() -> None:
    with pytest.raises(ConfigurationError, match="write the scheme in lowercase: s3://"):
        FineTunedEndpoint(
            new_stack(),
            "E",
            model_data="S3://bucket/m.tar.gz",
            task="text-classification",
            instance_type="ml.g5.xlarge",
        )


@pytest.mark.parametrize("name", ["my_endpoint", "-lead", "trail-", "has space"])
def test_endpoint_name_with_invalid_characters(name: str) -> None:
    assert f"endpoint_name: {name!r} is not a valid endpoint name" in hub_error(endpoint_name=name)


def test_too_many_environment_entries() -> None:
    # 99 of the user's own plus HF_MODEL_ID and HF_TASK set by the library: one too many.
    message = hub_error(task="text-classification", environment={f"KEY_{i}": "v" for i in range(99)})
    assert "environment: '101 entries' is too many" in message and "at most 100" in message


def test_environment_value_over_1024_bytes() -> None:
    message = hub_error(environment={"BIG": "x" * 1025})
    assert "environment['BIG']" in message and "over 1024 bytes" in message


def test_environment_key_over_1024_bytes() -> None:
    assert "is a key over 1024 bytes" in hub_error(environment={"K" * 1025: "v"})


def test_token_in_environment_points_to_hf_token_secret() -> None:
    message = hub_error(environment={"HF_TOKEN": "hf_secret"})
    assert "environment['HF_TOKEN']" in message and "hf_token_secret" in message
    assert "hf_secret" not in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60s"),
        ("SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS", "1.5"),
        ("SAGEMAKER_STARTUP_TIMEOUT", "ten minutes"),
        ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "6MB"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "0"),
    ],
)
def test_toolkit_server_settings_must_be_whole_numbers(key: str, value: str) -> None:
    # sagemaker_inference.environment.Environment() calls int() on them when the container starts.
    message = hub_error(task="text-classification", environment={key: value})
    assert f"environment[{key!r}]: {value!r} must be a whole number above 0" in message


def test_toolkit_server_settings_that_parse_build() -> None:
    settings = {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "120", "SAGEMAKER_MODEL_SERVER_WORKERS": "2"}
    endpoint = HubModelEndpoint(
        new_stack(), "E", model_id=SST2, task="text-classification", instance_type="ml.g5.xlarge", environment=settings
    )
    assert endpoint.serving is Serving.INFERENCE_TOOLKIT


def test_environment_contradicting_a_prop() -> None:
    message = hub_error(task="text-classification", environment={"HF_TASK": "fill-mask"})
    assert "environment['HF_TASK']: 'fill-mask' conflicts with the task prop" in message


def test_unknown_prop_lists_the_allowed_ones() -> None:
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(new_stack(), "E", model_id=SST2, instance_typ="ml.g5.xlarge")  # type: ignore[call-arg]
    assert "unknown prop(s) instance_typ" in str(error.value) and "instance_type" in str(error.value)


def test_all_problems_are_reported_at_once() -> None:
    message = hub_error(instance_count=0, endpoint_name="bad_name", startup_health_check_timeout=Duration.seconds(1))
    assert "has 3 invalid props" in message
    assert "instance_count" in message and "endpoint_name" in message and "startup_health_check_timeout" in message


@pytest.mark.parametrize(
    ("model_data", "expected"),
    [
        ("s3://bucket/model.zip", "neither a gzip tar archive"),
        ("s3://bucket/models/model", "neither a gzip tar archive (key ending in .tar.gz or .tgz)"),
        # An archive's name with a '/' after it: a prefix nobody writes files under.
        ("s3://bucket/models/model.tar.gz/", "did you mean 's3://bucket/models/model.tar.gz'?"),
        ("s3://Bad_Bucket/model.tar.gz", "invalid bucket name"),
        ("https://bucket.s3.amazonaws.com/model.tar.gz", "is not an S3 URI"),
        ("./does/not/exist", "does not exist"),
        # f"s3://{bucket}/{prefix}" with a prefix that already has a '/': the key is literal.
        ("s3://bucket//", "has an empty path segment: its key '/' starts with '/'"),
        ("s3://bucket//models/model.tar.gz", "has an empty path segment"),
        ("s3://bucket/models//model.tar.gz", "its key 'models//model.tar.gz' contains '//'; S3 keys are literal"),
    ],
)
def test_bad_model_data(model_data: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(new_stack(), "E", model_data=model_data, task="fill-mask", instance_type="ml.g5.xlarge")
    assert f"model_data: {model_data!r}" in str(error.value)
    assert expected in str(error.value)


@pytest.mark.parametrize("key", ["models/model.tgz", "models/MODEL.TAR.GZ", "models/model.tar.gz"])
def test_gzip_tar_archives_are_known_by_either_suffix_in_any_case(key: str) -> None:
    # SageMaker reads the content; .tgz is the same format under its short name.
    template = synth(
        lambda s: FineTunedEndpoint(
            s, "E", model_data=f"s3://bucket/{key}", task="fill-mask", instance_type="ml.g5.xlarge"
        )
    )
    assert container(template)["ModelDataUrl"] == f"s3://bucket/{key}"


def test_local_file_that_is_not_an_archive(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"x")
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(new_stack(), "E", model_data=str(weights), task="fill-mask")
    assert "is a local file but not a gzip tar archive" in str(error.value)


def test_local_directory_whose_task_cannot_be_inferred(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"architectures": ["BertModel"]}')
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(new_stack(), "E", model_data=str(tmp_path))
    assert "task: None must be set" in str(error.value) and "BertModel" in str(error.value)


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    (tmp_path / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    return tmp_path


@pytest.mark.parametrize(
    ("sources", "word"),
    [({"model_data": "s3://my-bucket/m/model.tar.gz", "model_id": SST2}, "both"), ({}, "neither")],
)
def test_custom_script_needs_exactly_one_model_source(code_dir: Path, sources: dict[str, str], word: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, **sources)
    assert f"model_data / model_id: {word} given; pass exactly one" in str(error.value)


def test_code_dir_without_the_entry_point(code_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, entry_point="serve.py", model_id=SST2)
    message = str(error.value)
    assert "has no entry point 'serve.py'" in message and "inference.py" in message


def test_code_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=tmp_path / "missing", model_id=SST2)
    assert "code_dir:" in str(error.value) and "is not an existing directory" in str(error.value)


def test_custom_script_cannot_run_on_tgi(code_dir: Path) -> None:
    from constructs_lib import Serving

    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, model_id=SST2, serving=Serving.TGI)
    assert "serving: 'TGI' cannot run a custom inference script" in str(error.value)


def test_custom_script_with_an_uncompressed_prefix(code_dir: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=code_dir, model_data="s3://bucket/prefix/")
    assert "uncompressed S3 prefix" in str(error.value)


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        ["a", "b"],
        3,
        2.5,
        True,
        None,
    ],
)
def test_plain_values_are_not_tokens(value: Any) -> None:
    from constructs_lib._core.tokens import is_unresolved

    assert is_unresolved(value) is False


def test_token_check_agrees_with_cdk_for_every_token_kind() -> None:
    from aws_cdk import Aws, Token

    from constructs_lib._core.tokens import is_unresolved

    tokens = [Aws.REGION, f"prefix-{Aws.ACCOUNT_ID}", Token.as_list(Aws.NOTIFICATION_ARNS), Token.as_number(Aws.REGION)]
    for token in tokens:
        assert Token.is_unresolved(token)
        assert is_unresolved(token), token


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"environment": [("A", "b")]}, "environment: [('A', 'b')] must be a mapping"),
        ({"image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/x:1"}, "must be an InferenceImage"),
        ({"endpoint_name": 5}, "endpoint_name: 5 must be a string"),
        ({"model_profile": {"parameters": 1}}, "model_profile: {'parameters': 1} must be a ModelProfile"),
        ({"role": "arn:aws:iam::123456789012:role/x"}, "must be an iam.IRole"),
        ({"instance_type": 5}, "instance_type: 5 must be a string"),
    ],
)
def test_props_of_the_wrong_type_are_clear_errors(props: dict[str, Any], expected: str) -> None:
    assert expected in hub_error(**props)


def test_code_dir_of_the_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(new_stack(), "E", code_dir=5, model_id=SST2)  # type: ignore[arg-type]
    assert "code_dir: 5 must be the path" in str(error.value)


def test_price_cap_counts_every_instance() -> None:
    from constructs_lib import SizingOptions

    # One ml.g4dn.xlarge (~$0.74/h) fits the cap; four of them (~$2.94/h) do not.
    with pytest.raises(ConfigurationError) as error:
        HubModelEndpoint(
            new_stack(),
            "E",
            model_id=SST2,
            instance_count=4,
            instance_selection=SizingOptions(max_price_per_hour=1.5),
        )
    assert "1.5" in str(error.value)


@pytest.mark.parametrize("prop", ["startup_health_check_timeout", "model_data_download_timeout"])
def test_fractional_timeouts_are_a_clear_error(prop: str) -> None:
    # Duration.to_seconds() throws inside jsii for 90.5 s: the message must come from us.
    assert f"{prop}: '90.5 seconds' must be whole seconds from 60 to 3600" in hub_error(
        task="text-classification", **{prop: Duration.millis(90_500)}
    )


def test_fractional_autoscaling_cooldown_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"autoscaling.scale_out_cooldown: '1.5 seconds' must be whole"):
        AutoScaling(max_capacity=2, target_invocations_per_instance=10, scale_out_cooldown=Duration.millis(1500))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinity_are_rejected_before_they_reach_jsii(bad: float) -> None:
    # jsii cannot serialise them: the kernel would die with a JSON error instead of a message.
    with pytest.raises(ConfigurationError, match=r"variants\['b'\].weight: -?(nan|inf) must be a number of at least 0"):
        ModelVariant(name="b", model_id=SST2, task="text-classification", weight=bad)
    with pytest.raises(ConfigurationError, match=r"target_invocations_per_instance: -?(nan|inf) must be a number"):
        AutoScaling(max_capacity=2, target_invocations_per_instance=bad)


@pytest.mark.parametrize("task", ["translation_", "translation_garbage", "translation_en_fr", "translation_en_to_"])
def test_translation_task_needs_a_language_pair(task: str) -> None:
    assert f"task: {task!r} is not a known Hugging Face task" in hub_error(task=task)


def test_translation_language_pair_is_accepted() -> None:
    endpoint = HubModelEndpoint(
        new_stack(),
        "Endpoint",
        model_id="google-t5/t5-small",
        task="translation_en_to_fr",
        instance_type="ml.g5.xlarge",
    )
    assert endpoint.task == "translation_en_to_fr"


@pytest.mark.parametrize("variable", ["HUGGINGFACE_TOKEN", "hf_token", "MY_SECRET"])
def test_token_value_in_any_variable_is_an_error(variable: str) -> None:
    token = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    message = hub_error(task="text-classification", environment={variable: token})
    assert f"environment[{variable!r}]: '***' puts a Hugging Face token in plain text" in message
    assert token not in message


def test_empty_path_object_is_not_the_current_directory() -> None:
    with pytest.raises(ConfigurationError, match=re.escape("model_data: '.' is empty")):
        FineTunedEndpoint(new_stack(), "E", model_data=Path(""), task="text-classification")


def test_fractional_milliseconds_are_a_clear_error() -> None:
    message = hub_error(task="text-classification", startup_health_check_timeout=Duration.millis(600_500.5))
    assert "startup_health_check_timeout: '600.5005 seconds' must be whole seconds" in message


def test_access_point_alias_is_a_valid_bucket_reference() -> None:
    endpoint = FineTunedEndpoint(
        new_stack(),
        "E",
        model_data="s3://models-ap-abcdefghijklmnopqrstuvwxyz01-s3alias/m/model.tar.gz",
        task="text-classification",
        instance_type="ml.g5.xlarge",
    )
    assert endpoint.instance_type == "ml.g5.xlarge"


def test_token_value_in_a_variant_environment_is_an_error() -> None:
    token = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    variant = ModelVariant(name="b", model_id=SST2, task="text-classification", environment={"SOME_KEY": token})
    message = hub_error(task="text-classification", variants=[variant])
    assert "variants['b'].environment['SOME_KEY']: '***' puts a Hugging Face token in plain text" in message
    assert token not in message


MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PROFILE = ModelProfile(parameters=22_713_216, dtype="float32", task="sentence-similarity")


def test_sentence_similarity_on_the_toolkit_fails_the_synth() -> None:
    # transformers has no 'sentence-similarity' pipeline: the toolkit's default model_fn dies with "Unknown task".
    message = hub_error(
        model_id=MINILM, task="sentence-similarity", serving=Serving.INFERENCE_TOOLKIT, model_profile=MINILM_PROFILE
    )
    assert "task: 'sentence-similarity' is a Hub pipeline tag, not a transformers pipeline" in message
    assert "serve it with Serving.TEI" in message and "task='feature-extraction'" in message
    # Serving.AUTO serves it with TEI, and the toolkit serves the pipeline that exists.
    HubModelEndpoint(new_stack(), "Auto", model_id=MINILM, instance_type="ml.g5.xlarge", model_profile=MINILM_PROFILE)
    HubModelEndpoint(
        new_stack(),
        "Toolkit",
        model_id=MINILM,
        task="feature-extraction",
        serving=Serving.INFERENCE_TOOLKIT,
        instance_type="ml.g5.xlarge",
        model_profile=MINILM_PROFILE,
    )


def test_script_without_model_fn_cannot_inherit_a_tei_only_pipeline_tag(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text("def predict_fn(data, model):\n    return model(data)\n")
    with pytest.raises(ConfigurationError) as error:
        CustomScriptEndpoint(
            new_stack(), "E", code_dir=code, model_id=MINILM, instance_type="ml.g5.xlarge", model_profile=MINILM_PROFILE
        )
    assert "task: 'sentence-similarity' (the model's pipeline tag on the Hub) is a Hub pipeline tag" in str(error.value)
    # A model_fn of the script's own loads the model: HF_TASK is not used to build a pipeline.
    (code / "inference.py").write_text(
        "from sentence_transformers import SentenceTransformer\n\n"
        "def model_fn(model_dir):\n    return SentenceTransformer(model_dir)\n\n"
        "def predict_fn(data, model):\n    return model.encode(data['inputs'])\n"
    )
    CustomScriptEndpoint(
        new_stack(), "E", code_dir=code, model_id=MINILM, instance_type="ml.g5.xlarge", model_profile=MINILM_PROFILE
    )


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("text_classification", "is not a known Hugging Face task"),
        ("sentence-similarity", "is a Hub pipeline tag, not a transformers pipeline"),
    ],
)
def test_hf_task_in_environment_gets_the_task_checks(task: str, expected: str) -> None:
    # The SageMaker SDK's way of giving the task: env={"HF_TASK": ...}.
    with pytest.raises(ConfigurationError) as error:
        FineTunedEndpoint(
            new_stack(),
            "E",
            model_data="s3://my-bucket/m/model.tar.gz",
            instance_type="ml.g5.xlarge",
            environment={"HF_TASK": task},
        )
    assert f"environment['HF_TASK']: {task!r} {expected}" in str(error.value)
    stack = new_stack()
    FineTunedEndpoint(
        stack,
        "E",
        model_data="s3://my-bucket/m/model.tar.gz",
        instance_type="ml.g5.xlarge",
        environment={"HF_TASK": "sentiment-analysis"},
    )
