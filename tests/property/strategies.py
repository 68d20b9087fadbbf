"""Hypothesis strategies: props of the right and the wrong types, out-of-range numbers, empty and huge strings,
unknown keys, conflicting combinations, and CDK tokens where literals are expected.

A prop's value is drawn as a *maker*: a function of the stack that builds it, so that values which are constructs
(a secret, a role) or tokens live in the stack of the endpoint under test, and so that a value object's own
``ConfigurationError`` (``SizingOptions(max_price_per_hour=-1)``) is raised where the test expects errors.
Each maker has a readable ``repr`` for the falsifying example hypothesis prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, CfnParameter, Duration, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from hypothesis import strategies as st

from constructs_lib import (
    AsyncInference,
    AutoScaling,
    DataCapture,
    DeploymentGuardrails,
    EndpointAlarms,
    InferenceImage,
    ModelProfile,
    ModelVariant,
    ScheduledCapacity,
    ServerlessInference,
    Serving,
    SizingOptions,
)

from ..support import ROBERTA, SST2, TUNED_URI


@dataclass(frozen=True)
class Maker:
    """A value, built in the stack of the endpoint under test; ``repr`` says what it is."""

    describe: str
    build: Callable[[Stack], Any]

    def __repr__(self) -> str:
        return self.describe


def literal(value: Any) -> Maker:
    return Maker(repr(value), lambda _stack: value)


def made(describe: str, build: Callable[[Stack], Any]) -> Maker:
    return Maker(describe, build)


# ------------------------------------------------------------------------------------ building blocks
HUGE = "x" * 5000


def _parameter(stack: Stack, name: str, kind: str) -> CfnParameter:
    """A deploy-time parameter of the stack (one per name): what a token stands for in real apps."""
    found = stack.node.try_find_child(name)
    return found if isinstance(found, CfnParameter) else CfnParameter(stack, name, type=kind)


TOKEN_STRINGS = st.sampled_from(
    [
        made("Aws.REGION", lambda _s: Aws.REGION),
        made("CfnParameter(String).value_as_string", lambda s: _parameter(s, "Text", "String").value_as_string),
    ]
)
TOKEN_NUMBERS = st.sampled_from(
    [made("CfnParameter(Number).value_as_number", lambda s: _parameter(s, "Count", "Number").value_as_number)]
)
ODD_STRINGS = st.one_of(st.sampled_from(["", " ", "\n", "None", "-1", "ml.", "é", "\x00", HUGE]), st.text(max_size=40))
ODD_NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    ODD_NUMBERS,
    ODD_STRINGS,
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just(object()),
    st.just(b"bytes"),
)
"""Values of every wrong type, as literals."""


def junk() -> st.SearchStrategy[Maker]:
    return st.one_of(JUNK.map(literal), TOKEN_STRINGS, TOKEN_NUMBERS)


JUNK_SHARE = 8
"""One value in this many is junk: several props are drawn at once, and a draw with any junk stops at the first
checks, so a higher share would seldom get past them into sizing, images, features and synthesis."""


def either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Maker]:
    """Mostly ``good`` values (literals or makers), one in ``JUNK_SHARE`` junk. (``st.one_of`` would not weigh
    them: it flattens nested ``one_of`` strategies into equally likely branches, junk's among them.)"""
    good_makers = good.map(lambda v: v if isinstance(v, Maker) else literal(v))
    return st.integers(1, JUNK_SHARE).flatmap(lambda n: junk() if n == 1 else good_makers)


def durations() -> st.SearchStrategy[Maker]:
    """Durations users can write (CDK itself refuses negative ones), including fractions and tokens."""
    return st.one_of(
        st.integers(0, 100_000).map(lambda n: made(f"Duration.seconds({n})", lambda _s, n=n: Duration.seconds(n))),
        st.integers(0, 10**7).map(lambda n: made(f"Duration.millis({n})", lambda _s, n=n: Duration.millis(n))),
        st.integers(0, 200).map(lambda n: made(f"Duration.minutes({n})", lambda _s, n=n: Duration.minutes(n))),
        TOKEN_NUMBERS.map(lambda t: made(f"Duration.seconds({t!r})", lambda s, t=t: Duration.seconds(t.build(s)))),
    )


def kwargs_of(fields: Mapping[str, st.SearchStrategy[Maker]], *, max_unknown: int = 0) -> st.SearchStrategy[Any]:
    """A subset of ``fields``' props with drawn values, plus up to ``max_unknown`` props nothing declares."""
    unknown = st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(lambda k: k not in fields),
        junk(),
        max_size=max_unknown,
    )
    return st.fixed_dictionaries({}, optional=dict(fields)).flatmap(
        lambda chosen: unknown.map(lambda extra: {**chosen, **extra})
    )


