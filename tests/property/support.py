"""What every property test asserts about a draw: it builds (and synthesizes), or it raises a ConfigurationError
that names one of the props drawn. Anything else (TypeError, KeyError, a jsii error) is a crash of the library."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from aws_cdk import App, Environment, Stack
from hypothesis import event

from constructs_lib import ConfigurationError

from ..support import ACCOUNT, CDK_JSON_CONTEXT


def new_app_stack(region: str | None) -> tuple[App, Stack]:
    app = App(context=CDK_JSON_CONTEXT)
    env = Environment(account=ACCOUNT, region=region) if region else None
    return app, Stack(app, "Drawn", env=env)


def builds_or_names_a_prop(build: Callable[[], Any], props: Iterable[str], *, synthesize: App | None = None) -> bool:
    """Run ``build``; synthesize ``synthesize`` when it built. Returns whether it built.

    :raises AssertionError: on any exception but a ConfigurationError, and on one whose message names none of
        ``props`` (the message must say which property is wrong).
    """
    try:
        build()
        if synthesize is not None:
            synthesize.synth()
    except ConfigurationError as error:
        event("ConfigurationError")  # pytest --hypothesis-show-statistics shows the share of each outcome
        message = str(error)
        named = [prop for prop in props if re.search(rf"(?<![A-Za-z0-9_]){re.escape(prop)}(?![A-Za-z0-9_])", message)]
        assert named, f"the error names none of the props drawn {sorted(props)}: {message}"
        return False
    except Exception as error:
        raise AssertionError(f"{type(error).__name__} from inside the library: {error}") from error
    event("built and synthesized" if synthesize is not None else "built")
    return True
