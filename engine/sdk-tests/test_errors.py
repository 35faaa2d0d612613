"""Error answers: status, SDK exception class and the API's error body
`{"type":"error","error":{"type","message"},"request_id"}`."""

from __future__ import annotations

import re

import anthropic
import pytest
from anthropic.types.beta.beta_file_metadata import BetaFileMetadata
from anthropic.types.beta.beta_invalid_metadata_error import BetaInvalidMetadataError
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent as Agent
from anthropic.types.file_not_downloadable_error import FileNotDownloadableError

import sdk_strict as sx

INVALID = {"invalid_request_error"}
NOT_FOUND = {"not_found_error"}


def test_wrong_key_is_401(engine):
    bad = engine.client(api_key="sk-wrong-key")
    sx.expect_error(anthropic.AuthenticationError, 401, {"authentication_error"}, bad.beta.agents.list)
    sx.expect_error(
        anthropic.AuthenticationError,
        401,
        {"authentication_error"},
        bad.beta.agents.create,
        name="x",
        model="scripted",
    )
    sx.expect_error(anthropic.AuthenticationError, 401, {"authentication_error"}, bad.beta.files.list)


UNKNOWN_ID_CALLS = {
    "agents.retrieve": lambda c: c.beta.agents.retrieve("agent_doesnotexist"),
    "agents.update": lambda c: c.beta.agents.update("agent_doesnotexist", name="x"),
    "agents.archive": lambda c: c.beta.agents.archive("agent_doesnotexist"),
    "agents.versions.list": lambda c: c.beta.agents.versions.list("agent_doesnotexist"),
    "environments.retrieve": lambda c: c.beta.environments.retrieve("env_doesnotexist"),
    "environments.update": lambda c: c.beta.environments.update("env_doesnotexist", name="x"),
    "environments.archive": lambda c: c.beta.environments.archive("env_doesnotexist"),
    "environments.delete": lambda c: c.beta.environments.delete("env_doesnotexist"),
    "sessions.retrieve": lambda c: c.beta.sessions.retrieve("sesn_doesnotexist"),
    "sessions.update": lambda c: c.beta.sessions.update("sesn_doesnotexist", title="x"),
    "sessions.archive": lambda c: c.beta.sessions.archive("sesn_doesnotexist"),
    "sessions.delete": lambda c: c.beta.sessions.delete("sesn_doesnotexist"),
    "sessions.events.list": lambda c: c.beta.sessions.events.list("sesn_doesnotexist"),
    "sessions.events.send": lambda c: c.beta.sessions.events.send(
        "sesn_doesnotexist", events=[sx.user_message("hi")]
    ),
    "sessions.events.stream": lambda c: c.beta.sessions.events.stream("sesn_doesnotexist"),
    "files.retrieve_metadata": lambda c: c.beta.files.retrieve_metadata("file_doesnotexist"),
    "files.download": lambda c: c.beta.files.download("file_doesnotexist"),
    "files.delete": lambda c: c.beta.files.delete("file_doesnotexist"),
}


@pytest.mark.parametrize("name", sorted(UNKNOWN_ID_CALLS))
def test_unknown_id_is_404(client, name):
    sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, UNKNOWN_ID_CALLS[name], client)


@pytest.fixture
def idle_session(make_agent, make_session):
    return make_session(make_agent([[{"text": "hi"}]]).id)


INVALID_BODIES = {
    "agent with an empty name": lambda c, s: c.beta.agents.create(name="", model="scripted"),
    "agent config for a tool that does not exist": lambda c, s: c.beta.agents.create(
        name="x",
        model="scripted",
        system=sx.script([{"text": "hi"}]),
        tools=[{"type": "agent_toolset_20260401", "configs": [{"name": "teleport"}]}],
    ),
    "custom tool with an invalid name": lambda c, s: c.beta.agents.create(
        name="x",
        model="scripted",
        system=sx.script([{"text": "hi"}]),
        tools=[{**sx.CUSTOM_TOOL, "name": "not a valid name!"}],
    ),
    "unknown tool type": lambda c, s: c.beta.agents.create(
        name="x", model="scripted", system=sx.script([{"text": "hi"}]), tools=[{"type": "warp_drive"}]
    ),
    "environment networking of an unknown type": lambda c, s: c.beta.environments.create(
        name="x", config={"type": "cloud", "networking": {"type": "sometimes"}}
    ),
    "event of an unknown type": lambda c, s: c.beta.sessions.events.send(s.id, events=[{"type": "user.shout"}]),
    "user.message without content": lambda c, s: c.beta.sessions.events.send(s.id, events=[{"type": "user.message"}]),
    "tool confirmation with result maybe": lambda c, s: c.beta.sessions.events.send(
        s.id, events=[{"type": "user.tool_confirmation", "tool_use_id": "sevt_x", "result": "maybe"}]
    ),
    "events body that is not a list": lambda c, s: c.beta.sessions.events.send(s.id, events="hello"),
    "stream with an unknown event_deltas type": lambda c, s: c.beta.sessions.events.stream(
        s.id, event_deltas=["agent.shout"]
    ),
    "events list with order sideways": lambda c, s: c.beta.sessions.events.list(s.id, order="sideways"),
    "events list with a cursor it never returned": lambda c, s: c.beta.sessions.events.list(s.id, page="garbage"),
    "agents list with limit 0": lambda c, s: c.beta.agents.list(limit=0),
}


