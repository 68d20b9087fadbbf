"""Hypothesis profiles for the property tests: ``default`` in every run, ``long`` on request.

``CONSTRUCTS_LIB_PROPERTY_PROFILE=long ./run.sh test tests/property/`` draws far more examples (see the README's
Guarantees). Draws build CDK constructs, so no deadline applies, and the health check that flags slow draws is off.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = {
    "default": {"endpoint": 200, "value": 300, "app": 200},
    "long": {"endpoint": 3000, "value": 10000, "app": 3000},
}
"""Examples per test, by profile and kind of test (an endpoint construct, a value class, the app's config file)."""

PROFILE = os.environ.get("CONSTRUCTS_LIB_PROPERTY_PROFILE", "default")
if PROFILE not in EXAMPLES:
    raise ValueError(f"CONSTRUCTS_LIB_PROPERTY_PROFILE={PROFILE!r}: allowed: {', '.join(EXAMPLES)}")

for _name in EXAMPLES:
    settings.register_profile(
        _name,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        derandomize=_name == "default",  # the default suite draws the same examples on every run and machine
        print_blob=True,
    )
settings.load_profile(PROFILE)


def examples(kind: str) -> settings:
    """The settings of one test: the profile's example count for its kind (``CONSTRUCTS_LIB_PROPERTY_EXAMPLES``
    sets another count, e.g. a small one while a crash is fixed)."""
    override = os.environ.get("CONSTRUCTS_LIB_PROPERTY_EXAMPLES")
    return settings(max_examples=int(override) if override else EXAMPLES[PROFILE][kind])
