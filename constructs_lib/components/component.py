"""``InferenceComponent``: one model, or LoRA adapter, on an ``InferenceComponentEndpoint``; its grants and metrics.

A component has an explicit name, derived from its construct path and stable across deployments (at most 63
characters): the scalable target, the alarms and the callers (``--inference-component-name``) need it, and
CloudFormation's ``CfnInferenceComponent`` gives it no attribute of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Names, Resource
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._core.names import INVOCATION_METRICS_NAMESPACE
from ..contract.metrics import InvocationMetrics, with_defaults

if TYPE_CHECKING:
    from aws_cdk import aws_applicationautoscaling as appscaling
    from aws_cdk import aws_sagemaker as sagemaker

    from ..endpoints.resolve import ResolvedModel
    from ..model.profile import ModelProfile
    from ..serving.base import ServingStack
    from .scaling import ScalingParts

INVOKE_ACTIONS = ("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream")
"""What callers of a component need: both take an ``InferenceComponentName``."""
COMPONENT_LOG_GROUP_PREFIX = "/aws/sagemaker/InferenceComponents/"
"""Where SageMaker writes a component's container logs (the log group is this plus the component's name)."""


class ComponentMetrics(InvocationMetrics):
    """CloudWatch metrics of one inference component (dimension ``InferenceComponentName``).

    Every ``metric_xxx`` takes the fields of ``cloudwatch.MetricOptions`` (``period``, ``statistic``, ``label``, ...)
    as keyword arguments. The dimension is the component's name, known at synth time: alarms on these metrics do
    not depend on the component.
    """

    component_name: str
    """The component's name: the ``InferenceComponentName`` dimension of every metric."""

    def metric(
        self, metric_name: str, *, namespace: str = INVOCATION_METRICS_NAMESPACE, **props: Any
    ) -> cloudwatch.Metric:
        """A CloudWatch metric of this component.

        :param metric_name: e.g. ``Invocations``.
        :param namespace: the CloudWatch namespace of the metric.
        :default namespace: ``"AWS/SageMaker"``
        :param props: ``cloudwatch.MetricOptions`` fields; ``dimensions_map`` entries are added to (and override) the
            component's dimension.
        """
        dimensions = {"InferenceComponentName": self.component_name}
        dimensions.update(props.pop("dimensions_map", None) or {})
        return cloudwatch.Metric(namespace=namespace, metric_name=metric_name, dimensions_map=dimensions, **props)

    def metric_no_capacity_invocation_failures(self, **props: Any) -> cloudwatch.Metric:
        """Requests that failed because no copy of the component was running (``NoCapacityInvocationFailures``): what
        wakes a component that scaled to zero.

        :default: - sum over 5 minutes
        """
        return self.metric("NoCapacityInvocationFailures", **with_defaults(props, statistic=cloudwatch.Stats.SUM))


@jsii.implements(iam.IGrantable)
class InferenceComponent(ComponentMetrics, Resource):
    """One model, or one LoRA adapter, on an ``InferenceComponentEndpoint``.

    Created by ``InferenceComponentEndpoint.add_model`` and ``add_adapter``, which size it, pack it with the other
    components and render it; it is an ``iam.IGrantable`` (the endpoint's execution role).
    """

    cfn_inference_component: sagemaker.CfnInferenceComponent
    """The ``AWS::SageMaker::InferenceComponent``."""
    cfn_model: sagemaker.CfnModel | None
    """The component's ``AWS::SageMaker::Model`` (``None`` for an adapter, which runs in its base's model)."""
    model: ResolvedModel | None
    """The model as it is served: profile, serving stack, image (``None`` for an adapter)."""
    base: InferenceComponent | None
    """The component whose model an adapter loads into (``None`` for a model)."""
    scaling: ScalingParts | None
    """What scales the copies (``None``: a fixed copy count, or an adapter)."""
    copies: int | None
    """The copies the component starts with (``None`` for an adapter)."""

    def __init__(self, scope: Construct, id: str, *, endpoint_arn: str, role: iam.IRole) -> None:
        """Use ``add_model`` or ``add_adapter``."""
        super().__init__(scope, id)
        self.component_name: str = Names.unique_resource_name(self, max_length=63, separator="-")
        """The component's name (``InferenceComponentName``), derived from its construct path."""
        self._endpoint_arn = endpoint_arn
        self._role = role

    @property
    def component_arn(self) -> str:
        """ARN of the component."""
        return self.cfn_inference_component.attr_inference_component_arn

    @property
    def serving_stack(self) -> ServingStack:
        """The serving stack of the component's model (for an adapter, its base's)."""
        owner = self.base or self
        assert owner.model is not None  # a model component always has its model
        return owner.model.stack

    @property
    def model_profile(self) -> ModelProfile | None:
        """Size and shape of the model (``None``: unknown, or an adapter)."""
        return self.model.profile.profile if self.model is not None else None

    @property
    def task(self) -> str | None:
        """The task (``HF_TASK``) of the model (for an adapter, its base's)."""
        owner = self.base or self
        return owner.model.task if owner.model is not None else None

    @property
    def scalable_target(self) -> appscaling.ScalableTarget | None:
        """The Application Auto Scaling target of the copy count (``None`` without scaling): add your own policies."""
        return self.scaling.target if self.scaling is not None else None

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The endpoint's execution role, which pulls the component's image and reads its artifacts."""
        return self._role.grant_principal

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke this component: ``sagemaker:InvokeEndpoint`` and
        ``InvokeEndpointWithResponseStream`` on the endpoint and on the component."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(INVOKE_ACTIONS), resource_arns=[self._endpoint_arn, self.component_arn]
        )
