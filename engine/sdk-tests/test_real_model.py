"""Real models, checked with the official SDK.

The project's Messages-compatible test server (`switchboard-engine messages-test-server`) must
stream exactly as Anthropic's API does: the SDK's own Messages stream parser
(`client.messages.stream`) reads every reply of a script back to the blocks it was given, and
its failures arrive as the SDK's typed errors. Then an engine pointed at that server
(`SWITCHBOARD_ENGINE_MODEL_URL`) plays a real-model turn that the SDK reads strictly: previews
that fold into the final events, spans around the model output, the tool call and its result.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Iterator

import anthropic
import pytest
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession

import sdk_strict as sx
from conftest import running_engine, start_messages_test_server

THINKING = {"type": "thinking", "thinking": "Two tools at once will be quicker.", "signature": "EqQBCkYIBxgCKkD-sig"}
TEXT = {"type": "text", "text": "Checking both files — “quoted”, and with émoji 🎉 across chunk boundaries."}
CALL_A = {"type": "tool_use", "id": "toolu_01A", "name": "read", "input": {"file_path": "a.txt", "view_range": [1, 5]}}
CALL_B = {"type": "tool_use", "id": "toolu_01B", "name": "grep", "input": {"pattern": "fn \\w+\\(", "path": "src"}}


@pytest.fixture
def test_server(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(script: dict[str, Any]) -> str:
        process, url = start_messages_test_server(tmp_path, script)
        started.append(process)
        return url

    yield start
    for process in started:
        process.terminate()
        process.wait(10)


def _messages(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="sk-test-server", max_retries=0, timeout=10.0)


def test_the_test_server_streams_as_the_sdk_parses(test_server):
    url = test_server(
        {
            "replies": [
                {"content": [THINKING, TEXT, CALL_A, CALL_B], "stop_reason": "tool_use"},
                {"content": [TEXT], "usage": {"input_tokens": 1234, "output_tokens": 56, "cache_read_input_tokens": 1000}},
            ]
        }
    )
    client = _messages(url)
    request = {"model": "claude-test-1", "max_tokens": 1024, "messages": [{"role": "user", "content": "go"}]}
    texts: list[str] = []
    with client.messages.stream(**request) as stream:
        for event in stream:
            if event.type == "text":
                texts.append(event.text)
        final = stream.get_final_message()
    assert [block.model_dump(exclude_none=True) for block in final.content] == [THINKING, TEXT, CALL_A, CALL_B]
    assert "".join(texts) == TEXT["text"] and len(texts) > 1, "text arrives in several deltas"
    assert final.stop_reason == "tool_use"
    assert final.role == "assistant" and final.model == "claude-test-1"

    with client.messages.stream(**request) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens) == (1234, 56, 1000)


def test_the_test_servers_failures_are_the_sdks_typed_errors(test_server):
    url = test_server(
        {
            "replies": [
                {"status": 429, "retry_after": 7},
                {"status": 529},
                {"content": [TEXT], "cut_after": 4},
                {"content": [TEXT], "error": "overloaded_error"},
            ]
        }
    )
    client = _messages(url)
    request = {"model": "claude-test-1", "max_tokens": 64, "messages": [{"role": "user", "content": "go"}]}
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(**request)
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(**request)
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"

    # Cut mid-message: the stream ends without message_stop, so no whole message comes of it.
    with client.messages.stream(**request) as stream:
        seen = [event.type for event in stream]
        assert "message_stop" not in seen and "content_block_start" in seen
    # An error event mid-stream is raised by the SDK as the API error it names.
    with pytest.raises(anthropic.APIStatusError) as in_stream:
        with client.messages.stream(**request) as stream:
            for _ in stream:
                pass
    assert "overloaded_error" in str(in_stream.value)


def test_an_engine_runs_a_real_model_turn_the_sdk_reads_strictly(test_server, tmp_path_factory):
    url = test_server(
        {
            "replies": [
                {"content": [THINKING, TEXT, CALL_A, CALL_B], "stop_reason": "tool_use"},
                {"content": [{"type": "text", "text": "Neither file is there; the workspace is empty."}]},
            ]
        }
    )
    data_dir = tmp_path_factory.mktemp("real-model-engine")
    with running_engine(data_dir, {"SWITCHBOARD_ENGINE_MODEL_URL": url}) as engine:
        client = engine.client()
        environment = sx.call(
            client.beta.environments.with_raw_response.create,
            BetaEnvironment,
            name=sx.unique("real-model-env"),
            config={"type": "cloud", "networking": {"type": "limited"}},
        )
        agent = sx.call(
            client.beta.agents.with_raw_response.create,
            BetaManagedAgentsAgent,
            name=sx.unique("real-model-agent"),
            model="claude-test-1",
            system="You are terse.",
            tools=[sx.toolset()],
        )
        session = sx.call(
            client.beta.sessions.with_raw_response.create,
            BetaManagedAgentsSession,
            agent=agent.id,
            environment_id=environment.id,
        )
        stream = sx.EventStream(client, session.id, deltas=["agent.message", "agent.thinking"])
        try:
            sx.send(client, session.id, sx.user_message("look at a.txt and src"))
            _, idle = stream.wait_idle(timeout=30)
            events = stream.snapshot()
        finally:
            stream.close()
        assert not stream.problems, stream.problems
        assert idle.stop_reason.type == "end_turn"
        assert sx.check_previews(events, preview_types={"agent.message", "agent.thinking"}) == 2
        assert sx.check_spans(events) == 2
        persisted = sx.persisted(events)
        calls = [e for e in persisted if e.type == "agent.tool_use"]
        assert [(c.name, c.input) for c in calls] == [("read", CALL_A["input"]), ("grep", CALL_B["input"])]
        results = {e.tool_use_id: e for e in persisted if e.type == "agent.tool_result"}
        assert set(results) == {c.id for c in calls}
        assert all(results[c.id].is_error for c in calls), "a.txt and src do not exist in a new workspace"
        thinking = [e for e in persisted if e.type == "agent.thinking"]
        assert len(thinking) == 1 and "Two tools" not in thinking[0].model_dump_json()
        retrieved = client.beta.sessions.retrieve(session.id)
        assert retrieved.usage is not None and (retrieved.usage.output_tokens or 0) > 0

        models = client.beta.models.list()
        assert [m.id for m in models.data][:1] == ["scripted"]
