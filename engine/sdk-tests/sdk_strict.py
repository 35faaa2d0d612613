"""Strict validation of engine answers with the official SDK's own types, and a recorded event stream.

Every answer is read raw (the SDK's `with_raw_response`) and validated with pydantic's strict JSON
mode on the SDK 2.11.0 class (`TypeAdapter(T).validate_json(text, strict=True)`), the same check
`protocol/conformance/test_fixtures.py` runs on the fixtures. The SDK's models accept unknown keys,
so a key that no SDK model in the tree declares is reported as a failure as well.

`EventStream` drives `client.beta.sessions.events.stream(...)` (the SDK's own SSE client) in a
background thread and records every raw SSE frame the SDK decodes, so each streamed event is
validated strictly from its exact `data:` text, not from the SDK's lenient `construct`.
"""

from __future__ import annotations

import json
import threading
import time
import typing
import uuid
from typing import Any, Callable, List, Optional

import anthropic
import pydantic
import pytest
from anthropic.types.beta.sessions.beta_managed_agents_session_event import BetaManagedAgentsSessionEvent
from anthropic.types.beta.sessions.beta_managed_agents_stream_session_events import (
    BetaManagedAgentsStreamSessionEvents,
)
from anthropic.types.beta.sessions.beta_managed_agents_stream_session_thread_events import (
    BetaManagedAgentsStreamSessionThreadEvents,
)
from anthropic.types.shared.error_details import ErrorDetails
from anthropic.types.shared.error_object import ErrorObject
from anthropic.types.shared.error_response import ErrorResponse
from anthropic.types.shared.error_type import ErrorType
from sdk_check import extras, union_members  # protocol/conformance, on pytest.ini's pythonpath

STREAM_EVENT = BetaManagedAgentsStreamSessionEvents
THREAD_STREAM_EVENT = BetaManagedAgentsStreamSessionThreadEvents
SESSION_EVENT = BetaManagedAgentsSessionEvent
PREVIEW_TYPES = {"event_start", "event_delta"}

# --------------------------------------------------------------------------------------------
# strict validation


_ADAPTERS: dict[int, tuple[Any, pydantic.TypeAdapter[Any]]] = {}


def adapter(tp: Any) -> pydantic.TypeAdapter[Any]:
    hit = _ADAPTERS.get(id(tp))
    if hit is None:
        hit = _ADAPTERS[id(tp)] = (tp, pydantic.TypeAdapter(tp))
    return hit[1]


def strict(tp: Any, text: str | bytes, *, allow_extra: typing.Iterable[str] = ()) -> Any:
    """Validates `text` as the SDK type `tp` in pydantic's strict JSON mode; no undeclared keys."""
    try:
        parsed = adapter(tp).validate_json(text, strict=True)
    except pydantic.ValidationError as error:
        raise AssertionError(
            f"not a valid {_name(tp)} (strict): {_focus(tp, text, error)}\n--- body: {_clip(text)}"
        ) from None
    bad = [path for path in extras(parsed) if path not in set(allow_extra)]
    assert not bad, f"{_name(tp)}: keys the SDK does not define: {bad}\n--- body: {_clip(text)}"
    return parsed


def _focus(tp: Any, text: str | bytes, error: pydantic.ValidationError) -> str:
    """For a union, the errors of the member whose `type` literal matches (not of all members)."""
    members = union_members(tp)
    if not members:
        return str(error)
    try:
        kind = json.loads(text).get("type")
    except (ValueError, AttributeError):
        return str(error)
    for member in members:
        field = member.model_fields.get("type")
        if field is not None and kind in typing.get_args(field.annotation):
            try:
                member.model_validate_json(text, strict=True)
            except pydantic.ValidationError as focused:
                return f"as {member.__name__}: {focused}"
            return str(error)
    return f"type {kind!r} is no member of the SDK union ({len(members)} members)"


_NAMES = {
    id(BetaManagedAgentsStreamSessionEvents): "BetaManagedAgentsStreamSessionEvents",
    id(BetaManagedAgentsSessionEvent): "BetaManagedAgentsSessionEvent",
}


def _name(tp: Any) -> str:
    return _NAMES.get(id(tp)) or getattr(tp, "__name__", None) or repr(tp)[:120]


