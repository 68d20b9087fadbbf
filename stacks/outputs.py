"""What the app's stacks output: a ready-to-run invoke command."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import Stack


def invoke_command(
    stack: Stack, endpoint_name: str, body: Mapping[str, Any], *, component_name: str | None = None
) -> str:
    """A ready-to-run ``aws sagemaker-runtime invoke-endpoint`` command sending ``body`` (to one inference component
    of the endpoint with ``component_name``)."""
    component = f" --inference-component-name {component_name}" if component_name is not None else ""
    # Tokens inside an f-string become an Fn::Join in the template.
    return (
        f"aws sagemaker-runtime invoke-endpoint --endpoint-name {endpoint_name}{component} --region {stack.region}"
        f" --content-type application/json --accept application/json --cli-binary-format raw-in-base64-out"
        f" --body '{json.dumps(body)}' /dev/stdout"
    )
