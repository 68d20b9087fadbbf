"""The example stacks ``cdk synth`` builds with no context: one per way of deploying a model, and an LLM."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Environment, IStackSynthesizer

from .endpoint_stack import HuggingFaceEndpointStack
from .settings import EndpointSettings

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

EXAMPLE_SETTINGS = (
    # 1. A Hub model, no code: the container downloads the model at start-up.
    EndpointSettings(
        kind="hub",
        stack_name="HfHubModelExample",
        model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        task="text-classification",
        # No instance_type: the cheapest GPU instance that fits is chosen from the model's size,
        # read from hub.context.json (committed, so this synth is offline and deterministic).
    ),
    # 2. An LLM from the Hub on vLLM (what Serving.AUTO picks for text-generation): the instance is the
    # cheapest that holds the weights and a KV cache, with max_model_len set to what fits.
    EndpointSettings(
        kind="hub",
        stack_name="HfLlmExample",
        model_id="Qwen/Qwen2.5-7B-Instruct",
        task="text-generation",
    ),
    # 3. Your fine-tuned model.tar.gz in S3.
    EndpointSettings(
        kind="fine-tuned",
        stack_name="HfFineTunedExample",
        model_data="s3://my-model-bucket/models/sentiment/model.tar.gz",
        task="text-classification",
        instance_type="ml.g4dn.xlarge",
    ),
    # 4. A custom inference.py with a Hub model: shipped as a code-only archive plus HF_MODEL_ID.
    EndpointSettings(
        kind="custom-script",
        stack_name="HfCustomScriptExample",
        model_id="distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        code_dir=str(EXAMPLES_DIR / "custom_script" / "code"),
        instance_type="ml.g5.xlarge",
    ),
)


def add_example_stacks(
    app: App, *, env: Environment | None = None, synthesizer: IStackSynthesizer | None = None
) -> list[HuggingFaceEndpointStack]:
    """Add the example stacks to ``app``."""
    return [
        HuggingFaceEndpointStack(app, s.stack_name, settings=s, env=env, synthesizer=synthesizer)
        for s in EXAMPLE_SETTINGS
    ]
