"""The whole flow a console user goes through, driven only by the SDK and validated strictly:
agent + environment + session, a live stream with `agent.message` previews, a tool call that needs
approval, a custom tool, the history agreeing with the stream, an interrupt, and a file the agent
wrote under /mnt/session/outputs."""

from __future__ import annotations

import time

from anthropic.types.beta.beta_file_metadata import BetaFileMetadata
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession

import sdk_strict as sx

REPORT = b"report-bytes\n"
BASH_COMMAND = (
    "mkdir -p /mnt/session/outputs && printf 'report-bytes\\n' > /mnt/session/outputs/report.txt && echo written"
)
NEVER = "This text must never appear."
TURNS = [
    [
        {"thinking": "The user wants a report on an order."},
        {"text": "Let me write the report first."},
        {"tool": "bash", "input": {"command": BASH_COMMAND}},
        {"text": "Now the order itself."},
        {"custom_tool": "lookup_order", "input": {"order": "A-17"}},
        {"text": "Your order A-17 has shipped."},
    ],
    [{"sleep_ms": 5000}, {"text": NEVER}],
]


def _between(events, start, end, event_type):
    return [e for e in events[start:end] if e.type == event_type]


def test_full_flow(client, make_agent, make_session, environment):
    # -- agent, environment, session -------------------------------------------------------
    agent = make_agent(TURNS, tools=[sx.toolset("always_ask"), sx.CUSTOM_TOOL])
    assert agent.type == "agent" and agent.version == 1 and agent.archived_at is None
    assert agent.model.id == "scripted"
    assert agent.system == sx.script(*TURNS)
    assert [t.type for t in agent.tools] == ["agent_toolset_20260401", "custom"]
    toolset = agent.tools[0]
    assert toolset.default_config.permission_policy.type == "always_allow"
    bash = [c for c in toolset.configs if c.name == "bash"]
    assert len(bash) == 1 and bash[0].type == "bash" and bash[0].permission_policy.type == "always_ask"
    assert agent.tools[1].name == "lookup_order"

    session = make_session(agent.id, title="sdk full flow")
    assert session.status == "idle"
    assert session.agent.id == agent.id and session.agent.version == 1
    assert session.environment_id == environment.id and session.title == "sdk full flow"
    sid = session.id
    again = sx.call(client.beta.sessions.with_raw_response.retrieve, BetaManagedAgentsSession, sid)
    assert again.id == sid and again.agent.id == agent.id

    stream = sx.EventStream(client, sid, deltas=["agent.message"])
    try:
        # -- turn 1: the bash call needs approval ----------------------------------------------
        sent = sx.send(client, sid, sx.user_message("Report on order A-17, please."))
        message_id = sent.data[0].id
        assert message_id, "the user.message echo has no id"

        i1, idle1 = stream.wait_idle(timeout=30)
        events = stream.snapshot()
        echoes = _between(events, 0, i1, "user.message")
        assert [e.id for e in echoes] == [message_id], "the stream must carry the user.message echo"
        assert _between(events, 0, i1, "session.status_running"), "no session.status_running before idling"
        assert _between(events, 0, i1, "agent.thinking"), "the thinking step produced no agent.thinking"
        assert [sx.text_of(e) for e in _between(events, 0, i1, "agent.message")] == ["Let me write the report first."]
        (tool_use,) = _between(events, 0, i1, "agent.tool_use")
        assert tool_use.name == "bash" and tool_use.input == {"command": BASH_COMMAND}
        assert tool_use.evaluated_permission == "ask"
        assert tool_use.evaluation is not None and tool_use.evaluation.type == "always_ask"
        assert not _between(events, 0, i1, "agent.tool_result"), "an always_ask tool ran before it was approved"
        assert idle1.stop_reason.type == "requires_action", stream.summary()
        assert idle1.stop_reason.event_ids == [tool_use.id]

        status = sx.call(client.beta.sessions.with_raw_response.retrieve, BetaManagedAgentsSession, sid).status
        assert status == "idle", f"session waiting for a confirmation reports status {status!r}"

        # -- approve: bash runs, then the custom tool is called --------------------------------
        echo = sx.send(client, sid, {"type": "user.tool_confirmation", "tool_use_id": tool_use.id, "result": "allow"})
        assert echo.data[0].tool_use_id == tool_use.id and echo.data[0].result == "allow"

        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=30)
        events = stream.snapshot()
        confirmations = _between(events, i1 + 1, i2, "user.tool_confirmation")
        assert [c.tool_use_id for c in confirmations] == [tool_use.id]
        (result,) = _between(events, i1 + 1, i2, "agent.tool_result")
        assert result.tool_use_id == tool_use.id
        assert not result.is_error, f"bash failed: {result.content!r}"
        assert "written" in sx.text_of(result), f"bash output not in the tool result: {result.content!r}"
        (custom,) = _between(events, i1 + 1, i2, "agent.custom_tool_use")
        assert custom.name == "lookup_order" and custom.input == {"order": "A-17"}
        assert idle2.stop_reason.type == "requires_action", stream.summary()
        assert idle2.stop_reason.event_ids == [custom.id]

        # -- answer the custom tool: the turn ends ---------------------------------------------
        echo = sx.send(
            client,
            sid,
            {
                "type": "user.custom_tool_result",
                "custom_tool_use_id": custom.id,
                "content": [{"type": "text", "text": "A-17 shipped on 2026-11-20"}],
            },
        )
        assert echo.data[0].custom_tool_use_id == custom.id

        i3, idle3 = stream.wait_idle(start=i2 + 1, timeout=30)
        events = stream.snapshot()
        assert idle3.stop_reason.type == "end_turn", stream.summary()
        assert [c.custom_tool_use_id for c in _between(events, i2 + 1, i3, "user.custom_tool_result")] == [custom.id]
        assert [sx.text_of(e) for e in _between(events, i2 + 1, i3, "agent.message")] == [
            "Your order A-17 has shipped."
        ]

        # -- previews and spans ----------------------------------------------------------------
        assert sx.check_previews(events, preview_types={"agent.message"}) == 3, (
            "each of the three agent.message events must be previewed by event_start/event_delta"
        )
        assert any(e.type == "event_delta" for e in events), "no event_delta at all"
        assert sx.check_spans(events) >= 3, "each of the three model requests needs a span"
        ids = [e.id for e in sx.persisted(events)]
        assert len(ids) == len(set(ids)), "an event id was streamed twice"

        # -- usage adds up ----------------------------------------------------------------------
        spans = [e for e in events if e.type == "span.model_request_end"]
        usage = sx.call(client.beta.sessions.with_raw_response.retrieve, BetaManagedAgentsSession, sid).usage
        assert usage.input_tokens == sum(e.model_usage.input_tokens for e in spans), (
            f"session usage {usage!r} is not the sum of its model requests' usage"
        )
        assert usage.output_tokens == sum(e.model_usage.output_tokens for e in spans) > 0
        # Each model request is followed by the session's cumulative usage, the last one the
        # session's own figures.
        snapshots = [e for e in events if e.type == "session.usage"]
        assert len(snapshots) == len(spans), stream.summary()
        totals = [e.usage.input_tokens for e in snapshots]
        assert totals == sorted(totals) and totals[-1] == usage.input_tokens, (snapshots, usage)
        assert snapshots[-1].usage.output_tokens == usage.output_tokens
        assert snapshots[-1].usage.list_cost is not None and snapshots[-1].usage.list_cost.currency == "USD"

        # -- the history agrees with the stream ------------------------------------------------
        listed, _ = sx.walk_pages(client.beta.sessions.events.with_raw_response.list, sx.SESSION_EVENT, sid)
        listed_ids = [e.id for e in listed]
        auto_ids = [e.id for e in client.beta.sessions.events.list(sid)]
        assert auto_ids == listed_ids, "SDK auto-pagination and page= cursors disagree"
        sx.wait_until(
            lambda: listed_ids[-1] in {e.id for e in sx.persisted(stream.snapshot())},
            5,
            "the stream to catch up with the history",
        )
        streamed = sx.persisted(stream.snapshot())
        streamed_ids = [e.id for e in streamed]
        assert streamed_ids[0] in listed_ids, f"first streamed event {streamed_ids[0]} is not in the history"
        first = listed_ids.index(streamed_ids[0])
        assert listed_ids[first:] == streamed_ids, "history and stream differ in ids or order"
        before = [e.type for e in listed[:first]]
        assert not [t for t in before if t.startswith(("user.", "agent.", "span."))], (
            f"history has events before the stream's first one that the stream should have carried: {before}"
        )
        by_id = {e.id: e for e in streamed}
        for event in listed[first:]:
            assert event.model_dump() == by_id[event.id].model_dump(), (
                f"{event.type} {event.id} differs between history and stream"
            )

        # -- turn 2: interrupt a sleeping turn ---------------------------------------------------
        turn2_sent = time.monotonic()
        sx.send(client, sid, sx.user_message("Second turn."))
        i_run, _ = stream.wait_type("session.status_running", start=i3 + 1, timeout=10)
        interrupt_sent = time.monotonic()
        sx.send(client, sid, {"type": "user.interrupt"})
        i4, idle4 = stream.wait_idle(start=i_run + 1, timeout=10)
        took = time.monotonic() - interrupt_sent
        assert idle4.stop_reason.type == "end_turn", stream.summary(i3 + 1)
        assert took < 3.0, f"the interrupt took {took:.1f} s to idle a 5 s sleep"
        assert _between(stream.snapshot(), i3 + 1, i4 + 1, "user.interrupt"), "no user.interrupt echo on the stream"
        status = sx.call(client.beta.sessions.with_raw_response.retrieve, BetaManagedAgentsSession, sid).status
        assert status == "idle"

        # -- the file bash wrote is a session-scoped, downloadable file ------------------------------
        files, _ = sx.walk_pages(client.beta.files.with_raw_response.list, BetaFileMetadata, scope_id=sid)
        reports = [f for f in files if f.filename == "report.txt"]
        assert len(reports) == 1, f"files with scope_id={sid}: {[f.filename for f in files]}"
        report = reports[0]
        assert report.scope is not None and report.scope.type == "session" and report.scope.id == sid
        assert report.downloadable is True
        assert report.size_bytes == len(REPORT)
        assert report.id in [f.id for f in client.beta.files.list(scope_id=sid)]
        meta = sx.call(client.beta.files.with_raw_response.retrieve_metadata, BetaFileMetadata, report.id)
        assert meta.model_dump() == report.model_dump()
        assert client.beta.files.download(report.id).read() == REPORT

        # -- the interrupted turn stays interrupted --------------------------------------------
        time.sleep(max(0.0, turn2_sent + 5.5 - time.monotonic()))
        listed, _ = sx.walk_pages(client.beta.sessions.events.with_raw_response.list, sx.SESSION_EVENT, sid)
        assert not [e for e in listed if e.type == "agent.message" and NEVER in sx.text_of(e)], (
            "the interrupted turn went on after its sleep"
        )
        last_idle = [e for e in listed if e.type == "session.status_idle"][-1]
        assert last_idle.id == idle4.id, "the session left idle after the interrupt"
        stream.assert_clean()
    finally:
        stream.close()
