"""The official Python SDK against Switchboard's own Managed Agents API, with a person's personal
access token and nothing changed but the base URL and the key: every answer and every streamed
frame validated strictly against the SDK's own types (`sdk_strict`, the engine's SDK tests')."""

from __future__ import annotations

import anthropic
import pytest
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_file_metadata import BetaFileMetadata
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession

import sdk_strict as sx

REPORT = b"report-bytes\n"
BASH = "mkdir -p /mnt/session/outputs && printf 'report-bytes\\n' > /mnt/session/outputs/report.txt && echo written"
TURNS = [
    [
        {"text": "Let me write the report first."},
        {"tool": "bash", "input": {"command": BASH}},
        {"custom_tool": "lookup_order", "input": {"order": "A-17"}},
        {"text": "Your order A-17 has shipped."},
    ]
]

# The secrets the tests made, for the last test's search of the data directory and the log.
SECRETS: list[str] = []


def token(switchboard, browser, name: str, roles: list[str]) -> str:
    secret = switchboard.token(browser, name, roles)
    SECRETS.append(secret)
    return secret


def test_a_personal_token_runs_a_session_to_its_end_through_switchboard(switchboard):
    client = switchboard.client(token(switchboard, switchboard.browser(), "sdk scenario", ["viewer", "operator", "approver"]))
    environment = sx.call(
        client.beta.environments.with_raw_response.create,
        BetaEnvironment,
        name=sx.unique("gateway-env"),
        config={"type": "cloud", "networking": {"type": "unrestricted"}},
    )
    agent = sx.call(
        client.beta.agents.with_raw_response.create,
        BetaManagedAgentsAgent,
        name=sx.unique("gateway-agent"),
        model="scripted",
        system=sx.script(*TURNS),
        tools=[sx.toolset(), sx.CUSTOM_TOOL],
    )
    session = sx.call(
        client.beta.sessions.with_raw_response.create,
        BetaManagedAgentsSession,
        agent=agent.id,
        environment_id=environment.id,
    )
    stream = sx.EventStream(client, session.id, deltas=["agent.message"])
    try:
        sent = sx.send(client, session.id, sx.user_message("Report on order A-17, please."))
        assert sent.data[0].id
        i1, idle1 = stream.wait_idle(timeout=60)
        assert idle1.stop_reason.type == "requires_action", stream.summary()
        (custom,) = [e for e in stream.snapshot()[:i1] if e.type == "agent.custom_tool_use"]
        assert custom.name == "lookup_order" and custom.input == {"order": "A-17"}

        # The custom tool's answer goes through Switchboard's approval service; the echo is the API's.
        echo = sx.send(
            client,
            session.id,
            {
                "type": "user.custom_tool_result",
                "custom_tool_use_id": custom.id,
                "content": [{"type": "text", "text": "A-17 shipped on 2026-11-20"}],
            },
        )
        assert echo.data[0].custom_tool_use_id == custom.id and echo.data[0].id

        i2, idle2 = stream.wait_idle(start=i1 + 1, timeout=60)
        assert idle2.stop_reason.type == "end_turn", stream.summary()
        events = stream.snapshot()
        assert [sx.text_of(e) for e in events[i1:i2] if e.type == "agent.message"] == ["Your order A-17 has shipped."]
        # Through the hub a preview's deltas are sent every 40 ms: a short message's final event
        # may come first, and the API allows a prefix ("best effort").
        assert sx.check_previews(events, preview_types={"agent.message"}, prefix_only=True) == 2, "each message was previewed"
        ids = [e.id for e in sx.persisted(events)]
        assert len(ids) == len(set(ids)), "an event was streamed twice"
        stream.assert_clean()
    finally:
        stream.close()

    # The file the agent wrote comes down as it was; an upload goes up.
    files, _ = sx.walk_pages(client.beta.files.with_raw_response.list, BetaFileMetadata, scope_id=session.id)
    (report,) = [f for f in files if f.filename == "report.txt"]
    assert client.beta.files.download(report.id).read() == REPORT
    uploaded = sx.call(client.beta.files.with_raw_response.upload, BetaFileMetadata, file=("notes.txt", b"notes\n", "text/plain"))
    assert uploaded.size_bytes == 6 and uploaded.filename == "notes.txt"

    # A list, paged one by one with the API's cursors.
    for _ in range(2):
        sx.call(
            client.beta.agents.with_raw_response.create,
            BetaManagedAgentsAgent,
            name=sx.unique("page"),
            model="scripted",
            system=sx.script([{"text": "A page."}]),
        )
    agents, pages = sx.walk_pages(client.beta.agents.with_raw_response.list, BetaManagedAgentsAgent, limit=1)
    assert len(agents) >= 3 and len(pages) >= 3, f"{len(agents)} agents in {len(pages)} pages"


def test_refusals_are_the_sdks_own_typed_errors(switchboard):
    viewer = switchboard.person("vic", ["viewer"])
    client = switchboard.client(token(switchboard, viewer, "read only", ["viewer"]))
    listed = client.beta.agents.list(limit=1)
    assert listed.data is not None
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        client.beta.agents.create(name="nope", model="scripted", system=sx.script([{"text": "no"}]))
    body = sx.check_api_error(refused.value, 403, ["permission_error"])
    assert "operator" in body["error"]["message"]
    assert refused.value.response.headers.get("request-id"), "the SDK prints the request-id beside an error"

    with pytest.raises(anthropic.AuthenticationError):
        switchboard.client("key-of-another-service").beta.agents.list()

    # Revoked on the Account page: the SDK's next call is refused.
    admin = switchboard.browser()
    secret = token(switchboard, admin, "short lived", ["viewer"])
    revocable = switchboard.client(secret)
    revocable.beta.agents.list(limit=1)
    mine = admin.get("/api/me/tokens").json()[0]
    assert mine[0]["name"] == "short lived"
    assert admin.post("/api/me/tokens/revoke", data={"id": mine[0]["id"]}).status_code == 200
    with pytest.raises(anthropic.AuthenticationError) as ended:
        revocable.beta.agents.list(limit=1)
    assert "revoked" in str(ended.value)


def test_no_token_is_in_the_data_directory_or_the_log(switchboard):
    assert len(SECRETS) >= 3, "the tests above made their tokens"
    found = []
    for path in [switchboard.log, *switchboard.data_dir.rglob("*")]:
        if not path.is_file() or path.is_symlink():
            continue
        with open(path, "rb") as data:
            tail = b""
            while chunk := data.read(1 << 20):
                window = tail + chunk
                found += [f"{path}" for secret in SECRETS if secret.encode() in window]
                tail = window[-64:]
    assert not found, f"a token's secret was written to {sorted(set(found))}"
