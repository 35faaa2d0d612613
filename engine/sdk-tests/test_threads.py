"""Multiagent agents and sessions through the SDK: `multiagent` resolved as the API does, threads
(list, retrieve, archive, events, the thread stream), subagents, a workflow run, an advisor, a
child thread's confirmation routed to it, and interrupts of one thread or all of them.

Every answer and streamed frame is validated strictly with the SDK's own types."""

from __future__ import annotations

from typing import Any

import anthropic
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent as Agent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession as Session
from anthropic.types.beta.sessions.beta_managed_agents_session_event import BetaManagedAgentsSessionEvent
from anthropic.types.beta.sessions.beta_managed_agents_session_thread import BetaManagedAgentsSessionThread as Thread

import sdk_strict as sx

INVALID = {"invalid_request_error"}


def _agent(client, name: str, *turns: list[dict[str, Any]], **extra: Any) -> Agent:
    return sx.call(
        client.beta.agents.with_raw_response.create,
        Agent,
        name=name,
        model="scripted",
        system=sx.script(*turns),
        **extra,
    )


def _subagents(*agents: Agent, inline: str = "enabled") -> dict[str, Any]:
    return {
        "type": "multiagent_20261001",
        "subagents": {
            "type": "enabled",
            "inline_agents": {"type": inline},
            "predefined_agents": [{"type": "agent", "id": a.id} for a in agents],
        },
    }


def _threads(client, sid: str, **kwargs: Any) -> list[Any]:
    threads, _ = sx.walk_pages(client.beta.sessions.threads.with_raw_response.list, Thread, sid, **kwargs)
    return threads


def _thread_events(client, sid: str, tid: str) -> list[Any]:
    events, _ = sx.walk_pages(
        client.beta.sessions.threads.events.with_raw_response.list,
        BetaManagedAgentsSessionEvent,
        tid,
        session_id=sid,
    )
    return events


def _session_events(client, sid: str) -> list[Any]:
    events, _ = sx.walk_pages(client.beta.sessions.events.with_raw_response.list, BetaManagedAgentsSessionEvent, sid)
    return events


def _run(client, make_session, agent: Agent, *, deltas: list[str] | None = None):
    session = make_session(agent.id)
    stream = sx.EventStream(client, session.id, deltas=deltas)
    sx.send(client, session.id, sx.user_message("go"))
    return session.id, stream


# -- multiagent on agents ------------------------------------------------------------------------


