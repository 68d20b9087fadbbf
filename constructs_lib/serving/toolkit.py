"""The Hugging Face inference toolkit: transformers pipelines, and the only stack that runs ``inference.py``.

- **Images**: ``huggingface-pytorch-inference`` (GPU and CPU, catalogue family ``huggingface``) and,
  on Inferentia2, ``huggingface-pytorch-inference-neuronx`` (``huggingface-neuronx``). Tags carry the
  transformers and PyTorch versions; the SDK writes PyTorch's as the caller spelled it. The newest image
  runs transformers 5, which removed TensorFlow and Flax: a model with only such weights gets the newest
  transformers-4 image.
- **Environment**: ``HF_MODEL_ID`` for a Hub model (none: the model is in ``/opt/ml/model``),
  ``HF_TASK``, ``HF_MODEL_REVISION``; a custom script adds what the SageMaker SDK sets when it repacks
  one (``SAGEMAKER_PROGRAM``, ...). The token variable is ``HF_API_TOKEN`` (``HF_TOKEN`` too, for the
  huggingface_hub inside). Server settings the toolkit ``int()``s at start-up must be whole numbers.
- **Tasks**: every transformers pipeline task, but not Hub-only tags such as ``sentence-similarity``
  unless a ``model_fn`` of the user's loads the model.
- **Memory**: the default handler calls ``transformers.pipeline`` without ``torch_dtype``, so every
  float checkpoint is loaded in float32, on one GPU; the whole checkpoint passes through host memory
  first (x1.2 + 2 GiB). A ``model_fn`` decides the dtype: sized as stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Aws

from .._core.errors import ConfigurationError, Problems, describe
from .._core.tokens import is_positive_integer_text, is_unresolved
from ..catalogue import dlc
from ..catalogue.instances import InstanceSpec, Processor
from ..catalogue.tasks import canonical_task, task_architecture_problem, task_problem, untrained_head_warning
from ..model.profile import ModelProfile
from ..model.weight_files import only_dropped_by_transformers_5
from .base import Serving, ServingStack, loaded_weights
from .facts import EnvironmentEntry, ImageRequest, MemoryDemand, ModelFacts, Reporter, SizingKnobs

TOOLKIT_FAMILY = "huggingface"
NEURONX_FAMILY = "huggingface-neuronx"
_FAMILIES = (TOOLKIT_FAMILY, NEURONX_FAMILY)

HOST_LOAD_FACTOR = 1.2
"""Host memory per GiB of weights: the checkpoint is read into host memory before it moves to the GPU."""
HOST_BASE_GIB = 2.0
"""Host memory of the server itself."""

HUB_ONLY_TASKS: frozenset[str] = frozenset({"sentence-similarity"})
"""Hub pipeline tags that no transformers pipeline implements: the toolkit's default ``model_fn`` builds
``pipeline(HF_TASK)`` and fails at start-up with ``Unknown task``."""

# Server settings the toolkit parses as integers at start-up (sagemaker_inference.environment), and what
# each one counts.
_INTEGER_SETTINGS = {
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "seconds",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "seconds",
    "SAGEMAKER_STARTUP_TIMEOUT": "seconds",
    "SAGEMAKER_MAX_PAYLOAD_IN_MB": "MB",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "worker processes",
}

# The input shapes the toolkit compiles an uncompiled model for on Inferentia (optimum_utils.get_input_shapes).
_NEURON_SHAPE_VARIABLES = ("HF_OPTIMUM_SEQUENCE_LENGTH", "HF_OPTIMUM_BATCH_SIZE")

_FULL_PRECISION_BYTES = 4  # transformers loads every float checkpoint as float32 unless told otherwise


class InferenceToolkit(ServingStack):
    """The Hugging Face inference toolkit (``Serving.INFERENCE_TOOLKIT``)."""

    serving = Serving.INFERENCE_TOOLKIT
    name = "the inference toolkit"
    processors = frozenset({Processor.GPU, Processor.CPU, Processor.NEURONX})
    runs_custom_scripts = True
    token_variables = ("HF_API_TOKEN", "HF_TOKEN")
    read_variables = frozenset({*_INTEGER_SETTINGS, *_NEURON_SHAPE_VARIABLES, "HF_TRUST_REMOTE_CODE"})
    gpu_image_runs_on_cpu = True  # the handler serves on the CPU when torch finds no GPU (device -1)

    # ---------------------------------------------------------------------------------- images
    def check_image_request(self, request: ImageRequest, problems: Problems) -> None:
        transformers_version, pytorch_version = request.version, request.base_version
        if transformers_version is not None:
            entries = [
                dlc.family(family)["versions"][key]
                for family in _FAMILIES
                if (key := dlc.lookup(family, transformers_version)) is not None
            ]
            if not entries:
                problems.add(
                    "transformers_version",
                    transformers_version,
                    "is not a catalogued Hugging Face inference DLC version; allowed: " + dlc.allowed_text(_FAMILIES),
                )
            elif pytorch_version is not None and all(_pytorch_key(e, pytorch_version) is None for e in entries):
                problems.add(
                    "pytorch_version",
                    pytorch_version,
                    f"is not catalogued with transformers_version {describe(transformers_version)}; "
                    f"allowed: {dlc.versions_text(_pytorch_choices(entries))}",
                )
        elif pytorch_version is not None:
            entries = [entry for family in _FAMILIES for entry in dlc.family(family)["versions"].values()]
            if all(_pytorch_key(entry, pytorch_version) is None for entry in entries):
                problems.add(
                    "pytorch_version",
                    pytorch_version,
                    "is not a catalogued Hugging Face inference DLC PyTorch version; allowed: "
                    + dlc.versions_text(_pytorch_choices(entries)),
                )

    def default_image_request(self, profile: ModelProfile | None) -> tuple[ImageRequest, str | None]:
        """The newest image, or the newest transformers-4 one for a model that has only TensorFlow or Flax
        weights: transformers 5 removed both."""
        if profile is None or not only_dropped_by_transformers_5(profile.weight_formats):
            return ImageRequest(), None
        version = newest_transformers_4()
        note = (
            f"{profile.model_id or 'The model'} has only {_formats(profile)} weights, which transformers 5 no longer "
            f"loads: the endpoint runs the newest transformers-4 toolkit image ({version}) instead of "
            f"{dlc.lookup(TOOLKIT_FAMILY, None)}; save the model as safetensors to run on transformers 5"
        )
        return ImageRequest(version=version), note

    def image_problem(self, transformers_version: str | None, profile: ModelProfile | None) -> str | None:
        if transformers_version is None or profile is None or dlc.version_key(transformers_version) < (5,):
            return None
        if not only_dropped_by_transformers_5(profile.weight_formats):
            return None
        return (
            f"is a transformers-5 image, and {profile.model_id or 'the model'} has only "
            f"{_formats(profile)} weights, which transformers 5 no longer loads; use "
            f"InferenceImage.huggingface(transformers_version={newest_transformers_4()!r}) (or leave image unset "
            "to get it), or save the model as safetensors"
        )

    def resolve_image(self, request: ImageRequest, processor: Processor, where: str) -> dlc.ResolvedImage:
        family = NEURONX_FAMILY if processor is Processor.NEURONX else TOOLKIT_FAMILY
        where = f"instance_type {where} ({processor.value} images)"
        key = _transformers_key(family, request, processor, where)
        entry = dlc.family(family)["versions"][key]
        pytorch_key = _pytorch_key(entry, request.base_version)
        if pytorch_key is None:
            raise ConfigurationError(
                f"pytorch_version: {describe(request.base_version)} has no {processor.value} Hugging Face inference "
                f"DLC with transformers {key} for {where}; allowed: {dlc.versions_text(_pytorch_choices([entry]))}"
            )
        item = entry["pytorch"][pytorch_key]["images"].get(processor.value)
        if item is None:
            raise ConfigurationError(
                f"transformers_version: {describe(request.version)} has no {processor.value} Hugging Face "
                f"inference DLC with pytorch {pytorch_key} for {where}; allowed: {dlc.allowed_text((family,))}"
            )
        if family == TOOLKIT_FAMILY and request.base_version not in (None, pytorch_key):
            # The SDK (sagemaker-core) writes the PyTorch version as the caller spelled it ("2.6"), and the
            # transformers version in full.
            container = item["tag"].split(f"-{item['py']}-", 1)[1]
            tag = f"{request.base_version}-transformers{key}-{processor.value}-{item['py']}-{container}"
        else:
            tag = item["tag"]
        description = f"Hugging Face inference (transformers {key}, pytorch {pytorch_key}, {processor.value})"
        return dlc.resolved(item, family, key, tag, description)

    # ------------------------------------------------------------------------ tasks and AUTO
    def default_handler_task_problem(self, task: str | None) -> str | None:
        if task is None or canonical_task(task) not in HUB_ONLY_TASKS:
            return None
        return (
            "is a Hub pipeline tag, not a transformers pipeline: the inference toolkit's default model_fn cannot "
            "build it, and the endpoint would fail at start-up; serve it with Serving.TEI (what Serving.AUTO picks "
            "for it), pass task='feature-extraction' for the toolkit's embeddings, or load the model in your own "
            "model_fn"
        )

    # -------------------------------------------------------------------------- environment
    def model_environment(self, model: ModelFacts) -> dict[str, str]:
        env: dict[str, str] = {}
        if model.model_id:
            env["HF_MODEL_ID"] = model.model_id
        if model.task:
            env["HF_TASK"] = model.task
        if model.model_id and model.revision:
            env["HF_MODEL_REVISION"] = model.revision
        if model.entry_point:
            # What the SageMaker Python SDK sets when it repacks a script into model.tar.gz.
            env.update(
                {
                    "SAGEMAKER_PROGRAM": model.entry_point,
                    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                    "SAGEMAKER_REGION": Aws.REGION,
                }
            )
        return env

    def check_environment_entry(self, entry: EnvironmentEntry, report: Reporter) -> bool:
        key, value = entry.key, entry.value
        if key == "HF_TASK":
            problem = self._task_variable_problem(value, entry.model, report)
            if problem is not None:
                report.error(f"environment[{key!r}]", value, problem)
                return True
            return False
        if key in _INTEGER_SETTINGS and not is_unresolved(value) and not is_positive_integer_text(value):
            report.error(
                f"environment[{key!r}]",
                value,
                f"must be a whole number above 0 ({_INTEGER_SETTINGS[key]}): the toolkit reads it with int() when "
                "the container starts, and any other value stops the model server",
            )
            return True
        return key in _INTEGER_SETTINGS

    def _task_variable_problem(self, value: Any, model: ModelFacts, report: Reporter) -> str | None:
        """``HF_TASK`` as a variable (the SageMaker SDK's way) gets the ``task`` prop's checks."""
        if not isinstance(value, str) or is_unresolved(value):
            return None
        problem = task_problem(value)
        if problem is None and not model.script_loads_model:
            architecture = model.architecture
            problem = self.default_handler_task_problem(value) or task_architecture_problem(
                value, architecture, model.modalities
            )
            if problem is None and (warning := untrained_head_warning(value, architecture)) is not None:
                report.warning("constructs-lib:task-architecture", warning)
        return problem

    def check_environment(
        self, environment: Mapping[str, Any], model: ModelFacts, spec: InstanceSpec | None, report: Reporter
    ) -> None:
        """On Inferentia the toolkit compiles the model at start-up, for fixed input shapes.

        It takes them from ``config.json`` (``neuron.static_batch_size``/``static_sequence_length``, in
        models exported with optimum-neuron) or from ``HF_OPTIMUM_SEQUENCE_LENGTH`` (and
        ``HF_OPTIMUM_BATCH_SIZE``, default 1), and raises ``ValueError`` at start-up without either.
        """
        if spec is None or spec.processor is not Processor.NEURONX or model.script_loads_model:
            return
        for key in _NEURON_SHAPE_VARIABLES:
            value = environment.get(key)
            if value is not None and not is_unresolved(value) and not is_positive_integer_text(value):
                report.error(f"environment[{key!r}]", value, "must be a positive whole number, e.g. '128'")
        if "HF_OPTIMUM_SEQUENCE_LENGTH" in environment:
            return
        needed = (
            f"the inference toolkit compiles the model for {spec.name} at start-up and fails without input shapes: "
            "set environment HF_OPTIMUM_SEQUENCE_LENGTH (and HF_OPTIMUM_BATCH_SIZE, default 1), or serve a model "
            "exported with optimum-neuron, whose config.json carries them"
        )
        directory = model.local_directory
        if directory is not None:
            if not _has_neuron_static_shapes(directory / "config.json"):
                report.error("model_data", str(directory), f"has no neuron input shapes in config.json; {needed}")
            return
        report.warning("constructs-lib:neuron-input-shapes", f"Unless config.json has neuron input shapes, {needed}.")

    # ------------------------------------------------------------------------- memory model
    def demand(self, profile: ModelProfile, knobs: SizingKnobs, *, custom_script: bool) -> MemoryDemand:
        if knobs.quantize is None and custom_script:
            # The script's model_fn decides the dtype: sized as stored.
            weights = profile.weights_gib()
            return MemoryDemand(weights, _host_gib(weights), precision="as stored (model_fn decides the dtype)")
        # The toolkit's default handler calls transformers.pipeline without torch_dtype.
        weights, precision = loaded_weights(
            profile, knobs, _FULL_PRECISION_BYTES, "loaded in float32 by the toolkit's default handler"
        )
        return MemoryDemand(weights, _host_gib(weights), precision=precision)


def newest_transformers_4() -> str:
    """The newest catalogued toolkit version on transformers 4."""
    versions = dlc.family(TOOLKIT_FAMILY)["versions"]
    return dlc.newest(v for v in versions if dlc.version_key(v) < (5,))


def _formats(profile: ModelProfile) -> str:
    names = {"tensorflow": "TensorFlow", "flax": "Flax"}
    return " and ".join(names[f] for f in profile.weight_formats or () if f in names)


def _host_gib(weights_gib: float) -> float:
    return weights_gib * HOST_LOAD_FACTOR + HOST_BASE_GIB


def _transformers_key(family: str, request: ImageRequest, processor: Processor, where: str) -> str:
    versions: dict[str, Any] = dlc.family(family)["versions"]
    if request.version is None and request.base_version is not None:
        keys = [k for k, entry in versions.items() if _pytorch_key(entry, request.base_version) is not None]
        if not keys:
            raise ConfigurationError(
                f"pytorch_version: {describe(request.base_version)} has no {processor.value} Hugging Face "
                f"inference DLC for {where}; allowed: {dlc.versions_text(_pytorch_choices(versions.values()))}"
            )
        return dlc.newest(keys)
    key = dlc.lookup(family, request.version)
    if key is None:
        raise ConfigurationError(
            f"transformers_version: {describe(request.version)} has no {processor.value} Hugging Face "
            f"inference DLC for {where}; allowed: {dlc.allowed_text((family,))}"
        )
    return key


def _pytorch_key(entry: Mapping[str, Any], pytorch_version: str | None) -> str | None:
    return dlc.resolve_version(entry["pytorch"], entry["pytorch_aliases"], pytorch_version)


def _pytorch_choices(entries: Any) -> list[str]:
    return [choice for entry in entries for choice in (*entry["pytorch"], *entry["pytorch_aliases"])]


def _has_neuron_static_shapes(config_path: Path) -> bool:
    """Whether ``config.json`` is an optimum-neuron export with its compiled input shapes."""
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    neuron = config.get("neuron") if isinstance(config, dict) else None
    return isinstance(neuron, dict) and bool(neuron.get("static_batch_size") and neuron.get("static_sequence_length"))


STACK = InferenceToolkit()
