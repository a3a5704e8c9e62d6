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

__all__ = ["SecretModel", "extend", "generated_value"]


class _CreatedSecret:
    def __init__(self, arn: str) -> None:
        self.physical_resource_id = arn
        self.arn = arn

    def get_cfn_attribute(self, name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if name != "Id":
            raise UnformattedGetAttTemplateException()
        return self.arn

    def is_created(self) -> bool:
        return True


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


class SecretModel:
    """moto's CloudFormation model protocol, duck-typed (a subclass would stay registered for good)."""

    TYPE: ClassVar[str] = "AWS::SecretsManager::Secret"

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> _CreatedSecret:
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
        return _CreatedSecret(str(created["ARN"]))

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _CreatedSecret:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None  # the local cloud never deletes its stacks; moto's reset clears the backend


@contextmanager
def extend() -> Iterator[None]:
    """moto's CloudFormation creates ``AWS::SecretsManager::Secret`` resources for the block."""
    import moto.cloudformation.parsing as cfn_parsing

    model_map = cfn_parsing.get_model_map

    def get_model_map() -> dict[str, Any]:
        return {**model_map(), SecretModel.TYPE: SecretModel}

    with mock.patch.object(cfn_parsing, "get_model_map", get_model_map):
        yield