def test_multiagent_is_resolved_checked_and_merged_as_the_api_does(client):
    helper = _agent(client, sx.unique("helper"), [{"text": "ok"}])
    other = _agent(client, sx.unique("other"), [{"text": "ok"}])
    coordinator = _agent(
        client,
        sx.unique("coordinator"),
        [{"text": "ok"}],
        multiagent={"type": "coordinator", "agents": [helper.id, {"type": "self"}, {"type": "advisor", "model": "scripted"}]},
    )
    roster = coordinator.multiagent.agents
    assert [(m.type, getattr(m, "id", None), getattr(m, "version", None)) for m in roster] == [
        ("agent", helper.id, 1),
        ("agent", coordinator.id, 1),
        ("advisor", None, None),
    ]
    # multiagent_20261001 with nothing given: advisor disabled, subagents and workflows enabled.
    defaults = _agent(client, sx.unique("defaults"), [{"text": "ok"}], multiagent={"type": "multiagent_20261001"})
    assert defaults.multiagent.advisor.type == "disabled"
    for member in (defaults.multiagent.subagents, defaults.multiagent.workflows):
        assert member.type == "enabled" and member.inline_agents.type == "enabled" and member.predefined_agents == []

    # Referenced agents exist, are not archived and do not delegate themselves; at most 20.
    bad = [
        {"type": "coordinator", "agents": ["agent_doesnotexist000000000000"]},
        {"type": "coordinator", "agents": [coordinator.id]},
        {"type": "coordinator", "agents": [helper.id, helper.id]},
        {"type": "coordinator", "agents": []},
        {"type": "coordinator", "agents": [helper.id] * 21},
        {"type": "multiagent_20261001", "subagents": {"type": "enabled", "inline_agents": {"type": "disabled"}}},
        {"type": "multiagent_20261001", "subagents": {"type": "enabled", "predefined_agents": [{"type": "advisor", "model": "m"}]}},
    ]
    for multiagent in bad:
        _, body = sx.expect_error(
            anthropic.BadRequestError, 400, INVALID, client.beta.agents.create,
            name="x", model="scripted", system=sx.script([{"text": "a"}]), multiagent=multiagent,
        )
        assert "multiagent" in body["error"]["message"], body
    archived = _agent(client, sx.unique("archived"), [{"text": "ok"}])
    sx.call(client.beta.agents.with_raw_response.archive, Agent, archived.id)
    _, body = sx.expect_error(
        anthropic.BadRequestError, 400, INVALID, client.beta.agents.create,
        name="x", model="scripted", system=sx.script([{"text": "a"}]), multiagent=_subagents(archived),
    )
    assert "archived" in body["error"]["message"]

    # Update: deep-merge onto the stored configuration.
    agent = _agent(client, sx.unique("merging"), [{"text": "ok"}], multiagent=_subagents(helper))
    merged = sx.call(
        client.beta.agents.with_raw_response.update, Agent, agent.id, version=agent.version,
        multiagent={"type": "multiagent_20261001", "advisor": {"type": "enabled", "model": "scripted"}},
    )
    assert merged.version == agent.version + 1
    assert merged.multiagent.advisor.type == "enabled"
    assert [a.id for a in merged.multiagent.subagents.predefined_agents] == [helper.id], "kept"
    replaced = sx.call(
        client.beta.agents.with_raw_response.update, Agent, agent.id, version=merged.version,
        multiagent={"type": "multiagent_20261001", "subagents": {"type": "enabled", "predefined_agents": [other.id]}},
    )
    assert [a.id for a in replaced.multiagent.subagents.predefined_agents] == [other.id], "a sent list replaces"
    assert replaced.multiagent.subagents.inline_agents.type == "enabled"
    reset = sx.call(
        client.beta.agents.with_raw_response.update, Agent, agent.id, version=replaced.version,
        multiagent={"type": "multiagent_20261001", "advisor": None},
    )
    assert reset.multiagent.advisor.type == "disabled", "null gives the default"
    same = sx.call(
        client.beta.agents.with_raw_response.update, Agent, agent.id, version=reset.version,
        multiagent={"type": "multiagent_20261001"},
    )
    assert same.version == reset.version, "an update that changes nothing keeps the version"
    cleared = sx.call(client.beta.agents.with_raw_response.update, Agent, agent.id, version=same.version, multiagent=None)
    assert cleared.multiagent is None


def test_a_session_keeps_the_full_definitions_and_has_one_primary_thread(client, make_session):
    helper = _agent(client, sx.unique("helper"), [{"text": "ok"}], description="Helps.")
    agent = _agent(client, sx.unique("lead"), [{"text": "ok"}], multiagent=_subagents(helper))
    session = make_session(agent.id)
    predefined = session.agent.multiagent.subagents.predefined_agents
    assert [(a.id, a.name, a.description, a.system) for a in predefined] == [
        (helper.id, helper.name, "Helps.", helper.system)
    ]
    threads = _threads(client, session.id)
    assert len(threads) == 1 and threads[0].parent_thread_id is None and threads[0].status == "idle"
    assert threads[0].agent.type == "agent" and threads[0].agent.id == agent.id
    _, body = sx.expect_error(
        anthropic.BadRequestError, 400, INVALID, client.beta.sessions.threads.archive, threads[0].id, session_id=session.id
    )
    assert "primary" in body["error"]["message"]
    sx.expect_error(
        anthropic.NotFoundError, 404, {"not_found_error"},
        client.beta.sessions.threads.retrieve, "sthr_doesnotexist0000000000", session_id=session.id,
    )


# -- threads at run time ---------------------------------------------------------------------------