def construct(cls_name: str, factory: Callable[..., Any], kwargs: Mapping[str, Maker]) -> Maker:
    """A value object built from drawn kwargs (its own ConfigurationError is raised when the test builds it)."""
    shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return made(f"{cls_name}({shown})", lambda stack: factory(**{k: v.build(stack) for k, v in kwargs.items()}))


# ------------------------------------------------------------------------------------- prop values
INSTANCE_TYPES = st.sampled_from(
    ["ml.g5.xlarge", "ml.g5.12xlarge", "ml.g4dn.xlarge", "ml.g6e.xlarge", "ml.p3.2xlarge", "ml.m5.xlarge",
     "ml.c5.xlarge", "ml.t2.medium", "ml.inf2.xlarge", "ml.p4d.24xlarge", "ml.g7e.2xlarge", "ml.g5.xlarge ",
     "ML.G5.XLARGE", "ml.g5.huge", "g5.xlarge", "ml.inf2.8xlarge", "ml.trn1.2xlarge", "ml.c6i.2xlarge"]
)  # fmt: skip
TASKS = st.sampled_from(
    ["text-classification", "text-generation", "feature-extraction", "sentence-similarity", "fill-mask",
     "summarization", "translation_en_to_fr", "image-classification", "automatic-speech-recognition",
     "text-to-image", "image-text-to-text", "token-classification", "zero-shot-classification", "ner",
     "not-a-task", "Text-Classification"]
)  # fmt: skip
HUB_MODELS = st.sampled_from(
    [SST2, ROBERTA, "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", "gpt2", "BAAI/bge-small-en-v1.5",
     "not-cached/model", "bad id", "org/", "a" * 200, "org/name/extra"]
)  # fmt: skip
MODELS_AND_TASKS = st.sampled_from(
    [(SST2, "text-classification"), (ROBERTA, "text-classification"), (SST2, None),
     ("Qwen/Qwen2.5-0.5B-Instruct", "text-generation"), ("Qwen/Qwen2.5-7B-Instruct", "text-generation"),
     ("BAAI/bge-small-en-v1.5", "feature-extraction"), ("gpt2", "text-generation")]
)  # fmt: skip
"""Cached models with a task they serve: draws that get past the model checks into sizing and features."""
IMAGE_URIS = st.sampled_from(
    ["123456789012.dkr.ecr.us-east-1.amazonaws.com/my-server:2.6.0-transformers5.5.3-gpu-py312-cu124-ubuntu22.04",
     "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-server:2.6.0-transformers5.5.3-cpu-py312-ubuntu22.04",
     "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-server:2.8.0-neuronx-py310-sdk2.26.0-ubuntu22.04",
     "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-server:latest",
     "123456789012.dkr.ecr.cn-north-1.amazonaws.com/x:1", "not-a-uri", ""]
)  # fmt: skip


def images() -> st.SearchStrategy[Maker]:
    versions = st.one_of(st.none(), st.sampled_from(["0.29.0", "0.14", "3.3.6", "1.8.2", "4.51.3", "5.5.3", "9.9"]))
    return st.one_of(
        versions.map(lambda v: made(f"InferenceImage.vllm({v!r})", lambda _s, v=v: InferenceImage.vllm(v))),
        versions.map(lambda v: made(f"InferenceImage.tgi({v!r})", lambda _s, v=v: InferenceImage.tgi(v))),
        versions.map(lambda v: made(f"InferenceImage.tei({v!r})", lambda _s, v=v: InferenceImage.tei(v))),
        versions.map(lambda v: made(f"InferenceImage.sglang({v!r})", lambda _s, v=v: InferenceImage.sglang(v))),
        versions.map(lambda v: made(f"InferenceImage.llamacpp({v!r})", lambda _s, v=v: InferenceImage.llamacpp(v))),
        versions.map(
            lambda v: made(
                f"InferenceImage.huggingface(transformers_version={v!r})",
                lambda _s, v=v: InferenceImage.huggingface(transformers_version=v),
            )
        ),
        IMAGE_URIS.map(lambda u: made(f"InferenceImage.from_uri({u!r})", lambda _s, u=u: InferenceImage.from_uri(u))),
        st.sampled_from(list(Serving)).map(
            lambda s: made(f"InferenceImage.for_serving({s})", lambda _s, s=s: InferenceImage.for_serving(s))
        ),
    )


