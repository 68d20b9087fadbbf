"""What moto's CloudFormation parser calls on a resource type's class and instance, for the types added here."""

from __future__ import annotations

from typing import Any, ClassVar

from moto.applicationautoscaling import models as applicationautoscaling
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.sagemaker import models as sagemaker


def sagemaker_backend(account_id: str, region_name: str) -> Any:
    return sagemaker.sagemaker_backends[account_id][region_name]


def scaling_backend(account_id: str, region_name: str) -> Any:
    return applicationautoscaling.applicationautoscaling_backends[account_id][region_name]


class CfnResource:
    """A resource type moto's CloudFormation does not have. Not a ``CloudFormationModel``: moto lists those by
    ``__subclasses__()``, which would keep them after ``uninstall``; ``install`` lists these instead."""

    TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    """The property that names it (else moto makes ``<stack>-<logical id>-<random>``)."""
    ATTRIBUTES: ClassVar[dict[str, str]] = {}
    """``Fn::GetAtt`` name -> Python attribute."""
    identity: Any
    """What stays the same when an update changes it in place."""

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return getattr(self, self.ATTRIBUTES[attribute_name])

    def is_created(self) -> bool:
        return True

    def __init__(self, name: str, properties: dict[str, Any], account_id: str, region_name: str) -> None:
        raise NotImplementedError  # each type makes itself from its name and its properties

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        return cls(resource_name, cloudformation_json["Properties"], account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        """As CloudFormation does: create (the same key updates in place), then delete the old one if replaced."""
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        if new.identity != original_resource.identity:
            original_resource.delete(account_id, region_name)
        return new
