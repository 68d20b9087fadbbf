"""Hypothesis strategies for the JSON forms of the settings: what the app's config file and each from_config
read. Mostly good values, sometimes any JSON, and sometimes a key nothing reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from .strategies import ODD_STRINGS

JSON_JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(), ODD_STRINGS),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
"""What a JSON file may hold in place of a setting."""


def json_value(*good: Any) -> st.SearchStrategy[Any]:
    """Mostly one of ``good``, sometimes any JSON."""
    return st.one_of(st.sampled_from(good), st.sampled_from(good), JSON_JUNK)


def config_of(keys: Mapping[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with some of ``keys`` and, sometimes, a key nothing reads."""
    unknown = st.dictionaries(st.sampled_from(["typo", "maxCapacity", "extra", ""]), JSON_JUNK, max_size=1)
    return st.fixed_dictionaries({}, optional=dict(keys)).flatmap(lambda d: unknown.map(lambda u: {**d, **u}))


SCHEDULE_CONFIG = config_of(
    {
        "schedule": json_value("cron(0 8 ? * MON-FRI *)", "rate(1 hour)", "nonsense"),
        "min_capacity": json_value(0, 1, 2, -1),
        "max_capacity": json_value(1, 4),
        "name": json_value("office-hours", ""),
        "time_zone": json_value("Europe/Paris", "europe/paris"),
    }
)
CONFIGS: dict[str, st.SearchStrategy[Any]] = {
    "async_inference": config_of(
        {
            "output_path": json_value("s3://my-bucket/async/out/", "s3://my-bucket", "x"),
            "failure_path": json_value("s3://my-bucket/async/fail/"),
            "input_path": json_value("s3://my-bucket/async/in/"),
            "max_concurrent_invocations_per_instance": json_value(1, 4, 0, 1001),
        }
    ),
    "autoscaling": config_of(
        {
            "min_capacity": json_value(0, 1, 2),
            "max_capacity": json_value(1, 4, 0),
            "target_invocations_per_instance": json_value(100, 0, 1.5),
            "target_backlog_per_instance": json_value(5, 0),
            "scale_in_cooldown": json_value(300, 0, 1.5, -1),
            "scale_out_cooldown": json_value(300),
            "schedules": st.one_of(st.lists(SCHEDULE_CONFIG, max_size=2), JSON_JUNK),
            "scale_to_zero": json_value(True, False),
        }
    ),
    "serverless": config_of(
        {
            "memory_size_mb": json_value(2048, 4096, 1000, 8192),
            "max_concurrency": json_value(5, 200, 0),
            "provisioned_concurrency": json_value(1, 300),
        }
    ),
    "data_capture": config_of(
        {
            "destination": json_value("s3://my-bucket/capture/", "bucket"),
            "prefix": json_value("capture/"),
            "sampling_percentage": json_value(20, 100, 101, -1),
            "capture_request": json_value(True, False),
            "capture_response": json_value(True, False),
            "json_content_types": json_value(["application/json"], ["x"]),
            "csv_content_types": json_value(["text/csv"], []),
            "enabled": json_value(True, False),
        }
    ),
    "deployment": config_of(
        {
            "type": json_value("canary", "linear", "rolling", "all_at_once", "blue"),
            "percent": json_value(10, 60),
            "instances": json_value(1, 3),
            "step_percent": json_value(20, 5),
            "step_instances": json_value(1),
            "batch_percent": json_value(25),
            "batch_instances": json_value(1),
            "rollback_batch_percent": json_value(50),
            "wait_seconds": json_value(300, 0, 3601, 1.5),
            "termination_wait_seconds": json_value(0, 600),
            "max_execution_timeout_seconds": json_value(3600, 100),
            "auto_rollback": json_value(True, False),
        }
    ),
    "alarms": st.one_of(
        st.booleans(),
        config_of(
            {
                "error_5xx_rate_percent": json_value(1, None, -1),
                "error_4xx_rate_percent": json_value(5, None),
                "model_latency_p99_ms": json_value(500, 0, 1.5),
                "gpu_memory_utilization_percent": json_value(95, 150),
                "disk_utilization_percent": json_value(90, None),
                "period_seconds": json_value(60, 30, 3600),
                "evaluation_periods": json_value(3, 0, 10000),
                "datapoints_to_alarm": json_value(2, 5),
            }
        ),
    ),
    "variants": st.one_of(
        st.lists(
            config_of(
                {
                    "name": json_value("v2", "AllTraffic", ""),
                    "model_id": json_value("gpt2", "bad id"),
                    "model_data": json_value("s3://my-bucket/v2/model.tar.gz", "s3://my-bucket/v2/"),
                    "task": json_value("text-classification", "nope"),
                    "weight": json_value(0.1, 1, 0, -1),
                    "instance_type": json_value("ml.g5.xlarge", "ml.nope"),
                    "instance_count": json_value(1, 0),
                    "environment": json_value({"X": "1"}, {"HF_TOKEN": "hf_x"}),
                    "shadow": json_value(True, False),
                }
            ),
            max_size=2,
        ),
        JSON_JUNK,
    ),
    "instance_selection": config_of(
        {
            "families": json_value(["g5", "g6"], ["zz"], "g5"),
            "max_price_per_hour": json_value(3.0, 0, -1),
            "min_instance_count": json_value(1, 2),
            "prices": json_value({"ml.g5.xlarge": 1.0}, {"ml.nope": 1}),
            "quantize": json_value("fp8", "awq", "nope"),
            "min_context_tokens": json_value(4096, 0),
            "concurrent_sequences": json_value(4),
            "max_total_tokens": json_value(8192),
            "headroom": json_value(0.2, 2),
        }
    ),
}
"""The JSON form of each production feature, as the app's config file and ``from_config`` read it."""
