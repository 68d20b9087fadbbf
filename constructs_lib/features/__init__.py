"""Production features: one module (or folder) each, plugged into endpoints through ``base.EndpointFeature``.

``registry`` lists them, with the props each one owns. A feature sees the endpoint's resolved facts
(``contract.facts``), never the endpoint itself.
"""