def test_a_coordinator_delegates_to_two_subagents_in_order(client, make_session):
    researcher = _agent(client, sx.unique("Researcher"), [{"thinking": "look"}, {"text": "Found 3 bugs."}])
    writer = _agent(client, sx.unique("Writer"), [{"text": "Report written."}])
    lead = _agent(
        client,
        sx.unique("Lead"),
        [
            {"text": "Delegating."},
            {"subagent": researcher.name, "message": "Find the bugs."},
            {"subagent": writer.name, "message": "Write them up."},
            {"text": "All done."},
        ],
        multiagent=_subagents(researcher, writer),
    )
    sid, stream = _run(client, make_session, lead, deltas=["agent.message"])
    try:
        i, idle = stream.wait_idle(timeout=30)
        assert idle.stop_reason.type == "end_turn", stream.summary()
        events = sx.persisted(stream.snapshot()[: i + 1])
        kinds = [e.type for e in events]
        per_child = [
            "agent.thread_message_sent",
            "session.thread_created",
            "session.thread_status_running",
            # The child's model request counts in the session's usage, told on its stream.
            "session.usage",
            "session.thread_status_idle",
            "agent.thread_message_received",
        ]
        assert kinds == [
            "user.message",
            "session.status_running",
            "span.model_request_start", "agent.message", "span.model_request_end", "session.usage",
            *per_child, *per_child,
            "span.model_request_start", "agent.message", "span.model_request_end", "session.usage",
            "session.status_idle",
        ], kinds
        threads = {t.id: t for t in _threads(client, sid)}
        assert len(threads) == 3
        sent = [e for e in events if e.type == "agent.thread_message_sent"]
        received = [e for e in events if e.type == "agent.thread_message_received"]
        assert [e.to_agent_name for e in sent] == [researcher.name, writer.name]
        assert [e.from_agent_name for e in received] == [researcher.name, writer.name]
        assert [sx.text_of(e) for e in received] == ["Found 3 bugs.", "Report written."]
        for message, child_name in zip(sent, [researcher.name, writer.name]):
            child = threads[message.to_session_thread_id]
            assert child.parent_thread_id is not None and child.agent.name == child_name
            assert child.status == "idle" and child.usage is not None and child.usage.output_tokens > 0
        # The child's own events are in its list, not the session's; the session's list is
        # what its stream carried.
        child_id = sent[0].to_session_thread_id
        child_kinds = [e.type for e in _thread_events(client, sid, child_id)]
        assert child_kinds == [
            "session.thread_created",
            "agent.thread_message_received",
            "session.thread_status_running",
            "span.model_request_start", "agent.thinking", "agent.message", "span.model_request_end",
            "agent.thread_message_sent",
            "session.thread_status_idle",
        ], child_kinds
        assert [e.id for e in _session_events(client, sid)] == [e.id for e in events]
        assert not [e for e in stream.snapshot() if e.type == "event_start" and e.event.id not in {x.id for x in events}], (
            "the session's stream previews only the primary thread"
        )
        primary = [t for t in threads.values() if t.parent_thread_id is None][0]
        assert [e.type for e in _thread_events(client, sid, primary.id)][:3] == [
            "user.message", "session.status_running", "span.model_request_start"
        ]
        stream.assert_clean()
    finally:
        stream.close()


def test_the_thread_stream_carries_a_childs_events_and_previews(client, make_session):
    slow = _agent(client, sx.unique("Slow"), [{"sleep_ms": 1500}, {"text": "Slowly done, in several words."}])
    lead = _agent(client, sx.unique("Lead"), [{"subagent": slow.name, "message": "Take your time."}], multiagent=_subagents(slow))
    sid, stream = _run(client, make_session, lead)
    try:
        _, created = stream.wait_type("session.thread_created", timeout=30)
        child = sx.EventStream(client, sid, thread_id=created.session_thread_id, deltas=["agent.message"])
        try:
            _, message = child.wait_type("agent.message", timeout=30)
            assert sx.text_of(message) == "Slowly done, in several words."
            child.wait_type("session.thread_status_idle", timeout=30)
            assert sx.check_previews(child.snapshot(), preview_types={"agent.message"}) == 1
            child.assert_clean()
        finally:
            child.close()
        stream.wait_idle(timeout=30)
        stream.assert_clean()
    finally:
        stream.close()


