"""What an endpoint is to the rest of CDK and to its features: interfaces, metrics, resolved facts.

- ``interfaces``: ``IHuggingFaceEndpoint``, the endpoint as an ``aws_sagemaker.IEndpoint`` with its metrics and serving
  stack (built endpoints are ``iam.IGrantable`` too);
- ``metrics``: the ``metric()`` / ``metric_*`` methods every endpoint has, imported ones included;
- ``facts``: the read-only facts a production feature is given, and what it gives back.
"""
