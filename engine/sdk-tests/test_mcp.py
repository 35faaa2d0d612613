"""An agent's MCP servers, with credentials from the session's vaults, checked through the SDK.

A test MCP server of the official Python SDK (`mcp_test_server.py`) demands a bearer token. The
engine (its data sealed with `SWITCHBOARD_ENGINE_SECRET_KEY`, loopback let in with
`SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS`) connects to it from its own host with the token of the
session's vault: a scripted session and a real-model one (the Messages test server) call its
tools; the token reaches the server's `Authorization` header and no event, log line or file of
the data directory; so does a server of the older HTTP+SSE transport. A call under `always_ask` waits for its confirmation and runs once; a server
that is not there, a token it refuses, and `limited` networking without `allow_mcp_servers` each
end in worded errors while the turn goes on to its end; an expired `mcp_oauth` access token is
refreshed once, and a refresh that fails sends `vault_credential.refresh_failed`.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import sdk_strict as sx
from conftest import running_engine, start_messages_test_server
from mcp_test_server import McpTestServer, closed_port_url
from test_webhooks import Receiver

TOKEN = "mcp-token-" + secrets.token_hex(12)


@pytest.fixture
def mcp_server() -> Iterator[McpTestServer]:
    server = McpTestServer({TOKEN}, refresh_tokens={"refresh-ok": "mcp-access-refreshed"})
    yield server
    server.close()


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    receiver = Receiver(refuse_first=False)
    yield receiver
    receiver.close()


@pytest.fixture
def engine_env(tmp_path: Path, hooks: Receiver) -> dict[str, str]:
    return {
        "SWITCHBOARD_ENGINE_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS": "127.0.0.1",
        "SWITCHBOARD_ENGINE_WEBHOOK_URL": hooks.url,
        "SWITCHBOARD_ENGINE_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "RUST_LOG": "debug",
    }


def _toolset(policy: str = "always_allow", server: str = "tools") -> dict[str, Any]:
    return {"type": "mcp_toolset", "mcp_server_name": server, "default_config": {"permission_policy": {"type": policy}}}


def _agent(client: Any, url: str, turns: list[list[dict[str, Any]]] | None = None, **extra: Any) -> Any:
    return client.beta.agents.create(
        name=sx.unique("mcp"),
        model=extra.pop("model", "scripted"),
        system=extra.pop("system", None) or sx.script(*(turns or [])),
        mcp_servers=[{"type": "url", "name": "tools", "url": url}],
        tools=extra.pop("tools", None) or [_toolset()],
        **extra,
    )


def _vault(client: Any, auth: dict[str, Any]) -> tuple[str, str]:
    vault = client.beta.vaults.create(display_name=sx.unique("mcp-vault"))
    credential = client.beta.vaults.credentials.create(vault.id, auth=auth)
    return vault.id, credential.id


def _bearer_vault(client: Any, url: str, token: str = TOKEN) -> str:
    """A vault holding a `static_bearer` credential of `token` for the server at `url`."""
    return _vault(client, {"type": "static_bearer", "mcp_server_url": url, "token": token})[0]


def _data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    return data


def _session(client: Any, agent_id: str, vault_id: str | None, networking: dict[str, Any] | None = None) -> str:
    config = {"type": "cloud", "networking": networking or {"type": "unrestricted"}}
    environment = client.beta.environments.create(name=sx.unique("mcp-env"), config=config)
    extra = {"vault_ids": [vault_id]} if vault_id else {}
    return client.beta.sessions.create(agent=agent_id, environment_id=environment.id, **extra).id


def _run(client: Any, session_id: str, text: str = "go", idles: int = 1) -> list[Any]:
    sx.send(client, session_id, sx.user_message(text))
    return _idle(client, session_id, idles)


def _idle(client: Any, session_id: str, count: int) -> list[Any]:
    def idled() -> list[Any] | None:
        events = list(client.beta.sessions.events.list(session_id, limit=1000))
        return events if sum(e.type == "session.status_idle" for e in events) >= count else None

    return sx.wait_until(idled, 60, f"session {session_id} to go idle {count} time(s)")


def _only(events: list[Any], kind: str) -> Any:
    found = [e for e in events if e.type == kind]
    assert len(found) == 1, (kind, [e.type for e in events])
    return found[0]


def _text(event: Any) -> str:
    return "".join(getattr(block, "text", "") for block in (event.content or []))


def _nowhere(data: Path, stderr: Path, *secrets_: str) -> None:
    """None of `secrets_` is in the engine's log or in any file of its data directory."""
    log = stderr.read_text()
    files = [p for p in data.rglob("*") if p.is_file()]
    for secret in secrets_:
        assert secret not in log, f"{secret!r} is in the engine's log"
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} is in {path}"