def _clip(text: str | bytes, n: int = 1500) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text if len(text) <= n else text[:n] + "…"


_PAGES: dict[tuple[int, bool], Any] = {}


def page_type(item: Any, bidirectional: bool = False) -> Any:
    """The page shape of the SDK's `SyncPageCursor` / `SyncBidirectionalPageCursor` for `item`."""
    key = (id(item), bidirectional)
    if key not in _PAGES:
        fields: dict[str, Any] = {"data": (List[item], ...), "next_page": (Optional[str], None)}
        if bidirectional:
            fields["prev_page"] = (Optional[str], None)
        _PAGES[key] = (
            item,
            pydantic.create_model(
                f"PageOf{_name(item)[:40]}", __config__=pydantic.ConfigDict(extra="allow"), **fields
            ),
        )
    return _PAGES[key][1]


def call(method: Callable[..., Any], tp: Any, *args: Any, **kwargs: Any) -> Any:
    """Calls an SDK `with_raw_response` method; returns the strictly validated `tp`."""
    raw = method(*args, **kwargs)
    assert raw.status_code == 200, f"HTTP {raw.status_code}: {raw.text()}"
    parsed = strict(tp, raw.text())
    raw.parse()  # the SDK itself must be able to read it too
    return parsed


def call_page(method: Callable[..., Any], item: Any, *args: Any, bidirectional: bool = False, **kwargs: Any) -> Any:
    """Calls an SDK list method through `with_raw_response`; returns the strictly validated page."""
    raw = method(*args, **kwargs)
    assert raw.status_code == 200, f"HTTP {raw.status_code}: {raw.text()}"
    page = strict(page_type(item, bidirectional), raw.text())
    raw.parse()  # the SDK itself must be able to read it too
    return page


# --------------------------------------------------------------------------------------------
# errors

ERROR_OBJECT_TYPES = {
    typing.get_args(member.model_fields["type"].annotation)[0]
    for member in typing.get_args(typing.get_args(ErrorObject)[0])
}


def _details_codes() -> set[str]:
    codes = set()
    for member in typing.get_args(typing.get_args(ErrorDetails)[0]):
        codes.update(typing.get_args(member.model_fields["error_code"].annotation))
    return codes


DETAILS_CODES = _details_codes()


def check_api_error(error: BaseException, status: int, types: typing.Iterable[str]) -> dict[str, Any]:
    """`error` is the SDK's exception for an answer with `status` and the API's error body."""
    assert isinstance(error, anthropic.APIStatusError), f"not an API status error: {error!r}"
    assert error.status_code == status, f"expected HTTP {status}, got {error.status_code}: {error.response.text}"
    text = error.response.text
    try:
        body = json.loads(text)
    except ValueError:
        raise AssertionError(f"error body is not JSON: {text!r}") from None
    assert isinstance(body, dict) and body.get("type") == "error", f"not an error body: {text}"
    assert set(body) <= {"type", "error", "request_id"}, f"unknown top-level keys: {text}"
    inner = body.get("error")
    assert isinstance(inner, dict), f"error body without an error object: {text}"
    assert set(inner) <= {"type", "message", "details"}, f"unknown keys in error: {text}"
    adapter(ErrorType).validate_python(inner.get("type"), strict=True)
    assert inner["type"] in set(types), f"error.type {inner['type']!r}, expected one of {sorted(types)}: {text}"
    assert isinstance(inner.get("message"), str) and inner["message"].strip(), f"no message: {text}"
    if inner["type"] in ERROR_OBJECT_TYPES:
        strict(ErrorResponse, text, allow_extra={"$.error.details"})
    if "details" in inner:
        details = inner["details"]
        assert isinstance(details, dict) and isinstance(details.get("error_code"), str), f"bad details: {text}"
        if details["error_code"] in DETAILS_CODES:
            strict(ErrorDetails, json.dumps(details))
    request_id = body.get("request_id")
    assert isinstance(request_id, str) and request_id, f"no request_id in the error body: {text}"
    assert error.request_id == request_id, (
        f"request-id header {error.request_id!r} differs from the body's request_id {request_id!r}"
    )
    assert error.body == body, "the SDK's e.body differs from the response body"
    assert error.type == inner["type"]
    return body