def profiles() -> st.SearchStrategy[Maker]:
    positive = st.one_of(st.integers(1, 10**12), ODD_NUMBERS, JUNK)
    fields = {
        "dtype": either(st.sampled_from(["float32", "float16", "bfloat16", "int8", "float8", "int4", "fp4"])),
        "num_layers": either(st.integers(1, 200)),
        "num_attention_heads": either(st.integers(1, 128)),
        "num_key_value_heads": either(st.integers(1, 128)),
        "hidden_size": either(st.integers(1, 20000)),
        "head_dim": either(st.integers(1, 512)),
        "max_position_embeddings": either(st.integers(1, 10**7)),
        "task": either(TASKS),
        "gated": either(st.booleans()),
        "architecture": either(st.sampled_from(["LlamaForCausalLM", "BertForSequenceClassification", "T5Model"])),
        "num_experts": either(st.integers(1, 256)),
        "weight_formats": either(st.lists(st.sampled_from(["safetensors", "tensorflow", "onnx"]), max_size=3)),
        "modalities": either(st.lists(st.sampled_from(["text", "image", "audio", "smell"]), max_size=3)),
        "parameters_by_dtype": either(st.dictionaries(st.sampled_from(["bfloat16", "BF16", "int32"]), positive)),
        "weights_bytes": either(st.integers(1, 10**13)),
    }
    return st.tuples(either(st.integers(1, 10**12)), kwargs_of(fields)).map(
        lambda drawn: construct("ModelProfile", ModelProfile, {"parameters": drawn[0], **drawn[1]})
    )


def sizing_options() -> st.SearchStrategy[Maker]:
    fields = {
        "families": either(
            st.lists(st.sampled_from(["g5", "g6", "p3", "inf2", "trn1", "c5", "m5", "zz", ""]), max_size=3)
        ),
        "max_price_per_hour": either(st.floats(0.01, 200)),
        "min_instance_count": either(st.integers(1, 10)),
        "prices": either(st.dictionaries(INSTANCE_TYPES, st.floats(0.01, 100), max_size=2)),
        "max_input_tokens": either(st.integers(1, 10**6)),
        "max_total_tokens": either(st.integers(1, 10**6)),
        "max_batch_prefill_tokens": either(st.integers(1, 10**6)),
        "min_context_tokens": either(st.integers(1, 10**6)),
        "concurrent_sequences": either(st.integers(1, 1024)),
        "quantize": either(st.sampled_from(["awq", "fp8", "bitsandbytes-nf4", "eetq", "nope"])),
        "headroom": either(st.floats(0, 2)),
    }
    return kwargs_of(fields).map(lambda kw: construct("SizingOptions", SizingOptions, kw))


def serverless() -> st.SearchStrategy[Maker]:
    fields = {
        "memory_size_mb": either(st.sampled_from([1024, 2048, 3072, 6144, 1000, 7168])),
        "max_concurrency": either(st.integers(0, 300)),
        "provisioned_concurrency": either(st.integers(0, 300)),
    }
    return kwargs_of(fields).map(lambda kw: construct("ServerlessInference", ServerlessInference, kw))


def async_inference() -> st.SearchStrategy[Maker]:
    paths = st.sampled_from(["s3://my-bucket/out/", "s3://my-bucket/out", "s3://B/x/", "s3://my-bucket//x/", "x"])
    fields = {
        "output_path": either(paths),
        "failure_path": either(paths),
        "input_path": either(paths),
        "max_concurrent_invocations_per_instance": either(st.integers(0, 2000)),
    }
    return kwargs_of(fields).map(lambda kw: construct("AsyncInference", AsyncInference, kw))


