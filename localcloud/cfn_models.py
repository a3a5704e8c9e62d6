"""Duck-typed CloudFormation models for resource types moto's CloudFormation has no model for.

moto registers every ``CloudFormationModel`` subclass for good, and the local cloud's models must not
outlive it, so they follow the same class-level protocol without subclassing: ``DuckModel`` gives the
parts every such model shares (type, name property, attributes, update as re-create, no delete: the
local cloud never deletes its stacks, moto's reset clears the backends), ``CreatedResource`` what
``Ref`` and ``GetAtt`` answer. Each model implements ``create_from_cloudformation_json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class CreatedResource:
    """A created resource as moto's CloudFormation sees it: ``Ref`` gives the physical id, ``GetAtt``
    one of ``attributes``."""

    def __init__(self, physical_id: str, attributes: Mapping[str, str]) -> None:
        self.physical_resource_id = physical_id
        self.attributes = dict(attributes)

    def get_cfn_attribute(self, name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[name]

    def is_created(self) -> bool:
        return True


class DuckModel:
    """The class-level protocol moto's CloudFormation calls (``CloudFormationModel``'s, duck-typed)."""

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **_: Any,
    ) -> CreatedResource:
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CreatedResource:
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None