def test_a_workflow_runs_its_phases_and_an_inline_agent(client, make_session):
    inline = {"name": "Tester", "script": {"turns": [[{"text": "Tests pass."}]]}}
    lead = _agent(
        client,
        sx.unique("Release"),
        [{"workflow": {"name": "Release", "description": "Ship it.", "phases": [
            {"name": "Build"},
            {"name": "Test", "subagent": inline, "message": "Run the tests."},
        ]}}, {"text": "Released."}],
        multiagent={"type": "multiagent_20261001"},
    )
    sid, stream = _run(client, make_session, lead)
    try:
        i, idle = stream.wait_idle(timeout=30)
        assert idle.stop_reason.type == "end_turn", stream.summary()
        events = sx.persisted(stream.snapshot()[: i + 1])
        workflow = [e for e in events if e.type.startswith("workflow_run.")]
        assert [e.type for e in workflow] == [
            "workflow_run.created", "workflow_run.status_running",
            "workflow_run.phase_started", "workflow_run.phase_ended",
            "workflow_run.phase_started", "workflow_run.phase_ended",
            "workflow_run.status_idle", "workflow_run.status_ended",
        ]
        created = workflow[0]
        assert [p.name for p in created.phases] == ["Build", "Test"] and created.description == "Ship it."
        assert workflow[2].workflow_run_phase_id == created.phases[0].id
        assert workflow[3].phase_started_id == workflow[2].id
        assert workflow[-1].result.type == "completed"
        thread_created = [e for e in events if e.type == "session.thread_created"]
        assert len(thread_created) == 1 and thread_created[0].workflow_run_id == created.workflow_run_id
        thread = sx.call(
            client.beta.sessions.threads.with_raw_response.retrieve, Thread,
            thread_created[0].session_thread_id, session_id=sid,
        )
        assert thread.agent.type == "inline" and thread.agent.name == "Tester"
        assert thread.workflow_run_id == created.workflow_run_id
        stream.assert_clean()
    finally:
        stream.close()


def test_the_advisor_is_consulted_on_a_thread_of_its_own(client, make_session):
    lead = _agent(
        client,
        sx.unique("Asker"),
        [{"advisor": "Should we ship?", "answer": "Yes, ship it."}, {"text": "Shipping."}],
        multiagent={"type": "multiagent_20261001", "advisor": {"type": "enabled", "model": "claude-advisor"}},
    )
    sid, stream = _run(client, make_session, lead)
    try:
        i, idle = stream.wait_idle(timeout=30)
        events = sx.persisted(stream.snapshot()[: i + 1])
        received = [e for e in events if e.type == "agent.thread_message_received"]
        assert len(received) == 1 and sx.text_of(received[0]) == "Yes, ship it."
        assert received[0].from_agent_name == "anthropic.advisor"
        advisor = sx.call(
            client.beta.sessions.threads.with_raw_response.retrieve, Thread,
            received[0].from_session_thread_id, session_id=sid,
        )
        assert advisor.agent.type == "advisor" and advisor.agent.model == "claude-advisor"
        stream.assert_clean()
    finally:
        stream.close()
    # Without an advisor enabled, the step fails the turn with a session.error that says why.
    plain = _agent(client, sx.unique("NoAdvisor"), [{"advisor": "?", "answer": "!"}], multiagent={"type": "multiagent_20261001"})
    sid, stream = _run(client, make_session, plain)
    try:
        i, idle = stream.wait_idle(timeout=30)
        assert idle.stop_reason.type == "retries_exhausted"
        error = [e for e in stream.snapshot()[:i] if e.type == "session.error"][0]
        assert "advisor" in error.error.message
    finally:
        stream.close()


