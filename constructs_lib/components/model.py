"""A component's model, by the code the three endpoint constructs use: its source (a Hub model, your artifacts, or
your script with either), its profile, serving stack, image and server flags (``endpoints.resolve``), its container
environment (``endpoints.environment``) and its ``CfnModel`` (``endpoints.render``).

What differs from an endpoint's own model is the instance: the model runs on its share of an instance (its GPUs,
their part of the host), and its server settings come from the sizing on that share (``resources``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import IResolvable
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._core.errors import Problems
from .._core.iam import Statement
from .._core.names import DEFAULT_ENTRY_POINT
from ..endpoints.base import check_script_grammar
from ..endpoints.custom_script import LAYOUT_NOTE as SCRIPT_LAYOUT_NOTE
from ..endpoints.custom_script import custom_script_source
from ..endpoints.environment import EnvironmentInputs, Report, assemble
from ..endpoints.fine_tuned import LAYOUT_NOTE as ARTIFACTS_LAYOUT_NOTE
from ..endpoints.fine_tuned import fine_tuned_source
from ..endpoints.hub_model import hub_model_source
from ..endpoints.props import ModelSource
from ..endpoints.render import build_model, container
from ..endpoints.resolve import ResolvedModel
from ..images.base import ImageConfig
from ..model_data.inspect import ArchiveLayoutProblem
from ..model_data.sources import ModelData
from .resources import Reservation


@dataclass(frozen=True)
class ModelRequest:
    """Where ``add_model``'s model comes from."""

    model_id: str | None = None
    model_data: str | Path | ModelData | None = None
    code_dir: str | Path | None = None
    entry_point: str | None = None
    task: str | None = None
    revision: str | None = None


@dataclass(frozen=True)
class SourcedModel:
    """A model source, and the layout warning worth giving about its artifacts."""

    source: ModelSource
    layout: ArchiveLayoutProblem | None = None
    """Artifacts that put no files at ``/opt/ml/model`` in a way that may still work."""
    layout_note: str = ""
    """Why it may still work."""


@contextlib.contextmanager
def model_source(request: ModelRequest, props: Mapping[str, Any], problems: Problems) -> Iterator[SourcedModel]:
    """The model source ``request`` describes, checked as the endpoint construct of its kind checks it: a script with
    a model (``CustomScriptEndpoint``), artifacts (``FineTunedEndpoint``) or a Hub model (``HubModelEndpoint``).

    The ``with`` block builds the component: a local archive's ``code/`` stays extracted until it ends.
    """
    if request.code_dir is not None:
        source, layout = custom_script_source(
            request.code_dir,
            request.entry_point or DEFAULT_ENTRY_POINT,
            request.model_data,
            problems,
            model_id=request.model_id,
            revision=request.revision,
            task=request.task,
        )
        yield SourcedModel(source, layout, SCRIPT_LAYOUT_NOTE)
        return
    _check_one_model(request, problems)
    if request.model_data is not None:
        with fine_tuned_source(request.model_data, request.task, props, problems) as (source, layout):
            yield SourcedModel(source, layout, ARTIFACTS_LAYOUT_NOTE)
        return
    assert request.model_id is not None  # _check_one_model refused neither
    yield SourcedModel(hub_model_source(request.model_id, request.task, request.revision, problems))


def _check_one_model(request: ModelRequest, problems: Problems) -> None:
    if (request.model_id is None) == (request.model_data is None):
        given = "both" if request.model_id is not None else "neither"
        problems.add_message(
            f"model_id / model_data: {given} given; pass exactly one: model_id for a Hub model, model_data (an S3 "
            "URI, a local archive or directory) for your artifacts"
        )
    elif request.revision is not None and request.model_id is None:
        problems.add("revision", request.revision, "only applies to a Hub model (model_id)")
    problems.raise_if_any()


def component_environment(
    model: ResolvedModel,
    reservation: Reservation,
    *,
    instance_type: str,
    props: Mapping[str, Any],
    extra: Mapping[str, str],
    report: Report,
) -> dict[str, str]:
    """The model's container environment on its share of ``instance_type``, assembled and checked as an endpoint's:
    the stack's variables, the sizing on the share, the server flags, ``extra`` (the token, the LoRA settings) and
    what keeps the container within its share, then the user's ``environment``."""
    inputs = EnvironmentInputs(
        stack=model.stack,
        model=model.facts,
        sizing=dict(reservation.sizing_environment),
        sized=reservation.sized,
        features={**extra, **reservation.host_environment},
        user=props.get("environment") or {},
        engine_args=props.get("engine_args") or {},
        instance_type=instance_type,
        spec=reservation.share,
        image_version=model.image.catalogue_version,
    )
    return assemble(inputs, report)


@dataclass(frozen=True)
class RenderedModel:
    """A component's ``CfnModel``, its image, and the statements that let the role pull the image."""

    cfn_model: sagemaker.CfnModel
    image: ImageConfig
    pull: tuple[Statement, ...]


def render_model(
    scope: Construct,
    role: iam.IRole,
    model: ResolvedModel,
    source: ModelSource,
    *,
    image_instance_type: str,
    grant: Any,
    environment: IResolvable,
    model_properties: Mapping[str, Any],
    problems: Problems,
) -> RenderedModel:
    """The ``CfnModel`` under ``scope``: the image for the instance's processor (pull granted through ``grant``, which
    adds each statement once), the artifacts bound (read granted on exactly them), the environment at synth time.

    :param image_instance_type: an instance type of the endpoint's processor (its images depend on nothing else).
    :param grant: ``grant(statements)``: adds the pull statements to the role, the ones it lacks.
    :param model_properties: more ``CfnModel`` properties (the VPC).
    """
    rendered = model.image._render(scope, instance_type=image_instance_type)
    pull = tuple(rendered.pull) if rendered is not None else ()
    grant(pull)
    image = rendered.config if rendered else model.image.bind(scope, role, instance_type=image_instance_type)
    check_script_grammar(source, image, model.stack, problems)
    data = source.model_data.bind(scope, role) if source.model_data is not None else None
    problems.raise_if_any()
    cfn_model = build_model(
        scope, role, container(image.image_uri, environment, data), [("network", model_properties)], after_policies=True
    )
    return RenderedModel(cfn_model, image, pull)
