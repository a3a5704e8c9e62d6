"""``AWS::SecretsManager::Secret`` in moto's CloudFormation, so stacks that create secrets deploy.

Why: moto implements Secrets Manager but its CloudFormation has no model for secrets: the resource is
skipped, every ``!Ref`` to it resolves to nothing (a function's environment gets ``None``) and outputs
naming it vanish. While the local cloud runs (``extend()``, entered by ``install_fakes``), a model
creates the secret in moto's own Secrets Manager backend, as CloudFormation does:

- ``Name`` when given, else the name moto's CloudFormation generates (``<stack>-<logical id>-<random>``);
  ``Description``, ``KmsKeyId`` and ``Tags`` are kept;
- ``SecretString`` as given, or ``GenerateSecretString`` through moto's GetRandomPassword
  (``PasswordLength`` 32 by default, ``ExcludeCharacters``, ``ExcludePunctuation``...), merged into
  ``SecretStringTemplate`` under ``GenerateStringKey`` when both are given;
- ``Ref`` and ``GetAtt Id`` give the ARN.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar
from unittest import mock

from localcloud.cfn_models import CreatedResource, DuckModel

__all__ = ["SecretModel", "extend", "generated_value"]


def generated_value(backend: Any, spec: Mapping[str, Any]) -> str:
    """A secret string from a ``GenerateSecretString`` specification, as CloudFormation builds it."""
    password = json.loads(
        backend.get_random_password(
            password_length=int(spec.get("PasswordLength", 32)),
            exclude_characters=str(spec.get("ExcludeCharacters", "")),
            exclude_numbers=bool(spec.get("ExcludeNumbers", False)),
            exclude_punctuation=bool(spec.get("ExcludePunctuation", False)),
            exclude_uppercase=bool(spec.get("ExcludeUppercase", False)),
            exclude_lowercase=bool(spec.get("ExcludeLowercase", False)),
            include_space=bool(spec.get("IncludeSpace", False)),
            require_each_included_type=bool(spec.get("RequireEachIncludedType", True)),
        )
    )["RandomPassword"]
    template, key = spec.get("SecretStringTemplate"), spec.get("GenerateStringKey")
    if template and key:
        document = json.loads(str(template))
        document[str(key)] = password
        return json.dumps(document)
    return str(password)


class SecretModel(DuckModel):
    """``AWS::SecretsManager::Secret`` in moto's Secrets Manager (``Ref`` and ``GetAtt Id``: the ARN)."""

    TYPE: ClassVar[str] = "AWS::SecretsManager::Secret"
    NAME_PROPERTY: ClassVar[str] = "Name"
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset({"Id"})

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> CreatedResource:
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[account_id][region_name]
        properties = cloudformation_json.get("Properties") or {}
        name = str(properties.get("Name") or resource_name)  # moto generates <stack>-<logical id>-<random>
        if "GenerateSecretString" in properties:
            value = generated_value(backend, properties["GenerateSecretString"])
        else:
            value = str(properties.get("SecretString", ""))
        created = json.loads(
            backend.create_secret(
                name=name,
                secret_string=value,
                secret_binary=None,
                description=properties.get("Description"),
                tags=list(properties.get("Tags") or []),
                kms_key_id=properties.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return CreatedResource(str(created["ARN"]), {"Id": str(created["ARN"])})


@contextmanager
def extend() -> Iterator[None]:
    """moto's CloudFormation creates ``AWS::SecretsManager::Secret`` resources for the block."""
    import moto.cloudformation.parsing as cfn_parsing

    model_map = cfn_parsing.get_model_map

    def get_model_map() -> dict[str, Any]:
        return {**model_map(), SecretModel.TYPE: SecretModel}

    with mock.patch.object(cfn_parsing, "get_model_map", get_model_map):
        yield
