"""The L1 resources (``endpoints.render``): the variant's settings, and the model and config waiting for the
role's policies."""

from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    DataCapture,
    FineTunedEndpoint,
)

from ..support import (
    TUNED_URI,
    hub,
    new_stack,
    only,
    resources,
    synth,
    variant,
)


def test_model_waits_for_the_role_policy() -> None:
    # The artifact grant lands in the role's DefaultPolicy, a resource of its own.
    template = synth(lambda s: FineTunedEndpoint(s, "Tuned", model_data=TUNED_URI, task="fill-mask"))
    (policy_id,) = resources(template, "AWS::IAM::Policy")
    depends_on = only(template, "AWS::SageMaker::Model").get("DependsOn", [])
    assert policy_id in depends_on


@pytest.mark.parametrize("late_grant", ["feature", "user"])
def test_endpoint_config_waits_for_grants_made_after_the_model(late_grant: str) -> None:
    stack = new_stack()
    if late_grant == "feature":
        hub(stack, data_capture=DataCapture())  # the capture grant is made while the config is built
    else:
        endpoint = hub(stack)
        s3.Bucket(stack, "Lookups", enforce_ssl=True).grant_read(endpoint.role)  # after construction
    template = Template.from_stack(stack)

    role_id = next(key for key in resources(template, "AWS::IAM::Role") if key.startswith("Sentiment"))
    (policy_id,) = [key for key in resources(template, "AWS::IAM::Policy") if key.startswith("SentimentRole")]
    depends_on = only(template, "AWS::SageMaker::EndpointConfig").get("DependsOn", [])
    assert policy_id in depends_on and role_id in depends_on


def test_variant_settings_reach_the_endpoint_config() -> None:
    template = synth(
        lambda s: hub(
            s,
            instance_type="ml.p3.2xlarge",
            instance_count=2,
            startup_health_check_timeout=Duration.minutes(15),
            model_data_download_timeout=Duration.minutes(20),
            volume_size_gb=100,
        )
    )
    settings = variant(template)
    model_name = settings.pop("ModelName")
    assert model_name["Fn::GetAtt"][1] == "ModelName"
    assert settings == {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 2,
        "InstanceType": "ml.p3.2xlarge",
        "InitialVariantWeight": 1,
        "ContainerStartupHealthCheckTimeoutInSeconds": 900,
        "ModelDataDownloadTimeoutInSeconds": 1200,
        "VolumeSizeInGB": 100,
    }
