"""Checks shared by the SDK conformance suites (`protocol/conformance`, `engine/sdk-tests`).

The SDK's pydantic models accept keys they do not declare, so strict validation alone would let a
misspelled field pass: `extras` lists such keys anywhere in a validated tree.
"""

from __future__ import annotations

import typing

import pydantic
from anthropic._models import BaseModel as SdkModel


def union_members(alias: typing.Any) -> list[type]:
    """The model classes of an SDK union alias (`Annotated[Union[...], ...]`)."""
    if typing.get_origin(alias) is typing.Annotated:
        alias = typing.get_args(alias)[0]
    return [m for m in typing.get_args(alias) if isinstance(m, type) and issubclass(m, SdkModel)]


def extras(value: typing.Any, where: str = "$") -> list[str]:
    """Paths of keys that no SDK model in the tree declares."""
    found: list[str] = []
    if isinstance(value, pydantic.BaseModel):
        for key in value.model_extra or {}:
            found.append(f"{where}.{key}")
        for name in type(value).model_fields:
            found += extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += extras(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += extras(item, f"{where}.{key}")
    return found
