"""Validate every JSON fixture of `protocol/fixtures/` with the official SDK's types, strictly.

- `events/<event type>/*.json`: validated as the SDK class whose `type` literal is the folder name;
  every member of the SDK's stream-event union must have a folder.
- `objects/<key>/*.json`: validated as the pydantic model named in `types_objects.OBJECT_TYPES`.
- `requests/<key>/*.json`: validated as the request TypedDict named in `REQUEST_TYPES`.

Validation is pydantic's strict JSON mode on the SDK's own classes (not the SDK's lenient
`construct`). Because the SDK's models accept unknown keys, a fixture key that the SDK does not
define anywhere in the object tree is reported as a failure too: a misspelled field must not pass.
"""

from __future__ import annotations

import collections.abc
import importlib
import json
import typing
from pathlib import Path

import pydantic
import pytest
from anthropic._models import BaseModel as SdkModel
from anthropic.types.beta.sessions.beta_managed_agents_stream_session_events import (
    BetaManagedAgentsStreamSessionEvents,
)

import types_events
import types_objects
from sdk_check import extras, union_members

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

OBJECT_TYPES = types_objects.OBJECT_TYPES
REQUEST_TYPES = {**types_objects.REQUEST_TYPES, **types_events.REQUEST_TYPES}


def _resolve(dotted: str) -> typing.Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _type_literal(model: type[SdkModel]) -> str:
    (value,) = typing.get_args(model.model_fields["type"].annotation)
    return value


EVENT_CLASSES: dict[str, type[SdkModel]] = {
    _type_literal(m): m for m in union_members(BetaManagedAgentsStreamSessionEvents)
}


def _fixture_files(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*/*.json"))


def _validate_model(model: type, path: Path) -> typing.Any:
    text = path.read_text()
    parsed = pydantic.TypeAdapter(model).validate_json(text, strict=True)
    undeclared = extras(parsed)
    assert not undeclared, f"{path.name}: keys the SDK does not define: {undeclared}"
    return parsed


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", _fixture_files("events"), ids=_id)
def test_event_fixture_is_valid_sdk_event(path: Path) -> None:
    event_type = path.parent.name
    assert event_type in EVENT_CLASSES, f"{event_type} is not an event type of the SDK"
    body = json.loads(path.read_text())
    assert body.get("type") == event_type, f"{path}: type {body.get('type')!r} in folder {event_type}"
    _validate_model(EVENT_CLASSES[event_type], path)


def test_every_sdk_event_type_has_a_fixture() -> None:
    have = {p.parent.name for p in _fixture_files("events")}
    missing = sorted(set(EVENT_CLASSES) - have)
    assert not missing, f"event types without a fixture: {missing}"
    # 42 persisted types plus the two preview types (event_start, event_delta).
    assert len(EVENT_CLASSES) == 44


@pytest.mark.parametrize("path", _fixture_files("objects"), ids=_id)
def test_object_fixture_is_valid_sdk_object(path: Path) -> None:
    key = path.parent.name
    assert key in OBJECT_TYPES, f"objects/{key} has no SDK class in types_objects.OBJECT_TYPES"
    _validate_model(_resolve(OBJECT_TYPES[key]), path)


def _drain(value: typing.Any) -> None:
    """Consume every lazily validated iterable, so its items are validated too.

    The SDK types many request lists as `Iterable[...]`; pydantic validates those only when they
    are iterated, so without this a wrong value inside `tools` or `resources` would pass.
    """
    if isinstance(value, dict):
        for item in value.values():
            _drain(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _drain(item)
    elif isinstance(value, collections.abc.Iterator):
        for item in value:
            _drain(item)


@pytest.mark.parametrize("path", _fixture_files("requests"), ids=_id)
def test_request_fixture_is_valid_sdk_params(path: Path) -> None:
    key = path.parent.name
    assert key in REQUEST_TYPES, f"requests/{key} has no SDK params type in REQUEST_TYPES"
    adapter = pydantic.TypeAdapter(_resolve(REQUEST_TYPES[key]))
    text = path.read_text()
    adapter.validate_json(text, strict=True)
    # Draining a `validate_json` iterator after its input is gone panics in pydantic-core, so the
    # lazily validated lists are drained from a validation of the parsed JSON instead.
    _drain(adapter.validate_python(json.loads(text), strict=True))


@pytest.mark.parametrize("key", sorted(OBJECT_TYPES) + sorted(REQUEST_TYPES))
def test_every_mapped_type_has_a_fixture(key: str) -> None:
    kind = "objects" if key in OBJECT_TYPES else "requests"
    assert list((FIXTURES / kind / key).glob("*.json")), f"{kind}/{key} has no fixture"


def _fields_seen(kind: str, key: str) -> set[str]:
    seen: set[str] = set()
    for path in (FIXTURES / kind / key).glob("*.json"):
        seen |= set(json.loads(path.read_text()))
    return seen


@pytest.mark.parametrize("event_type", sorted(EVENT_CLASSES))
def test_every_event_field_appears_in_some_fixture(event_type: str) -> None:
    declared = set(EVENT_CLASSES[event_type].model_fields)
    missing = sorted(declared - _fields_seen("events", event_type))
    assert not missing, f"{event_type}: no fixture sets {missing}"


def _model_keys() -> list[str]:
    """Object keys whose SDK type is one model (a union's members are checked by their own keys)."""
    return sorted(
        key
        for key, dotted in OBJECT_TYPES.items()
        if isinstance(model := _resolve(dotted), type) and issubclass(model, pydantic.BaseModel)
    )


@pytest.mark.parametrize("key", _model_keys())
def test_every_object_field_appears_in_some_fixture(key: str) -> None:
    model = _resolve(OBJECT_TYPES[key])
    missing = sorted(set(model.model_fields) - _fields_seen("objects", key))
    assert not missing, f"{key}: no fixture sets {missing}"
