"""Many models on one endpoint: SageMaker inference components.

- ``endpoint``: ``InferenceComponentEndpoint``, the endpoint whose instances the components share, with
  ``add_model`` and ``add_adapter``;
- ``component``: ``InferenceComponent``, one model (or LoRA adapter) on it: its name, grants and metrics;
- ``model``: a component's model, resolved and rendered by the endpoints' own code (sources, serving stack, image,
  environment, ``CfnModel``);
- ``resources``: what a component reserves on an instance, from the model and the stack's memory model;
- ``packing``: how many instances of which type hold every copy; ``report`` says so, with the costs;
- ``scaling``: ``ComponentScaling`` and scale to zero; ``deployment``: ``ComponentDeployment`` (rolling updates);
- ``adapters``: LoRA adapters on a vLLM base; ``options``: ``Routing`` and ``ScaleInPolicy``;
- ``checks``: the endpoint's and ``add_model``'s props, and what component endpoints refuse.
"""