def _schedules() -> st.SearchStrategy[Maker]:
    expressions = st.sampled_from(["cron(0 8 ? * MON-FRI *)", "rate(1 hour)", "at(2030-01-01T00:00:00)"])
    fields = {
        "min_capacity": either(st.integers(0, 10)),
        "max_capacity": either(st.integers(0, 10)),
        "name": either(st.sampled_from(["office-hours", "", "x" * 300])),
        "time_zone": either(st.sampled_from(["Europe/Paris", "europe/paris", "CET+1", "UTC"])),
    }
    return st.tuples(expressions, kwargs_of(fields)).map(
        lambda drawn: construct(
            "ScheduledCapacity",
            lambda **kw: ScheduledCapacity(schedule=appscaling.Schedule.expression(drawn[0]), **kw),
            drawn[1],
        )
    )


def autoscaling() -> st.SearchStrategy[Maker]:
    fields = {
        "min_capacity": either(st.integers(0, 20)),
        "target_invocations_per_instance": either(st.floats(0, 10**4)),
        "target_backlog_per_instance": either(st.floats(0, 100)),
        "scale_in_cooldown": either(durations()),
        "scale_out_cooldown": either(durations()),
        "schedules": st.lists(_schedules(), max_size=2).map(
            lambda items: made(f"[{', '.join(map(repr, items))}]", lambda s, items=items: [i.build(s) for i in items])
        ),
        "scale_to_zero": either(st.booleans()),
    }
    return st.tuples(either(st.integers(0, 20)), kwargs_of(fields)).map(
        lambda drawn: construct("AutoScaling", AutoScaling, {"max_capacity": drawn[0], **drawn[1]})
    )


def data_capture() -> st.SearchStrategy[Maker]:
    types = st.lists(st.sampled_from(["text/csv", "application/json", "csv", "a/b/c", ""]), max_size=3)
    fields = {
        "destination": either(st.sampled_from(["s3://my-bucket/capture/", "s3://my-bucket", "bucket", "s3://UP/x/"])),
        "prefix": either(st.sampled_from(["capture/", "", "/x"])),
        "sampling_percentage": either(st.integers(-5, 150)),
        "capture_request": either(st.booleans()),
        "capture_response": either(st.booleans()),
        "json_content_types": either(types),
        "csv_content_types": either(types),
        "enabled": either(st.booleans()),
    }
    return kwargs_of(fields).map(lambda kw: construct("DataCapture", DataCapture, kw))


def deployment() -> st.SearchStrategy[Maker]:
    common = {"wait_interval": either(durations()), "max_execution_timeout": either(durations())}
    blue_green = {"termination_wait": either(durations())}
    sizes = either(st.integers(-5, 120))
    factories = {
        "all_at_once": blue_green,
        "canary": {"percent": sizes, "instances": sizes, **blue_green},
        "linear": {"step_percent": sizes, "step_instances": sizes, **blue_green},
        "rolling": {"batch_percent": sizes, "batch_instances": sizes, "rollback_batch_percent": sizes},
    }
    return st.sampled_from(sorted(factories)).flatmap(
        lambda name: kwargs_of({**factories[name], **common}).map(
            lambda kw, name=name: construct(f"DeploymentGuardrails.{name}", getattr(DeploymentGuardrails, name), kw)
        )
    )


def alarms() -> st.SearchStrategy[Maker]:
    percent = either(st.one_of(st.none(), st.floats(-10, 200)))
    fields = {
        "error_5xx_rate_percent": percent,
        "error_4xx_rate_percent": percent,
        "gpu_memory_utilization_percent": percent,
        "disk_utilization_percent": percent,
        "model_latency_p99": either(durations()),
        "period": either(durations()),
        "evaluation_periods": either(st.integers(-1, 2000)),
        "datapoints_to_alarm": either(st.integers(-1, 2000)),
    }
    objects = kwargs_of(fields).map(lambda kw: construct("EndpointAlarms", EndpointAlarms, kw))
    return st.one_of(objects, st.booleans().map(literal))