def test_a_scripted_session_calls_mcp_tools_with_the_vaults_token_shown_nowhere(
    tmp_path: Path, mcp_server: McpTestServer, engine_env: dict[str, str]
) -> None:
    data = _data_dir(tmp_path)
    with running_engine(data, engine_env) as engine:
        client = engine.client()
        turns = [[{"mcp_tool": "echo", "server": "tools", "input": {"text": "hello"}}, {"text": "done"}]]
        agent = _agent(client, mcp_server.url, turns)
        vault_id = _bearer_vault(client, mcp_server.url)
        session_id = _session(client, agent.id, vault_id)
        events = _run(client, session_id)

        use = _only(events, "agent.mcp_tool_use")
        assert (use.mcp_server_name, use.name, use.input) == ("tools", "echo", {"text": "hello"})
        assert use.evaluated_permission == "allow"
        result = _only(events, "agent.mcp_tool_result")
        assert result.mcp_tool_use_id == use.id and not result.is_error
        assert _text(result) == "echo: hello"
        assert events[-1].stop_reason.type == "end_turn"
        assert mcp_server.calls == ["echo"]
        assert f"Bearer {TOKEN}" in mcp_server.authorizations

        every = json.dumps([e.model_dump(mode="json") for e in events])
        assert TOKEN not in every
    _nowhere(data, tmp_path / "data-stderr.log", TOKEN)


def test_a_server_of_the_older_sse_transport_is_reached_with_the_token(tmp_path: Path, engine_env: dict[str, str]) -> None:
    older = McpTestServer({TOKEN}, sse=True)
    data = _data_dir(tmp_path)
    try:
        with running_engine(data, engine_env) as engine:
            client = engine.client()
            turns = [[{"mcp_tool": "add", "server": "tools", "input": {"a": 20, "b": 22}}, {"text": "done"}]]
            agent = _agent(client, older.url, turns)
            session_id = _session(client, agent.id, _bearer_vault(client, older.url))
            events = _run(client, session_id)
            result = _only(events, "agent.mcp_tool_result")
            assert _text(result) == "42" and not result.is_error
            assert older.calls == ["add"]
            assert older.authorizations and set(older.authorizations) == {f"Bearer {TOKEN}"}, "every request had it"
    finally:
        older.close()
    _nowhere(data, tmp_path / "data-stderr.log", TOKEN)


def test_a_call_under_always_ask_waits_and_runs_once_allowed(
    tmp_path: Path, mcp_server: McpTestServer, engine_env: dict[str, str]
) -> None:
    data = _data_dir(tmp_path)
    with running_engine(data, engine_env) as engine:
        client = engine.client()
        turns = [[{"mcp_tool": "add", "server": "tools", "input": {"a": 2, "b": 3}}, {"text": "done"}]]
        agent = _agent(client, mcp_server.url, turns, tools=[_toolset("always_ask")])
        vault_id = _bearer_vault(client, mcp_server.url)
        session_id = _session(client, agent.id, vault_id)
        events = _run(client, session_id)
        use = _only(events, "agent.mcp_tool_use")
        assert use.evaluated_permission == "ask"
        assert events[-1].stop_reason.type == "requires_action" and events[-1].stop_reason.event_ids == [use.id]
        assert mcp_server.calls == [], "nothing runs before it is allowed"

        allow = {"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"}
        sx.send(client, session_id, allow)
        events = _idle(client, session_id, 2)
        assert _text(_only(events, "agent.mcp_tool_result")) == "5"
        with pytest.raises(Exception, match="already been answered|not waiting"):
            sx.send(client, session_id, allow)
        assert mcp_server.calls == ["add"], "allowed twice, run once"


def test_a_real_model_is_offered_the_servers_tools_and_calls_one(
    tmp_path: Path, mcp_server: McpTestServer, engine_env: dict[str, str]
) -> None:
    call = {"type": "tool_use", "id": "toolu_mcp", "name": "mcp__tools__echo", "input": {"text": "from a model"}}
    _, model_url = start_messages_test_server(
        tmp_path,
        {"replies": [{"content": [call], "stop_reason": "tool_use"}, {"content": [{"type": "text", "text": "It said so."}]}]},
    )
    data = _data_dir(tmp_path)
    with running_engine(data, {**engine_env, "SWITCHBOARD_ENGINE_MODEL_URL": model_url}) as engine:
        client = engine.client()
        agent = _agent(client, mcp_server.url, model="claude-test-1", system="You are terse.")
        vault_id = _bearer_vault(client, mcp_server.url)
        session_id = _session(client, agent.id, vault_id)
        events = _run(client, session_id)
        use = _only(events, "agent.mcp_tool_use")
        assert (use.mcp_server_name, use.name) == ("tools", "echo")
        assert _text(_only(events, "agent.mcp_tool_result")) == "echo: from a model"
        assert events[-1].stop_reason.type == "end_turn"
        assert mcp_server.calls == ["echo"]
    _nowhere(data, tmp_path / "data-stderr.log", TOKEN)


