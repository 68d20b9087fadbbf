"""The endpoint constructs: ``EndpointBase`` and the three ways a model comes in (``hub_model``, ``fine_tuned``,
``custom_script``), with the props (``props``), their checks (``checks``), how facts are resolved from them
(``resolve``), the container environment (``environment``), the L1 resources (``render``), the role (``role``) and
imported endpoints (``imported``). Import the constructs from ``constructs_lib``."""
