"""From props to facts: the model's profile, the serving stack, the instance and its sizing.

Each step records problems rather than raising, so that a user fixes every mistake of one kind in
one round; the endpoint raises between steps whose results the next step needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aws_cdk import Annotations
from constructs import Construct

from .._core.errors import ConfigurationError, Problems, describe
from .._core.stack_facts import stack_facts
from .._core.tokens import is_unresolved
from ..catalogue.host_amis import HOST_AMIS, gpu_cuda_problem, gpu_driver_problem, host_ami_for_gpus, host_ami_problem
from ..catalogue.instances import InstanceSpec, Processor, availability_note, processor_for, processor_of_family
from ..catalogue.tasks import task_architecture_problem, untrained_head_warning
from ..images.base import InferenceImage, catalogued_image
from ..model.context_file import HubCacheError
from ..model.gguf import HEADER_PREFIX_BYTES, gguf_files, gguf_models, gguf_profile, read_gguf_facts
from ..model.hub_lookup import HubAccessError, HubLookup, HubModelNotFoundError, HubRevisionNotFoundError
from ..model.local import profile_from_directory
from ..model.profile import ModelProfile
from ..model.weight_files import weight_formats
from ..serving.base import Serving, ServingStack
from ..serving.environment import check_engine_args
from ..serving.facts import AutoRequest, ModelFacts, StackSettings
from ..serving.registry import auto_notes, auto_problem, auto_stack, stack_of
from ..sizing.fit import DeploymentPlan
from ..sizing.options import SizingOptions
from ..sizing.planner import plan_deployment
from .environment import Report
from .props import DEFAULT_INSTANCE_TYPE, ModelSource


@dataclass(frozen=True)
class Profile:
    """The model profile, and why the Hub could not give one when it could not."""

    profile: ModelProfile | None
    unavailable: str | None = None
    """The lookup's error, when a failed Hub lookup was accepted (the instance was given)."""


def load_profile(scope: Construct, source: ModelSource, props: Mapping[str, Any]) -> Profile:
    """The model profile: given, read from a local directory, or looked up on the Hub (cached).

    A failed lookup is an error only when the instance must be chosen; when ``instance_type`` is
    given, the endpoint is still built and a warning says the fit was not checked.
    """
    explicit: ModelProfile | None = props.get("model_profile")
    if explicit is not None:
        return Profile(explicit)
    try:
        if source.local_directory is not None:
            return Profile(_directory_profile(source.local_directory))
        if source.model_id is None or is_unresolved(source.model_id):
            return Profile(None)
        return Profile(HubLookup().profile(source.model_id, source.revision))
    except ConfigurationError as error:
        if not _can_build_without_profile(props, error):
            raise
        Annotations.of(scope).add_warning_v2(
            "constructs-lib:profile-unavailable", f"The model's fit on the instance was not checked: {error}"
        )
        # Unlike a directory, a Hub lookup can fail today and work tomorrow.
        return Profile(None, unavailable=str(error) if source.local_directory is None else None)


def _directory_profile(directory: Path) -> ModelProfile:
    """The profile of the local ``model_data`` directory; its errors name the prop."""
    try:
        return profile_from_directory(directory)
    except ConfigurationError as error:
        raise ConfigurationError(f"model_data: {error}") from None


def _can_build_without_profile(props: Mapping[str, Any], error: ConfigurationError) -> bool:
    """Whether a failed profile lookup may be a warning: only when nothing needs the profile and the
    failure says nothing about whether the container can download the model."""
    if props.get("instance_type") is None and props.get("serverless") is None:
        return False  # the instance must be chosen from the profile
    if isinstance(error, HubRevisionNotFoundError):
        return False  # the container would fail to download it too
    if isinstance(error, HubCacheError):
        return False  # a broken hub.context.json is the project's to fix, not a lookup to try again
    if isinstance(error, (HubModelNotFoundError, HubAccessError)):
        # Not found, gated or private: only a token can let the container download it.
        return props.get("hf_token_secret") is not None
    return True


@dataclass(frozen=True)
class ResolvedModel:
    """A model as its endpoint (or inference component) runs it: profile, task, serving stack and image."""

    profile: Profile
    """The model's profile, and why it could not be read when it could not."""
    task: str | None
    """The task (``HF_TASK``): given, or the model's pipeline tag on the Hub."""
    requested: Serving | ServingStack
    """The ``serving`` prop as given (``Serving.AUTO`` by default)."""
    stack: ServingStack
    """The serving stack that runs the model, configured with the image, the server flags and the environment."""
    image: InferenceImage
    """The container image."""
    facts: ModelFacts
    """What the serving stack reads about the model."""