@pytest.mark.parametrize("name", sorted(INVALID_BODIES))
def test_invalid_request_is_400(client, idle_session, name):
    sx.expect_error(anthropic.BadRequestError, 400, INVALID, INVALID_BODIES[name], client, idle_session)


def test_too_much_metadata_is_invalid_metadata(client):
    error, body = sx.expect_error(
        BetaInvalidMetadataError,
        400,
        INVALID,
        client.beta.agents.create,
        name="x",
        model="scripted",
        system=sx.script([{"text": "hi"}]),
        metadata={f"k{i}": "v" for i in range(17)},
    )
    assert error.error_code == "invalid_metadata"


def test_script_that_does_not_parse_names_line_and_column(client, make_agent):
    bad = '{\n  "turns": [[\n    {"txt": "Hi"}\n  ]]\n}'
    _, body = sx.expect_error(
        anthropic.BadRequestError, 400, INVALID, client.beta.agents.create, name="x", model="scripted", system=bad
    )
    message = body["error"]["message"]
    assert re.search(r"\bline 3\b", message) and "column" in message, f"no line/column: {message!r}"

    _, body = sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.agents.create,
        name="x",
        model="scripted",
        system="You are a helpful assistant.",
    )
    assert re.search(r"\bline 1\b", body["error"]["message"]), body

    agent = make_agent([[{"text": "fine"}]])
    _, body = sx.expect_error(
        anthropic.BadRequestError,
        400,
        INVALID,
        client.beta.agents.update,
        agent.id,
        system='{"turns": [[{"text": 1}]]}',
    )
    assert "line" in body["error"]["message"], body
    after = sx.call(client.beta.agents.with_raw_response.retrieve, Agent, agent.id)
    assert after.version == 1 and after.system == agent.system, "a rejected update changed the agent"


def test_uploads_are_not_downloadable(client):
    uploaded = sx.call(
        client.beta.files.with_raw_response.upload,
        BetaFileMetadata,
        file=("notes.txt", b"uploaded bytes\n", "text/plain"),
    )
    assert uploaded.filename == "notes.txt" and uploaded.size_bytes == len(b"uploaded bytes\n")
    assert uploaded.downloadable is False
    assert uploaded.id in [f.id for f in client.beta.files.list()]
    meta = sx.call(client.beta.files.with_raw_response.retrieve_metadata, BetaFileMetadata, uploaded.id)
    assert meta.model_dump() == uploaded.model_dump()

    error, _ = sx.expect_error(FileNotDownloadableError, 400, INVALID, client.beta.files.download, uploaded.id)
    assert error.error_code == "file_not_downloadable"

    from anthropic.types.beta.beta_deleted_file import BetaDeletedFile

    deleted = sx.call(client.beta.files.with_raw_response.delete, BetaDeletedFile, uploaded.id)
    assert deleted.id == uploaded.id
    sx.expect_error(anthropic.NotFoundError, 404, NOT_FOUND, client.beta.files.retrieve_metadata, uploaded.id)


def test_confirmations_for_calls_that_are_not_pending(client, make_agent, make_session):
    agent = make_agent(
        [[{"tool": "bash", "input": {"command": "echo once"}}, {"text": "done"}]], tools=[sx.toolset("always_ask")]
    )
    sid = make_session(agent.id).id
    stream = sx.EventStream(client, sid)
    send = client.beta.sessions.events.send

    def confirm(tool_use_id, result="allow"):
        return send(sid, events=[{"type": "user.tool_confirmation", "tool_use_id": tool_use_id, "result": result}])

    try:
        sent = sx.send(client, sid, sx.user_message("go"))
        i1, idle1 = stream.wait_idle(timeout=30)
        assert idle1.stop_reason.type == "requires_action"
        (use_id,) = idle1.stop_reason.event_ids

        sx.expect_error(anthropic.BadRequestError, 400, INVALID, confirm, "sevt_doesnotexist")
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, confirm, sent.data[0].id)
        sx.expect_error(
            anthropic.BadRequestError,
            400,
            INVALID,
            send,
            sid,
            events=[{"type": "user.custom_tool_result", "custom_tool_use_id": use_id, "content": []}],
        )

        sx.send(client, sid, {"type": "user.tool_confirmation", "tool_use_id": use_id, "result": "allow"})
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, confirm, use_id)
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, confirm, use_id, "deny")

        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=30)
        assert idle2.stop_reason.type == "end_turn", stream.summary()
        sx.expect_error(anthropic.BadRequestError, 400, INVALID, confirm, use_id)
        stream.assert_clean()
    finally:
        stream.close()

    history, _ = sx.walk_pages(client.beta.sessions.events.with_raw_response.list, sx.SESSION_EVENT, sid)
    confirmations = [e for e in history if e.type == "user.tool_confirmation"]
    assert [(c.tool_use_id, c.result) for c in confirmations] == [(use_id, "allow")], (
        "rejected confirmations must leave no trace in the history"
    )
    results = [e for e in history if e.type == "agent.tool_result"]
    assert len(results) == 1 and "once" in sx.text_of(results[0]), "the approved call must run exactly once"
