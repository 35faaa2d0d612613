"""The event stream beyond the main flow: previews are a per-connection opt-in, the stream is live
only (no replay), several streams see the same events; initial_events; session.updated; files
mounted into a session."""

from __future__ import annotations

import json

from anthropic.types.beta.beta_file_metadata import BetaFileMetadata
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession as Session
from anthropic.types.beta.sessions.beta_managed_agents_session_resource import BetaManagedAgentsSessionResource

import sdk_strict as sx


def _history(client, sid):
    events, _ = sx.walk_pages(client.beta.sessions.events.with_raw_response.list, sx.SESSION_EVENT, sid)
    return events


def _ended_turns(client, sid):
    return len([e for e in _history(client, sid) if e.type == "session.status_idle"])


def test_previews_are_per_connection_and_the_stream_is_live_only(client, make_agent, make_session):
    agent = make_agent([[{"thinking": "hmm"}, {"text": "hello there, general"}]])
    sid = make_session(agent.id).id
    sx.send(client, sid, sx.user_message("first, with nobody listening"))
    sx.wait_until(lambda: _ended_turns(client, sid) >= 1, 20, "the first turn to end")

    both = sx.EventStream(client, sid, deltas=["agent.message", "agent.thinking"])
    plain = sx.EventStream(client, sid)
    thinking_only = sx.EventStream(client, sid, deltas=["agent.thinking"])
    streams = [both, plain, thinking_only]
    try:
        sent = sx.send(client, sid, sx.user_message("second"))
        for stream in streams:
            _, idle = stream.wait_idle(timeout=20)
            assert idle.stop_reason.type == "end_turn"
        ids = []
        for stream in streams:
            events = sx.persisted(stream.snapshot())
            assert events[0].id == sent.data[0].id, (
                f"a new stream must start with live events, not replay history: {stream.summary()}"
            )
            ids.append([e.id for e in events])
            stream.assert_clean()
        assert ids[0] == ids[1] == ids[2], "streams of one session disagree"

        events = both.snapshot()
        assert sx.check_previews(events, preview_types={"agent.message", "agent.thinking"}) == 1
        started = sorted(e.event.type for e in events if e.type == "event_start")
        assert started == ["agent.message", "agent.thinking"], started

        assert not [e for e in plain.snapshot() if e.type in sx.PREVIEW_TYPES], "previews nobody asked for"

        events = thinking_only.snapshot()
        assert sx.check_previews(events, preview_types={"agent.thinking"}) == 0
        assert [e.event.type for e in events if e.type == "event_start"] == ["agent.thinking"]
        assert not [e for e in events if e.type == "event_delta"], "agent.thinking previews are start-only"
    finally:
        for stream in streams:
            stream.close()


def test_initial_events_start_the_agent(client, make_agent, environment):
    agent = make_agent([[{"text": "started by initial events"}]])
    session = sx.call(
        client.beta.sessions.with_raw_response.create,
        Session,
        agent=agent.id,
        environment_id=environment.id,
        initial_events=[sx.user_message("kick off")],
    )
    sx.wait_until(lambda: _ended_turns(client, session.id) >= 1, 20, "the turn started by initial_events to end")
    history = _history(client, session.id)
    assert history[0].type == "user.message" and sx.text_of(history[0]) == "kick off"
    assert [sx.text_of(e) for e in history if e.type == "agent.message"] == ["started by initial events"]
    assert history[-1].type == "session.status_idle" and history[-1].stop_reason.type == "end_turn"


def test_session_update_emits_session_updated_with_the_changed_fields(client, make_agent, make_session):
    agent = make_agent([[{"text": "hi"}]])
    sid = make_session(agent.id, title="before", metadata={"a": "1"}).id
    stream = sx.EventStream(client, sid)
    try:
        updated = sx.call(
            client.beta.sessions.with_raw_response.update, Session, sid, title="after", metadata={"b": "2"}
        )
        assert updated.title == "after" and updated.metadata == {"a": "1", "b": "2"}
        _, event = stream.wait_type("session.updated", timeout=5)
        assert event.title == "after" and event.metadata == {"a": "1", "b": "2"}
        (frame,) = [f for f in stream.frames if f.data and json.loads(f.data).get("id") == event.id]
        assert set(json.loads(frame.data)) == {"type", "id", "processed_at", "title", "metadata"}, (
            f"session.updated must carry only the changed fields: {frame.data}"
        )
        stream.assert_clean()
    finally:
        stream.close()
    assert event.id in [e.id for e in _history(client, sid) if e.type == "session.updated"]


def test_uploaded_file_is_mounted_into_the_session(client, make_agent, make_session):
    content = b"a,b\n1,2\n"
    uploaded = sx.call(
        client.beta.files.with_raw_response.upload, BetaFileMetadata, file=("data.csv", content, "text/csv")
    )
    path = f"/mnt/session/uploads/{uploaded.id}"
    agent = make_agent(
        [[{"tool": "bash", "input": {"command": f"cat {path}"}}, {"text": "read it"}]],
        tools=[sx.toolset("always_allow")],
    )
    session = make_session(agent.id, resources=[{"type": "file", "file_id": uploaded.id}])
    (resource,) = session.resources
    assert resource.type == "file" and resource.file_id == uploaded.id and resource.mount_path == path
    listed, _ = sx.walk_pages(
        client.beta.sessions.resources.with_raw_response.list, BetaManagedAgentsSessionResource, session.id
    )
    assert [r.model_dump() for r in listed] == [resource.model_dump()]

    stream = sx.EventStream(client, session.id)
    try:
        sx.send(client, session.id, sx.user_message("read the file"))
        i, idle = stream.wait_idle(timeout=30)
        assert idle.stop_reason.type == "end_turn"
        (result,) = [e for e in stream.snapshot()[:i] if e.type == "agent.tool_result"]
        assert not result.is_error and sx.text_of(result).strip() == content.decode().strip(), result.content
        stream.assert_clean()
    finally:
        stream.close()
