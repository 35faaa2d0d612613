"""The engine's webhooks, verified by the official SDK's `client.beta.webhooks.unwrap`.

An engine of its own, sending to a receiver in this process (`SWITCHBOARD_ENGINE_WEBHOOK_URL`,
`SWITCHBOARD_ENGINE_WEBHOOK_SECRET`). The receiver refuses the first delivery with a 503, so the
retry is seen too.
"""

from __future__ import annotations

import base64
import http.server
import secrets
import threading
from pathlib import Path
from typing import Any

import pytest
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession

import sdk_strict as sx
from conftest import running_engine


class Receiver:
    """An HTTP server on loopback that keeps every POST (headers, body); the first gets a 503."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], str]] = []
        self.refused: list[tuple[dict[str, str], str]] = []
        lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with lock:
                    first = not receiver.refused
                    (receiver.refused if first else receiver.deliveries).append((headers, body))
                self.send_response(503 if first else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/anthropic"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_the_engines_webhooks_are_signed_as_the_sdk_verifies_and_retried(tmp_path: Path) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    receiver = Receiver()
    env = {"SWITCHBOARD_ENGINE_WEBHOOK_URL": receiver.url, "SWITCHBOARD_ENGINE_WEBHOOK_SECRET": secret}
    data = tmp_path / "data"
    data.mkdir()
    try:
        with running_engine(data, env) as engine:
            client = engine.client()
            environment = sx.call(
                client.beta.environments.with_raw_response.create,
                BetaEnvironment,
                name=sx.unique("webhooks-env"),
                config={"type": "cloud", "networking": {"type": "limited"}},
            )
            agent = sx.call(
                client.beta.agents.with_raw_response.create,
                BetaManagedAgentsAgent,
                name=sx.unique("webhooks-agent"),
                model="scripted",
                system=sx.script([{"tool": "bash", "input": {"command": "true"}}, {"text": "done"}]),
                tools=[sx.toolset("always_ask")],
            )
            session = sx.call(
                client.beta.sessions.with_raw_response.create,
                BetaManagedAgentsSession,
                agent=agent.id,
                environment_id=environment.id,
            )
            sx.send(client, session.id, sx.user_message("go"))

            def kinds() -> list[str]:
                return [client.beta.webhooks.parse_unverified(body).data.type for _, body in receiver.deliveries]

            sx.wait_until(lambda: "session.requires_action" in kinds(), timeout=30, what="session.requires_action")

            for headers, body in receiver.refused + receiver.deliveries:
                event = client.beta.webhooks.unwrap(body, headers=headers, key=secret)
                assert event.type == "event"
                assert event.data.id == session.id, body
            assert kinds().index("session.status_run_started") < kinds().index("session.requires_action")

            # The refused one came again: the same id, signed anew.
            (refused_headers, refused_body) = receiver.refused[0]
            again = [(h, b) for h, b in receiver.deliveries if h["webhook-id"] == refused_headers["webhook-id"]]
            assert [b for _, b in again] == [refused_body]

            headers, body = receiver.deliveries[-1]
            with pytest.raises(Exception, match="(?i)signature"):
                client.beta.webhooks.unwrap(body.replace(session.id, "sesn_someone_else"), headers=headers, key=secret)
            other = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
            with pytest.raises(Exception, match="(?i)signature"):
                client.beta.webhooks.unwrap(body, headers=headers, key=other)
    finally:
        receiver.close()


def test_an_engine_with_a_webhook_url_and_no_secret_does_not_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(pytest.fail.Exception, match="did not print its URL"):
        with running_engine(data, {"SWITCHBOARD_ENGINE_WEBHOOK_URL": "http://127.0.0.1:9/"}):
            pass
    stderr = (tmp_path / "data-stderr.log").read_text()
    assert "SWITCHBOARD_ENGINE_WEBHOOK_URL is set without SWITCHBOARD_ENGINE_WEBHOOK_SECRET" in stderr

