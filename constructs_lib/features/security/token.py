"""The Hugging Face token (``hf_token_secret``): from Secrets Manager, through a dynamic reference.

CloudFormation resolves ``{{resolve:secretsmanager:...}}`` while it creates the model: the template
never holds the token, and the execution role needs no access to the secret. Which variables the
container reads the token from is the serving stack's ``token_variables``.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from ..._core.errors import ConfigurationError, Problems, describe
from ..._core.tokens import implements
from ...serving.base import ServingStack

_COMPLETE_SECRET_ARN = re.compile(r"^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$")
_SECRET_ARN = re.compile(r"^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:.+$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")


def check_token_secret(secret: Any, problems: Problems, *, network_isolation: bool = False) -> None:
    """Record problems with ``hf_token_secret`` (``None`` is fine: public models need no token).

    :param network_isolation: whether the container runs without network access.
    :default network_isolation: False
    """
    if secret is None:
        return
    if not implements(secret, "secret_value", "secret_arn"):
        # The value is not echoed: it may well be the token itself.
        problems.add(
            "hf_token_secret",
            f"<{type(secret).__name__}>",
            "must be a secretsmanager.ISecret (never the token itself), e.g. "
            "secretsmanager.Secret.from_secret_name_v2(self, 'HfToken', 'hf-token') "
            "(or secret_from_config(scope, name_or_arn))",
        )
    elif network_isolation:
        problems.add(
            "hf_token_secret",
            "(given)",
            "has no use with network_isolation=True: an isolated container cannot reach the Hub",
        )


def token_environment(secret: secretsmanager.ISecret | None, stack: ServingStack) -> dict[str, str]:
    """The token, as a dynamic reference, in every variable ``stack`` reads it from."""
    if secret is None:
        return {}
    reference = secret.secret_value.unsafe_unwrap()
    return dict.fromkeys(stack.token_variables, reference)


def secret_from_config(scope: Construct, value: str, *, id: str = "HfTokenSecret") -> secretsmanager.ISecret:
    """Import the Hugging Face token secret named in a config file, by name or by ARN.

    A complete ARN (ending in ``-`` and the 6 random characters Secrets Manager appends) is imported
    with ``from_secret_complete_arn``, a partial ARN with ``from_secret_partial_arn``, anything else
    as a name in the stack's account and region with ``from_secret_name_v2``.

    :param scope: where the imported secret is defined (e.g. the stack).
    :param value: the secret's name (``hf-token``) or ARN.
    :param id: construct id of the import.
    :default id: ``"HfTokenSecret"``
    :raises ConfigurationError: when ``value`` is neither a secret name nor a Secrets Manager ARN.
    """
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"hf_token_secret: {describe(value)} must be a Secrets Manager secret name or ARN")
    if _COMPLETE_SECRET_ARN.match(value):
        return secretsmanager.Secret.from_secret_complete_arn(scope, id, value)
    if _SECRET_ARN.match(value):
        return secretsmanager.Secret.from_secret_partial_arn(scope, id, value)
    if value.startswith("arn:") or not _SECRET_NAME.match(value):
        raise ConfigurationError(
            f"hf_token_secret: {describe(value)} is neither a Secrets Manager ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf) nor a secret name "
            "(1-512 letters, digits and /_+=.@-)"
        )
    return secretsmanager.Secret.from_secret_name_v2(scope, id, value)
