"""Generated config files never crash the app: every draw of ``cdk deploy -c config=file.json`` synthesizes, or
raises a ConfigurationError that names a key. Keys of the right and wrong types, unknown and misspelt keys,
several endpoints with clashing names, feature settings as any JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App
from hypothesis import given
from hypothesis import strategies as st

from app import build_app
from stacks.settings import SETTING_KEYS

from ..support import CDK_JSON_CONTEXT, SST2
from .json_strategies import CONFIGS, JSON_JUNK, config_of, json_value
from .profiles import examples
from .support import builds_or_names_a_prop

ENDPOINT = config_of(
    {
        "model_id": json_value(SST2, "gpt2", "Qwen/Qwen2.5-0.5B-Instruct", "bad id", ""),
        "model_data": json_value("s3://my-bucket/models/model.tar.gz", "s3://my-bucket/llm/", "./missing"),
        "code_dir": json_value("./missing-code"),
        "kind": json_value("hub", "fine-tuned", "custom-script", "other"),
        "task": json_value("text-classification", "text-generation", "image-classification", "nope"),
        "revision": json_value("main", ""),
        "instance_type": json_value("ml.g5.xlarge", "ml.m5.xlarge", "ml.nope"),
        "instance_count": json_value(1, 2, 0, "2"),
        "serving": json_value("auto", "vllm", "tei", "tgi", "inference-toolkit", "AUTO"),
        "endpoint_name": json_value("my-endpoint", "-bad"),
        "environment": json_value({"HF_TASK": "text-classification"}, {"hf_task": "x"}, {"HF_TOKEN": "hf_x"}),
        "engine_args": json_value({"max_num_seqs": 64}, {"max-model-len": 1}),
        "gguf_file": json_value("model-Q4_K_M.gguf", "x.bin"),
        "stack_name": json_value("Prod", "Other", "1bad", ""),
        "tags": json_value({"team": "ml"}, {"aws:x": "y"}),
        "hf_token_secret": json_value("hf/token", "hf_abcdefghijklmnopqrstuvwxyz0123456789"),
        "encryption_key_arn": json_value("arn:aws:kms:us-east-1:123456789012:key/abc", "alias/x"),
        "network_isolation": json_value(True, False),
        "dashboard": json_value(True, False),
        **CONFIGS,
    }
)
SERVED = st.tuples(
    st.sampled_from(
        [
            {"model_id": SST2, "task": "text-classification", "instance_type": "ml.g5.xlarge"},
            {"model_id": "Qwen/Qwen2.5-0.5B-Instruct", "task": "text-generation"},
            {"kind": "fine-tuned", "model_data": "s3://my-bucket/models/model.tar.gz", "instance_type": "ml.g5.xlarge"},
        ]
    ),
    st.lists(st.sampled_from(sorted(CONFIGS)), max_size=2, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({key: CONFIGS[key] for key in keys})
    ),
).map(lambda drawn: {**drawn[0], **drawn[1]})
"""An endpoint that builds, with one or two production features: draws that reach the features' wiring."""
DOCUMENTS = st.one_of(
    SERVED, ENDPOINT, st.fixed_dictionaries({"endpoints": st.lists(st.one_of(SERVED, ENDPOINT), max_size=3)}), JSON_JUNK
)


@examples("app")
@given(document=DOCUMENTS)
def test_the_apps_config_file(tmp_path_factory: Any, document: Any) -> None:
    path = Path(tmp_path_factory.mktemp("config")) / "endpoints.json"
    path.write_text(json.dumps(document))
    app = App(context={**CDK_JSON_CONTEXT, "config": str(path)})
    entries = document.get("endpoints", [document]) if isinstance(document, dict) else []
    keys = {key for entry in entries if isinstance(entry, dict) for key in entry}
    builds_or_names_a_prop(lambda: build_app(app), [*keys, *SETTING_KEYS, "config", "endpoints"], synthesize=app)