def variants() -> st.SearchStrategy[Maker]:
    fields = {
        "model_id": either(HUB_MODELS),
        "model_data": either(st.sampled_from([TUNED_URI, "s3://my-bucket/v2/", "s3://my-bucket/x.zip", "./missing"])),
        "task": either(TASKS),
        "weight": either(st.floats(-1, 5)),
        "instance_type": either(INSTANCE_TYPES),
        "instance_count": either(st.integers(0, 5)),
        "image": either(images()),
        "environment": either(
            st.dictionaries(st.sampled_from(["SM_NUM_GPUS", "HF_TOKEN", "X", "hf_task"]), ODD_STRINGS)
        ),
        "shadow": either(st.booleans()),
    }
    names = either(st.sampled_from(["challenger", "b", "AllTraffic", "", "bad name", "x" * 70]))
    one = st.tuples(names, kwargs_of(fields)).map(
        lambda drawn: construct("ModelVariant", ModelVariant, {"name": drawn[0], **drawn[1]})
    )
    return st.lists(one, max_size=3).map(
        lambda items: made(f"[{', '.join(map(repr, items))}]", lambda s, items=items: [i.build(s) for i in items])
    )


def _secret(stack: Stack) -> Any:
    return secretsmanager.Secret.from_secret_name_v2(stack, "HfToken", "hf/token")


def _role(stack: Stack) -> Any:
    return iam.Role(stack, "OwnRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))


def endpoint_props() -> dict[str, st.SearchStrategy[Maker]]:
    """Every prop of ``EndpointProps`` the constructs share, with good and bad values."""
    variables = st.dictionaries(
        st.sampled_from(["HF_TASK", "hf_task", "SAGEMAKER_MODEL_SERVER_WORKERS", "SM_VLLM_MAX_MODEL_LEN", "SM_NUM_GPUS",
                         "HF_TOKEN", "MAX_INPUT_TOKENS", "1BAD", "", "HF_MODEL_ID", "X" * 2000]),
        st.one_of(ODD_STRINGS, st.integers(), st.just("hf_" + "a" * 34)),
        max_size=4,
    )  # fmt: skip
    flags = st.dictionaries(
        st.sampled_from(["max_model_len", "enable_prefix_caching", "tensor_parallel_size", "dtype", "quantization",
                         "max-num-seqs", "model", "hf_token", "gpu_memory_utilization", "", "ctx_size",
                         "n_gpu_layers", "cache_type_k", "tp_size", "mem_fraction_static", "hf_repo", "jinja"]),
        st.one_of(st.integers(-5, 10**6), st.booleans(), st.floats(allow_nan=True), ODD_STRINGS, st.none()),
        max_size=3,
    )  # fmt: skip
    return {
        "instance_type": either(st.one_of(INSTANCE_TYPES, TOKEN_STRINGS)),
        "instance_count": either(st.one_of(st.integers(-2, 12), TOKEN_NUMBERS)),
        "image": either(images()),
        "serving": either(st.sampled_from(list(Serving))),
        "gguf_file": either(
            st.sampled_from(
                [
                    "model-Q4_K_M.gguf",
                    "model-Q8_0.gguf",
                    "qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf",
                    "x.bin",
                    "",
                    "dir/model.gguf",
                ]
            )
        ),
        "engine_args": either(flags),
        "inference_ami_version": either(
            st.sampled_from(["al2023-ami-sagemaker-inference-gpu-4-1", "al2-ami-sagemaker-inference-gpu-2", "x"])
        ),
        "role": either(st.just(made("iam.Role(...)", _role))),
        "environment": either(variables),
        "endpoint_name": either(st.one_of(st.sampled_from(["my-endpoint", "-bad", "a" * 64, "ok-1"]), TOKEN_STRINGS)),
        "startup_health_check_timeout": either(durations()),
        "model_data_download_timeout": either(durations()),
        "volume_size_gb": either(st.integers(-1, 600)),
        "model_profile": either(profiles()),
        "instance_selection": either(sizing_options()),
        "serverless": either(serverless()),
        "async_inference": either(async_inference()),
        "autoscaling": either(autoscaling()),
        "variants": either(variants()),
        "hf_token_secret": either(st.just(made("Secret.from_secret_name_v2(...)", _secret))),
        "network_isolation": either(st.booleans()),
        "data_capture": either(data_capture()),
        "deployment": either(deployment()),
        "alarms": either(alarms()),
        "dashboard": either(st.booleans()),
        "tags": either(
            st.dictionaries(st.sampled_from(["team", "aws:x", "", "k" * 200, "huggingface:model-id"]), ODD_STRINGS)
        ),
    }
