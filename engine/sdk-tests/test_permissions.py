"""Permission policies of the built-in toolset and scripted model errors, as a client sees them."""

from __future__ import annotations

import anthropic
from anthropic.types.beta.beta_file_metadata import BetaFileMetadata
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession

import sdk_strict as sx


def _start(client, make_agent, make_session, turns, tools):
    agent = make_agent(turns, tools=tools)
    session = make_session(agent.id)
    stream = sx.EventStream(client, session.id)
    sx.send(client, session.id, sx.user_message("go"))
    return agent, session.id, stream


def _only(events, event_type):
    found = [e for e in events if e.type == event_type]
    assert len(found) == 1, f"expected one {event_type}, got {[e.type for e in events]}"
    return found[0]


def test_always_allow_runs_without_asking(client, make_agent, make_session):
    turns = [[{"tool": "bash", "input": {"command": "echo allowed-$((40+2))"}}, {"text": "done"}]]
    _, sid, stream = _start(client, make_agent, make_session, turns, [sx.toolset("always_allow")])
    try:
        i, idle = stream.wait_idle(timeout=30)
        events = stream.snapshot()[: i + 1]
        assert idle.stop_reason.type == "end_turn", stream.summary()
        use = _only(events, "agent.tool_use")
        assert use.evaluated_permission == "allow"
        assert use.evaluation is not None and use.evaluation.type == "always_allow"
        result = _only(events, "agent.tool_result")
        assert result.tool_use_id == use.id and not result.is_error
        assert "allowed-42" in sx.text_of(result), "the command did not really run in a shell"
        stream.assert_clean()
    finally:
        stream.close()


def test_deny_with_message_is_an_error_result_and_the_tool_does_not_run(client, make_agent, make_session):
    command = "mkdir -p /mnt/session/outputs && echo ran > /mnt/session/outputs/denied.txt"
    turns = [[{"tool": "bash", "input": {"command": command}}, {"text": "understood"}]]
    _, sid, stream = _start(client, make_agent, make_session, turns, [sx.toolset("always_ask")])
    try:
        i1, idle1 = stream.wait_idle(timeout=30)
        use = _only(stream.snapshot()[:i1], "agent.tool_use")
        assert idle1.stop_reason.type == "requires_action" and idle1.stop_reason.event_ids == [use.id]
        echo = sx.send(
            client,
            sid,
            {"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "deny", "deny_message": "Not today."},
        )
        assert echo.data[0].result == "deny" and echo.data[0].deny_message == "Not today."
        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=30)
        assert idle2.stop_reason.type == "end_turn", stream.summary()
        result = _only(stream.snapshot()[i1 + 1 : i2], "agent.tool_result")
        assert result.tool_use_id == use.id
        assert result.is_error is True
        assert "Not today." in sx.text_of(result), f"deny_message not passed on: {result.content!r}"
        files, _ = sx.walk_pages(client.beta.files.with_raw_response.list, BetaFileMetadata, scope_id=sid)
        assert "denied.txt" not in [f.filename for f in files], "a denied command ran anyway"
        stream.assert_clean()
    finally:
        stream.close()


def test_auto_policy_asks_as_indeterminate(client, make_agent, make_session):
    turns = [[{"tool": "bash", "input": {"command": "echo auto-ok"}}, {"text": "done"}]]
    _, sid, stream = _start(client, make_agent, make_session, turns, [sx.toolset("auto")])
    try:
        i1, idle1 = stream.wait_idle(timeout=30)
        use = _only(stream.snapshot()[:i1], "agent.tool_use")
        assert use.evaluated_permission == "ask"
        assert use.evaluation is not None and use.evaluation.type == "auto"
        assert use.evaluation.evaluated_permission.type == "ask"
        assert use.evaluation.evaluated_permission.reason_code == "indeterminate"
        assert idle1.stop_reason.type == "requires_action" and idle1.stop_reason.event_ids == [use.id]
        sx.send(client, sid, {"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"})
        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=30)
        assert idle2.stop_reason.type == "end_turn"
        result = _only(stream.snapshot()[i1 + 1 : i2], "agent.tool_result")
        assert not result.is_error and "auto-ok" in sx.text_of(result)
        stream.assert_clean()
    finally:
        stream.close()