def resolve_model(scope: Construct, source: ModelSource, props: Mapping[str, Any], problems: Problems) -> ResolvedModel:
    """The model's profile, its serving stack and image, and its server flags checked (``props``: the model's props,
    with ``instance_type`` the instance it runs on, when known).

    :raises ConfigurationError: with every problem of a step whose result the next step needs.
    """
    profile = load_profile(scope, source, props)
    task = source.task or (profile.profile.task if profile.profile else None)
    requested = requested_serving(props, problems)
    stack = resolve_stack(scope, source, props, profile, task, requested, problems)
    check_hardware(stack, props, profile.profile, problems)
    problems.raise_if_any()
    image = choose_image(scope, stack, props, profile.profile, problems)
    stack = configure(stack, image, props)
    files = local_model_files(stack, source)
    if profile.profile is None and files:  # a local archive: no profile was read from it
        profile = Profile(local_gguf_profile(source, files))
    facts = model_facts(source, task, profile.profile, files)
    report = Report(problems, scope)
    stack.check_settings(facts, report)
    check_engine_args(stack, props.get("engine_args"), facts, report)
    problems.raise_if_any()
    return ResolvedModel(profile, task, requested, stack, image, facts)


def model_facts(
    source: ModelSource,
    task: str | None,
    profile: ModelProfile | None,
    artifact_files: Mapping[str, int] | None = None,
) -> ModelFacts:
    """What a serving stack reads about a model: its source, its resolved task, its profile and the files of its
    local artifacts (for a stack that names the file it serves)."""
    return ModelFacts(
        model_id=source.model_id,
        revision=source.revision,
        task=task,
        given_task=source.task,
        entry_point=source.entry_point,
        script_loads_model=source.script_loads_model,
        local_directory=source.local_directory,
        profile=profile,
        artifact_files=artifact_files,
    )


def requested_serving(props: Mapping[str, Any], problems: Problems) -> Serving | ServingStack:
    """The ``serving`` prop, checked (``Serving.AUTO`` by default)."""
    requested = props.get("serving", Serving.AUTO)
    if isinstance(requested, Serving | ServingStack):
        return requested
    problems.add("serving", requested, f"is not a Serving; allowed: {', '.join(s.name for s in Serving)}")
    return Serving.AUTO


def resolve_stack(
    scope: Construct,
    source: ModelSource,
    props: Mapping[str, Any],
    profile: Profile,
    task: str | None,
    requested: Serving | ServingStack,
    problems: Problems,
) -> ServingStack:
    """The serving stack: the image's, else the ``serving`` prop, with ``Serving.AUTO`` picking by task."""
    image: InferenceImage | None = props.get("image")
    image_stack = image.serving_stack if isinstance(image, InferenceImage) else None
    custom_script = source.entry_point is not None
    if image_stack is not None and requested is not Serving.AUTO and stack_of(requested) is not image_stack:
        problems.add("serving", _name(requested), f"does not match the image, which runs {_name(image_stack)}")
    auto = requested is Serving.AUTO and image_stack is None
    if auto and not custom_script and task is None and profile.unavailable is not None:
        # AUTO picks by task; guessing without it would make the template depend on whether the
        # lookup worked (TGI online, the toolkit offline).
        problems.add(
            "task",
            None,
            "is required when the model's profile cannot be read: serving=Serving.AUTO picks the serving "
            "stack from the task (vLLM for 'text-generation', TEI for embeddings, the toolkit otherwise); "
            "pass task=... or serving=...",
        )
    request = auto_request(props, profile.profile, task, custom_script)
    stack = pick_stack(image_stack, requested, request)
    if auto:
        if (problem := auto_problem(request, stack)) is not None:
            problems.add("serving", "AUTO", problem)
        for note in auto_notes(request, stack):
            Annotations.of(scope).add_info(note)
    elif (warning := stack.explicit_warning()) is not None:
        Annotations.of(scope).add_warning_v2(*warning)
    _check_task(scope, source, stack, profile.profile, task, image_stack is not None, problems)
    if custom_script and not stack.runs_custom_scripts:
        problems.add(
            "image" if image_stack is not None else "serving",
            _name(stack),
            f"cannot run a custom inference script: {stack.name} never loads code/inference.py, only the inference "
            "toolkit does; serve the model without the script (HubModelEndpoint, or FineTunedEndpoint for your "
            f"artifacts, with serving=Serving.{_name(stack)}), or keep the script on the inference toolkit "
            "(serving=Serving.AUTO or Serving.INFERENCE_TOOLKIT)",
        )
    return stack


