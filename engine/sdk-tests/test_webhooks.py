"""The engine's webhooks, verified by the official SDK's `client.beta.webhooks.unwrap`.

Engines of their own, sending to a receiver in this process (`SWITCHBOARD_ENGINE_WEBHOOK_URL`,
`SWITCHBOARD_ENGINE_WEBHOOK_SECRET`). In the first test the receiver refuses the first delivery
with a 503, so the retry is seen too; the second makes every change the engine announces and
checks each webhook type is sent, once for its change.
"""

from __future__ import annotations

import base64
import http.server
import json
import secrets
import threading
import time
import typing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from anthropic.types.beta.beta_environment import BetaEnvironment
from anthropic.types.beta.beta_managed_agents_agent import BetaManagedAgentsAgent
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession
from anthropic.types.beta.beta_webhook_event_data import BetaWebhookEventData

import sdk_strict as sx
from conftest import running_engine, start_messages_test_server


class Receiver:
    """An HTTP server on loopback that keeps every POST (headers, body); the first gets a 503
    unless `refuse_first` is false."""

    def __init__(self, refuse_first: bool = True) -> None:
        self.deliveries: list[tuple[dict[str, str], str]] = []
        self.refused: list[tuple[dict[str, str], str]] = []
        lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with lock:
                    first = refuse_first and not receiver.refused
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
                if event.data.type.startswith("session."):
                    assert event.data.id == session.id, body
            assert kinds().index("session.status_run_started") < kinds().index("session.requires_action")

            # The refused one came again: the same id, signed anew.
            (refused_headers, refused_body) = receiver.refused[0]
            again = [(h, b) for h, b in receiver.deliveries if h["webhook-id"] == refused_headers["webhook-id"]]
            assert [b for _, b in again] == [refused_body]

            headers, body = next(d for d in reversed(receiver.deliveries) if session.id in d[1])
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



def _sdk_webhook_types() -> set[str]:
    """Every `data.type` of the pinned SDK's webhook union."""
    union = typing.get_args(BetaWebhookEventData)[0]
    return {typing.get_args(model.model_fields["type"].annotation)[0] for model in typing.get_args(union)}


# Of the SDK's 49: `user_profile.*` and `external_key.*` are about nothing the engine serves; the
# API has no method that deletes an agent or a deployment; the engine ends no child thread on its
# own (`thread_terminated`). `refresh_failed` needs an OAuth token endpoint: test_mcp.py sends it.
NOT_SENT = {
    "user_profile.enforcement_action_opened",
    "user_profile.enforcement_action_resolved",
    "user_profile.program_status_updated",
    "external_key.failed",
    "external_key.recovered",
    "agent.deleted",
    "deployment.deleted",
    "vault_credential.refresh_failed",
    "session.thread_terminated",
}


def _every_minute(client: Any, agent_id: str, environment_id: str) -> Any:
    return client.beta.deployments.create(
        name=sx.unique("tick"),
        agent=agent_id,
        environment_id=environment_id,
        initial_events=[sx.user_message("tick")],
        schedule={"type": "cron", "expression": "* * * * *", "timezone": "UTC"},
    )


def _agent(client: Any, *turns: list[dict[str, Any]], **extra: Any) -> BetaManagedAgentsAgent:
    return sx.call(
        client.beta.agents.with_raw_response.create,
        BetaManagedAgentsAgent,
        name=sx.unique("hooked"),
        model=extra.pop("model", "scripted"),
        system=extra.pop("system", None) or sx.script(*turns),
        **extra,
    )


def _idle(client: Any, session_id: str, count: int = 1) -> list[Any]:
    def idled() -> list[Any] | None:
        events = list(client.beta.sessions.events.list(session_id, limit=1000))
        done = [e for e in events if e.type in ("session.status_idle", "session.status_terminated")]
        return events if len(done) >= count else None

    return sx.wait_until(idled, 30, f"session {session_id} to stop {count} time(s)")


