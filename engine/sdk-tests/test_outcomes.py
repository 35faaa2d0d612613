"""Outcomes through the SDK: `user.define_outcome` (text and file rubrics), the grader's verdict
per iteration (`span.outcome_evaluation_*`), revisions until satisfied, `max_iterations_reached`
with its final turn, and the session's `outcome_evaluations`."""

from __future__ import annotations

import anthropic
from anthropic.types.beta.beta_file_metadata import BetaFileMetadata
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent as Agent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession as Session

import sdk_strict as sx

INVALID = {"invalid_request_error"}


def _graded_agent(client, grader: list[dict[str, str]]) -> Agent:
    import json

    script = {"turns": [[{"text": "Draft one."}], [{"text": "Draft two."}], [{"text": "Draft three."}]], "grader": grader}
    return sx.call(
        client.beta.agents.with_raw_response.create,
        Agent,
        name=sx.unique("graded"),
        model="scripted",
        system=json.dumps(script, indent=2),
    )


def _outcome(max_iterations: int | None = None, rubric: dict | None = None) -> dict:
    outcome = {
        "type": "user.define_outcome",
        "description": "A one-page summary.",
        "rubric": rubric or {"type": "text", "content": "- fits on one page\n- names every bug"},
    }
    if max_iterations is not None:
        outcome["max_iterations"] = max_iterations
    return outcome


def test_needs_revision_then_satisfied(client, make_session):
    agent = _graded_agent(
        client,
        [{"result": "needs_revision", "explanation": "It misses two bugs."}, {"result": "satisfied", "explanation": "Complete."}],
    )
    session = make_session(agent.id)
    stream = sx.EventStream(client, session.id)
    try:
        echo = sx.send(client, session.id, _outcome())
        outcome_id = echo.data[0].outcome_id
        assert outcome_id.startswith("outc_") and echo.data[0].max_iterations == 3
        i, idle = stream.wait_idle(timeout=30)
        assert idle.stop_reason.type == "end_turn", stream.summary()
        events = sx.persisted(stream.snapshot()[:i])
        kinds = [e.type for e in events if e.type.startswith(("span.outcome", "agent.message", "session.status"))]
        assert kinds == [
            "session.status_running",
            "agent.message",
            "span.outcome_evaluation_start", "span.outcome_evaluation_ongoing", "span.outcome_evaluation_end",
            "agent.message",
            "span.outcome_evaluation_start", "span.outcome_evaluation_ongoing", "span.outcome_evaluation_end",
        ], kinds
        ends = [e for e in events if e.type == "span.outcome_evaluation_end"]
        starts = [e for e in events if e.type == "span.outcome_evaluation_start"]
        assert [(e.iteration, e.result, e.explanation) for e in ends] == [
            (0, "needs_revision", "It misses two bugs."),
            (1, "satisfied", "Complete."),
        ]
        assert [e.outcome_evaluation_start_id for e in ends] == [e.id for e in starts]
        assert all(e.outcome_id == outcome_id and e.usage.output_tokens > 0 for e in ends)
        assert [sx.text_of(e) for e in events if e.type == "agent.message"] == ["Draft one.", "Draft two."]
        session = sx.call(client.beta.sessions.with_raw_response.retrieve, Session, session.id)
        (evaluation,) = session.outcome_evaluations
        assert (evaluation.outcome_id, evaluation.iteration, evaluation.result) == (outcome_id, 1, "satisfied")
        assert evaluation.explanation == "Complete." and evaluation.completed_at is not None
        assert evaluation.description == "A one-page summary."
        stream.assert_clean()
    finally:
        stream.close()


def test_max_iterations_reached_ends_with_one_final_turn(client, make_session):
    agent = _graded_agent(client, [{"result": "needs_revision", "explanation": "Still too long."}])
    # Defined when the session starts, as initial_events allow.
    session = make_session(agent.id, initial_events=[_outcome(max_iterations=2)])
    stream = sx.EventStream(client, session.id)
    try:
        sx.wait_until(
            lambda: sx.call(client.beta.sessions.with_raw_response.retrieve, Session, session.id).status == "idle"
            and sx.call(client.beta.sessions.with_raw_response.retrieve, Session, session.id).outcome_evaluations[0].completed_at,
            30,
            "the outcome to end",
        )
        final = sx.call(client.beta.sessions.with_raw_response.retrieve, Session, session.id)
        (evaluation,) = final.outcome_evaluations
        assert (evaluation.iteration, evaluation.result) == (1, "max_iterations_reached")
        from anthropic.types.beta.sessions.beta_managed_agents_session_event import BetaManagedAgentsSessionEvent

        events, _ = sx.walk_pages(client.beta.sessions.events.with_raw_response.list, BetaManagedAgentsSessionEvent, session.id)
        ends = [e.result for e in events if e.type == "span.outcome_evaluation_end"]
        assert ends == ["needs_revision", "max_iterations_reached"]
        messages = [sx.text_of(e) for e in events if e.type == "agent.message"]
        assert messages == ["Draft one.", "Draft two.", "Draft three."], "one final turn, not graded"
        assert events[-1].type == "session.status_idle" and events[-1].stop_reason.type == "end_turn"
    finally:
        stream.close()


def test_a_file_rubric_comes_back_as_text_and_bad_outcomes_are_refused(client, make_session):
    agent = _graded_agent(client, [])
    session = make_session(agent.id)
    uploaded = sx.call(
        client.beta.files.with_raw_response.upload,
        BetaFileMetadata,
        file=("rubric.md", b"# Rubric\n- one page\n", "text/markdown"),
    )
    stream = sx.EventStream(client, session.id)
    try:
        echo = sx.send(client, session.id, _outcome(rubric={"type": "file", "file_id": uploaded.id}))
        assert echo.data[0].rubric.type == "text" and echo.data[0].rubric.content == "# Rubric\n- one page\n"
        i, idle = stream.wait_idle(timeout=30)
        end = [e for e in stream.snapshot()[:i] if e.type == "span.outcome_evaluation_end"]
        assert [e.result for e in end] == ["satisfied"], "without a grader every iteration is satisfied"
    finally:
        stream.close()
    for bad in (
        _outcome(max_iterations=0),
        _outcome(max_iterations=21),
        {**_outcome(), "description": " "},
        _outcome(rubric={"type": "text", "content": ""}),
        _outcome(rubric={"type": "file", "file_id": "file_doesnotexist000000000"}),
    ):
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, sx.send, client, session.id, bad)