@pytest.mark.parametrize("case", ["unreachable", "refused", "limited"])
def test_a_server_that_cannot_be_used_is_a_worded_error_and_the_turn_ends(
    tmp_path: Path, mcp_server: McpTestServer, engine_env: dict[str, str], case: str
) -> None:
    data = _data_dir(tmp_path)
    with running_engine(data, engine_env) as engine:
        client = engine.client()
        url = closed_port_url() if case == "unreachable" else mcp_server.url
        turns = [[{"mcp_tool": "echo", "server": "tools", "input": {"text": "x"}}, {"text": "went on"}]]
        agent = _agent(client, url, turns)
        vault_id = _bearer_vault(client, url, "not-the-token" if case == "refused" else TOKEN)
        networking = {"type": "limited", "allowed_hosts": [], "allow_mcp_servers": False} if case == "limited" else None
        session_id = _session(client, agent.id, vault_id, networking)
        started = time.monotonic()
        events = _run(client, session_id)
        assert time.monotonic() - started < 30, "never a hang"

        error = _only(events, "session.error").error
        expected = "mcp_authentication_failed_error" if case == "refused" else "mcp_connection_failed_error"
        assert (error.type, error.mcp_server_name) == (expected, "tools")
        words = {"unreachable": "could not be reached", "refused": "refused the credential", "limited": "allow_mcp_servers"}
        assert words[case] in error.message, error.message
        result = _only(events, "agent.mcp_tool_result")
        assert result.is_error and words[case] in _text(result)
        assert events[-1].stop_reason.type == "end_turn" and "went on" in [_text(e) for e in events if e.type == "agent.message"]
        if case == "limited":
            assert mcp_server.authorizations == [], "limited networking: nothing reached the server"


def test_an_expired_oauth_token_is_refreshed_once_and_a_failed_refresh_is_announced(
    tmp_path: Path, mcp_server: McpTestServer, engine_env: dict[str, str], hooks: Receiver
) -> None:
    data = _data_dir(tmp_path)
    with running_engine(data, engine_env) as engine:
        client = engine.client()
        turns = [[{"mcp_tool": "echo", "server": "tools", "input": {"text": "fresh"}}, {"text": "done"}]]
        agent = _agent(client, mcp_server.url, turns)
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))

        def oauth(refresh_token: str) -> dict[str, Any]:
            return {
                "type": "mcp_oauth",
                "mcp_server_url": mcp_server.url,
                "access_token": "mcp-access-stale",
                "expires_at": soon,
                "refresh": {
                    "client_id": "switchboard-test",
                    "refresh_token": refresh_token,
                    "token_endpoint": f"{mcp_server.base}/token",
                    "token_endpoint_auth": {"type": "none"},
                },
            }

        vault_id, credential_id = _vault(client, oauth("refresh-ok"))
        broken_vault, broken_id = _vault(client, oauth("refresh-revoked"))
        time.sleep(2.5)  # the access tokens have expired

        session_id = _session(client, agent.id, vault_id)
        events = _run(client, session_id)
        assert _text(_only(events, "agent.mcp_tool_result")) == "echo: fresh"
        assert [r["refresh_token"] for r in mcp_server.refreshes] == ["refresh-ok"], "refreshed once"
        assert "Bearer mcp-access-refreshed" in mcp_server.authorizations
        assert "Bearer mcp-access-stale" not in mcp_server.authorizations
        credential = client.beta.vaults.credentials.retrieve(credential_id, vault_id=vault_id)
        assert credential.auth.expires_at is not None and credential.auth.expires_at.timestamp() > time.time() + 3000
        events = _run(client, session_id, "again", 2)
        assert len(mcp_server.refreshes) == 1, "the refreshed token is used again, not refreshed again"

        broken = _session(client, agent.id, broken_vault)
        events = _run(client, broken)
        error = _only(events, "session.error").error
        assert error.type == "mcp_authentication_failed_error" and "could not be refreshed" in error.message
        assert "invalid_grant" in error.message

        def announced() -> bool:
            kinds = [json.loads(body)["data"] for _, body in hooks.deliveries]
            return any(d["type"] == "vault_credential.refresh_failed" and d["id"] == broken_id for d in kinds)

        sx.wait_until(announced, 10, "vault_credential.refresh_failed")
        # One failed call, one refused refresh: the call is not tried again on a fresh connection
        # (that refreshed again, and announced it again). Webhooks go out in order, so once the
        # session's idle one is in, every refresh_failed of its turn is too.
        def idled() -> bool:
            kinds = [json.loads(body)["data"] for _, body in hooks.deliveries]
            return any(d["type"] == "session.status_idled" and d["id"] == broken for d in kinds)

        sx.wait_until(idled, 10, "session.status_idled of the broken session")
        assert [r["refresh_token"] for r in mcp_server.refreshes].count("refresh-revoked") == 1, "refreshed once"
        failed = [
            d for d in (json.loads(body)["data"] for _, body in hooks.deliveries)
            if d["type"] == "vault_credential.refresh_failed" and d["id"] == broken_id
        ]
        assert len(failed) == 1, f"announced once, not {len(failed)} times"
        for headers, body in hooks.deliveries:
            if broken_id in body:
                event = client.beta.webhooks.unwrap(body, headers=headers, key=engine_env["SWITCHBOARD_ENGINE_WEBHOOK_SECRET"])
                if event.data.type == "vault_credential.refresh_failed":
                    assert event.data.vault_id == broken_vault
    _nowhere(data, tmp_path / "data-stderr.log", "mcp-access-refreshed", "refresh-ok", "mcp-access-stale")