def expect_error(
    exc_type: type[BaseException] | tuple[type[BaseException], ...],
    status: int | typing.Collection[int],
    types: typing.Iterable[str],
    fn: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """Calls `fn`, which must raise `exc_type` for HTTP `status` (or one of several) with the
    API's error body; returns (the SDK's exception, the body)."""
    statuses = {status} if isinstance(status, int) else set(status)
    try:
        result = fn(*args, **kwargs)
    except anthropic.APIStatusError as raised:
        error = raised
    else:
        if hasattr(result, "close"):
            result.close()
        detail = result.text() if hasattr(result, "text") and callable(result.text) else repr(result)
        pytest.fail(f"expected HTTP {sorted(statuses)}, but the call succeeded: {_clip(detail)}")
    assert error.status_code in statuses, (
        f"expected HTTP {sorted(statuses)}, got {error.status_code}: {error.response.text}"
    )
    body = check_api_error(error, error.status_code, types)
    assert isinstance(error, exc_type), f"the SDK raised {type(error).__name__}, expected {exc_type}: {body}"
    return error, body


# --------------------------------------------------------------------------------------------
# the event stream


class _RecordingDecoder:
    """Wraps the SDK's SSE decoder and keeps every frame it decodes."""

    def __init__(self, inner: Any, frames: list[Any]) -> None:
        self._inner = inner
        self._frames = frames

    def iter_bytes(self, iterator: Any) -> Any:
        for sse in self._inner.iter_bytes(iterator):
            self._frames.append(sse)
            yield sse


class EventStream:
    """`client.beta.sessions.events.stream(...)` (or, with `thread_id`, the SDK's thread stream
    `client.beta.sessions.threads.events.stream(...)`), opened now and read in a background thread.

    The stream is connected when the constructor returns (the SDK returns once the response
    headers arrived), so events sent afterwards must be delivered on it.
    """

    def __init__(
        self,
        client: anthropic.Anthropic,
        session_id: str,
        *,
        thread_id: str | None = None,
        deltas: list[str] | None = None,
        read_timeout: float = 60.0,
    ) -> None:
        kwargs: dict[str, Any] = {} if deltas is None else {"event_deltas": deltas}
        self.session_id = session_id
        if thread_id is None:
            self.stream = client.beta.sessions.events.stream(session_id, timeout=read_timeout, **kwargs)
            self.union = STREAM_EVENT
        else:
            self.stream = client.beta.sessions.threads.events.stream(
                thread_id, session_id=session_id, timeout=read_timeout, **kwargs
            )
            self.union = THREAD_STREAM_EVENT
        self.frames: list[Any] = []
        self.stream._decoder = _RecordingDecoder(self.stream._decoder, self.frames)
        self.events: list[Any] = []
        self.problems: list[str] = []
        self.ended = False
        self.error: BaseException | None = None
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, name=f"stream-{session_id}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self.stream:
                frame = self.frames[-1]
                try:
                    event = strict(self.union, frame.data)
                except AssertionError as problem:
                    self.problems.append(f"frame `event: {frame.event}`: {problem}")
                    event = item
                else:
                    if type(item) is not type(event):
                        self.problems.append(
                            f"the SDK typed {event.type} as {type(item).__name__}, not {type(event).__name__}"
                        )
                with self._cond:
                    self.events.append(event)
                    self._cond.notify_all()
        except BaseException as error:  # noqa: BLE001 - reported to the waiting test
            if not self._closing:
                self.error = error
        finally:
            with self._cond:
                self.ended = True
                self._cond.notify_all()

    # -- waiting

    def wait(self, predicate: Callable[[Any], bool], what: str, *, start: int = 0, timeout: float = 20.0):
        """The first event at index >= start that satisfies `predicate`: (index, event)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            scanned = start
            while True:
                while scanned < len(self.events):
                    if predicate(self.events[scanned]):
                        return scanned, self.events[scanned]
                    scanned += 1
                if self.ended:
                    raise AssertionError(
                        f"the stream ended ({self.error!r}) before {what}; events: {self.summary(start)}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} within {timeout} s; events: {self.summary(start)}")
                self._cond.wait(remaining)

    def wait_type(self, event_type: str, *, start: int = 0, timeout: float = 20.0):
        return self.wait(lambda e: e.type == event_type, event_type, start=start, timeout=timeout)

    def wait_idle(self, *, start: int = 0, timeout: float = 20.0):
        return self.wait_type("session.status_idle", start=start, timeout=timeout)

    def wait_end(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.ended, timeout)

    def snapshot(self) -> list[Any]:
        with self._cond:
            return list(self.events)

    def summary(self, start: int = 0) -> list[str]:
        out = []
        for event in self.events[start:]:
            label = event.type
            if event.type == "session.status_idle":
                label += f"({event.stop_reason.type})"
            elif event.type == "session.error":
                label += f"({event.error.type})"
            out.append(label)
        return out

    # -- end

    def close(self) -> None:
        self._closing = True
        try:
            self.stream.close()
        except Exception:  # noqa: BLE001 - closing a stream another thread is reading
            pass

    def assert_clean(self) -> None:
        """Every frame was a named SSE frame with an event the SDK types strictly."""
        unnamed = [f.data for f in list(self.frames) if f.data and f.event is None]
        assert not unnamed, f"frames without an `event:` line (the SDK silently drops them): {unnamed[:5]}"
        assert not self.problems, "streamed events that fail strict SDK validation:\n" + "\n".join(self.problems)
        assert self.error is None, f"the stream failed: {self.error!r}"


def persisted(events: list[Any]) -> list[Any]:
    return [e for e in events if e.type not in PREVIEW_TYPES]


def check_previews(events: list[Any], *, preview_types: set[str], prefix_only: bool = False) -> int:
    """The `event_start`/`event_delta` previews agree with the final events; returns how many
    `agent.message` previews were checked. With `prefix_only`, a preview's deltas may stop early
    (the API's "best effort: you get a prefix"): what they fold into must begin the final text."""
    from anthropic.lib.sessions import accumulate_managed_agents_event

    starts: dict[str, Any] = {}
    deltas: dict[str, list[Any]] = {}
    snapshots: dict[str, Any] = {}
    finals: dict[str, Any] = {}
    checked = 0
    for event in events:
        if event.type == "event_start":
            assert event.event.type in preview_types, f"preview of {event.event.type}, which was not asked for"
            assert event.event.id not in starts, f"two event_start for {event.event.id}"
            assert event.event.id not in finals, f"event_start for {event.event.id} after its final event"
            starts[event.event.id] = event
            if event.event.type == "agent.message":
                snapshots[event.event.id] = accumulate_managed_agents_event(None, event)
        elif event.type == "event_delta":
            eid = event.event_id
            assert eid in starts, f"event_delta for {eid} without an event_start before it"
            assert eid not in finals, f"event_delta for {eid} after its final event"
            assert starts[eid].event.type == "agent.message", "deltas for a start-only preview"
            deltas.setdefault(eid, []).append(event)
            snapshots[eid] = accumulate_managed_agents_event(snapshots[eid], event)
        elif event.type in ("agent.message", "agent.thinking"):
            finals[event.id] = event
            if event.type in preview_types:
                assert event.id in starts, f"{event.type} {event.id} arrived without an event_start preview"
                assert starts[event.id].event.type == event.type
            if event.type == "agent.message" and "agent.message" in preview_types:
                final_text = "".join(b.text for b in event.content if b.type == "text")
                streamed = "".join(d.delta.content.text for d in deltas.get(event.id, []))
                folded = [getattr(b, "text", None) for b in snapshots[event.id].content]
                if prefix_only:
                    assert final_text.startswith(streamed), f"deltas {streamed!r} do not begin {final_text!r}"
                    finals_text = [getattr(b, "text", None) or "" for b in event.content]
                    assert len(folded) <= len(finals_text) and all(
                        whole.startswith(part or "") for part, whole in zip(folded, finals_text)
                    ), f"the accumulator folds {event.id} into {folded!r}, not a prefix of {finals_text!r}"
                    checked += 1
                    continue
                assert streamed == final_text, f"deltas {streamed!r} != final text {final_text!r}"
                assert folded == [getattr(b, "text", None) for b in event.content], (
                    f"the SDK's accumulator folds the deltas of {event.id} into {folded!r}, "
                    f"the final content is {event.content!r}"
                )
                checked += 1
    dangling = set(starts) - set(finals)
    assert not dangling, f"previews never closed by their final event: {dangling}"
    return checked


def check_spans(events: list[Any]) -> int:
    """Model output lies inside span.model_request_start/end pairs; returns the number of pairs."""
    open_start: str | None = None
    starts: set[str] = set()
    pairs = 0
    for event in persisted(events):
        if event.type == "span.model_request_start":
            assert open_start is None, f"span {event.id} started inside span {open_start}"
            open_start = event.id
            starts.add(event.id)
        elif event.type == "span.model_request_end":
            assert open_start is not None, f"span end {event.id} without a start"
            assert event.model_request_start_id == open_start, (
                f"span end points at {event.model_request_start_id}, the open span is {open_start}"
            )
            open_start = None
            pairs += 1
        elif event.type in ("agent.message", "agent.thinking", "agent.tool_use", "agent.custom_tool_use"):
            assert open_start is not None, f"{event.type} {event.id} outside any model request span"
    return pairs


# --------------------------------------------------------------------------------------------
# small helpers


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def script(*turns: list[dict[str, Any]]) -> str:
    """A scripted-model system prompt, pretty-printed (so parse errors have real line numbers)."""
    return json.dumps({"turns": list(turns)}, indent=2)


def toolset(bash_policy: str | None = None, **per_tool: dict[str, Any]) -> dict[str, Any]:
    configs: list[dict[str, Any]] = []
    if bash_policy is not None:
        configs.append({"name": "bash", "permission_policy": {"type": bash_policy}})
    for name, config in per_tool.items():
        configs.append({"name": name, **config})
    return {
        "type": "agent_toolset_20260401",
        "default_config": {"enabled": True, "permission_policy": {"type": "always_allow"}},
        "configs": configs,
    }


CUSTOM_TOOL = {
    "type": "custom",
    "name": "lookup_order",
    "description": "Look up an order by its number.",
    "input_schema": {"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]},
}


def user_message(text: str) -> dict[str, Any]:
    return {"type": "user.message", "content": [{"type": "text", "text": text}]}


def text_of(event: Any) -> str:
    return "".join(getattr(b, "text", "") for b in (event.content or []))


def events_once_idle(client: Any, session_id: str, timeout: float = 30) -> list[Any]:
    """Every event of the session once `session.status_idle` is among them (a turn has ended)."""

    def idle() -> list[Any] | None:
        events = list(client.beta.sessions.events.list(session_id, limit=1000))
        return events if any(e.type == "session.status_idle" for e in events) else None

    return wait_until(idle, timeout, f"session {session_id} to go idle")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def send(client: anthropic.Anthropic, session_id: str, *events: dict[str, Any]) -> Any:
    """POST …/events through the SDK; the echo is validated strictly and must echo every event."""
    from anthropic.types.beta.sessions.beta_managed_agents_send_session_events import (
        BetaManagedAgentsSendSessionEvents,
    )

    sent = call(
        client.beta.sessions.events.with_raw_response.send,
        BetaManagedAgentsSendSessionEvents,
        session_id,
        events=list(events),
    )
    assert sent.data is not None and [e.type for e in sent.data] == [e["type"] for e in events], (
        f"the echo {sent.data!r} does not match the events sent {events!r}"
    )
    return sent


def walk_pages(method: Callable[..., Any], item: Any, *args: Any, bidirectional: bool = False, **kwargs: Any):
    """Follows `next_page` by hand (`page=` cursors), validating every page strictly.

    Returns (items, pages) where pages is the list of strictly validated pages."""
    items: list[Any] = []
    pages: list[Any] = []
    cursor: str | None = None
    seen_cursors: set[str] = set()
    for _ in range(1000):
        extra = {} if cursor is None else {"page": cursor}
        page = call_page(method, item, *args, bidirectional=bidirectional, **kwargs, **extra)
        pages.append(page)
        items.extend(page.data)
        cursor = page.next_page
        if not cursor:
            return items, pages
        assert cursor not in seen_cursors, f"next_page cursor {cursor!r} repeats"
        seen_cursors.add(cursor)
    raise AssertionError("more than 1000 pages")