def test_a_childs_call_waits_like_the_primarys_and_the_answer_reaches_its_thread(client, make_session):
    careful = _agent(
        client,
        sx.unique("Careful"),
        [{"tool": "bash", "input": {"command": "echo child-$((6*7))"}}, {"text": "Ran it."}],
        tools=[sx.toolset("always_ask")],
    )
    lead = _agent(client, sx.unique("Lead"), [{"subagent": careful.name, "message": "Run it."}, {"text": "Thanks."}], multiagent=_subagents(careful))
    sid, stream = _run(client, make_session, lead)
    try:
        i1, idle1 = stream.wait_idle(timeout=30)
        assert idle1.stop_reason.type == "requires_action", stream.summary()
        use = [e for e in stream.snapshot()[:i1] if e.type == "agent.tool_use"][0]
        assert use.session_thread_id is not None, "a child's call is cross-posted with its thread"
        assert idle1.stop_reason.event_ids == [use.id]
        child_idle = [e for e in stream.snapshot()[:i1] if e.type == "session.thread_status_idle"][0]
        assert child_idle.stop_reason.type == "requires_action" and child_idle.session_thread_id == use.session_thread_id
        session = sx.call(client.beta.sessions.with_raw_response.retrieve, Session, sid)
        assert session.status == "idle"
        echo = sx.send(client, sid, {"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"})
        assert echo.data[0].session_thread_id == use.session_thread_id, "the echo names the thread it was routed to"
        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=30)
        assert idle2.stop_reason.type == "end_turn", stream.summary(i1 + 1)
        after = stream.snapshot()[i1 + 1 : i2]
        assert not [e for e in after if e.type == "agent.tool_result"], "the result is the child's own"
        results = [e for e in _thread_events(client, sid, use.session_thread_id) if e.type == "agent.tool_result"]
        assert len(results) == 1 and "child-42" in sx.text_of(results[0])
        stream.assert_clean()
    finally:
        stream.close()


def test_interrupting_one_thread_lets_the_primary_go_on_and_without_a_thread_stops_all(client, make_session):
    sleeper = _agent(client, sx.unique("Sleeper"), [{"sleep_ms": 20000}, {"text": "too late"}])
    lead = _agent(client, sx.unique("Lead"), [{"subagent": sleeper.name, "message": "Sleep."}, {"text": "Moving on."}], multiagent=_subagents(sleeper))
    sid, stream = _run(client, make_session, lead)
    try:
        _, running = stream.wait_type("session.thread_status_running", timeout=30)
        sx.send(client, sid, {"type": "user.interrupt", "session_thread_id": running.session_thread_id})
        i, idle = stream.wait_idle(timeout=10)
        assert idle.stop_reason.type == "end_turn"
        events = stream.snapshot()[:i]
        child_idle = [e for e in events if e.type == "session.thread_status_idle"]
        assert len(child_idle) == 1 and child_idle[0].stop_reason.type == "end_turn"
        assert "Moving on." in [sx.text_of(e) for e in events if e.type == "agent.message"], "the primary went on"
        assert "too late" not in [sx.text_of(e) for e in events if e.type == "agent.message"]
        sx.expect_error(
            anthropic.BadRequestError, 400, INVALID, sx.send, client, sid,
            {"type": "user.interrupt", "session_thread_id": "sthr_doesnotexist0000000000"},
        )
        # Archive the finished child: it leaves the default list of interruptible threads.
        archived = sx.call(
            client.beta.sessions.threads.with_raw_response.archive, Thread, running.session_thread_id, session_id=sid
        )
        assert archived.archived_at is not None
        idle_threads = _threads(client, sid, statuses=["idle"])
        assert len(idle_threads) == 2
        assert _threads(client, sid, statuses=["running"]) == []
        one_a_page, pages = sx.walk_pages(client.beta.sessions.threads.with_raw_response.list, Thread, sid, limit=1)
        assert len(pages) == 2 and len(one_a_page) == 2
        stream.assert_clean()
    finally:
        stream.close()
    sid, stream = _run(client, make_session, lead)
    try:
        stream.wait_type("session.thread_status_running", timeout=30)
        sx.send(client, sid, {"type": "user.interrupt"})
        i, idle = stream.wait_idle(timeout=10)
        assert idle.stop_reason.type == "end_turn"
        assert "Moving on." not in [sx.text_of(e) for e in stream.snapshot()[:i] if e.type == "agent.message"]
        assert [t.status for t in _threads(client, sid)] == ["idle", "idle"]
    finally:
        stream.close()