def pick_stack(
    image_stack: ServingStack | None, requested: Serving | ServingStack, request: AutoRequest
) -> ServingStack:
    """The rule that chooses the serving stack: the image's, else the ``serving`` prop, else what ``Serving.AUTO``
    picks for ``request``; on the processor of the instance asked for (e.g. vLLM on Inferentia runs the vLLM
    Neuron image)."""
    stack = image_stack or (auto_stack(request) if requested is Serving.AUTO else stack_of(requested))
    return stack.for_processor(request.processor)


def auto_request(
    props: Mapping[str, Any], profile: ModelProfile | None, task: str | None, custom_script: bool
) -> AutoRequest:
    """What ``Serving.AUTO`` decides from: the task and model, and the processor of the instance asked for."""
    requested = props.get("instance_type")
    options = props.get("instance_selection")
    families = tuple(options.families) if isinstance(options, SizingOptions) and options.families else None
    processor: Processor | None = None
    if props.get("serverless") is not None:
        processor = Processor.CPU
    elif isinstance(requested, str) and not is_unresolved(requested):
        processor = processor_for(requested)
    elif families is not None and len(kinds := {processor_of_family(family) for family in families}) == 1:
        processor = kinds.pop()  # every family allowed runs one kind of image
    model_file = props.get("gguf_file")
    return AutoRequest(
        task=task,
        architecture=profile.architecture if profile else None,
        custom_script=custom_script,
        processor=processor,
        families=families,
        profile=profile,
        model_file=model_file if isinstance(model_file, str) else None,
    )


def choose_image(
    scope: Construct, stack: ServingStack, props: Mapping[str, Any], profile: ModelProfile | None, problems: Problems
) -> InferenceImage:
    """The image: given (checked against the model), else the stack's default for the model."""
    given: InferenceImage | None = props.get("image")
    if given is not None:
        processor = min(stack.processors)  # an image's transformers is the same for every processor
        transformers = given.facts_for(processor).transformers_version
        problem = stack.image_problem(transformers, profile)
        if problem is not None:
            problems.add("image", transformers, problem)
        return given
    request, note = stack.default_image_request(profile)
    if note is not None:
        Annotations.of(scope).add_info(note)
    return catalogued_image(stack, request)


def configure(stack: ServingStack, image: InferenceImage, props: Mapping[str, Any]) -> ServingStack:
    """The stack as this endpoint runs it: the image's version and CUDA, the server flags and the environment."""
    gpu = image.facts_for(Processor.GPU) if Processor.GPU in stack.processors else None
    return stack.configured(
        StackSettings(
            engine_args=dict(props.get("engine_args") or {}),
            image_version=image.catalogue_version,
            environment=dict(props.get("environment") or {}),
            cuda_version=gpu.cuda_version if gpu is not None else None,
            model_file=props.get("gguf_file"),
        )
    )


def local_model_files(stack: ServingStack, source: ModelSource) -> dict[str, int] | None:
    """The files of a local model directory or archive, for a stack that names the file it serves (llama.cpp);
    ``None`` otherwise (listing an archive decompresses all of it)."""
    if not stack.reads_model_files or source.model_data is None:
        return None
    return source.model_data.local_files()


def local_gguf_profile(source: ModelSource, files: Mapping[str, int]) -> ModelProfile | None:
    """The profile of a local archive of GGUF files only, from its listing and the smallest model's header."""
    if source.model_data is None or weight_formats(files) != ("gguf",):
        return None
    ggufs = gguf_files(files.items())
    smallest = min(gguf_models(ggufs).values(), key=lambda model: model.size)
    header = source.model_data.read_file_prefix(smallest.files[0], HEADER_PREFIX_BYTES)
    return gguf_profile(ggufs, read_gguf_facts(header) if header else None, source="directory")


def host_ami(
    stack: ServingStack,
    image: InferenceImage,
    props: Mapping[str, Any],
    instance_type: str | None,
    spec: InstanceSpec | None,
    problems: Problems,
) -> str | None:
    """The production variant's ``InferenceAmiVersion``: given (checked against the image's CUDA and the
    instance), else what the image needs (``None``: SageMaker's default host, or serverless)."""
    given = props.get("inference_ami_version")
    if instance_type is None:
        return None  # serverless: no instances, no AMI (a given one is refused with the props)
    processor = stack.processor_for_token() if is_unresolved(instance_type) else processor_for(instance_type)
    if processor is None:
        return given if isinstance(given, str) else None
    cuda = image.facts_for(processor).cuda_version
    if spec is not None and (problem := gpu_cuda_problem(spec, cuda)) is not None:
        problems.add("instance_type", instance_type, f"cannot run the image: {problem}")
    if isinstance(given, str):
        ami = HOST_AMIS.get(given)
        if ami is not None and (
            problem := host_ami_problem(ami, processor, cuda, instance_type) or gpu_driver_problem(ami, spec)
        ):
            problems.add("inference_ami_version", given, problem)
        return given
    return host_ami_for_gpus(stack.host_ami(processor, cuda), spec)


