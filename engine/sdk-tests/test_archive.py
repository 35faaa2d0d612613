"""Archive and delete rules for agents, environments and sessions."""

from __future__ import annotations

import anthropic
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_environment_archived_error import BetaEnvironmentArchivedError
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent as Agent
from anthropic.types.beta.beta_managed_agents_deleted_session import BetaManagedAgentsDeletedSession
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession as Session

import sdk_strict as sx

INVALID = {"invalid_request_error"}
REJECTED = {"invalid_request_error", "conflict_error"}


def test_archived_agent_is_read_only_and_starts_no_sessions(client, make_agent, make_session, environment):
    agent = make_agent([[{"text": "still here"}]])
    existing = make_session(agent.id)

    archived = sx.call(client.beta.agents.with_raw_response.archive, Agent, agent.id)
    assert archived.id == agent.id and archived.archived_at is not None
    assert archived.version == agent.version
    again = sx.call(client.beta.agents.with_raw_response.retrieve, Agent, agent.id)
    assert again.archived_at is not None

    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.sessions.create,
        agent=agent.id,
        environment_id=environment.id,
    )
    sx.expect_error(
        (anthropic.BadRequestError, anthropic.ConflictError),
        {400, 409},
        REJECTED,
        client.beta.agents.update,
        agent.id,
        description="edited after archiving",
    )
    after = sx.call(client.beta.agents.with_raw_response.retrieve, Agent, agent.id)
    assert after.version == agent.version and after.description == agent.description

    listed = [a.id for a in client.beta.agents.list(limit=100)]
    assert agent.id not in listed, "archived agents are hidden unless include_archived=true"
    listed = [a.id for a in client.beta.agents.list(limit=100, include_archived=True)]
    assert agent.id in listed

    # Sessions that already exist keep working.
    stream = sx.EventStream(client, existing.id)
    try:
        sx.send(client, existing.id, sx.user_message("hello"))
        i, idle = stream.wait_idle(timeout=30)
        assert idle.stop_reason.type == "end_turn"
        assert [sx.text_of(e) for e in stream.snapshot()[:i] if e.type == "agent.message"] == ["still here"]
        stream.assert_clean()
    finally:
        stream.close()


def test_archived_environment_cannot_be_used_or_updated(client, make_agent):
    env = sx.call(client.beta.environments.with_raw_response.create, BetaEnvironment, name=sx.unique("archived-env"))
    archived = sx.call(client.beta.environments.with_raw_response.archive, BetaEnvironment, env.id)
    assert archived.id == env.id and archived.archived_at is not None

    agent = make_agent([[{"text": "hi"}]])
    sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.sessions.create,
        agent=agent.id,
        environment_id=env.id,
    )
    error, body = sx.expect_error(
        BetaEnvironmentArchivedError,
        400,
        INVALID,
        client.beta.environments.update,
        env.id,
        description="edited after archiving",
    )
    assert error.error_code == "environment_archived"

    assert env.id not in [e.id for e in client.beta.environments.list(limit=100)]
    assert env.id in [e.id for e in client.beta.environments.list(limit=100, include_archived=True)]


def test_session_archive(client, make_agent, make_session):
    agent = make_agent([[{"text": "hi"}]])
    session = make_session(agent.id)
    archived = sx.call(client.beta.sessions.with_raw_response.archive, Session, session.id)
    assert archived.id == session.id and archived.archived_at is not None
    again = sx.call(client.beta.sessions.with_raw_response.retrieve, Session, session.id)
    assert again.archived_at is not None

    assert session.id not in [s.id for s in client.beta.sessions.list(agent_id=agent.id)]
    assert session.id in [s.id for s in client.beta.sessions.list(agent_id=agent.id, include_archived=True)]

    sx.expect_error(
        (anthropic.BadRequestError, anthropic.ConflictError),
        {400, 409},
        REJECTED,
        client.beta.sessions.events.send,
        session.id,
        events=[sx.user_message("anyone there?")],
    )


def test_session_delete_ends_the_stream_and_the_session_is_gone(client, make_agent, make_session):
    agent = make_agent([[{"text": "hi"}]])
    session = make_session(agent.id)
    stream = sx.EventStream(client, session.id)
    try:
        deleted = sx.call(client.beta.sessions.with_raw_response.delete, BetaManagedAgentsDeletedSession, session.id)
        assert deleted.id == session.id and deleted.type == "session_deleted"

        assert stream.wait_end(5.0), f"the open stream did not end after the delete; got {stream.summary()}"
        events = stream.snapshot()
        assert [e.type for e in events][-1:] == ["session.deleted"], (
            f"the stream should deliver session.deleted before it ends; got {stream.summary()}"
        )
        stream.assert_clean()
    finally:
        stream.close()

    not_found = (anthropic.NotFoundError, 404, {"not_found_error"})
    sx.expect_error(*not_found, client.beta.sessions.retrieve, session.id)
    sx.expect_error(*not_found, client.beta.sessions.events.list, session.id)
    sx.expect_error(*not_found, client.beta.sessions.events.send, session.id, events=[sx.user_message("hi")])
    sx.expect_error(*not_found, client.beta.sessions.delete, session.id)
    listed = [s.id for s in client.beta.sessions.list(agent_id=agent.id, include_archived=True)]
    assert session.id not in listed


def test_environment_delete(client):
    from anthropic.types.beta.beta_environment_delete_response import BetaEnvironmentDeleteResponse

    env = sx.call(client.beta.environments.with_raw_response.create, BetaEnvironment, name=sx.unique("doomed-env"))
    deleted = sx.call(client.beta.environments.with_raw_response.delete, BetaEnvironmentDeleteResponse, env.id)
    assert deleted.id == env.id and deleted.type == "environment_deleted"
    sx.expect_error(anthropic.NotFoundError, 404, {"not_found_error"}, client.beta.environments.retrieve, env.id)
    assert env.id not in [e.id for e in client.beta.environments.list(limit=100, include_archived=True)]
