#!/usr/bin/env python3
"""CDK app: deploy Hugging Face models to SageMaker real-time endpoints.

    cdk synth                                   # the example stacks, offline
    cdk deploy -c model_id=org/model -c task=text-classification -c instance_type=ml.g5.xlarge
    cdk deploy -c config=endpoints.json         # one or more endpoints (or shared endpoints) from a file

See the README for every context key.
"""

from __future__ import annotations

import os

from aws_cdk import App, DefaultStackSynthesizer, Environment

from constructs_lib import ConfigurationError
from stacks import HuggingFaceEndpointStack, SharedEndpointSettings, SharedEndpointStack, settings_from_context
from stacks.examples import add_example_stacks


def stack_environment() -> Environment | None:
    """The account/region the CLI resolved, if any; otherwise stacks stay environment-agnostic."""
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    return Environment(account=account, region=region) if account or region else None


def build_app(app: App | None = None) -> App:
    """Add the requested stacks (or the examples) to ``app``; tests pass an App with context."""
    app = app or App()
    # A local AWS emulator (moto) has no bootstrap version parameter: `-c bootstrap_version_rule=false`.
    check_bootstrap = _bootstrap_version_rule(app.node.try_get_context("bootstrap_version_rule"))
    synthesizer = DefaultStackSynthesizer(generate_bootstrap_version_rule=check_bootstrap)
    env = stack_environment()
    requested = settings_from_context(app.node)
    if not requested:
        add_example_stacks(app, env=env, synthesizer=synthesizer)
    for settings in requested:
        if isinstance(settings, SharedEndpointSettings):
            SharedEndpointStack(app, settings.stack_name, settings=settings, env=env, synthesizer=synthesizer)
        else:
            HuggingFaceEndpointStack(app, settings.stack_name, settings=settings, env=env, synthesizer=synthesizer)
    return app


def _bootstrap_version_rule(value: object) -> bool:
    """``true`` (the default) or ``false``; anything else is a typo that must not keep or drop the rule silently."""
    text = str(value).strip().lower() if value is not None else "true"
    if text not in ("true", "false"):
        raise ConfigurationError(f"context: bootstrap_version_rule {value!r} must be true or false")
    return text == "true"


if __name__ == "__main__":
    build_app().synth()