def _check_task(
    scope: Construct,
    source: ModelSource,
    stack: ServingStack,
    profile: ModelProfile | None,
    task: str | None,
    from_image: bool,
    problems: Problems,
) -> None:
    """The task against the model's modalities and architecture, and against what the stack serves."""
    given = source.task
    architecture = profile.architecture if profile else None
    if not source.script_loads_model:
        modalities = profile.modalities if profile else None
        if (problem := task_architecture_problem(given, architecture, modalities)) is not None:
            problems.add("task", given, problem)
        elif (warning := untrained_head_warning(given, architecture)) is not None:
            Annotations.of(scope).add_warning_v2("constructs-lib:task-architecture", warning)
    if (warning := stack.architecture_warning(architecture)) is not None:
        Annotations.of(scope).add_warning_v2(f"constructs-lib:{stack.key}-architecture", warning)
    # Only a task the user gave: a Hub pipeline tag (e.g. 'translation' on a decoder LLM) says less
    # about what the stack can serve than the model's architecture does.
    if (mismatch := stack.task_problem(given)) is not None:
        problems.add("image" if from_image else "serving", _name(stack), mismatch)
    if not source.script_loads_model and (default := stack.default_handler_task_problem(task)) is not None:
        origin = "" if source.task else " (the model's pipeline tag on the Hub)"
        problems.add_message(f"task: {describe(task)}{origin} {default}")


def check_hardware(
    stack: ServingStack, props: Mapping[str, Any], profile: ModelProfile | None, problems: Problems
) -> None:
    """An instance the stack has no image for, and a gated or private model without a token."""
    requested = props.get("instance_type")
    # A deploy-time instance type is taken to run what the stack needs.
    if requested and not is_unresolved(requested):
        hardware = stack.hardware_problem(processor_for(requested))
        if hardware is not None:
            problems.add(
                "instance_type",
                requested,
                f"cannot run {stack.name}: the {hardware}; use {stack.hardware_remedy()} or "
                "serving=Serving.INFERENCE_TOOLKIT",
            )
    if profile is not None and (profile.gated or profile.private) and props.get("hf_token_secret") is None:
        kind = "gated" if profile.gated else "private"
        problems.add(
            "hf_token_secret",
            None,
            f"is required: {profile.model_id or 'the model'} is {kind} on the Hugging Face Hub, so the container "
            "needs a token to download it; store one in Secrets Manager and pass hf_token_secret=...",
        )


def plan(
    scope: Construct,
    stack: ServingStack,
    profile: ModelProfile | None,
    props: Mapping[str, Any],
    *,
    custom_script: bool,
    version: str | None,
) -> DeploymentPlan | None:
    """How the model fits the instance asked for, or the instance picked for it (``None`` without a profile)."""
    if props.get("serverless") is not None:
        return None
    requested: str | None = props.get("instance_type")
    if profile is None:
        if requested is None:
            Annotations.of(scope).add_warning_v2(
                "constructs-lib:default-instance",
                f"instance_type defaults to {DEFAULT_INSTANCE_TYPE} without a check: the model's size is unknown "
                "for artifacts in S3. Pass instance_type=... or model_profile=ModelProfile(...).",
            )
        return None
    options: SizingOptions = props.get("instance_selection") or SizingOptions()
    count = props.get("instance_count", 1)
    if isinstance(count, int) and count > options.min_instance_count:
        # Prices (and the price cap) are for every instance the endpoint runs.
        options = replace(options, min_instance_count=count)
    result = plan_deployment(
        profile, serving=stack, instance_type=requested, options=options, custom_script=custom_script
    )
    environment = stack.image_environment(result.environment, version)
    if environment != dict(result.environment):  # the plan says what the template will hold
        result = replace(result, environment=environment)
    region = stack_facts(scope).region
    note = availability_note(result.instance_type, None if is_unresolved(region) else region)
    return replace(result, summary=f"{result.summary}; {note}") if note else result


def instance_type(props: Mapping[str, Any], deployment_plan: DeploymentPlan | None) -> str | None:
    """The instance type the endpoint runs on: planned, given, or the default; ``None`` for serverless."""
    if props.get("serverless") is not None:
        return None
    if deployment_plan is not None:
        return deployment_plan.instance_type
    requested: str | None = props.get("instance_type")
    return requested or DEFAULT_INSTANCE_TYPE


def _name(serving: Serving | ServingStack) -> str:
    if isinstance(serving, Serving):
        return serving.name
    return serving.serving.name if serving.serving is not None else serving.name