def test_every_webhook_type_is_sent_once_for_its_change_and_the_sdk_unwraps_it(tmp_path: Path) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    receiver = Receiver(refuse_first=False)
    # Sonnet 4.6: $4.50 for this request, over a $4 budget; the turn stops before the next one.
    call = {"type": "tool_use", "id": "toolu_hooks", "name": "bash", "input": {"command": "true"}}
    spend = {"content": [call], "stop_reason": "tool_use", "usage": {"input_tokens": 1_000_000, "output_tokens": 100_000}}
    model_server, model_url = start_messages_test_server(tmp_path, {"replies": [spend]})
    env = {
        "SWITCHBOARD_ENGINE_WEBHOOK_URL": receiver.url,
        "SWITCHBOARD_ENGINE_WEBHOOK_SECRET": secret,
        "SWITCHBOARD_ENGINE_MODEL_URL": model_url,
    }
    data = tmp_path / "data"
    data.mkdir()
    expected: list[tuple[str, str]] = []  # (type, id) sent once each
    try:
        with running_engine(data, env) as engine:
            client = engine.client()
            cloud = {"type": "cloud", "networking": {"type": "unrestricted"}}
            environment = client.beta.environments.create(name=sx.unique("hooks"), config=cloud)
            doomed = client.beta.environments.create(name=sx.unique("doomed"), config=cloud)
            ticker = _agent(client, [{"text": "tock"}])
            # Scheduled runs fire at the next whole minute: set them going first.
            ticking = _every_minute(client, ticker.id, environment.id)
            failing = _every_minute(client, ticker.id, doomed.id)
            client.beta.environments.archive(doomed.id)
            client.beta.environments.archive(doomed.id)  # again: nothing
            expected += [("environment.created", environment.id), ("environment.created", doomed.id)]
            expected += [("environment.archived", doomed.id), ("agent.created", ticker.id)]
            expected += [("deployment.created", ticking.id), ("deployment.created", failing.id)]

            client.beta.environments.update(environment.id, name="renamed hooks")
            client.beta.environments.update(environment.id, name="renamed hooks")  # no change
            gone = client.beta.environments.create(name=sx.unique("gone"), config=cloud)
            client.beta.environments.delete(gone.id)
            expected += [("environment.updated", environment.id), ("environment.created", gone.id)]
            expected += [("environment.deleted", gone.id)]

            agent = _agent(client, [{"tool": "bash", "input": {"command": "true"}}, {"text": "done"}], tools=[sx.toolset("always_ask")])
            updated = client.beta.agents.update(agent.id, version=agent.version, name="renamed agent")
            client.beta.agents.update(agent.id, version=updated.version, name="renamed agent")  # no change
            old = _agent(client, [{"text": "old"}])
            client.beta.agents.archive(old.id)
            client.beta.agents.archive(old.id)
            expected += [("agent.created", agent.id), ("agent.updated", agent.id)]
            expected += [("agent.created", old.id), ("agent.archived", old.id)]

            kept = client.beta.memory_stores.create(name=sx.unique("kept"))
            client.beta.memory_stores.archive(kept.id)
            client.beta.memory_stores.archive(kept.id)
            dropped = client.beta.memory_stores.create(name=sx.unique("dropped"))
            client.beta.memory_stores.delete(dropped.id)
            expected += [("memory_store.created", kept.id), ("memory_store.archived", kept.id)]
            expected += [("memory_store.created", dropped.id), ("memory_store.deleted", dropped.id)]

            bearer = {"type": "static_bearer", "mcp_server_url": "https://mcp.example.com/mcp", "token": "tok-hooks"}
            credentials: dict[str, str] = {}  # credential id -> vault id
            vaults = []
            for name in ("one", "archived", "deleted"):
                vault = client.beta.vaults.create(display_name=sx.unique(name))
                vaults.append(vault.id)
                expected.append(("vault.created", vault.id))
                for _ in range(2 if name == "one" else 1):
                    credential = client.beta.vaults.credentials.create(vault.id, auth=bearer)
                    credentials[credential.id] = vault.id
                    expected.append(("vault_credential.created", credential.id))
            one, archived, deleted = vaults
            by_vault = {v: [c for c, of in credentials.items() if of == v] for v in vaults}
            client.beta.vaults.credentials.archive(by_vault[one][0], vault_id=one)
            client.beta.vaults.credentials.archive(by_vault[one][0], vault_id=one)
            client.beta.vaults.credentials.delete(by_vault[one][1], vault_id=one)
            client.beta.vaults.archive(archived)
            client.beta.vaults.delete(deleted)
            expected += [("vault_credential.archived", by_vault[one][0]), ("vault_credential.deleted", by_vault[one][1])]
            expected += [("vault.archived", archived), ("vault_credential.archived", by_vault[archived][0])]
            expected += [("vault.deleted", deleted), ("vault_credential.deleted", by_vault[deleted][0])]

            # A session asks, is renamed, is allowed, then archived and deleted.
            asking = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
            sx.send(client, asking.id, sx.user_message("go"))
            use = next(e for e in _idle(client, asking.id) if e.type == "agent.tool_use")
            client.beta.sessions.update(asking.id, title="renamed session")
            sx.send(client, asking.id, {"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"})
            asking_events = _idle(client, asking.id, 2)
            client.beta.sessions.archive(asking.id)
            client.beta.sessions.archive(asking.id)
            client.beta.sessions.delete(asking.id)
            expected += [("session.created", asking.id), ("session.updated", asking.id)]
            expected += [("session.requires_action", asking.id), ("session.archived", asking.id)]
            expected += [("session.deleted", asking.id)]

            # A transient error, then a terminal one.
            failing_agent = _agent(
                client,
                [{"error": "model_overloaded_error", "retry_status": "retrying"}, {"error": "api_error", "retry_status": "terminal"}],
            )
            broken = client.beta.sessions.create(agent=failing_agent.id, environment_id=environment.id)
            sx.send(client, broken.id, sx.user_message("fail"))
            broken_events = _idle(client, broken.id)
            expected += [("agent.created", failing_agent.id), ("session.created", broken.id)]
            expected += [("session.status_rescheduled", broken.id), ("session.status_terminated", broken.id)]

            # A subagent's thread; an outcome graded; a budget spent; a session for a worker.
            helper = _agent(client, [{"text": "helped"}])
            lead = _agent(
                client,
                [{"subagent": helper.name, "message": "help"}, {"text": "thanks"}],
                multiagent={"type": "multiagent_20261001", "subagents": {"type": "enabled", "predefined_agents": [{"type": "agent", "id": helper.id}]}},
            )
            team = client.beta.sessions.create(agent=lead.id, environment_id=environment.id)
            sx.send(client, team.id, sx.user_message("go"))
            team_events = _idle(client, team.id)
            thread_id = next(e.session_thread_id for e in team_events if e.type == "session.thread_created")
            graded = _agent(client, system=json.dumps({"turns": [[{"text": "Draft."}]]}))
            outcome = client.beta.sessions.create(agent=graded.id, environment_id=environment.id)
            sx.send(client, outcome.id, {"type": "user.define_outcome", "description": "A draft.", "rubric": {"type": "text", "content": "- is a draft"}})
            outcome_events = _idle(client, outcome.id)
            priced = _agent(client, model="claude-sonnet-4-6", system="You are terse.", tools=[sx.toolset()])
            budget = {"type": "limit", "max_list_cost": {"amount": "400", "currency": "USD"}}
            spender = client.beta.sessions.create(agent=priced.id, environment_id=environment.id, budget=budget)
            sx.send(client, spender.id, sx.user_message("spend"))
            _idle(client, spender.id)
            hosted_env = client.beta.environments.create(name=sx.unique("hosted"), config={"type": "self_hosted"})
            hosted = client.beta.sessions.create(agent=ticker.id, environment_id=hosted_env.id)
            for made in (helper, lead, graded, priced):
                expected.append(("agent.created", made.id))
            expected += [("session.created", s.id) for s in (team, outcome, spender, hosted)]
            expected += [("session.thread_created", team.id), ("session.outcome_evaluation_ended", outcome.id)]
            expected += [("session.budget_reached", spender.id), ("environment.created", hosted_env.id)]
            expected += [("session.pending", hosted.id)]

            # A deployment changed by hand; its manual run sends no run webhooks.
            yearly = {"type": "cron", "expression": "0 0 1 1 *", "timezone": "UTC"}
            by_hand = client.beta.deployments.create(
                name=sx.unique("by-hand"), agent=ticker.id, environment_id=environment.id,
                initial_events=[sx.user_message("now")], schedule=yearly,
            )
            client.beta.deployments.update(by_hand.id, metadata={"team": "ops"})
            client.beta.deployments.pause(by_hand.id)
            client.beta.deployments.pause(by_hand.id)
            client.beta.deployments.unpause(by_hand.id)
            manual = client.beta.deployments.run(by_hand.id)
            expected += [("deployment.created", by_hand.id), ("deployment.updated", by_hand.id)]
            expected += [("deployment.paused", by_hand.id), ("deployment.unpaused", by_hand.id)]
            expected += [("session.created", manual.session_id)]

            # The scheduled runs: one starts a session, the other fails and pauses its deployment.
            def fired() -> list[Any] | None:
                runs = [list(client.beta.deployment_runs.list(deployment_id=d.id)) for d in (ticking, failing)]
                return [r[0] for r in runs] if all(runs) else None

            ran, failed = sx.wait_until(fired, 75, "the scheduled runs at the next whole minute", interval=0.5)
            client.beta.deployments.archive(ticking.id)
            client.beta.deployments.archive(ticking.id)
            assert failed.error is not None and failed.session_id is None, failed
            expected += [("deployment_run.started", ran.id), ("deployment_run.succeeded", ran.id)]
            expected += [("deployment_run.started", failed.id), ("deployment_run.failed", failed.id)]
            expected += [("deployment.paused", failing.id), ("deployment.archived", ticking.id)]
            expected += [("session.created", ran.session_id)]

            wanted = Counter(expected)
            def missing() -> list[tuple[str, str]]:
                data = [json.loads(body)["data"] for _, body in receiver.deliveries]
                came = {(d["type"], d["id"]) for d in data}
                return [key for key in wanted if key not in came]

            deadline = time.monotonic() + 15
            while missing() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not missing(), f"never sent: {missing()}"
            time.sleep(0.5)  # anything sent twice would arrive by now

            events = []
            for headers, body in receiver.deliveries:
                event = client.beta.webhooks.unwrap(body, headers=headers, key=secret)
                assert event.type == "event" and json.loads(body)["data"]["type"] == event.data.type
                events.append(event)
            got = Counter((e.data.type, e.data.id) for e in events)
            for key, count in wanted.items():
                assert got[key] == count, f"{key}: sent {got[key]} times, expected {count}"
            assert ("deployment_run.started", manual.id) not in got, "a manual run sends no run webhooks"

            # Each type the API knows but `NOT_SENT` came; none the SDK does not know.
            union = _sdk_webhook_types()
            assert len(union) == 49, sorted(union)
            assert {e.data.type for e in events} == union - NOT_SENT

            # A session's status webhooks come once per status event of its log.
            for session_id, log in ((asking.id, asking_events), (broken.id, broken_events), (outcome.id, outcome_events)):
                running = sum(e.type == "session.status_running" for e in log)
                idle = sum(e.type == "session.status_idle" for e in log)
                for kind, count in (("session.status_run_started", running), ("session.running", running), ("session.status_idled", idle), ("session.idled", idle)):
                    assert got[(kind, session_id)] == count, (kind, session_id, got[(kind, session_id)], count)
            assert got[("session.requires_action", asking.id)] == 1 and got[("session.status_idled", asking.id)] == 2

            # The fields some types carry beside the id.
            for event in events:
                if event.data.type.startswith("vault_credential."):
                    assert event.data.vault_id == credentials[event.data.id], event
                if event.data.type.startswith("session.thread_"):
                    assert event.data.id == team.id and event.data.session_thread_id == thread_id, event
    finally:
        receiver.close()
        model_server.terminate()
        model_server.wait(10)