def test_disabled_tool_is_denied_without_asking(client, make_agent, make_session):
    turns = [[{"tool": "bash", "input": {"command": "echo nope"}}, {"text": "after"}]]
    agent, sid, stream = _start(client, make_agent, make_session, turns, [sx.toolset(bash={"enabled": False})])
    try:
        (bash,) = [c for c in agent.tools[0].configs if c.name == "bash"]
        assert bash.enabled is False
        i, idle = stream.wait_idle(timeout=30)
        events = stream.snapshot()[: i + 1]
        assert idle.stop_reason.type == "end_turn", f"a disabled tool must not wait for approval: {stream.summary()}"
        use = _only(events, "agent.tool_use")
        assert use.evaluated_permission == "deny"
        assert use.evaluation is None, "a refusal before any policy carries no evaluation"
        result = _only(events, "agent.tool_result")
        assert result.tool_use_id == use.id and result.is_error is True
        assert "nope" not in sx.text_of(result)
        assert [sx.text_of(e) for e in events if e.type == "agent.message"] == ["after"]
        stream.assert_clean()
    finally:
        stream.close()


def test_scripted_error_is_a_session_error_then_retries_exhausted(client, make_agent, make_session):
    turns = [[{"text": "trying"}, {"error": "model_overloaded_error", "retry_status": "exhausted"}]]
    _, sid, stream = _start(client, make_agent, make_session, turns, None)
    try:
        i, idle = stream.wait_idle(timeout=30)
        error = _only(stream.snapshot()[:i], "session.error")
        assert error.error.type == "model_overloaded_error"
        assert error.error.retry_status.type == "exhausted"
        assert error.error.message.strip()
        assert idle.stop_reason.type == "retries_exhausted", stream.summary()
        status = sx.call(client.beta.sessions.with_raw_response.retrieve, BetaManagedAgentsSession, sid).status
        assert status == "idle", "an exhausted error leaves the session idle (not terminated)"
        stream.assert_clean()
    finally:
        stream.close()


def test_parallel_calls_are_resolved_one_by_one(client, make_agent, make_session):
    turns = [
        [
            {"text": "both at once"},
            {"tool": "bash", "input": {"command": "echo parallel-ran"}},
            {"custom_tool": "lookup_order", "input": {"order": "B-2"}},
            {"text": "all answered"},
        ]
    ]
    _, sid, stream = _start(client, make_agent, make_session, turns, [sx.toolset("always_ask"), sx.CUSTOM_TOOL])
    try:
        i1, idle1 = stream.wait_idle(timeout=30)
        use = _only(stream.snapshot()[:i1], "agent.tool_use")
        custom = _only(stream.snapshot()[:i1], "agent.custom_tool_use")
        assert idle1.stop_reason.type == "requires_action"
        assert sorted(idle1.stop_reason.event_ids) == sorted([use.id, custom.id])

        sx.send(client, sid, {"type": "user.custom_tool_result", "custom_tool_use_id": custom.id, "content": []})
        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=10)
        assert idle2.stop_reason.type == "requires_action" and idle2.stop_reason.event_ids == [use.id], (
            "resolving one of two calls re-emits idle with the remainder"
        )
        assert not [e for e in stream.snapshot()[i1 + 1 : i2] if e.type.startswith("agent.")], stream.summary(i1)
        sx.expect_error(
            anthropic.BadRequestError,
            400,
            {"invalid_request_error"},
            client.beta.sessions.events.send,
            sid,
            events=[{"type": "user.custom_tool_result", "custom_tool_use_id": custom.id, "content": []}],
        )

        sx.send(client, sid, {"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"})
        i3, idle3 = stream.wait_idle(start=i2 + 1, timeout=30)
        assert idle3.stop_reason.type == "end_turn", stream.summary(i2)
        result = _only(stream.snapshot()[i2 + 1 : i3], "agent.tool_result")
        assert "parallel-ran" in sx.text_of(result)
        assert [sx.text_of(e) for e in stream.snapshot()[i2 + 1 : i3] if e.type == "agent.message"] == ["all answered"]
        stream.assert_clean()
    finally:
        stream.close()


def test_interrupt_while_waiting_for_approval_ends_the_turn_without_running_the_tool(
    client, make_agent, make_session
):
    turns = [
        [{"tool": "bash", "input": {"command": "echo should-not-run"}}, {"text": "never said"}],
        [{"text": "second turn"}],
    ]
    _, sid, stream = _start(client, make_agent, make_session, turns, [sx.toolset("always_ask")])
    try:
        i1, idle1 = stream.wait_idle(timeout=30)
        assert idle1.stop_reason.type == "requires_action"
        sx.send(client, sid, {"type": "user.interrupt"})
        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=10)
        assert idle2.stop_reason.type == "end_turn", stream.summary(i1)
        sx.send(client, sid, sx.user_message("next"))
        i3, idle3 = stream.wait_idle(start=i2 + 1, timeout=10)
        assert idle3.stop_reason.type == "end_turn"
        events = stream.snapshot()
        ran = [e for e in events if e.type == "agent.tool_result" and "should-not-run" in sx.text_of(e)]
        assert not ran, "an interrupted, unapproved call ran"
        assert [sx.text_of(e) for e in events if e.type == "agent.message"] == ["second turn"]
        stream.assert_clean()
    finally:
        stream.close()
